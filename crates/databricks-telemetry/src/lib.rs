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
//! - [`TelemetrySessionContext`] and [`StatementRecorder`] turn what a driver records into
//!   events ([`model::FrontendLog`]) that carry only what was recorded and nothing private
//!   ([`ErrorInfo`] keeps an error's class name and redacts stack traces).
//! - [`TelemetryClientManager`] (one per process: [`global`](TelemetryClientManager::global))
//!   hands each connection a [`TelemetryClientHandle`], which clones into the connection's
//!   statements and tasks and keeps its session; [`begin`](TelemetryClientHandle::begin) starts
//!   a [`StatementRecorder`] that sends its own event when submitted or dropped.
//!   [`enqueue`](TelemetryClientHandle::enqueue) is two counters and a push onto the lane of the
//!   connection's (host, identity); one export worker per host with work batches the host's
//!   lanes round-robin and sends each batch with a live connection's credentials.
//! - A circuit breaker per host protects the service; while it is open, events wait in their
//!   lanes and are delivered after recovery. Only a full lane, an answer the service will never
//!   take, the server's flag, a credentials failure or a deadline drops events, and
//!   [`TelemetryStats`] counts each by reason.
//! - Releasing a handle never blocks; the lane drains in the background within its close
//!   timeout. [`close`](TelemetryClientHandle::close) closes a handle for all its clones and
//!   waits, within a deadline (what a driver loaded as a library does when a connection is
//!   released); [`shutdown`](TelemetryClientManager::shutdown) (or the guard of
//!   [`shutdown_on_drop`](TelemetryClientManager::shutdown_on_drop), in a program's `main`) waits
//!   for everything, within a deadline. [How it works](#how-it-works) describes the protocol.
//! - [`export`] holds the [`Exporter`](export::Exporter) trait (the manager builds the HTTPS
//!   exporter to the Databricks service for each host: no redirects, bounded bodies), and the
//!   [`Transport`](export::Transport) it sends through (the default `UreqTransport`, or the
//!   driver's own HTTP client); the server's feature flag is fetched by the worker, never on
//!   connect.
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
//!     AcquireOptions, ClientIdentity, DriverInfo, TelemetryAuthType, TelemetryClientManager,
//!     TelemetryOptions,
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
//! // Per connection (telemetry never fails one: a disabled handle if the acquire fails, the
//! // reason logged at debug):
//! let token = "dapi...";
//! let driver = DriverInfo::new("Databricks ADBC Rust", "0.1.0")?;
//! let acquire = AcquireOptions::new("adb-123.4.azuredatabricks.net", driver)
//!     .with_credentials(
//!         ClientIdentity::from_credential("pat", token),
//!         Arc::new(StaticBearerToken::new(token)),
//!     )
//!     .with_auth_type(TelemetryAuthType::Pat)
//!     .with_options(&options);
//! let telemetry = TelemetryClientManager::global().acquire_or_disabled(&acquire);
//!
//! if let Some(session) = telemetry.open_session(|s| s.with_session_id("01f0-...")) {
//!     telemetry.enqueue(session.connection_opened(Duration::from_millis(120)));
//! }
//! // Clone the handle, or the statement's recorder, into the tasks that need them.
//! let statement = telemetry.begin(OperationType::ListTables);
//! statement.set_statement_id("01f0-...");
//! statement.submit(); // or drop its last clone
//!
//! // The connection is released: close the handle it shares with its statements, within its
//! // configured close_timeout_ms (dropping it instead returns at once; the lane drains in the
//! // background). While the service is down or hangs, the close returns at once.
//! let outcome = telemetry.close_configured();
//! # let _ = outcome;
//! # Ok(())
//! # }
//! ```
//!
//! ### A connection's telemetry
//!
//! A connection acquires one [`TelemetryClientHandle`] and shares it: clones go to its
//! statements and to the tasks that download their results (a clone is one reference count),
//! and the handle keeps the connection's session ([`TelemetryClientHandle::open_session`]), so
//! [`TelemetryClientHandle::begin`] starts a statement recorder bound to the handle, which
//! sends its own event when it is submitted or dropped. When the acquire fails,
//! [`acquire_or_disabled`](TelemetryClientManager::acquire_or_disabled) hands out
//! [`TelemetryClientHandle::disabled`], which keeps the driver's code in one shape: telemetry
//! never fails a connection.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use databricks_telemetry::{AcquireOptions, DriverInfo, TelemetryClientManager};
//! use databricks_telemetry::model::OperationType;
//! # let options = AcquireOptions::new("adb-1.azuredatabricks.net", DriverInfo::new("Databricks ADBC Rust", "0.1.0")?);
//! let telemetry = TelemetryClientManager::global().acquire_or_disabled(&options);
//! if let Some(session) = telemetry.open_session(|s| s.with_session_id("01f0-...")) {
//!     telemetry.enqueue(session.connection_opened(Duration::from_millis(90)));
//! }
//! let statement = telemetry.begin(OperationType::ExecuteStatement); // clone it into tasks
//! statement.set_statement_id("01f0-...");
//! drop(statement); // its last clone: the event goes to the lane
//! # let _ = telemetry.close(Duration::from_secs(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ### A recorder that travels with a result stream
//!
//! A statement's event is complete only once its results are read: chunk downloads and the
//! moment the last batch is consumed happen after `execute` has returned, in the reader the
//! application holds and in the tasks that download CloudFetch chunks. Let the
//! [`StatementRecorder`] travel with them instead of passing the handle along:
//!
//! - `execute` [begins](TelemetryClientHandle::begin) the recorder and moves it into the reader
//!   it returns; the reader gives a clone to its chunk downloader (and each download task its
//!   own clone). A clone is one reference count; every clone records into the same statement,
//!   lock-free, from any thread or task.
//! - Each download records its latency; the reader marks the results consumed when it has
//!   returned the last batch (and records an error if reading fails).
//! - Nobody calls `submit`: the event is sent when the last clone is dropped, with the reader
//!   (or the last download task still running). An `execute` that fails before a reader exists
//!   records the error and submits.
//! - Code that runs without telemetry (the reader's unit tests, tools) holds
//!   [`StatementRecorder::default()`](StatementRecorder::detached), which records nothing: the
//!   fields are `StatementRecorder`, never `Option<StatementRecorder>`.
//!
//! ```
//! use std::time::Instant;
//! use databricks_telemetry::model::{ExecutionResultFormat, OperationType};
//! use databricks_telemetry::{StatementRecorder, TelemetryClientHandle};
//!
//! /// Downloads chunks; telemetry is one field.
//! #[derive(Clone, Default)]
//! struct ChunkDownloader {
//!     telemetry: StatementRecorder,
//! }
//!
//! impl ChunkDownloader {
//!     fn download(&self, link: &str) -> Vec<u8> {
//!         let started = Instant::now();
//!         let chunk = link.as_bytes().to_vec(); // the GET of the presigned link
//!         self.telemetry.record_chunk_download(started.elapsed());
//!         chunk
//!     }
//! }
//!
//! /// What `execute` returns; dropping it (its recorder's last clone) sends the event.
//! struct ResultReader {
//!     links: std::vec::IntoIter<String>,
//!     downloader: ChunkDownloader,
//!     telemetry: StatementRecorder,
//! }
//!
//! impl Iterator for ResultReader {
//!     type Item = Vec<u8>;
//!     fn next(&mut self) -> Option<Vec<u8>> {
//!         let chunk = self.links.next().map(|link| self.downloader.download(&link));
//!         if chunk.is_none() {
//!             self.telemetry.mark_results_consumed();
//!         }
//!         chunk
//!     }
//! }
//!
//! fn execute(telemetry: &TelemetryClientHandle, links: Vec<String>) -> ResultReader {
//!     let statement = telemetry.begin(OperationType::ExecuteStatement);
//!     statement
//!         .set_statement_id("01f0-...")
//!         .set_result_format(ExecutionResultFormat::ExternalLinks)
//!         .mark_result_ready()
//!         .set_total_chunks(links.len() as i32);
//!     ResultReader {
//!         links: links.into_iter(),
//!         downloader: ChunkDownloader { telemetry: statement.clone() },
//!         telemetry: statement,
//!     }
//! }
//!
//! # use databricks_telemetry::{ClientIdentity, TelemetryClientManager, TelemetryConfig, TelemetrySessionContext};
//! # use databricks_telemetry::testing::InMemoryExporter;
//! # let manager = TelemetryClientManager::new();
//! # let make = |_: &_| Box::new(InMemoryExporter::new()) as Box<_>;
//! # let telemetry = manager.acquire("adb-1.azuredatabricks.net", &ClientIdentity::anonymous(), &TelemetryConfig::default(), make)?;
//! # telemetry.set_session(TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build());
//! let reader = execute(&telemetry, vec!["chunk-0".into(), "chunk-1".into()]);
//! assert_eq!(reader.count(), 2); // reads everything, then drops the reader
//! assert_eq!(telemetry.stats().enqueued, 1, "the reader took the event with it");
//!
//! // Without telemetry: the same types, nothing recorded.
//! let downloader = ChunkDownloader::default();
//! assert_eq!(downloader.download("chunk-0").len(), 7);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ### A short-lived program
//!
//! Releasing a handle never waits: the lane drains in the background. A program that exits
//! right after its last query must wait for that, or what is still queued is lost (and not even
//! counted, since the process is gone). Hold a [`ShutdownGuard`] in `main`:
//!
//! ```no_run
//! use std::time::Duration;
//! use databricks_telemetry::TelemetryClientManager;
//!
//! fn main() {
//!     // Dropped last, at the end of main: delivers what is queued, for at most 5 s.
//!     let _telemetry = TelemetryClientManager::global().shutdown_on_drop(Duration::from_secs(5));
//!     // ... open a connection, run a query, close it ...
//! }
//! ```
//!
//! or call [`TelemetryClientHandle::close`] (or `close_async` inside an async runtime) on the
//! connection's handle before returning.
//!
//! ### A driver loaded as a library (a `cdylib`)
//!
//! An ADBC driver is loaded by a driver manager into a host program (Python, R, Java, ...):
//! there is no `main` of the driver's to hold the guard, and Rust never runs the destructors of
//! statics, so nothing shuts the global manager down when the host exits. Close each
//! connection's handle with a deadline where the driver releases the connection (ADBC's
//! `ConnectionRelease`): [`close`](TelemetryClientHandle::close) takes `&self`, so the
//! connection closes the handle it shares with its statements, and the call returns once the
//! lane has delivered, or at the deadline ([`close_configured`](TelemetryClientHandle::close_configured)
//! uses the configuration's `close_timeout_ms`, 2 s by default). It waits only while delivery
//! can progress: while the host's breaker is open, its request hangs, or the lane's retry is
//! due only after the deadline, it returns at once ([`CloseResult::is_stalled`]) and the lane keeps draining
//! in the background, so a close costs nothing while the service is down. Statements still
//! recording then (a result reader not yet
//! dropped) are counted as dropped after close when they end. Do not shut the global manager
//! down when one database is released: it hands out nothing afterwards, and other databases in
//! the process may still open connections.
//!
//! Without that, a connection released just before the host exits leaves its lane draining on
//! a background thread that the exit kills: what was not yet sent is lost, and uncounted
//! (the accounting dies with the process). A long-running host (a server, a notebook kernel)
//! loses nothing by releasing without waiting: the lane drains within its close timeout.
//!
//! ### Tests
//!
//! For tests, the `testing` feature adds `testing::InMemoryExporter`, an exporter that can be
//! told to fail, hang or panic; [`clock::ManualClock`] drives every wait of the pipeline without
//! sleeping, and [`TelemetryClientManager::settle`] waits until the workers have caught up.
//!
//! ## How it works
//!
//! - **Who owns what.** A [manager](crate::TelemetryClientManager) owns one engine. The
//!   engine owns one *host* per normalised host name, and each host one *lane* per
//!   [identity](crate::ClientIdentity). A
//!   [handle](crate::TelemetryClientHandle) holds its lane and its host. A host owns
//!   its circuit breaker, its exporter (one HTTP connection pool) and, while it has work, one
//!   export thread (`dbx-telemetry`).
//! - **How an event travels.** `enqueue` checks the lane's bound and the manager's, and pushes
//!   the event onto the lane's unbounded queue: no lock, no I/O. The lane's first event (or a
//!   whole batch) wakes the host's worker, starting it if the host had none. The worker serves
//!   the host's lanes round-robin, one batch per lane per turn: a lane is due once it holds
//!   `batch_size` events, when its flush interval has passed since its first waiting event,
//!   while someone flushes it, or once its last handle is gone. For each batch the worker gets
//!   the lane's authorization (from a live connection's credentials provider, or the one it
//!   kept), asks the host's feature flag (authenticated lanes only, unless `force_enabled`),
//!   asks the breaker, and hands the batch to the host's exporter, which makes one attempt.
//! - **Retries: the pipeline is the only retrier.** An exporter never retries; it says what one
//!   answer means ([`export::ExportOutcome`]). A batch that failed in a way worth trying again
//!   (a retryable error, a throttled answer, a credentials provider error) goes back to the
//!   front of its lane and waits: the first `max_retries` retries after an exponential backoff
//!   with jitter (from `retry_base_delay_ms`, at most `retry_max_delay_ms`), then one send per
//!   `retry_max_delay_ms`; never sooner than a `Retry-After` asked for (honoured up to
//!   `circuit_breaker_max_open_ms`); while the breaker is open or half-open, its schedule
//!   decides instead. Every send counts against the batch's `max_export_attempts`; after the
//!   last, it is dropped (`export_failed`, or `credentials_failed`). The rule is in one place
//!   (`pipeline/retry.rs`).
//! - **The server's feature flag.** Before an authenticated lane's batch is sent (unless
//!   `force_enabled`), the host's worker asks the server whether telemetry is on for the host
//!   (the flags named by `feature_flag_name`), with the lane's authorization, and caches the
//!   answer per host for the server's TTL (60 s to an hour; 15 minutes without one). "Off" drops
//!   the batch as `disabled_by_server`; a fetch that failed holds the host's lanes (their events
//!   wait) for 60 s, then asks again. A connect never waits for the flag.
//! - **How it ends.** Releasing a handle returns at once. The lane of the last handle drains in
//!   the background until it is empty (then it finishes) or its close timeout passes (then what
//!   it still holds is counted as `closed_before_delivery`); the host's worker ends once it has
//!   had nothing to do for a second. A new acquire of a draining lane takes it back. A
//!   [`close`](TelemetryClientHandle::close) releases and waits for the drain, but only while
//!   delivery can progress: the host's breaker open, its request in flight for half a second
//!   (or sent again after the last one failed), or the lane's retry due only after the deadline end the
//!   wait at once, and the lane drains on in the background.
//!   [`shutdown`](crate::TelemetryClientManager::shutdown) closes every lane and
//!   waits for them within its timeout, counting whatever a hanging host still holds; a lane
//!   whose own close deadline passed a second ago while its host's request (begun before the
//!   close, with the whole request timeout) is still in flight is not waited for longer: it
//!   is finished then, that request's batch counted as `closed_before_delivery`.
//!
//! ### The breaker, as a lane sees it
//!
//! ```text
//!                 threshold consecutive failures (any lane of the host)
//!     ┌────────┐ ───────────────────────────────────────────────► ┌──────┐
//!     │ closed │                                                   │ open │  lanes keep their
//!     └────────┘ ◄──────────┐                        ┌──────────── └──────┘  events and wait
//!        ▲  sends freely    │ probe delivered         │ probe failed:  │
//!        │                  │ (backlog drains)        │ open time x2   │ open time over
//!        │             ┌───────────┐ ─────────────────┘ (jittered, up  ▼ (1 s at first)
//!        └──────────── │ half-open │   to circuit_breaker_timeout)
//!                      └───────────┘ ◄──────────────────────────────────
//!                      one lane (in turn) sends one probe: one request, no retries
//! ```
//!
//! A `Retry-After` holds it open at least that long (capped by `circuit_breaker_max_open_ms`:
//! the same rule as a batch's own wait).
//! Credentials failures (a provider error, 401, 403) are the lane's own and never count against
//! the breaker.
//!
//! ## Settings: where each one lives
//!
//! A handle's configuration decides what it can: some settings belong to its lane (one per
//! host and identity), some to its host, one to the manager. Each is taken from the first
//! acquirer of that lane, host or manager; a later acquirer with another value is reported (a
//! `debug` log naming the key, and [`TelemetryClientHandle::settings_conflicts`] for lane
//! settings, the transport and the org id), never applied and never silently ignored.
//!
//! Where each setting lives is stated on its setter of [`TelemetryConfigBuilder`] and in the
//! "Lives in" column of the README's settings table, both generated from the one list of
//! settings; the transport ([`AcquireOptions::with_transport`]) and the org id sent in the
//! `x-databricks-org-id` header belong to the host.
//!
//! ## The public API
//!
//! What a driver uses is at the crate root (the manager, its handles and what they return, the
//! session context and the statement recorder, [`DriverInfo`], [`ClientIdentity`], [`HostKey`])
//! and in [`config`], [`credentials`], [`export`] (the [`Exporter`](export::Exporter) trait
//! and HTTP transports: a driver's own through [`Transport`](export::Transport), or the
//! default client with a proxy and CA certificates), [`model`] (the event,
//! [`FrontendLog`](model::FrontendLog), whose contents are not public, and the values a driver
//! describes a statement and a connection with), [`clock`] (the [`Clock`](clock::Clock) trait
//! and the [`ManualClock`](clock::ManualClock) for tests) and, with the `testing` feature,
//! `testing`: 59 types and traits with the default features (65 with all of them), 37 of them
//! outside `config` and `export`. The HTTPS exporter and its endpoint are built by
//! [`acquire_databricks`](TelemetryClientManager::acquire_databricks), whose
//! [`AcquireError`] says what was wrong with them. Public enums and the structs that may gain
//! fields are `#[non_exhaustive]`. [`unstable`] holds what this workspace's own tools and tests
//! reach into (the wire model behind an event, the upload body, the HTTPS exporter, the
//! breaker, the feature-flag cache, the single-owner statement context, the real clock); it is
//! outside semantic versioning, and nothing outside it needs it.
//!
//! ## Logging
//!
//! Through `tracing`, at `debug` and `trace` only (besides one `warn` per bad
//! `DATABRICKS_TELEMETRY_*` variable, see [`config`]), never a credential or a payload. The
//! targets are the module paths of the code that logs, private modules included, so they all
//! start with `databricks_telemetry` (e.g. `databricks_telemetry::pipeline::worker`,
//! `databricks_telemetry::export::http`). A driver's filter at `info` or `warn` shows none of
//! the `debug` records; to see them, add the crate's target to it:
//!
//! - with `tracing-subscriber`: the directive `databricks_telemetry=debug` (or `=trace`), e.g.
//!   `EnvFilter::new("info,databricks_telemetry=debug")`, or
//!   `RUST_LOG=info,databricks_telemetry=debug` with `EnvFilter::from_default_env()`;
//! - with the `log` crate (`env_logger` and the like) and no `tracing` subscriber installed:
//!   the crate enables `tracing`'s `log` feature, so its records reach the `log` logger with
//!   the same targets, and `RUST_LOG=info,databricks_telemetry=debug` works the same way. Once
//!   a `tracing` subscriber is installed, records go only to it (no duplicates); bridge `log`
//!   into it with `tracing-log` if the driver logs through both.
//!
//! The HTTP crate of the default transport logs under `ureq` and `ureq_proto` (through `log`);
//! its request dumps show a one-off placeholder where the credential goes, never the credential.
//!
//! ## Performance
//!
//! `enqueue` costs a few tens of nanoseconds and never blocks; serialisation and I/O happen on
//! the host's worker thread. Figures, and how to reproduce them, are in `BENCHMARKS.md`.

