//! Internals that this workspace's own tools, tests and benchmarks reach into: **not part of
//! the stable API**.
//!
//! Everything here is outside semantic versioning and may change or disappear in any release,
//! without notice and without a deprecation period. A driver needs none of it: what a driver
//! uses is at the crate root and in [`clock`](crate::clock), [`config`](crate::config),
//! [`credentials`](crate::credentials), [`export`](crate::export), [`model`](crate::model) and
//! `testing`.
//!
//! It holds the HTTPS exporter a manager builds for each host ([`DatabricksExporter`], its
//! [`ServiceEndpoint`] and their settings and errors), the circuit-breaker state machine, its
//! per-host wrapper and a manager's view of a host's breaker ([`breaker`]), the feature-flag
//! cache and its settings, the real clock and what a worker waiting on a clock implements, the
//! single-owner statement context, the
//! process-wide thread counts, how
//! `dbtel` prints a URL a user gave, (in [`model`]) the parts of an event and the upload body and
//! answer, and (in [`fuzzing`]) the parsers of what a server sends, for the fuzz targets.

pub mod fuzzing;
pub mod model;

/// What a spool directory holds (`dbtel inspect --spool`), read without locking or changing it.
#[cfg(all(feature = "spool", unix))]
pub mod spool {
    pub use crate::spool::bench::SpoolBench;
    pub use crate::spool::directory::prepare_directory;
    pub use crate::spool::inspect::{inspect, SegmentSummary};
}

pub use crate::clock_sleeper::ClockSleeper;
pub use crate::context::StatementTelemetryContext;
pub use crate::export::http::{
    DatabricksExporter, DatabricksExporterBuilder, DatabricksExporterError, ExporterSettings,
    Scheme, ServiceEndpoint, ServiceEndpointError,
};
pub use crate::feature_flags::{
    CachedFlag, FeatureFlagCache, FlagAnswer, FlagSettings, DEFAULT_FLAG_TTL, FAILED_FLAG_TTL,
    MAX_FLAG_ANSWER_BYTES, MAX_FLAG_TTL, MIN_FLAG_TTL,
};
pub use crate::host::{shown, MAX_SHOWN_CHARS};
pub use crate::pipeline::breaker::{
    Admission, BreakerTransitions, CircuitBreaker, CircuitBreakerSettings, CircuitState,
};
pub use crate::pipeline::circuit::{BreakerSnapshot, HostCircuitBreaker};
pub use crate::pipeline::{thread_stats, ThreadStats};
pub use crate::system_clock::SystemClock;

/// The breaker of `host` (normalised) in `manager`, while the manager keeps the host.
pub fn breaker(manager: &crate::TelemetryClientManager, host: &str) -> Option<BreakerSnapshot> {
    manager.breaker(host)
}
