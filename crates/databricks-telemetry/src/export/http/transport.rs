//! [`UreqTransport`], the default client: blocking `ureq` with rustls, one connection pool per
//! transport, HTTPS verified against the bundled Mozilla roots plus any CA certificates the
//! driver adds, an explicit proxy or the environment's, no redirects, bounded response bodies,
//! one deadline per request, and every name-lookup thread counted.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use ureq::http::header::{AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use ureq::http::{HeaderValue, Response};
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};
use ureq::{Agent, Body, Proxy, ProxyProtocol};

use super::proxy::ProxyConfig;
use super::resolver::CountedResolver;
use super::secret_header::{SecretConnector, Secrets};
use super::setup_error::TransportSetupError;
use super::tls::{client_config, TlsConnector};
use super::user_agent::UserAgent;
use crate::export::transport::{
    Method, ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse,
};

/// The default HTTP client (feature `ureq-transport`, on by default): blocking `ureq` with
/// rustls, one connection pool per transport. It keeps the [`Transport`] contract.
///
/// - **TLS**: rustls; certificates verified against the bundled Mozilla roots *and* the CA
///   certificates given to [`with_root_certificates_pem`](UreqTransportBuilder::with_root_certificates_pem)
///   (a corporate CA that re-signs traffic, a private CA). Verification cannot be turned off.
/// - **Proxy**: the one given to [`with_proxy`](UreqTransportBuilder::with_proxy), else
///   `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY` with `NO_PROXY` (HTTP `CONNECT` proxies only);
///   loopback hosts never go through a proxy.
/// - **Logging**: the `Authorization` value never reaches ureq (see `secret_header.rs`), so
///   its TRACE dumps show a placeholder; failure reasons are fixed texts.
/// - **Threads**: name lookups run on counted threads (`dbx-telemetry-dns`); IP literals and
///   `localhost` need none.
///
/// Build one per driver and share it (an `Arc`): given to
/// [`AcquireOptions::with_transport`](crate::AcquireOptions::with_transport), it carries a
/// host's uploads and flag fetches alike, so both use the same network settings.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use databricks_telemetry::export::{ProxyConfig, Transport, UreqTransport, UserAgent};
///
/// let transport = UreqTransport::builder()
///     .with_user_agent(&UserAgent::new("DatabricksAdbcRust", "0.1.0")?)
///     .with_proxy(
///         ProxyConfig::new("http://proxy.corp.example:3128")?
///             .with_credentials("svc", "secret")
///             .with_bypass_hosts([".corp.example"]),
///     )
///     .build()?;
/// let transport: Arc<dyn Transport> = Arc::new(transport);
/// assert!(!format!("{transport:?}").contains("secret"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UreqTransport {
    /// Requests that go direct (loopback hosts, the proxy's bypass list, or no proxy at all).
    direct: Agent,
    /// Requests through the explicit proxy, with its bypass rules.
    proxied: Option<(Agent, ProxyConfig)>,
    /// The credentials in flight, swapped in below ureq's logging.
    secrets: Secrets,
    roots: usize,
    added_roots: usize,
    proxy_shown: Option<String>,
}

/// Shows the proxy without credentials and how many roots are trusted; never a credential.
impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport")
            .field("proxy", &self.proxy_shown)
            .field("trusted_roots", &self.roots)
            .field("added_roots", &self.added_roots)
            .finish_non_exhaustive()
    }
}

