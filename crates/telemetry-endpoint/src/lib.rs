//! # telemetry-endpoint
//!
//! A strict local stand-in for the Databricks telemetry service, with fault injection.
//!
//! ## Overview
//!
//! A driver developer can point a driver at this endpoint to see exactly what it sends, and the
//! project's own tests use it as a real HTTP server on 127.0.0.1. It serves:
//!
//! | route | what it does |
//! |---|---|
//! | `POST /telemetry-ext` | validates an upload (bearer token when configured) and stores its logs |
//! | `POST /telemetry-unauth` | the same, plus the rules for unauthenticated uploads; no token check |
//! | `GET /api/2.0/connector-service/feature-flags/{driver}/{version}` | the configured [`FeatureFlagAnswer`] |
//! | `GET /stats` | [`EndpointStats`] as JSON |
//! | `POST /admin/fault` | installs the fault spec in the body (see below; bare, or a JSON string) |
//! | `DELETE /admin/fault` | removes the fault |
//!
//! Request bodies are read concurrently within a shared memory budget
//! ([`EndpointConfig::body_budget_bytes`]), each at a minimum rate
//! ([`EndpointConfig::min_body_rate`]); when [`EndpointConfig::max_connections`] are open, the
//! connection idle the longest makes room for a new one. With
//! [`EndpointConfig::local_requests_only`], what a page on another site could send through a
//! browser is refused.
//!
//! An [`Extension`] (see [`EndpointConfig::with_extension`]) may answer other GET paths.
//! Anything else gets 404. Validation follows the [`schema`] table, written independently of the
//! driver library's model, in one of two [`Mode`]s:
//!
//! - [`Mode::Strict`] (the default of [`EndpointConfig`]): the exact contract. A valid upload
//!   gets `200 {"errors":[],"numSuccess":N,"numProtoSuccess":N,"numRealtimeSuccess":0}`; any
//!   [`Deviation`] gets `400 {"error": "<what is wrong>", "path": "$.protoLogs[3].entry..."}`
//!   (plus `"problems"` listing every deviation when there are several) and none of its logs are
//!   kept.
//! - [`Mode::Tolerant`]: what the real service accepts. Deviations a protobuf JSON reader
//!   tolerates (unknown fields and enum values, `context.timestamp_millis`, no `items`, session
//!   fields on `/telemetry-unauth`, ...) are counted as warnings per kind and path in `/stats`; a
//!   log of the wrong shape is rejected alone (listed in `errors`, not counted in
//!   `numProtoSuccess`). Only a body that cannot be read as an upload gets `400`.
//!
//! ## Usage
//!
//! [`TelemetryEndpoint`] runs on its own thread and runtime, for plain synchronous code;
//! [`serve_on`] serves on a caller's tokio runtime.
//!
//! ```
//! use std::io::{Read, Write};
//! use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};
//!
//! let endpoint = TelemetryEndpoint::start(EndpointConfig::default())?;
//! let mut stream = std::net::TcpStream::connect(endpoint.addr()).unwrap();
//! stream.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200"));
//! assert_eq!(endpoint.stats().requests_total, 1);
//! # Ok::<(), telemetry_endpoint::EndpointError>(())
//! ```
//!
//! ## Fault syntax
//!
//! Faults apply to the two upload routes only. [`Fault`] parses from (and displays as) a compact
//! spec, used by `dbtel serve --fault` and the body of `POST /admin/fault`:
//!
//! | spec | effect |
//! |---|---|
//! | `503`, `500`, ... | answer with that status (100..=599) |
//! | `503:retry-after=2`, `429:retry-after=soon` | the same, with that raw `Retry-After` value (everything after `=`) |
//! | `delay=200ms`, `delay=2s`, `delay=1m` | wait, then answer normally |
//! | `hang` | read the request, never answer (released at shutdown) |
//! | `reset` | write part of a `200` response, then abort the connection with a TCP RST |
//! | `redirect=URL`, `redirect:308=URL` | redirect (307 unless a 3xx code is given) |
//! | `malformed` | `200` with a body that is not JSON |
//! | `huge=10mb` | `200` with a streamed body of that size (`b`, `kb`, `mb`, `gb`: powers of 1024) |
//!
//! A scope may follow: `*N` for the next N upload requests (`503*3`), `@DURATION` for a window
//! starting when the fault is set (`503@2s`); without one the fault applies until cleared. A
//! trailing `*...` or `@...` that does not parse as a scope stays part of the fault (so
//! `redirect=http://user@host/` works). A fault is applied before the token check and before
//! validation, as a failing service or network would; a `delay` then answers normally.
//!
//! ```
//! use std::time::Duration;
//! use telemetry_endpoint::{Fault, FaultKind, FaultScope};
//!
//! let fault: Fault = "503:retry-after=2*3".parse()?;
//! assert_eq!(fault.kind, FaultKind::Status { code: 503, retry_after: Some("2".into()) });
//! assert_eq!(fault.scope, FaultScope::Next(3));
//! assert_eq!("hang@2s".parse::<Fault>()?.scope, FaultScope::Window(Duration::from_secs(2)));
//! assert!("delay=soon".parse::<Fault>().is_err());
//! # Ok::<(), telemetry_endpoint::FaultParseError>(())
//! ```
//!
//! ## Credentials
//!
//! The bearer token is never logged, and no `Debug` output shows it ([`EndpointConfig`] and
//! [`RecordedRequest`] redact it). Logging goes through `tracing` at debug and trace only.

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

mod auth;
mod body_budget;
mod config;
mod connections;
mod endpoint;
mod error;
mod extension;
mod fault;
mod feature_flags;
mod handle;
mod huge_body;
mod local_only;
mod log_count;
mod read_body;
mod recorded;
mod reset;
pub mod schema;
mod server;
mod stats;
mod validate;

pub use config::{EndpointConfig, DEFAULT_BIND, DEFAULT_MAX_STORED_LOGS};
pub use endpoint::TelemetryEndpoint;
pub use error::EndpointError;
pub use extension::{Extension, ExtensionRequest, ExtensionResponse};
pub use fault::{Fault, FaultKind, FaultParseError, FaultScope, DEFAULT_REDIRECT_CODE};
pub use feature_flags::{
    FeatureFlagAnswer, FeatureFlagParseError, DEFAULT_FLAG_TTL_SECONDS, TELEMETRY_FLAG_NAMES,
    TELEMETRY_FLAG_PREFIX,
};
pub use handle::{
    EndpointHandle, MAX_DISTINCT_PATHS, MAX_RECORDED_REQUESTS, MAX_RECORDED_REQUEST_BYTES,
    MAX_STORED_LOG_BYTES, MAX_TRACKED_EVENT_IDS, MAX_WARNING_PATHS, MAX_WARNING_PATH_BYTES,
    OTHER_PATHS,
};
pub use recorded::RecordedRequest;
pub use server::{
    serve_on, BODY_BUDGET_BYTES, BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT, MAX_CONNECTIONS,
    MAX_REQUEST_BODY_BYTES, MIN_BODY_RATE, MIN_BODY_RATE_WINDOW,
};
pub use stats::{EndpointStats, PathStats};
pub use validate::{
    check_upload, validate_frontend_log, validate_message, validate_unauth_upload, validate_upload,
    validate_upload_for, Deviation, DeviationKind, Mode, RejectedLog, UploadReport, UploadRoute,
    ValidLog, ValidUpload, ValidationError,
};

/// The crate README's Rust example, compiled as a doctest so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
