//! [`ReqwestTransport`]: telemetry through a driver's own `reqwest::Client`, on the driver's
//! tokio runtime or on a small runtime of its own (feature `reqwest`).

use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::export::transport::{
    Method, ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse,
};
use crate::threads;

/// Sends telemetry through a driver's own [`reqwest::Client`], so uploads and flag fetches
/// use the driver's proxy, TLS backend, trust store and connection pool.
///
/// The library calls a transport from its own worker threads, which are not tokio threads. So
/// each request runs as a task on the runtime the driver hands over (a [`Handle`]), and the
/// worker waits for it, at most until the request's deadline; then the task is aborted and the
/// request fails as timed out. When that runtime has shut down (or is not driven, such as a
/// current-thread runtime blocked in a `close`), requests fail cleanly
/// ([`TransportErrorKind::Unavailable`] or [`TransportErrorKind::TimedOut`]), never with a
/// panic.
///
/// # What the driver's client must be
///
/// - **Redirects off**: build the client with
///   `.redirect(reqwest::redirect::Policy::none())`. A 3xx then comes back as it is and the
///   library refuses it (not retried) without contacting anyone else. The adapter also
///   enforces the rule: if the client followed a redirect anyway (reqwest's default policy
///   follows up to 10), the final URL differs from the request's and the request fails as
///   [`TransportErrorKind::Redirected`], not retried, whatever the answer was. reqwest itself
///   drops `Authorization` when a redirect leaves the host or port, so the credential does not
///   travel; the telemetry body may (a 307 or 308 re-sends it), which only a client without
///   redirects prevents.
/// - **No `connection_verbose(true)`**: that option makes reqwest log every byte of every
///   request, `Authorization` included, at TRACE.
///
/// Everything else (timeouts, proxies, certificates, pool sizes) is the driver's choice. The
/// adapter sets a per-request timeout from the deadline, reads at most the request's body
/// limit of a 2xx answer, and marks the `Authorization` header sensitive.
///
/// TLS failures cannot be told apart from other connection failures through reqwest's error
/// type: they fail as [`TransportErrorKind::Connection`] (retried, within the retry bounds).
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use databricks_telemetry::export::{ReqwestTransport, Transport};
///
/// # fn driver(runtime: &tokio::runtime::Runtime) -> Result<(), reqwest::Error> {
/// // The driver's client, built from its own options, with redirects off.
/// let client = reqwest::Client::builder()
///     .redirect(reqwest::redirect::Policy::none())
///     .build()?;
/// let transport: Arc<dyn Transport> =
///     Arc::new(ReqwestTransport::new(client, runtime.handle().clone()));
/// // Hand `transport` to `AcquireOptions::with_transport` (uploads and flag fetches).
/// # Ok(())
/// # }
/// ```
///
/// # Runtimes per connection: [`with_own_runtime`](Self::with_own_runtime)
///
/// A host's transport is its first acquirer's, and the host lives as long as the manager. A
/// driver that makes one tokio runtime per connection and drops it on close must not hand
/// [`new`](Self::new) the handle of a connection's runtime: once that connection closes,
/// every later request on the host fails as [`TransportErrorKind::Unavailable`]. Use
/// [`with_own_runtime`](Self::with_own_runtime) there: the transport runs its requests on a
/// small runtime it owns, which lives as long as the transport.
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    runtime: Handle,
    /// The runtime this transport owns ([`with_own_runtime`](Self::with_own_runtime)): stopped
    /// when the last clone goes.
    _owned: Option<Arc<OwnedRuntime>>,
}

/// The thread that drives an owned runtime; dropping this tells it to stop.
struct OwnedRuntime {
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        // Never waits: the transport may be dropped inside an async runtime. The thread drops
        // the runtime (and any task still on it) and ends.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Shows neither the client's configuration (it may hold a proxy password) nor the runtime.
impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport").finish_non_exhaustive()
    }
}

impl ReqwestTransport {
    /// A transport that sends with `client`, running each request on `runtime`.
    ///
    /// The transport works only while that runtime does: when it may shut down before the
    /// transport's last use (a runtime per connection), use
    /// [`with_own_runtime`](Self::with_own_runtime).
    pub fn new(client: reqwest::Client, runtime: Handle) -> Self {
        ReqwestTransport {
            client,
            runtime,
            _owned: None,
        }
    }

