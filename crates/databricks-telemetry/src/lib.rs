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
//! - [`TelemetryClient`] takes them: [`enqueue`](TelemetryClient::enqueue) is a flag check and a
//!   `try_send` into a bounded queue; one background thread batches and exports; `flush` and
//!   `close` are bounded by their deadlines; [`TelemetryStats`] balances exactly.
//! - [`manager::TelemetryClientManager`] shares one client per (host, identity) and one
//!   [circuit breaker](breaker) per host, and closes a client when its last connection lets go.
//! - [`export`] holds the [`Exporter`](export::Exporter) trait and the HTTPS
//!   [`DatabricksExporter`](export::DatabricksExporter) (retries with backoff, `Retry-After`,
//!   no redirects, bounded bodies), behind the server's [feature flag](feature_flags).
//! - [`config`] reads `adbc.databricks.telemetry.*` driver options and the environment.
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
//! use databricks_telemetry::export::UserAgent;
//! use databricks_telemetry::manager::{ClientIdentity, TelemetryClientManager};
//! use databricks_telemetry::model::OperationType;
//! use databricks_telemetry::{TelemetryConfig, TelemetrySessionContext};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = TelemetryConfig::from_options([("adbc.databricks.telemetry.batch_size", "200")])?;
//! let telemetry = TelemetryClientManager::global().acquire_databricks(
//!     "adb-123.4.azuredatabricks.net",
//!     &ClientIdentity::new("principal-42"),
//!     Some(Arc::new(StaticBearerToken::new("dapi..."))),
//!     &config,
//!     &UserAgent::new("DatabricksAdbcRust", "0.1.0")?,
//! )?;
//!
//! let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
//!     .session_id("01f0-...")
//!     .build();
//! telemetry.enqueue(session.connection_opened(Duration::from_millis(120)));
//! let mut statement = session.begin(OperationType::ListTables);
//! statement.set_statement_id("01f0-...");
//! telemetry.enqueue(statement.finish());
//! telemetry.release(); // the last handle of the host flushes and closes the client
//! # Ok(())
//! # }
//! ```
//!
//! For tests, the `testing` feature adds `testing::InMemoryExporter`, an exporter
//! that can be told to fail, hang or panic; and [`clock::ManualClock`] drives breakers and
//! flag caches without sleeping.
//!
//! ## Performance
//!
//! `enqueue` costs a few tens of nanoseconds and never blocks; serialisation and I/O happen on
//! the worker thread. Figures, and how to reproduce them, are in `BENCHMARKS.md`.

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

pub use config::{ConfigError, TelemetryConfig, TelemetryConfigBuilder};
pub use context::{
    AuthType, ErrorInfo, SessionContextBuilder, StatementTelemetryContext, TelemetrySessionContext,
    MAX_ERROR_NAME_BYTES, MAX_STACK_TRACE_BYTES,
};

mod jitter;
pub mod pipeline;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use manager::{ClientIdentity, TelemetryClientHandle, TelemetryClientManager};
pub use pipeline::{CloseOutcome, CloseResult, FlushResult};
pub use stats::{DroppedEvents, TelemetryStats};