#![forbid(unsafe_code)]
// No `unwrap`/`expect` in the library's code: every failure is handled or typed, and the few
// that cannot happen say why in place. Tests (unit tests here, and the integration tests,
// benches and examples, which are crates of their own) may use them.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

pub mod clock;
pub mod config;
pub mod credentials;
pub mod export;
pub mod model;
#[cfg(feature = "testing")]
pub mod testing;
pub mod unstable;

mod clock_sleeper;
mod context;
mod driver;
mod feature_flags;
mod host;
mod identity;
mod jitter;
mod manager;
mod pipeline;
mod spool;
mod stats;
mod system_clock;
mod threads;

pub use config::{
    ConfigError, ConfigValue, TelemetryConfig, TelemetryConfigBuilder, TelemetryOptions,
};
pub use context::{
    ErrorInfo, SessionContextBuilder, StatementRecorder, TelemetryAuthType, TelemetrySessionContext,
};
pub use driver::DriverInfo;
pub use host::{HostError, HostErrorKind, HostKey};
pub use identity::ClientIdentity;
pub use manager::{
    AcquireError, AcquireOptions, ShutdownGuard, TelemetryClientHandle, TelemetryClientManager,
};
pub use pipeline::{CloseOutcome, CloseResult, FlushResult};
pub use stats::{DroppedEvents, TelemetryStats};

/// The crate README's Rust examples, compiled as doctests so they cannot go stale. (The
/// workspace README, the front page, has no Rust code of its own.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