    /// A transport that sends with `client` on a runtime of its own: one current-thread tokio
    /// runtime driven by one counted thread, `dbx-telemetry-http` (counted with the library's
    /// other threads). The runtime and its thread live as
    /// long as the transport (its last clone); dropping it stops them without waiting.
    ///
    /// This is the one to use when the driver's runtimes are per connection: a `reqwest::Client`
    /// is not tied to the runtime it was built on, so the client of a connection whose runtime
    /// is gone keeps working here.
    ///
    /// # Errors
    ///
    /// When the runtime or its thread cannot be started.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use databricks_telemetry::export::{ReqwestTransport, Transport};
    ///
    /// # fn driver() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let transport: Arc<dyn Transport> = Arc::new(ReqwestTransport::with_own_runtime(client)?);
    /// # let _ = transport;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_own_runtime(client: reqwest::Client) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        threads::spawn("dbx-telemetry-http", move || {
            // Runs the requests' tasks until the transport goes (or its sender is dropped).
            let _ = runtime.block_on(stopped);
            drop(runtime);
        })?;
        Ok(ReqwestTransport {
            client,
            runtime: handle,
            _owned: Some(Arc::new(OwnedRuntime { stop: Some(stop) })),
        })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: &TransportRequest<'_>) -> Result<TransportResponse, TransportError> {
        let timeout = request.time_left();
        if timeout.is_zero() {
            return Err(TransportError::new(
                TransportErrorKind::TimedOut,
                "timed out",
            ));
        }
        let built = build(&self.client, request, timeout)?;
        let client = self.client.clone();
        let body_limit = request.body_limit();
        let deadline = request.deadline();
        // Two messages at most (the head, then the body), so the task never blocks on a send.
        let (sender, receiver) = mpsc::sync_channel(2);
        let task = async move { exchange(client, built, body_limit, sender).await };
        // Spawning onto a runtime that has shut down drops the task (and its sender) at once;
        // it does not panic, but nothing of the driver's runtime is trusted not to.
        let handle = match catch_unwind(AssertUnwindSafe(|| self.runtime.spawn(task))) {
            Ok(handle) => handle,
            Err(_) => {
                return Err(TransportError::new(
                    TransportErrorKind::Unavailable,
                    "the driver's runtime refused the request",
                ))
            }
        };
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        let result = match receiver.recv_timeout(left()) {
            Ok(Message::Done(result)) => result,
            Ok(Message::Head(head)) => {
                // A 2xx head: the batch is delivered whatever the body does; read what comes
                // by the deadline.
                match receiver.recv_timeout(left()) {
                    Ok(Message::Body(body)) => Ok(head.with_body(body)),
                    _ => {
                        tracing::debug!("the body of a 2xx answer did not come by the deadline");
                        Ok(head.with_body(ResponseBody::Incomplete))
                    }
                }
            }
            Ok(Message::Body(_)) | Err(RecvTimeoutError::Timeout) => Err(TransportError::new(
                TransportErrorKind::TimedOut,
                "timed out",
            )),
            Err(RecvTimeoutError::Disconnected) => Err(TransportError::new(
                TransportErrorKind::Unavailable,
                "the driver's runtime has shut down",
            )),
        };
        handle.abort();
        result
    }
}

/// What the task on the driver's runtime tells the waiting thread.
enum Message {
    /// The exchange is over.
    Done(Result<TransportResponse, TransportError>),
    /// A 2xx head; the body follows.
    Head(TransportResponse),
    /// The body of the 2xx answer.
    Body(ResponseBody),
}

/// The reqwest request for `request`, with a timeout of `timeout`.
fn build(
    client: &reqwest::Client,
    request: &TransportRequest<'_>,
    timeout: std::time::Duration,
) -> Result<reqwest::Request, TransportError> {
    let invalid = || {
        TransportError::new(
            TransportErrorKind::InvalidRequest,
            "the request could not be built",
        )
    };
    let method = match request.method() {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
    };
    let mut builder = client.request(method, request.url()).timeout(timeout);
    for (name, value) in request.headers() {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        builder = builder.header(name, value);
    }
    if let Some(value) = request.authorization() {
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    if request.method() == Method::Post {
        builder = builder.body(request.body().to_vec());
    }
    builder.build().map_err(|_| invalid())
}

/// Runs `request` on the driver's runtime and reads the answer, telling `sender`.
async fn exchange(
    client: reqwest::Client,
    request: reqwest::Request,
    body_limit: u64,
    sender: mpsc::SyncSender<Message>,
) {
    let done = |result| {
        let _ = sender.send(Message::Done(result));
    };
    let asked = request.url().clone();
    let mut response = match client.execute(request).await {
        Ok(response) => response,
        Err(error) => return done(Err(error_from(&error))),
    };
    if *response.url() != asked {
        tracing::debug!("the driver's HTTP client followed a redirect; the answer is refused");
        return done(Err(TransportError::new(
            TransportErrorKind::Redirected,
            "redirect followed by the driver's HTTP client; refused",
        )));
    }
    let mut answer = TransportResponse::new(response.status().as_u16());
    if let Some(value) = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
    {
        answer = answer.with_retry_after(value);
    }
    if !response.status().is_success() {
        return done(Ok(answer));
    }
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > body_limit) {
        tracing::debug!("2xx answer declares a body over the limit; not read");
        return done(Ok(answer.with_body(ResponseBody::Incomplete)));
    }
    let _ = sender.send(Message::Head(answer));
    let mut body = Vec::new();
    let body = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > body_limit {
                    tracing::debug!("2xx answer body over the limit; not read further");
                    break ResponseBody::Incomplete;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break ResponseBody::Complete(body),
            Err(_) => {
                tracing::debug!("the body of a 2xx answer could not be read in full");
                break ResponseBody::Incomplete;
            }
        }
    };
    let _ = sender.send(Message::Body(body));
}

/// A reqwest error as a transport error with a fixed reason (reqwest's text names URLs).
fn error_from(error: &reqwest::Error) -> TransportError {
    use TransportErrorKind as K;
    let (kind, reason) = if error.is_timeout() {
        (K::TimedOut, "timed out")
    } else if error.is_redirect() {
        (K::Redirected, "redirect not followed")
    } else if error.is_builder() {
        (K::InvalidRequest, "the request could not be built")
    } else if error.is_connect() {
        (K::Connection, "connection failed")
    } else if error.is_request() || error.is_body() || error.is_decode() {
        (K::Connection, "the exchange failed")
    } else {
        (K::Other, "the HTTP client failed")
    };
    TransportError::new(kind, reason)
}
