//! The HTTP transport: how the exporter's uploads and the feature-flag fetch reach the network.
//!
//! A [`Transport`] sends one [`TransportRequest`] and returns a [`TransportResponse`] (the
//! status, `Retry-After`, and for a 2xx a body of bounded length) or a [`TransportError`].
//! Everything else (which statuses are retried, what a body means, the breaker) stays in the
//! library, so every transport is treated alike.
//!
//! Implementations shipped here:
//!
//! - `UreqTransport` (feature `ureq-transport`, on by default):
//!   the default client, blocking, with rustls and the bundled Mozilla roots, an explicit
//!   proxy, and extra CA certificates;
//! - `ReqwestTransport` (feature `reqwest`): sends through a
//!   driver's own `reqwest::Client`, on the driver's tokio runtime.
//!
//! A driver with another HTTP stack implements [`Transport`] itself and hands it to
//! [`AcquireOptions::with_transport`](crate::AcquireOptions::with_transport) (uploads and flag
//! fetches alike).

use std::fmt;
use std::time::{Duration, Instant};

use crate::credentials::AuthorizationValue;
use crate::export::{ExportFailure, FailureKind};

/// Sends one HTTP request: how the exporter's uploads and the feature-flag fetch reach the
/// network.
///
/// The library builds each [`TransportRequest`] and interprets each [`TransportResponse`]
/// (which statuses are retried, what a body means, the breaker), so every transport is treated
/// alike. Implementations shipped: `UreqTransport` (feature
/// `ureq-transport`, the default client) and `ReqwestTransport`
/// (feature `reqwest`, a driver's own `reqwest::Client` on its tokio runtime). A driver with
/// another HTTP stack implements this trait and hands it to
/// [`AcquireOptions::with_transport`](crate::AcquireOptions::with_transport) (uploads and flag
/// fetches alike).
///
/// # Contract
///
/// The library relies on every implementation to:
///
/// 1. **Never follow a redirect.** A 3xx is returned as it came (its status), never followed:
///    following would send the `Authorization` value (and the telemetry) to wherever the
///    answer points. An implementation that cannot stop its client from following must detect
///    that it did (the final URL differs from the request's) and fail with
///    [`TransportErrorKind::Redirected`].
/// 2. **Read a bounded body.** Read at most [`body_limit`](TransportRequest::body_limit) bytes
///    of a 2xx answer's body; a body that declares or turns out to be longer is
///    [`ResponseBody::Incomplete`], not read further. Bodies of other answers need not be read
///    at all.
/// 3. **Honour the deadline.** Return by [`deadline`](TransportRequest::deadline) (connect,
///    send and reading the answer included), with [`TransportErrorKind::TimedOut`] when it
///    passes; never block past it, whatever the server or the network does.
/// 4. **Log nothing secret.** The [`authorization`](TransportRequest::authorization) value goes
///    only into the `Authorization` header (mark it sensitive where the HTTP library allows),
///    never into a log, an error or a `Debug` output, at any level; nor do proxy passwords.
///    Log at debug or trace only.
/// 5. **Never panic**, and make one attempt per call: the library retries.
///
/// The request's headers are to be sent as given; the implementation may add what its HTTP
/// library adds (`Host`, `Content-Length`, connection management), nothing that changes the
/// meaning of the request.
///
/// # Example
///
/// A transport that answers every request `200` without a network, for tests:
///
/// ```
/// use databricks_telemetry::export::{
///     ResponseBody, Transport, TransportError, TransportRequest, TransportResponse,
/// };
///
/// #[derive(Debug)]
/// struct AlwaysOk;
///
/// impl Transport for AlwaysOk {
///     fn send(&self, request: &TransportRequest<'_>) -> Result<TransportResponse, TransportError> {
///         assert!(request.body().len() as u64 <= 10 * 1024 * 1024);
///         Ok(TransportResponse::new(200).with_body(ResponseBody::Complete(b"{}".to_vec())))
///     }
/// }
/// ```
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` once and returns its answer; see the [contract](Self#contract).
    ///
    /// # Errors
    ///
    /// A [`TransportError`] when no complete status line and headers were had: the request
    /// could not be sent, the connection failed, TLS failed, the deadline passed, or a
    /// redirect was followed.
    fn send(&self, request: &TransportRequest<'_>) -> Result<TransportResponse, TransportError>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(&self, request: &TransportRequest<'_>) -> Result<TransportResponse, TransportError> {
        (**self).send(request)
    }
}

/// The HTTP method of a [`TransportRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET` (the feature-flag fetch).
    Get,
    /// `POST` (an upload).
    Post,
}

impl Method {
    /// The method's name: `"GET"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request for a [`Transport`]: made by the library, read by the transport.
///
/// Its `Debug` output shows the method, URL, header names and sizes, never the
/// `Authorization` value.
pub struct TransportRequest<'a> {
    method: Method,
    url: &'a str,
    headers: Vec<(&'static str, &'a str)>,
    authorization: Option<&'a AuthorizationValue>,
    body: &'a [u8],
    deadline: Instant,
    body_limit: u64,
}

