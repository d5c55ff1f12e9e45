//! The blocking HTTP client of the exporter and the feature-flag cache: one `ureq` agent per
//! exporter (so its connections are reused; a flag fetch, once per host and TTL, makes its
//! own), HTTPS by default, proxies from the environment, no redirects, bounded response
//! bodies, one timeout per request.

use std::fmt;
use std::io;
use std::time::Duration;

use ureq::http::header::{AUTHORIZATION, CONTENT_TYPE};
use ureq::http::{HeaderValue, Response};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector, DefaultConnector};
use ureq::{Agent, Body, Proxy};

use super::endpoint::{Scheme, ServiceEndpoint};
use super::response::SuccessBody;
use super::secret_header::{sendable, SecretConnector, Secrets, Substitution};
use crate::credentials::AuthorizationValue;
use crate::export::{ExportFailure, FailureKind};

/// The most bytes of a response body ever read; longer bodies are not read at all.
pub(crate) const MAX_RESPONSE_BODY_BYTES: u64 = 64 * 1024;

/// The header that carries the workspace's organisation id.
pub(crate) const ORG_ID_HEADER: &str = "x-databricks-org-id";

/// `application/json`, for `Content-Type` and `Accept`.
const JSON: &str = "application/json";

/// A blocking HTTP client for one [`ServiceEndpoint`].
pub(crate) struct HttpTransport {
    agent: Agent,
    /// The credentials in flight, swapped in below the HTTP crate's logging (see
    /// [`secret_header`](super::secret_header)).
    secrets: Secrets,
}

/// The agent's `Debug` would show its configuration, proxy included (which may hold a
/// password); this shows nothing.
impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpTransport")
    }
}

/// The headers of one request besides those the agent sets on every request (`Accept`,
/// `User-Agent`), and `Content-Type` when there is a body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestHeaders<'a> {
    pub(crate) authorization: Option<&'a AuthorizationValue>,
    pub(crate) org_id: Option<&'a str>,
}

/// A complete answer: the status, the raw `Retry-After`, and for a 2xx the body as far as it
/// was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    /// `Some` for a 2xx only; other bodies are never read.
    pub(crate) body: Option<SuccessBody>,
}

impl HttpTransport {
    /// A client for `endpoint` that sends `user_agent` (also to a proxy).
    ///
    /// Redirects are never followed; an HTTPS endpoint's agent refuses plain HTTP outright;
    /// the proxy comes from `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY` (and `NO_PROXY`), except
    /// for loopback hosts, which are never proxied.
    pub(crate) fn new(endpoint: &ServiceEndpoint, user_agent: &str) -> Self {
        Self::with_roots(endpoint, user_agent, None)
    }

    /// [`new`](Self::new), trusting exactly the DER certificates `roots` (when given) instead of
    /// the bundled Mozilla roots. Certificate verification is always on; certificates that do
    /// not parse are ignored, so an unusable list trusts nothing.
    pub(crate) fn with_roots(
        endpoint: &ServiceEndpoint,
        user_agent: &str,
        roots: Option<&[Vec<u8>]>,
    ) -> Self {
        let tls = match roots {
            None => TlsConfig::default(),
            Some(roots) => TlsConfig::builder()
                .root_certs(RootCerts::from(
                    roots
                        .iter()
                        .map(|der| Certificate::from_der(der).to_owned()),
                ))
                .build(),
        };
        let proxy = if endpoint.host().is_loopback() {
            None
        } else {
            Proxy::try_from_env()
        };
        let config = Agent::config_builder()
            .https_only(endpoint.scheme() == Scheme::Https)
            .http_status_as_error(false)
            .max_redirects(0)
            .save_redirect_history(false)
            .proxy(proxy)
            .tls_config(tls)
            .user_agent(user_agent)
            .accept(JSON)
            .build();
        let secrets = Secrets::default();
        let connector = DefaultConnector::new().chain(SecretConnector {
            secrets: secrets.clone(),
        });
        HttpTransport {
            agent: Agent::with_parts(config, connector, DefaultResolver::default()),
            secrets,
        }
    }

    /// `POST url` with a JSON `body`, taking at most `timeout` (connect, send, and reading the
    /// answer included).
    pub(crate) fn post_json(
        &self,
        url: &str,
        headers: RequestHeaders<'_>,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Answer, ExportFailure> {
        let request = self.agent.post(url).header(CONTENT_TYPE, JSON);
        let (request, _substitution) = with_headers(request, headers, &self.secrets)?;
        let response = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(body)
            .map_err(|error| failure_from(&error))?;
        read_answer(response)
    }

    /// `GET url`, taking at most `timeout`, reading at most `body_limit` bytes of a 2xx body
    /// (a feature-flag answer can be far longer than an upload's answer).
    pub(crate) fn get(
        &self,
        url: &str,
        headers: RequestHeaders<'_>,
        timeout: Duration,
        body_limit: u64,
    ) -> Result<Answer, ExportFailure> {
        let (request, _substitution) = with_headers(self.agent.get(url), headers, &self.secrets)?;
        let response = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call()
            .map_err(|error| failure_from(&error))?;
        read_answer_limited(response, body_limit)
    }
}

