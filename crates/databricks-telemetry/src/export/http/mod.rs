//! [`DatabricksExporter`]: uploads batches to the Databricks telemetry service over HTTPS. What
//! it sends, how answers are treated and its limits are in its docs.

pub(crate) mod client;
mod endpoint;
mod proxy;
mod request;
#[cfg(feature = "ureq-transport")]
mod resolver;
pub(crate) mod response;
mod retry;
#[cfg(feature = "ureq-transport")]
mod secret_header;
#[cfg(feature = "ureq-transport")]
mod tls;
#[cfg(feature = "ureq-transport")]
pub(crate) mod transport;
mod user_agent;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use endpoint::{Scheme, ServiceEndpoint, ServiceEndpointError};
pub use proxy::{ProxyConfig, ProxyConfigError};
pub use retry::RetryPolicy;
#[cfg(feature = "ureq-transport")]
pub use transport::{CertificateError, UreqTransport, UreqTransportBuilder, UreqTransportError};
pub use user_agent::{UserAgent, UserAgentError};

use self::client::{exchange, RequestHeaders, MAX_RESPONSE_BODY_BYTES};
use self::request::{upload_body, AUTHENTICATED_PATH, UNAUTHENTICATED_PATH};
use self::response::answer_outcome;
pub(crate) use self::response::SuccessBody;
use self::retry::random_unit;
use crate::config::TelemetryConfig;
use crate::credentials::{AuthorizationValue, CredentialsProvider};
use crate::export::transport::{Method, Transport};
use crate::export::{ExportFailure, ExportOutcome, Exporter, FailureKind};
use crate::model::FrontendLog;

/// Exports batches to the Databricks telemetry service over HTTPS.
///
/// [`TelemetryClientManager::acquire_databricks`](crate::TelemetryClientManager::acquire_databricks)
/// builds one per host and calls [`export_as`](Exporter::export_as): one request per call, with
/// the lane's authorization (the pipeline retries, holds and probes). Built by hand with
/// [`DatabricksExporter::builder`], its [`export`](Exporter::export) uses the exporter's own
/// credentials and retries as its [`RetryPolicy`] says.
///
/// # What it sends
///
/// With credentials, `POST {endpoint}/telemetry-ext` with `Authorization` from the
/// [`CredentialsProvider`]; without, `POST {endpoint}/telemetry-unauth`, after removing from each
/// log its session id, system configuration, connection parameters and stack trace (the service
/// refuses them there). Headers: `Content-Type: application/json`, `Accept: application/json`,
/// the [`UserAgent`], and `x-databricks-org-id` when an org id is given. The body is a
/// [`TelemetryRequest`](crate::model::TelemetryRequest), serialised once per batch, on the
/// worker thread.
///
/// # How answers are treated
///
/// | answer | outcome | retried |
/// |---|---|---|
/// | 2xx | [`Delivered`](ExportOutcome::Delivered); a JSON body with `numProtoSuccess` below the number sent gives [`PartiallyDelivered`](ExportOutcome::PartiallyDelivered). A missing, malformed or oversized body is a success. | no |
/// | 429; 503 with a valid `Retry-After` | `Failed`, [`Throttled`](FailureKind::Throttled) with the delay asked for | yes, after at least `Retry-After`, when that is within `retry_max_delay`; otherwise not (the breaker then holds the host for the `Retry-After`) |
/// | 408, 500, 502, 503, 504; timeouts; refused, reset or failed connections | `Failed`, [`Retryable`](FailureKind::Retryable) | yes |
/// | 401, 403; a credentials provider error; an `Authorization` value that cannot be sent (empty, control or non-ASCII characters) | `Failed`, [`Credentials`](FailureKind::Credentials) (the host's breaker does not count it) | no |
/// | 3xx (never followed), other 4xx, 501; TLS errors | `Failed`, [`NotRetryable`](FailureKind::NotRetryable) | no |
///
/// # Limits
///
/// - Each request takes at most `min(request_timeout, time left until the deadline given to
///   export)`; retries follow the [`RetryPolicy`] and never sleep past that deadline.
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
/// use std::sync::Arc;
/// use databricks_telemetry::credentials::StaticBearerToken;
/// use databricks_telemetry::export::{DatabricksExporter, ServiceEndpoint, UserAgent};
/// use databricks_telemetry::TelemetryConfig;
///
/// let config = TelemetryConfig::default();
/// let endpoint = ServiceEndpoint::parse("adb-123.4.azuredatabricks.net", &config)?;
/// let exporter = DatabricksExporter::builder(
///     endpoint,
///     &config,
///     UserAgent::new("DatabricksAdbcRust", "0.1.0")?,
/// )
/// .with_credentials(Arc::new(StaticBearerToken::new("dapi-secret")))
/// .with_org_id("1234567890")
/// .build()?;
/// assert_eq!(exporter.url(), "https://adb-123.4.azuredatabricks.net/telemetry-ext");
/// assert!(!format!("{exporter:?}").contains("dapi-secret"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DatabricksExporter {
    endpoint: ServiceEndpoint,
    url: String,
    authenticated_url: String,
    unauthenticated_url: String,
    credentials: Option<Arc<dyn CredentialsProvider>>,
    user_agent: String,
    org_id: Option<String>,
    request_timeout: Duration,
    retry: RetryPolicy,
    transport: Arc<dyn Transport>,
}

