//! [`DatabricksExporter`]: uploads batches to the Databricks telemetry service over HTTPS. What
//! it sends, how answers are treated and its limits are in its docs.

pub(crate) mod client;
#[cfg(feature = "ureq-transport")]
mod echo_mask;
mod endpoint;
mod proxy;
mod request;
#[cfg(feature = "ureq-transport")]
mod resolver;
pub(crate) mod response;
#[cfg(feature = "ureq-transport")]
mod secret_header;
mod settings;
mod setup_error;
#[cfg(feature = "ureq-transport")]
mod tls;
#[cfg(feature = "ureq-transport")]
pub(crate) mod transport;
mod user_agent;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use endpoint::{Scheme, ServiceEndpoint, ServiceEndpointError};
pub use proxy::ProxyConfig;
pub use settings::ExporterSettings;
pub use setup_error::TransportSetupError;
#[cfg(feature = "ureq-transport")]
pub use transport::{UreqTransport, UreqTransportBuilder};
pub use user_agent::{UserAgent, UserAgentError};

use self::client::{exchange, RequestHeaders, MAX_RESPONSE_BODY_BYTES};
use self::request::{upload_body, AUTHENTICATED_PATH, UNAUTHENTICATED_PATH};
use self::response::answer_outcome;
pub(crate) use self::response::SuccessBody;
use crate::credentials::AuthorizationValue;
use crate::export::transport::{Method, Transport};
use crate::export::{ExportOutcome, Exporter, FailureKind};
use crate::model::FrontendLog;

/// Exports batches to the Databricks telemetry service over HTTPS: one request per
/// [`export`](Exporter::export).
///
/// [`TelemetryClientManager::acquire_databricks`](crate::TelemetryClientManager::acquire_databricks)
/// builds one per host; the host's worker calls it with each lane's authorization, and the
/// pipeline decides on retries (the table's last column), holds and probes. The exporter itself
/// never retries, waits or holds credentials.
///
/// # What it sends
///
/// With an authorization, `POST {endpoint}/telemetry-ext` with that `Authorization` value;
/// without, `POST {endpoint}/telemetry-unauth`, after removing from each
/// log its session id, system configuration, connection parameters and stack trace (the service
/// refuses them there). Headers: `Content-Type: application/json`, `Accept: application/json`,
/// the [`UserAgent`], and `x-databricks-org-id` when an org id is given. The body is a
/// [`TelemetryRequest`](crate::model::TelemetryRequest), serialised once per batch, on the
/// worker thread.
///
/// # How answers are treated
///
/// The last column is what the pipeline then does with the batch (the exporter itself makes one
/// request): "retried" means the batch goes back to its lane and is sent again after the
/// pipeline's backoff, at most `max_export_attempts` times in all, and no sooner than a
/// `Retry-After` asked for (capped at `circuit_breaker_max_open_ms`); meanwhile the host's
/// circuit breaker may hold every send to the host.
///
/// | answer | outcome | the pipeline |
/// |---|---|---|
/// | 2xx | [`Delivered`](ExportOutcome::Delivered); a JSON body with `numProtoSuccess` below the number sent gives [`PartiallyDelivered`](ExportOutcome::PartiallyDelivered). A missing, malformed or oversized body is a success. | counts it delivered (the rest of a partial delivery as failed) |
/// | 429; 503 with a valid `Retry-After` | `Failed`, [`Throttled`](FailureKind::Throttled) with the delay asked for | retried, not before the `Retry-After`; the breaker opens for at least as long |
/// | 408, 500, 502, 503, 504; timeouts; refused, reset or failed connections | `Failed`, [`Retryable`](FailureKind::Retryable) | retried |
/// | 401, 403; an `Authorization` value that cannot be sent (empty, control or non-ASCII characters) | `Failed`, [`Credentials`](FailureKind::Credentials) (the host's breaker does not count it) | drops the batch as `credentials_failed` |
/// | 3xx (never followed), other 4xx, 501; TLS errors | `Failed`, [`NotRetryable`](FailureKind::NotRetryable) | drops the batch as `export_failed` |
///
/// # Limits
///
/// - Each request takes at most `min(request_timeout, time left until the deadline given to
///   export)`; with no time left, nothing is sent (`Failed`, `Retryable`).
/// - Redirects are never followed, so credentials never reach another host.
/// - At most 64 KiB of a response body is read; a longer one is not read at all.
/// - Plain HTTP only to loopback hosts with `allow_insecure_http` (see [`ServiceEndpoint`]).
/// - Requests go through a [`Transport`]: the driver's own
///   ([`DatabricksExporterBuilder::with_transport`]), or by default a `UreqTransport` of the
///   exporter's own (one connection pool per exporter; proxies from `ALL_PROXY`,
///   `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`; loopback hosts are never proxied). Every
///   transport keeps the [`Transport`] contract: no redirects, bounded bodies, the deadline,
///   nothing secret logged.
/// - Logging through `tracing` at debug and trace only, with statuses and short reasons; never
///   a credential or a payload. The default client's own `log` dumps see only a one-off
///   placeholder in place of the `Authorization` value (see `secret_header.rs`).
///
/// # Example
///
/// ```
/// use databricks_telemetry::export::UserAgent;
/// use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
///
/// let endpoint = ServiceEndpoint::parse("adb-123.4.azuredatabricks.net", false)?;
/// let exporter = DatabricksExporter::builder(
///     endpoint,
///     ExporterSettings::default(),
///     UserAgent::new("DatabricksAdbcRust", "0.1.0")?,
/// )
/// .with_org_id("1234567890")
/// .build()?;
/// assert_eq!(
///     exporter.upload_url(true),
///     "https://adb-123.4.azuredatabricks.net/telemetry-ext"
/// );
/// assert_eq!(
///     exporter.upload_url(false),
///     "https://adb-123.4.azuredatabricks.net/telemetry-unauth"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DatabricksExporter {
    endpoint: ServiceEndpoint,
    authenticated_url: String,
    unauthenticated_url: String,
    user_agent: String,
    org_id: Option<String>,
    request_timeout: Duration,
    transport: Arc<dyn Transport>,
}