/// Adds `Authorization` (as a placeholder the transport swaps for the value; keep the returned
/// [`Substitution`] until the answer is read) and the org id when given (the agent adds
/// `Accept` and `User-Agent`).
fn with_headers<B>(
    mut request: ureq::RequestBuilder<B>,
    headers: RequestHeaders<'_>,
    secrets: &Secrets,
) -> Result<(ureq::RequestBuilder<B>, Option<Substitution>), ExportFailure> {
    let mut substitution = None;
    if let Some(value) = headers.authorization {
        let registered = secrets.register(checked(value)?);
        let mut header = HeaderValue::from_str(registered.placeholder()).map_err(|_| {
            ExportFailure::new(FailureKind::NotRetryable, "the request could not be built")
        })?;
        header.set_sensitive(true);
        request = request.header(AUTHORIZATION, header);
        substitution = Some(registered);
    }
    if let Some(org_id) = headers.org_id {
        request = request.header(ORG_ID_HEADER, org_id);
    }
    Ok((request, substitution))
}

/// `value`, when the HTTP layer can send it; otherwise a [`FailureKind::Credentials`] failure
/// (nothing is sent, and no retry can help).
pub(crate) fn checked(value: &AuthorizationValue) -> Result<&AuthorizationValue, ExportFailure> {
    if sendable(value.expose()) {
        Ok(value)
    } else {
        Err(ExportFailure::new(
            FailureKind::Credentials,
            "the credentials provider gave an Authorization value that cannot be sent (empty, \
             or a control or non-ASCII character)",
        ))
    }
}

/// Reads the status and `Retry-After`, and for a 2xx at most [`MAX_RESPONSE_BODY_BYTES`] of the
/// body.
///
/// Once the status line says 2xx the batch is delivered, whatever the body does: a body that
/// declares more than the limit is not read at all ([`SuccessBody::TooLarge`]), and one that
/// cannot be read (cut short, stalled, timed out, broken) is also [`SuccessBody::TooLarge`]
/// (not had in full), with a debug log; neither is ever a failure, so a delivered batch is
/// never sent again.
pub(crate) fn read_answer(response: Response<Body>) -> Result<Answer, ExportFailure> {
    read_answer_limited(response, MAX_RESPONSE_BODY_BYTES)
}

/// [`read_answer`] with at most `body_limit` bytes of a 2xx body read.
fn read_answer_limited(
    mut response: Response<Body>,
    body_limit: u64,
) -> Result<Answer, ExportFailure> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(ureq::http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = if response.status().is_success() {
        Some(read_success_body(&mut response, body_limit))
    } else {
        None
    };
    // Dropping an unread body closes the connection instead of reading it.
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// The body of a 2xx answer, as far as it can be had; never an error.
fn read_success_body(response: &mut Response<Body>, body_limit: u64) -> SuccessBody {
    let declared = response
        .headers()
        .get(ureq::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > body_limit) {
        tracing::debug!("2xx answer declares a body over the limit; not read, batch delivered");
        return SuccessBody::TooLarge;
    }
    let read = response
        .body_mut()
        .with_config()
        .limit(body_limit)
        .read_to_vec();
    match read {
        Ok(bytes) => SuccessBody::Complete(bytes),
        Err(ureq::Error::BodyExceedsLimit(_)) => SuccessBody::TooLarge,
        Err(error) => {
            let failure = failure_from(&error);
            tracing::debug!(
                reason = %failure.reason,
                "warning: the body of a 2xx answer could not be read; the batch counts as \
                 delivered and is not sent again"
            );
            SuccessBody::TooLarge
        }
    }
}

/// A transport error as a failure with a short reason. The reason is made here, never taken
/// from the error's text (which could name a proxy with its password).
pub(crate) fn failure_from(error: &ureq::Error) -> ExportFailure {
    use ureq::Error as E;
    let (kind, reason): (FailureKind, &str) = match error {
        E::Timeout(_) => (FailureKind::Retryable, "timed out"),
        E::Io(io) => return io_failure(io),
        E::HostNotFound => (FailureKind::Retryable, "host not found"),
        E::ConnectionFailed => (FailureKind::Retryable, "connection failed"),
        E::ConnectProxyFailed(_) => (FailureKind::Retryable, "the proxy refused to connect"),
        E::Protocol(_) => (FailureKind::Retryable, "the answer broke the HTTP protocol"),
        E::BodyStalled => (FailureKind::Retryable, "the response body stalled"),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => {
            (FailureKind::NotRetryable, "TLS failed")
        }
        E::RequireHttpsOnly(_) => (FailureKind::NotRetryable, "https is required"),
        E::TooManyRedirects | E::RedirectFailed => {
            (FailureKind::NotRetryable, "redirect not followed")
        }
        E::LargeResponseHeader(_, _) => (
            FailureKind::NotRetryable,
            "the response headers are too large",
        ),
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl => {
            (FailureKind::NotRetryable, "the request could not be built")
        }
        _ => (FailureKind::NotRetryable, "the HTTP client failed"),
    };
    ExportFailure::new(kind, reason)
}

/// An I/O error: refused, reset and timed-out connections are retryable; a TLS failure (a
/// certificate refused, a failed handshake), which reaches us as an I/O error wrapping the TLS
/// library's error, is not.
fn io_failure(error: &io::Error) -> ExportFailure {
    use io::ErrorKind as K;
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        return ExportFailure::new(FailureKind::NotRetryable, "TLS failed");
    }
    let reason = match error.kind() {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            "connection reset"
        }
        K::TimedOut | K::WouldBlock => "timed out",
        _ => "I/O error",
    };
    ExportFailure::new(FailureKind::Retryable, reason)
}
