//! Exporters: where batches of frontend logs go.
//!
//! The worker hands each batch to an [`Exporter`] and accounts for the [`ExportOutcome`]. An
//! exporter is called only from the worker thread, so it may block; it must not panic (the worker
//! catches a panic anyway and counts the batch as failed).

mod circuit;
mod gate;
pub mod http;
mod outcome;

use std::fmt;
use std::time::Instant;

use crate::model::FrontendLog;

pub use circuit::{BreakerSnapshot, CircuitBreakerExporter, HostCircuitBreaker};
pub use gate::FeatureFlagGate;
pub use http::{
    DatabricksExporter, DatabricksExporterBuilder, DatabricksExporterError, RetryPolicy, Scheme,
    ServiceEndpoint, ServiceEndpointError, UserAgent, UserAgentError,
};
pub use outcome::{ExportFailure, ExportOutcome, FailureKind};

/// Sends one batch of frontend logs somewhere.
///
/// Implementations must be object safe, `Send + Sync`, and should return by `deadline` when one is
/// given (the client's close deadline): nothing may run past it.
///
/// # Example
///
/// ```
/// use std::time::Instant;
/// use databricks_telemetry::export::{ExportOutcome, Exporter};
/// use databricks_telemetry::model::FrontendLog;
///
/// /// Counts what it is given and delivers everything.
/// #[derive(Debug, Default)]
/// struct Counting(std::sync::atomic::AtomicUsize);
///
/// impl Exporter for Counting {
///     fn export(&self, batch: &[FrontendLog], _deadline: Option<Instant>) -> ExportOutcome {
///         self.0.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
///         ExportOutcome::Delivered
///     }
/// }
/// ```
pub trait Exporter: Send + Sync + fmt::Debug {
    /// Exports `batch` (never empty) and says what became of it.
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome;
}

impl<E: Exporter + ?Sized> Exporter for std::sync::Arc<E> {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        (**self).export(batch, deadline)
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        (**self).export(batch, deadline)
    }
}