impl fmt::Debug for TransportRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .field("body_bytes", &self.body.len())
            .field("deadline", &self.deadline)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl<'a> TransportRequest<'a> {
    /// A request with no headers, body or credentials.
    pub(crate) fn new(method: Method, url: &'a str, deadline: Instant, body_limit: u64) -> Self {
        TransportRequest {
            method,
            url,
            headers: Vec::new(),
            authorization: None,
            body: &[],
            deadline,
            body_limit,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn with_authorization(mut self, value: Option<&'a AuthorizationValue>) -> Self {
        self.authorization = value;
        self
    }

    pub(crate) fn with_body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// `GET` or `POST`.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The absolute URL (`https://…`, or `http://` to a loopback host).
    pub fn url(&self) -> &str {
        self.url
    }

    /// The headers to send besides `Authorization`: lower-case names (`content-type`,
    /// `accept`, `user-agent`, and `x-databricks-org-id` when there is one) and their values.
    /// None of them is secret.
    pub fn headers(&self) -> &[(&'static str, &'a str)] {
        &self.headers
    }

    /// The value of the `Authorization` header (`Bearer …`), when the request carries one.
    /// Secret: send it only as that header, marked sensitive; never log or print it. It holds
    /// only visible ASCII, spaces and tabs (the library refuses anything else before sending).
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.map(AuthorizationValue::expose)
    }

    /// The body (empty for a `GET`).
    pub fn body(&self) -> &[u8] {
        self.body
    }

    /// When the whole exchange must be over.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The time left until the [`deadline`](Self::deadline) (zero once it has passed).
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The most bytes of a 2xx body to read.
    pub fn body_limit(&self) -> u64 {
        self.body_limit
    }
}

/// What became of a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseBody {
    /// Not read (the usual case for an answer that is not 2xx).
    NotRead,
    /// Read in full: at most the request's `body_limit` bytes.
    Complete(Vec<u8>),
    /// Not had in full: longer (or declared longer) than the limit, or cut short, stalled or
    /// timed out after the status line. A 2xx answer with such a body still delivered the
    /// batch.
    Incomplete,
}

/// The answer to a [`TransportRequest`]: the status, `Retry-After`, and the body as far as it
/// was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportResponse {
    status: u16,
    retry_after: Option<String>,
    body: ResponseBody,
}

impl TransportResponse {
    /// An answer with `status`, no `Retry-After`, and a body [not read](ResponseBody::NotRead).
    pub fn new(status: u16) -> Self {
        TransportResponse {
            status,
            retry_after: None,
            body: ResponseBody::NotRead,
        }
    }

    /// With the raw value of the `Retry-After` header (the library parses it).
    #[must_use]
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// With the body as read.
    #[must_use]
    pub fn with_body(mut self, body: ResponseBody) -> Self {
        self.body = body;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The raw `Retry-After` value, if the answer had one.
    pub fn retry_after(&self) -> Option<&str> {
        self.retry_after.as_deref()
    }

    /// The body as far as it was read.
    pub fn body(&self) -> &ResponseBody {
        &self.body
    }

    /// The body, taken.
    pub fn into_body(self) -> ResponseBody {
        self.body
    }
}

/// What kind of failure a [`TransportError`] is: it decides whether the library retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The deadline passed (retryable).
    TimedOut,
    /// The connection could not be made or broke: refused, reset, name not found, the proxy
    /// refused (retryable).
    Connection,
    /// TLS failed: a certificate refused, a failed handshake (not retryable: another attempt
    /// meets the same certificate).
    Tls,
    /// The client followed a redirect it should not have (not retryable).
    Redirected,
    /// The request could not be built or sent as given (not retryable).
    InvalidRequest,
    /// The transport could not run the request at all, e.g. its runtime has shut down
    /// (retryable: the host is not to blame).
    Unavailable,
    /// Anything else (not retryable).
    Other,
}

/// Why a [`Transport`] got no answer. The reason is a fixed text chosen by the transport, never
/// an HTTP library's error text (which could name a proxy with its password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    kind: TransportErrorKind,
    reason: &'static str,
}

impl TransportError {
    /// An error of `kind`, with a short fixed `reason` (e.g. `"connection refused"`).
    pub fn new(kind: TransportErrorKind, reason: &'static str) -> Self {
        TransportError { kind, reason }
    }

    /// The kind.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The reason.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for TransportError {}

impl From<TransportError> for ExportFailure {
    fn from(error: TransportError) -> Self {
        let kind = match error.kind {
            TransportErrorKind::TimedOut
            | TransportErrorKind::Connection
            | TransportErrorKind::Unavailable => FailureKind::Retryable,
            TransportErrorKind::Tls
            | TransportErrorKind::Redirected
            | TransportErrorKind::InvalidRequest
            | TransportErrorKind::Other => FailureKind::NotRetryable,
        };
        ExportFailure::new(kind, error.reason)
    }
}