impl UreqTransport {
    /// A transport with the bundled roots, the environment's proxy, and ureq's user agent on
    /// proxy `CONNECT`s (requests carry the library's own `User-Agent`).
    // The default builder has no extra roots or proxy that could be refused: it builds from the
    // bundled roots and the environment's proxy, neither of which can fail (a non-http proxy
    // from the environment is ignored).
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        UreqTransportBuilder::default()
            .build()
            .expect("the default transport always builds")
    }

    /// Starts building a transport.
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder::default()
    }

    /// How many root certificates are trusted: the bundled ones plus those added.
    pub fn trusted_root_count(&self) -> usize {
        self.roots
    }

    /// The agent for `url`: direct for loopback hosts and the proxy's bypass list.
    fn agent_for(&self, url: &str) -> &Agent {
        match &self.proxied {
            Some((agent, proxy)) => {
                let host = url
                    .parse::<ureq::http::Uri>()
                    .ok()
                    .and_then(|uri| uri.host().map(str::to_owned));
                match host {
                    Some(host) if !proxy.bypasses(&host) => agent,
                    _ => &self.direct,
                }
            }
            None => &self.direct,
        }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: &TransportRequest<'_>) -> Result<TransportResponse, TransportError> {
        let timeout = request.time_left();
        if timeout.is_zero() {
            return Err(TransportError::new(
                TransportErrorKind::TimedOut,
                "timed out",
            ));
        }
        let agent = self.agent_for(request.url());
        let mut builder = ureq::http::Request::builder()
            .method(request.method().as_str())
            .uri(request.url());
        for (name, value) in request.headers() {
            builder = builder.header(*name, *value);
        }
        // The value never reaches ureq: a one-off placeholder does, swapped for the value
        // below ureq's logging (see `secret_header.rs`).
        let substitution = match request.authorization() {
            Some(value) if super::client::sendable(value) => Some(self.secrets.register(value)),
            Some(_) => {
                return Err(TransportError::new(
                    TransportErrorKind::InvalidRequest,
                    "the Authorization value cannot be sent",
                ))
            }
            None => None,
        };
        if let Some(substitution) = &substitution {
            let mut header = HeaderValue::from_str(substitution.placeholder()).map_err(|_| {
                TransportError::new(
                    TransportErrorKind::InvalidRequest,
                    "the request could not be built",
                )
            })?;
            header.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, header);
        }
        let built = |error: ureq::http::Error| {
            let _ = error;
            TransportError::new(
                TransportErrorKind::InvalidRequest,
                "the request could not be built",
            )
        };
        let response = match request.method() {
            Method::Get => {
                let http_request = builder.body(()).map_err(built)?;
                let configured = agent
                    .configure_request(http_request)
                    .timeout_global(Some(timeout))
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .build();
                agent.run(configured)
            }
            Method::Post => {
                let http_request = builder.body(request.body()).map_err(built)?;
                let configured = agent
                    .configure_request(http_request)
                    .timeout_global(Some(timeout))
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .build();
                agent.run(configured)
            }
        }
        .map_err(|error| error_from(&error))?;
        let answer = read_response(response, request.body_limit());
        drop(substitution);
        Ok(answer)
    }
}

/// Builds a [`UreqTransport`]; from [`UreqTransport::builder`].
#[derive(Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct UreqTransportBuilder {
    proxy: Option<ProxyConfig>,
    roots: Vec<CertificateDer<'static>>,
    user_agent: Option<String>,
}

/// Shows the proxy without credentials and how many certificates were added, not their bytes.
impl fmt::Debug for UreqTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransportBuilder")
            .field("proxy", &self.proxy)
            .field("added_roots", &self.roots.len())
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl UreqTransportBuilder {
    /// Send HTTPS through `proxy` (except to loopback hosts and the proxy's bypass list),
    /// instead of the proxy from the environment.
    pub fn with_proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Trust the CA certificates in `pem` (one or more `-----BEGIN CERTIFICATE-----` blocks;
    /// other blocks are skipped) *in addition to* the bundled Mozilla roots, for uploads and
    /// flag fetches alike.
    ///
    /// # Errors
    ///
    /// [`TransportSetupError::NoCertificate`] when `pem` holds no certificate,
    /// [`TransportSetupError::MalformedCertificate`] for a block that does not decode.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, TransportSetupError> {
        let mut found = 0;
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(certificate)) => {
                    self.roots
                        .push(CertificateDer::from(certificate.der().to_vec()));
                    found += 1;
                }
                Ok(_) => {}
                Err(_) => return Err(TransportSetupError::MalformedCertificate),
            }
        }
        if found == 0 {
            return Err(TransportSetupError::NoCertificate);
        }
        Ok(self)
    }

    /// Trust this DER-encoded CA certificate in addition to the bundled roots.
    pub fn with_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(CertificateDer::from(der.into()));
        self
    }

    /// Send `user_agent` on proxy `CONNECT` requests too (requests carry the library's
    /// `User-Agent` whatever this says).
    pub fn with_user_agent(mut self, user_agent: &UserAgent) -> Self {
        self.user_agent = Some(user_agent.to_string());
        self
    }

    /// The transport.
    ///
    /// # Errors
    ///
    /// [`TransportSetupError::UnusableCertificate`] when an added certificate cannot be used
    /// as a root; [`TransportSetupError::InvalidProxy`] when the HTTP client refuses the proxy.
    pub fn build(self) -> Result<UreqTransport, TransportSetupError> {
        let (tls, roots) =
            client_config(&self.roots).map_err(|_| TransportSetupError::UnusableCertificate)?;
        let secrets = Secrets::default();
        let agent = |proxy: Option<Proxy>| {
            let mut config = Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .save_redirect_history(false)
                .proxy(proxy);
            if let Some(user_agent) = &self.user_agent {
                config = config.user_agent(user_agent);
            }
            let connector = ()
                .chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(TlsConnector {
                    config: Arc::clone(&tls),
                })
                .chain(SecretConnector {
                    secrets: secrets.clone(),
                });
            Agent::with_parts(config.build(), connector, CountedResolver)
        };
        let (direct, proxied) = match &self.proxy {
            Some(proxy) => {
                let ureq_proxy = proxy.to_ureq()?;
                (agent(None), Some((agent(Some(ureq_proxy)), proxy.clone())))
            }
            None => {
                // Only HTTP CONNECT proxies: the chain has no SOCKS connector.
                let from_env = Proxy::try_from_env().filter(|proxy| {
                    let usable = proxy.protocol() == ProxyProtocol::Http;
                    if !usable {
                        tracing::debug!("ignoring a proxy from the environment that is not http");
                    }
                    usable
                });
                match from_env {
                    Some(proxy) => {
                        // The environment's NO_PROXY is applied by ureq; loopback by us.
                        // A constant that always parses; were it refused, the build would
                        // say so as a proxy error.
                        let loopback_only = ProxyConfig::new("localhost:1")?;
                        (agent(None), Some((agent(Some(proxy)), loopback_only)))
                    }
                    None => (agent(None), None),
                }
            }
        };
        Ok(UreqTransport {
            direct,
            proxy_shown: self.proxy.as_ref().map(ToString::to_string),
            proxied,
            secrets,
            roots,
            added_roots: self.roots.len(),
        })
    }
}