impl fmt::Debug for DatabricksExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabricksExporter")
            .field("endpoint", &self.endpoint)
            .field("user_agent", &self.user_agent)
            .field("org_id", &self.org_id)
            .field("request_timeout", &self.request_timeout)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DatabricksExporter {
    /// Starts building an exporter to `endpoint` that sends `user_agent` and follows
    /// `settings` (its request timeout, and whether plain HTTP is allowed).
    pub fn builder(
        endpoint: ServiceEndpoint,
        settings: ExporterSettings,
        user_agent: UserAgent,
    ) -> DatabricksExporterBuilder {
        DatabricksExporterBuilder {
            endpoint,
            allow_insecure_http: settings.allow_insecure_http,
            request_timeout: settings.request_timeout,
            user_agent,
            org_id: None,
            transport: None,
        }
    }

    /// Where uploads go: `…/telemetry-ext` with an authorization, `…/telemetry-unauth`
    /// without.
    pub fn upload_url(&self, authenticated: bool) -> &str {
        if authenticated {
            &self.authenticated_url
        } else {
            &self.unauthenticated_url
        }
    }

    /// The service endpoint.
    pub fn endpoint(&self) -> &ServiceEndpoint {
        &self.endpoint
    }

    /// `POST url` with `body` (`sent` logs), and what the answer means.
    fn send(
        &self,
        url: &str,
        authorization: Option<&AuthorizationValue>,
        body: &[u8],
        sent: usize,
        timeout: Duration,
    ) -> ExportOutcome {
        let headers = RequestHeaders {
            authorization,
            org_id: self.org_id.as_deref(),
        };
        let answer = match exchange(
            &*self.transport,
            Method::Post,
            url,
            headers,
            &self.user_agent,
            body,
            Instant::now() + timeout,
            MAX_RESPONSE_BODY_BYTES,
        ) {
            Ok(answer) => answer,
            Err(failure) => return ExportOutcome::Failed(failure),
        };
        answer_outcome(&answer, sent, SystemTime::now())
    }

    /// The timeout for a request starting now, or `None` when the deadline has passed.
    fn attempt_timeout(&self, deadline: Instant) -> Option<Duration> {
        let left = deadline.saturating_duration_since(Instant::now());
        (!left.is_zero()).then(|| left.min(self.request_timeout))
    }
}

impl Exporter for DatabricksExporter {
    /// One request: to `/telemetry-ext` with `authorization`, or to `/telemetry-unauth` (with
    /// the private fields stripped) without.
    fn export(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        let authenticated = authorization.is_some();
        let body = match upload_body(batch, authenticated, SystemTime::now()) {
            Ok(body) => body,
            Err(_) => {
                return ExportOutcome::failed(
                    FailureKind::NotRetryable,
                    "the batch could not be serialised",
                )
            }
        };
        let Some(timeout) = self.attempt_timeout(deadline) else {
            return ExportOutcome::failed(
                FailureKind::Retryable,
                "the deadline passed before the request was sent",
            );
        };
        let url = self.upload_url(authenticated);
        let outcome = self.send(url, authorization, &body, batch.len(), timeout);
        tracing::debug!(url = %url, events = batch.len(), outcome = ?outcome, "telemetry upload");
        outcome
    }
}

