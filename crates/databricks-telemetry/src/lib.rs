//! # databricks-telemetry
//!
//! The driver-telemetry pipeline for Databricks SQL drivers written in Rust.
//!
//! ## Overview
//!
//! A driver reports what it does (connections opened and closed, statements and how long each
//! phase took, CloudFetch downloads, metadata calls, errors) to the Databricks telemetry service.
//! This crate does that without slowing down, blocking or failing the driver, and accounts for
//! every event:
//!
//! - [`TelemetrySessionContext`] and [`StatementTelemetryContext`] turn what a driver records into
//!   frontend logs ([`model`]) that carry only what was recorded and nothing private
//!   ([`ErrorInfo`] keeps an error's class name and redacts stack traces).
//! - [`TelemetryClientManager`] (one per process: [`global`](TelemetryClientManager::global))
//!   hands each connection a [`TelemetryClientHandle`], which clones into the connection's
//!   statements and tasks and keeps its session; [`begin`](TelemetryClientHandle::begin) starts
//!   a [`StatementRecorder`] that sends its own event when submitted or dropped.
//!   [`enqueue`](TelemetryClientHandle::enqueue) is two counters and a push onto the lane of the
//!   connection's (host, identity); one export worker per host with work batches the host's
//!   lanes round-robin and sends each batch with a live connection's credentials.
//! - A [circuit breaker](breaker) per host protects the service; while it is open, events wait
//!   in their lanes and are delivered after recovery. Only a full lane, an answer the service
//!   will never take, the server's flag, a credentials failure or a deadline drops events, and
//!   [`TelemetryStats`] counts each by reason.
//! - Releasing a handle never blocks; the lane drains in the background within its close
//!   timeout. [`close`](TelemetryClientHandle::close) closes a handle for all its clones and
//!   waits, within a deadline (what a driver loaded as a library does when a connection is
//!   released); [`shutdown`](TelemetryClientManager::shutdown) (or the guard of
//!   [`shutdown_on_drop`](TelemetryClientManager::shutdown_on_drop), in a program's `main`) waits
//!   for everything, within a deadline. [`pipeline`] describes the protocol.
//! - [`export`] holds the [`Exporter`](export::Exporter) trait and the HTTPS
//!   [`DatabricksExporter`](export::DatabricksExporter) (no redirects, bounded bodies), and the
//!   server's [feature flag](feature_flags) is fetched by the worker, never on connect.
//! - [`config`] reads `adbc.databricks.telemetry.*` and `databricks.telemetry.*` driver options,
//!   text or typed, and the environment; [`TelemetryOptions`] keeps them as `set_option` hands
//!   them over, one at a time.
//!
//! The crate needs no async runtime (it works the same inside and outside tokio) and contains
//! no `unsafe` code.
//!
//! ## Usage
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use databricks_telemetry::credentials::StaticBearerToken;
//! use databricks_telemetry::model::OperationType;
//! use databricks_telemetry::{
//!     AcquireOptions, AuthType, ClientIdentity, DriverInfo, TelemetryClientHandle,
//!     TelemetryClientManager, TelemetryOptions,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In main: deliver what is still queued when the program ends (at most 5 s). A driver
//! // loaded as a library has no main: it closes each connection's handle instead (below).
//! let _telemetry = TelemetryClientManager::global().shutdown_on_drop(Duration::from_secs(5));
//!
//! // The connection's options, as set_option hands them over (each checked as it comes):
//! let mut options = TelemetryOptions::new();
//! options.set("adbc.databricks.telemetry.batch_size", "200")?;
//!
//! // Per connection (telemetry never fails one: a disabled handle if the acquire fails):
//! let token = "dapi...";
//! let telemetry = TelemetryClientManager::global()
//!     .acquire_databricks(
//!         &AcquireOptions::new("adb-123.4.azuredatabricks.net", DriverInfo::new("Databricks ADBC Rust", "0.1.0")?)
//!             .with_credentials(
//!                 ClientIdentity::from_credential("pat", token),
//!                 Arc::new(StaticBearerToken::new(token)),
//!             )
//!             .with_config(options.config()?),
//!     )
//!     .unwrap_or_else(|_| TelemetryClientHandle::disabled());
//!
//! if let Some(session) = telemetry.open_session(|s| s.session_id("01f0-...").auth_type(AuthType::Pat)) {
//!     telemetry.enqueue(session.connection_opened(Duration::from_millis(120)));
//! }
//! // Clone the handle, or the statement's recorder, into the tasks that need them.
//! let statement = telemetry.begin(OperationType::ListTables);
//! statement.set_statement_id("01f0-...");
//! statement.submit(); // or drop its last clone
//!
//! // The connection is released: close the handle it shares with its statements, within a
//! // deadline (dropping it instead returns at once; the lane drains in the background).
//! let outcome = telemetry.close(Duration::from_secs(2));
//! # let _ = outcome;
//! # Ok(())
//! # }
//! ```
//!
//! For tests, the `testing` feature adds `testing::InMemoryExporter`, an exporter that can be
//! told to fail, hang or panic; [`clock::ManualClock`] drives every wait of the pipeline without
//! sleeping, and [`TelemetryClientManager::settle`] waits until the workers have caught up.
//!
//! ## Logging
//!
//! Through `tracing`, at `debug` and `trace` only (besides one `warn` per bad
//! `DATABRICKS_TELEMETRY_*` variable, see [`config`]), never a credential or a payload. Targets
//! start with `databricks_telemetry` (e.g. `databricks_telemetry::pipeline::worker`,
//! `databricks_telemetry::export::http`), so a driver can include them in its filter:
//! `RUST_LOG=databricks_telemetry=debug`.
//!
//! ## Performance
//!
//! `enqueue` costs a few tens of nanoseconds and never blocks; serialisation and I/O happen on
//! the host's worker thread. Figures, and how to reproduce them, are in `BENCHMARKS.md`.

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

pub mod breaker;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod export;
pub mod feature_flags;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod manager;
pub mod model;

mod context;

pub use config::{
    ConfigError, ConfigValue, TelemetryConfig, TelemetryConfigBuilder, TelemetryOptions,
};
pub use context::{
    AuthType, ErrorInfo, SessionContextBuilder, StatementRecorder, StatementTelemetryContext,
    TelemetrySessionContext, MAX_ERROR_NAME_BYTES, MAX_STACK_TRACE_BYTES,
};

mod driver;
mod jitter;
pub mod pipeline;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use driver::DriverInfo;
pub use manager::{AcquireOptions, ClientIdentity, TelemetryClientHandle, TelemetryClientManager};
pub use pipeline::{CloseOutcome, CloseResult, FlushResult};
pub use stats::{DroppedEvents, TelemetryStats};

/// The repository README's Rust examples, compiled as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