impl fmt::Debug for DatabricksExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabricksExporter")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .field("user_agent", &self.user_agent)
            .field("org_id", &self.org_id)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DatabricksExporter {
    /// Starts building an exporter to `endpoint` that sends `user_agent` and follows `config`'s
    /// `request_timeout_ms`, `max_retries`, `retry_base_delay_ms`, `retry_max_delay_ms` and
    /// `allow_insecure_http`.
    pub fn builder(
        endpoint: ServiceEndpoint,
        config: &TelemetryConfig,
        user_agent: UserAgent,
    ) -> DatabricksExporterBuilder {
        DatabricksExporterBuilder {
            endpoint,
            allow_insecure_http: config.allow_insecure_http(),
            request_timeout: config.request_timeout(),
            retry: RetryPolicy::from_config(config),
            user_agent,
            credentials: None,
            org_id: None,
            transport: None,
        }
    }

    /// Where uploads go: `…/telemetry-ext` with credentials, `…/telemetry-unauth` without.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The service endpoint.
    pub fn endpoint(&self) -> &ServiceEndpoint {
        &self.endpoint
    }

    /// Whether uploads carry credentials (and go to `/telemetry-ext`).
    pub fn is_authenticated(&self) -> bool {
        self.credentials.is_some()
    }

    /// The retry policy in force.
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// One request with `timeout` and the exporter's own credentials, and what its answer
    /// means.
    fn attempt(&self, body: &[u8], sent: usize, timeout: Duration) -> ExportOutcome {
        let authorization = match self.authorization() {
            Ok(value) => value,
            Err(failure) => return ExportOutcome::Failed(failure),
        };
        self.send(&self.url, authorization.as_ref(), body, sent, timeout)
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

    /// The current `Authorization` value, when the exporter has credentials. The provider's
    /// error text is not kept: it is not ours to vouch for.
    fn authorization(&self) -> Result<Option<AuthorizationValue>, ExportFailure> {
        let Some(provider) = &self.credentials else {
            return Ok(None);
        };
        provider.authorization().map(Some).map_err(|_| {
            tracing::debug!("telemetry credentials provider failed; nothing sent");
            ExportFailure::new(FailureKind::Credentials, "credentials unavailable")
        })
    }

    /// The timeout for a request starting now, or `None` when the deadline has passed.
    fn attempt_timeout(&self, deadline: Option<Instant>) -> Option<Duration> {
        match deadline {
            None => Some(self.request_timeout),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(self.request_timeout))
            }
        }
    }
}

impl Exporter for DatabricksExporter {
    /// One request: to `/telemetry-ext` with `authorization`, or to `/telemetry-unauth` (with
    /// the private fields stripped) without; the exporter's own credentials and retries are not
    /// used. This is what the pipeline calls.
    fn export_as(
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
        let Some(timeout) = self.attempt_timeout(Some(deadline)) else {
            return ExportOutcome::failed(
                FailureKind::Retryable,
                "the deadline passed before the request was sent",
            );
        };
        let url = if authenticated {
            &self.authenticated_url
        } else {
            &self.unauthenticated_url
        };
        let outcome = self.send(url, authorization, &body, batch.len(), timeout);
        tracing::debug!(url = %url, events = batch.len(), outcome = ?outcome, "telemetry upload");
        outcome
    }

