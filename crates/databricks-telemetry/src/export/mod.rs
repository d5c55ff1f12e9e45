//! Exporters: where batches of frontend logs go.
//!
//! A host's export worker hands each batch to the host's [`Exporter`] through
//! [`export_as`](Exporter::export_as), with the authorization of the lane the batch comes from,
//! and accounts for the [`ExportOutcome`]. An exporter is called only from a worker thread, so
//! it may block (within the deadline it is given); it must not panic (the worker catches a panic
//! anyway and counts the attempt as failed).

pub(crate) mod circuit;
pub(crate) mod http;
mod outcome;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
pub(crate) mod transport;

use std::fmt;
use std::time::Instant;

use crate::credentials::AuthorizationValue;
use crate::model::FrontendLog;

pub(crate) use circuit::{BreakerSnapshot, HostCircuitBreaker};
#[cfg(feature = "ureq-transport")]
pub use http::{CertificateError, UreqTransport, UreqTransportBuilder, UreqTransportError};
pub use http::{
    DatabricksExporter, DatabricksExporterBuilder, DatabricksExporterError, ProxyConfig,
    ProxyConfigError, Scheme, ServiceEndpoint, ServiceEndpointError, UserAgent, UserAgentError,
};
pub use outcome::{ExportFailure, ExportOutcome, FailureKind};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::ReqwestTransport;
pub use transport::{
    Method, ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse,
};

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

    /// Sends `batch` once on behalf of a lane: with `authorization` (the lane's current
    /// `Authorization` value; `None` for an anonymous lane), finishing by `deadline`. The
    /// pipeline calls this, never [`export`](Self::export), and does its own retrying, so an
    /// implementation should make a single attempt.
    ///
    /// The default ignores `authorization` and calls `export` (for exporters that carry their
    /// own credentials, or need none).
    fn export_as(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        let _ = authorization;
        self.export(batch, Some(deadline))
    }
}

impl<E: Exporter + ?Sized> Exporter for std::sync::Arc<E> {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        (**self).export(batch, deadline)
    }

    fn export_as(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        (**self).export_as(batch, authorization, deadline)
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        (**self).export(batch, deadline)
    }

    fn export_as(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        (**self).export_as(batch, authorization, deadline)
    }
}
