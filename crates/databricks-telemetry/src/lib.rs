//! # databricks-telemetry
//!
//! The driver-telemetry pipeline for Databricks SQL drivers written in Rust.
//!
//! ## Overview
//!
//! A driver reports what it does (connections opened and closed, statements and how long each
//! phase took, CloudFetch downloads, metadata calls, errors) to the Databricks telemetry service.
//! This crate does that without slowing down, blocking or failing the driver:
//!
//! - [`model`]: the wire types, exactly as the service accepts them.
//! - [`TelemetrySessionContext`] and [`StatementTelemetryContext`]: what a driver records, turned
//!   into frontend logs that carry only what was recorded and nothing private.
//!
//! The crate needs no async runtime and contains no `unsafe` code.

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

mod client;
mod shared;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
mod worker;

pub use client::{ClientError, CloseResult, FlushResult, TelemetryClient};
pub use stats::{DroppedEvents, TelemetryStats};
