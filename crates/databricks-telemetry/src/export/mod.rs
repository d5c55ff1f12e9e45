//! Exporters: where batches of frontend logs go.
//!
//! A host's export worker hands each batch to the host's [`Exporter`], with the authorization
//! of the lane the batch comes from, and accounts for the [`ExportOutcome`]: one attempt per
//! call; the pipeline alone decides on retries. An exporter is called only from a worker thread, so
//! it may block (within the deadline it is given); it must not panic (the worker catches a panic
//! anyway and counts the attempt as failed).

pub(crate) mod http;
mod outcome;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
pub(crate) mod transport;

use std::fmt;
use std::time::Instant;

use crate::credentials::AuthorizationValue;
use crate::model::FrontendLog;

// The HTTPS exporter and its endpoint: a driver gets them through
// `TelemetryClientManager::acquire_databricks`; the workspace's tools and tests reach them
// through `unstable`.
pub(crate) use http::{
    DatabricksExporter, DatabricksExporterError, ServiceEndpoint, ServiceEndpointError,
};
pub use http::{ProxyConfig, TransportSetupError, UserAgent, UserAgentError};
#[cfg(feature = "ureq-transport")]
pub use http::{UreqTransport, UreqTransportBuilder};
pub use outcome::{ExportFailure, ExportOutcome, FailureKind};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::ReqwestTransport;
pub use transport::{
    Method, ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse,
};

/// Sends one batch of frontend logs somewhere, once.
///
/// An exporter makes one attempt and says what its answer means; it never retries, waits or
/// holds a batch back. The pipeline decides everything else: whether and when the batch is sent
/// again, and when it is given up (see the crate docs, "How it works").
///
/// Implementations must be object safe, `Send + Sync`, and must return by `deadline`: nothing
/// may run past it.
///
/// # Example
///
/// ```
/// use std::time::Instant;
/// use databricks_telemetry::credentials::AuthorizationValue;
/// use databricks_telemetry::export::{ExportOutcome, Exporter};
/// use databricks_telemetry::model::FrontendLog;
///
/// /// Counts what it is given and delivers everything.
/// #[derive(Debug, Default)]
/// struct Counting(std::sync::atomic::AtomicUsize);
///
/// impl Exporter for Counting {
///     fn export(
///         &self,
///         batch: &[FrontendLog],
///         _authorization: Option<&AuthorizationValue>,
///         _deadline: Instant,
///     ) -> ExportOutcome {
///         self.0.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
///         ExportOutcome::Delivered
///     }
/// }
/// ```
pub trait Exporter: Send + Sync + fmt::Debug {
    /// Sends `batch` (never empty) once, with `authorization` (the `Authorization` value of the
    /// lane the batch comes from; `None` for an anonymous lane), finishing by `deadline`, and
    /// says what became of it.
    fn export(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome;
}

impl<E: Exporter + ?Sized> Exporter for std::sync::Arc<E> {
    fn export(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        (**self).export(batch, authorization, deadline)
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn export(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        (**self).export(batch, authorization, deadline)
    }
}