/// Builds a [`DatabricksExporter`]; from [`DatabricksExporter::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct DatabricksExporterBuilder {
    endpoint: ServiceEndpoint,
    allow_insecure_http: bool,
    request_timeout: Duration,
    user_agent: UserAgent,
    org_id: Option<String>,
    transport: Option<Arc<dyn Transport>>,
}

impl fmt::Debug for DatabricksExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabricksExporterBuilder")
            .field("endpoint", &self.endpoint)
            .field("user_agent", &self.user_agent)
            .field("org_id", &self.org_id)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DatabricksExporterBuilder {
    /// Send `x-databricks-org-id: <org_id>` (the `?o=` of the connection's HTTP path).
    pub fn with_org_id(mut self, org_id: impl Into<String>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }

    /// Send through `transport` (the driver's own HTTP client, e.g. a
    /// `ReqwestTransport`, or a shared
    /// `UreqTransport` with a proxy and extra CA certificates) instead of a default
    /// `UreqTransport` of the exporter's own. Give the same transport to the
    /// [`FeatureFlagCache`](crate::unstable::FeatureFlagCache) so flag fetches use the
    /// same network settings.
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The exporter.
    ///
    /// # Errors
    ///
    /// [`DatabricksExporterError::InsecureEndpoint`] for a plain-HTTP endpoint when the
    /// settings do not allow insecure HTTP or the host is not loopback;
    /// [`DatabricksExporterError::InvalidOrgId`] for an org id that is not a decimal number;
    /// [`DatabricksExporterError::NoTransport`] when no transport was given and the crate was
    /// built without its default client (feature `ureq-transport`).
    pub fn build(self) -> Result<DatabricksExporter, DatabricksExporterError> {
        if self.endpoint.scheme() == Scheme::Http {
            let host = self.endpoint.host().to_string();
            if !self.endpoint.host().is_loopback() {
                return Err(ServiceEndpointError::InsecureHttpNotLoopback { host }.into());
            }
            if !self.allow_insecure_http {
                return Err(ServiceEndpointError::InsecureHttpNotAllowed { host }.into());
            }
        }
        if let Some(org_id) = &self.org_id {
            if org_id.is_empty() || !org_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DatabricksExporterError::InvalidOrgId {
                    value: org_id.clone(),
                });
            }
        }
        let user_agent = self.user_agent.to_string();
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport(&self.user_agent)?,
        };
        Ok(DatabricksExporter {
            authenticated_url: self.endpoint.url(AUTHENTICATED_PATH),
            unauthenticated_url: self.endpoint.url(UNAUTHENTICATED_PATH),
            transport,
            endpoint: self.endpoint,
            user_agent,
            org_id: self.org_id,
            request_timeout: self.request_timeout,
        })
    }
}

/// Why a [`DatabricksExporter`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatabricksExporterError {
    /// The endpoint breaks the HTTPS rule.
    #[error(transparent)]
    InsecureEndpoint(#[from] ServiceEndpointError),
    /// The org id is not a decimal number.
    #[error("invalid org id {value:?} for x-databricks-org-id: expected a decimal number")]
    InvalidOrgId {
        /// The org id given.
        value: String,
    },
    /// No transport was given, and the crate was built without its default client (feature
    /// `ureq-transport`).
    #[error("no HTTP transport: give one, or build with the `ureq-transport` feature")]
    NoTransport,
}

/// The default client for one exporter or flag cache.
#[cfg(feature = "ureq-transport")]
pub(crate) fn default_transport(
    user_agent: &UserAgent,
) -> Result<Arc<dyn Transport>, DatabricksExporterError> {
    match UreqTransport::builder().with_user_agent(user_agent).build() {
        Ok(transport) => Ok(Arc::new(transport)),
        // Nothing was added: only a broken environment could refuse it.
        Err(_) => Err(DatabricksExporterError::NoTransport),
    }
}

/// Without the default client there is no default transport.
#[cfg(not(feature = "ureq-transport"))]
pub(crate) fn default_transport(
    _user_agent: &UserAgent,
) -> Result<Arc<dyn Transport>, DatabricksExporterError> {
    Err(DatabricksExporterError::NoTransport)
}