    /// Sends with the exporter's own credentials, retrying as its [`RetryPolicy`] says.
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        let body = match upload_body(batch, self.is_authenticated(), SystemTime::now()) {
            Ok(body) => body,
            Err(_) => {
                return ExportOutcome::failed(
                    FailureKind::NotRetryable,
                    "the batch could not be serialised",
                )
            }
        };
        let mut retry = 0;
        let mut last = None;
        loop {
            let Some(timeout) = self.attempt_timeout(deadline) else {
                return last.unwrap_or_else(|| {
                    ExportOutcome::failed(
                        FailureKind::Retryable,
                        "the deadline passed before the request was sent",
                    )
                });
            };
            let outcome = self.attempt(&body, batch.len(), timeout);
            let retry_after = match &outcome {
                ExportOutcome::Failed(failure) => match failure.kind {
                    FailureKind::NotRetryable | FailureKind::Credentials => None,
                    FailureKind::Retryable => Some(None),
                    FailureKind::Throttled { retry_after } => Some(retry_after),
                },
                _ => None,
            };
            tracing::debug!(
                url = %self.url,
                events = batch.len(),
                attempt = retry + 1,
                outcome = ?outcome,
                "telemetry upload attempt"
            );
            let Some(retry_after) = retry_after else {
                return outcome;
            };
            if retry >= self.retry.max_retries {
                return outcome;
            }
            if retry_after.is_some_and(|wait| wait > self.retry.max_delay) {
                // The service asked for more quiet than a retry may wait: leave the host alone
                // and let its breaker (opened by this Retry-After) hold it for that long.
                tracing::trace!("Retry-After beyond retry_max_delay; not retrying");
                return outcome;
            }
            let delay = self.retry.backoff(retry, retry_after, random_unit());
            if deadline.is_some_and(|deadline| Instant::now() + delay >= deadline) {
                tracing::trace!("no time left before the deadline for another attempt");
                return outcome;
            }
            tracing::trace!(
                delay_ms = delay.as_millis() as u64,
                "retrying telemetry upload"
            );
            std::thread::sleep(delay);
            retry += 1;
            last = Some(outcome);
        }
    }
}

/// Builds a [`DatabricksExporter`]; from [`DatabricksExporter::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct DatabricksExporterBuilder {
    endpoint: ServiceEndpoint,
    allow_insecure_http: bool,
    request_timeout: Duration,
    retry: RetryPolicy,
    user_agent: UserAgent,
    credentials: Option<Arc<dyn CredentialsProvider>>,
    org_id: Option<String>,
    transport: Option<Arc<dyn Transport>>,
}

impl fmt::Debug for DatabricksExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabricksExporterBuilder")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("user_agent", &self.user_agent)
            .field("org_id", &self.org_id)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DatabricksExporterBuilder {
    /// Upload to `/telemetry-ext` with the `Authorization` value `credentials` gives for each
    /// request. Without this, uploads go to `/telemetry-unauth`.
    pub fn with_credentials(mut self, credentials: Arc<dyn CredentialsProvider>) -> Self {
        self.credentials = Some(credentials);
        self
    }

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
    /// configuration does not set `allow_insecure_http` or the host is not loopback;
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
        let path = if self.credentials.is_some() {
            AUTHENTICATED_PATH
        } else {
            UNAUTHENTICATED_PATH
        };
        let user_agent = self.user_agent.to_string();
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport(&self.user_agent)?,
        };
        Ok(DatabricksExporter {
            url: self.endpoint.url(path),
            authenticated_url: self.endpoint.url(AUTHENTICATED_PATH),
            unauthenticated_url: self.endpoint.url(UNAUTHENTICATED_PATH),
            transport,
            endpoint: self.endpoint,
            credentials: self.credentials,
            user_agent,
            org_id: self.org_id,
            request_timeout: self.request_timeout,
            retry: self.retry,
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