/// Reads the status and `Retry-After`, and for a 2xx at most `body_limit` bytes of the body.
///
/// Once the status line says 2xx the batch is delivered, whatever the body does: a body that
/// declares more than the limit is not read at all, and one that cannot be read (cut short,
/// stalled, timed out, broken) is [`ResponseBody::Incomplete`] too, with a debug log.
pub(crate) fn read_response(mut response: Response<Body>, body_limit: u64) -> TransportResponse {
    let status = response.status().as_u16();
    let mut answer = TransportResponse::new(status);
    if let Some(value) = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
    {
        answer = answer.with_retry_after(value);
    }
    if response.status().is_success() {
        answer = answer.with_body(read_success_body(&mut response, body_limit));
    }
    // Dropping an unread body closes the connection instead of reading it.
    answer
}

/// The body of a 2xx answer, as far as it can be had; never an error.
fn read_success_body(response: &mut Response<Body>, body_limit: u64) -> ResponseBody {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > body_limit) {
        tracing::debug!("2xx answer declares a body over the limit; not read");
        return ResponseBody::Incomplete;
    }
    let read = response
        .body_mut()
        .with_config()
        .limit(body_limit)
        .read_to_vec();
    match read {
        Ok(bytes) => ResponseBody::Complete(bytes),
        Err(ureq::Error::BodyExceedsLimit(_)) => ResponseBody::Incomplete,
        Err(error) => {
            let error = error_from(&error);
            tracing::debug!(
                reason = error.reason(),
                "warning: the body of a 2xx answer could not be read; the batch counts as \
                 delivered and is not sent again"
            );
            ResponseBody::Incomplete
        }
    }
}

/// A ureq error as a transport error with a short reason. The reason is made here, never
/// taken from the error's text (which could name a proxy with its password).
pub(crate) fn error_from(error: &ureq::Error) -> TransportError {
    use ureq::Error as E;
    use TransportErrorKind as K;
    let (kind, reason) = match error {
        E::Timeout(_) => (K::TimedOut, "timed out"),
        E::Io(io) => return io_error(io),
        E::HostNotFound => (K::Connection, "host not found"),
        E::ConnectionFailed => (K::Connection, "connection failed"),
        E::ConnectProxyFailed(_) => (K::Connection, "the proxy refused to connect"),
        E::Protocol(_) => (K::Connection, "the answer broke the HTTP protocol"),
        E::BodyStalled => (K::Connection, "the response body stalled"),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => (K::Tls, "TLS failed"),
        E::RequireHttpsOnly(_) => (K::InvalidRequest, "https is required"),
        E::TooManyRedirects | E::RedirectFailed => (K::Redirected, "redirect not followed"),
        E::LargeResponseHeader(_, _) => (K::Other, "the response headers are too large"),
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl => {
            (K::InvalidRequest, "the request could not be built")
        }
        _ => (K::Other, "the HTTP client failed"),
    };
    TransportError::new(kind, reason)
}

/// An I/O error: refused, reset and timed-out connections are retryable; a TLS failure (a
/// certificate refused, a failed handshake), which reaches us as an I/O error wrapping the TLS
/// library's error, is not.
fn io_error(error: &io::Error) -> TransportError {
    use io::ErrorKind as K;
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        return TransportError::new(TransportErrorKind::Tls, "TLS failed");
    }
    let (kind, reason) = match error.kind() {
        K::ConnectionRefused => (TransportErrorKind::Connection, "connection refused"),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            (TransportErrorKind::Connection, "connection reset")
        }
        K::TimedOut | K::WouldBlock => (TransportErrorKind::TimedOut, "timed out"),
        _ => (TransportErrorKind::Connection, "I/O error"),
    };
    TransportError::new(kind, reason)
}
