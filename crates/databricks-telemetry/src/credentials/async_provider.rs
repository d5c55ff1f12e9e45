//! [`TokioCredentials`]: an async credentials provider (or a sync one that needs the runtime),
//! run on a tokio runtime the driver gives (feature `tokio`).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use tokio::runtime::Handle;

use super::{AuthorizationValue, CredentialsError, CredentialsProvider};

/// The future an async provider gives: the `Authorization` value, or why there is none.
pub type AuthorizationFuture =
    Pin<Box<dyn Future<Output = Result<AuthorizationValue, CredentialsError>> + Send + 'static>>;

/// An async source of the `Authorization` header: the async twin of [`CredentialsProvider`],
/// for providers that need a tokio runtime (an OAuth M2M or U2M token refresh over an async
/// HTTP client). Wrap it in [`TokioCredentials`] to hand it to the pipeline.
///
/// Its `Debug` output must not show a secret.
///
/// # Example
///
/// ```
/// use databricks_telemetry::credentials::{
///     AsyncCredentialsProvider, AuthorizationValue, CredentialsError,
/// };
///
/// #[derive(Debug)]
/// struct OAuthM2m;
///
/// impl AsyncCredentialsProvider for OAuthM2m {
///     async fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
///         // e.g. `self.token_store.get_or_refresh().await`
///         Ok(AuthorizationValue::bearer("eyJ..."))
///     }
/// }
/// ```
pub trait AsyncCredentialsProvider: Send + Sync + fmt::Debug + 'static {
    /// The `Authorization` header value to send now. Runs as a task on the runtime of the
    /// [`TokioCredentials`] that wraps this provider.
    ///
    /// # Errors
    ///
    /// A [`CredentialsError`] when no valid credential is available (e.g. a refresh failed).
    fn authorization(
        &self,
    ) -> impl Future<Output = Result<AuthorizationValue, CredentialsError>> + Send;
}

/// Makes the future of one call.
type MakeFuture = dyn Fn() -> AuthorizationFuture + Send + Sync;

/// A sync provider, run on the runtime's blocking pool.
type BlockingCall = dyn Fn() -> Result<AuthorizationValue, CredentialsError> + Send + Sync;

/// What one call runs on the runtime.
#[derive(Clone)]
enum Call {
    /// A future, spawned as a task.
    Async(Arc<MakeFuture>),
    /// A sync call, through `spawn_blocking`.
    Blocking(Arc<BlockingCall>),
}

/// A [`CredentialsProvider`] that runs an async provider on a tokio runtime the driver gives,
/// for drivers whose credentials live on tokio.
///
/// # Where it runs
///
/// The pipeline calls credentials providers on its own threads, never on a driver's thread and
/// never inside a tokio runtime: a provider that never blocks on the host's export worker
/// (`dbx-telemetry-<host>`), one that may block, as this one does
/// ([`may_block`](CredentialsProvider::may_block) is `true`), on a helper thread
/// (`dbx-telemetry-auth`), bounded by `request_timeout_ms`. An async provider called there
/// directly would panic ("there is no reactor running"). This adapter spawns each call as a
/// task on the runtime of the [`Handle`] it was given (a sync call given to
/// [`from_blocking_fn`](Self::from_blocking_fn): on that runtime's blocking pool) and waits
/// for the answer on the helper
/// thread, at most [`timeout`](Self::with_timeout); a call that takes longer is aborted.
///
/// # Failing cleanly
///
/// Every failure is a [`CredentialsError`], which the pipeline counts as the lane's
/// `credentials_failed` (never against the host's breaker): the provider's own error; a panic
/// in the provider; a call that outlived the timeout; and a runtime that has shut down (its
/// tasks are dropped, which is detected at once, not after the timeout).
///
/// # A current-thread runtime
///
/// A task on a current-thread runtime only runs while that runtime's one thread drives it. A
/// blocking wait for the pipeline called *on that thread* starves the provider whenever the
/// wait needs it: [`flush`](crate::TelemetryClientHandle::flush), or
/// [`close`](crate::TelemetryClientHandle::close) of a handle whose lane other connections
/// still share (such a close flushes with the lane's live providers; the last handle's close
/// sends with the value the lane kept instead). The wait still returns by its timeout with
/// every event counted (here as `credentials_failed` or `closed_before_delivery`), but nothing
/// is sent. Await [`close_async`](crate::TelemetryClientHandle::close_async) there instead:
/// the runtime keeps running the provider while the close waits. A multi-thread runtime has no
/// such trap.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use databricks_telemetry::credentials::{
///     AuthorizationValue, CredentialsProvider, TokioCredentials,
/// };
///
/// let runtime = tokio::runtime::Builder::new_multi_thread().build()?;
/// // The driver's async token source, e.g. its OAuth provider's `get_token()`.
/// let credentials = TokioCredentials::from_fn(runtime.handle().clone(), || async {
///     Ok(AuthorizationValue::bearer("eyJ..."))
/// })
/// .with_timeout(Duration::from_secs(5));
/// assert!(credentials.may_block());
/// // Called from a thread outside the runtime, as the pipeline does.
/// assert_eq!(credentials.authorization()?.expose(), "Bearer eyJ...");
/// let provider: Arc<dyn CredentialsProvider> = Arc::new(credentials);
/// # let _ = provider;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokioCredentials {
    handle: Handle,
    call: Call,
    describe: Arc<dyn fmt::Debug + Send + Sync>,
    timeout: Duration,
}

impl TokioCredentials {
    /// The default bound on one call: the default `request_timeout_ms` (10 s), the bound the
    /// pipeline puts on it anyway.
    pub const DEFAULT_TIMEOUT: Duration =
        Duration::from_millis(crate::config::DEFAULTS.request_timeout);

    /// Runs `provider` on the runtime of `handle`.
    pub fn new(handle: Handle, provider: impl AsyncCredentialsProvider) -> Self {
        let provider = Arc::new(provider);
        let describe: Arc<dyn fmt::Debug + Send + Sync> = provider.clone();
        let make = move || -> AuthorizationFuture {
            let provider = Arc::clone(&provider);
            Box::pin(async move { provider.authorization().await })
        };
        TokioCredentials {
            handle,
            call: Call::Async(Arc::new(make)),
            describe,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Runs the future `make` returns, one per call, on the runtime of `handle`. `make` itself
    /// is called inside the runtime too. A closure returning a boxed future
    /// ([`AuthorizationFuture`]) works as well as one returning an `async` block.
    pub fn from_fn<F, Fut>(handle: Handle, make: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AuthorizationValue, CredentialsError>> + Send + 'static,
    {
        let make = move || -> AuthorizationFuture { Box::pin(make()) };
        TokioCredentials {
            handle,
            call: Call::Async(Arc::new(make)),
            describe: Arc::new(Closure),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Runs the sync call `f`, one per call, through
    /// [`spawn_blocking`](tokio::runtime::Handle::spawn_blocking) on the runtime of `handle`:
    /// for a driver's sync provider that uses the runtime itself, such as one that calls
    /// `tokio::task::block_in_place(|| Handle::current().block_on(..))`, which would panic on
    /// the pipeline's own threads ("there is no reactor running"). On the blocking pool
    /// `Handle::current()` is the runtime's and `block_in_place` is allowed.
    ///
    /// Bounded by the same [`timeout`](Self::with_timeout): a call still running then fails
    /// (a blocking call cannot be aborted; it finishes on the pool and its answer is dropped).
    /// When the runtime has shut down, the call fails at once. A `block_on` inside `f` needs a
    /// runtime whose I/O and timers are driven without it: a multi-thread runtime.
    ///
    /// # Example
    ///
    /// ```
    /// use databricks_telemetry::credentials::{
    ///     AuthorizationValue, CredentialsProvider, TokioCredentials,
    /// };
    ///
    /// let runtime = tokio::runtime::Builder::new_multi_thread().build()?;
    /// // The driver's sync provider, which enters its runtime on its own.
    /// let credentials = TokioCredentials::from_blocking_fn(runtime.handle().clone(), || {
    ///     tokio::task::block_in_place(|| {
    ///         tokio::runtime::Handle::current()
    ///             .block_on(async { Ok(AuthorizationValue::bearer("eyJ...")) })
    ///     })
    /// });
    /// assert_eq!(credentials.authorization()?.expose(), "Bearer eyJ...");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_blocking_fn<F>(handle: Handle, f: F) -> Self
    where
        F: Fn() -> Result<AuthorizationValue, CredentialsError> + Send + Sync + 'static,
    {
        TokioCredentials {
            handle,
            call: Call::Blocking(Arc::new(f)),
            describe: Arc::new(Closure),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Bounds one call by `timeout` (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)): a
    /// call still running then is aborted and fails. Keep it at most the configuration's
    /// `request_timeout_ms`, after which the pipeline stops waiting anyway.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound on one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// How a call's task ended, as its reporter sends it.
enum Ended {
    Answered(Result<AuthorizationValue, CredentialsError>),
    Panicked,
    /// Dropped before it finished: the runtime shut down (or the call was aborted).
    Dropped,
}

/// Lives in the task: sends how the task ended, even when it ends by a panic or by being
/// dropped.
struct Reporter(Option<Sender<Ended>>);

impl Reporter {
    fn answer(mut self, result: Result<AuthorizationValue, CredentialsError>) {
        if let Some(sender) = self.0.take() {
            let _ = sender.send(Ended::Answered(result));
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(sender) = self.0.take() {
            let ended = if std::thread::panicking() {
                Ended::Panicked
            } else {
                Ended::Dropped
            };
            let _ = sender.send(ended);
        }
    }
}

impl CredentialsProvider for TokioCredentials {
    /// Spawns the provider on the runtime and waits for its answer, at most the timeout. Call
    /// it from a thread outside the runtime (the pipeline always does): on one of the
    /// runtime's own threads it would block that thread while waiting.
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        let (sender, answer) = crossbeam_channel::bounded(1);
        // Spawning on a runtime that has shut down drops the task (or the blocking call)
        // unrun: `sender` goes with it, and the wait below ends at once. Nothing of the
        // driver's runtime is trusted not to panic.
        let spawned = catch_unwind(AssertUnwindSafe(|| match &self.call {
            Call::Async(make) => {
                let make = Arc::clone(make);
                let task = self.handle.spawn(async move {
                    let reporter = Reporter(Some(sender));
                    let result = make().await;
                    reporter.answer(result);
                });
                Some(task)
            }
            Call::Blocking(call) => {
                let call = Arc::clone(call);
                // Not aborted on a timeout (a blocking call cannot be): detached.
                drop(self.handle.spawn_blocking(move || {
                    let reporter = Reporter(Some(sender));
                    let result = call();
                    reporter.answer(result);
                }));
                None
            }
        }));
        let Ok(task) = spawned else {
            return Err(CredentialsError::new(
                "the async runtime of the credentials provider refused the call",
            ));
        };
        match answer.recv_timeout(self.timeout) {
            Ok(Ended::Answered(result)) => result,
            Ok(Ended::Panicked) => Err(CredentialsError::new(
                "the async credentials provider panicked",
            )),
            Ok(Ended::Dropped) | Err(RecvTimeoutError::Disconnected) => Err(CredentialsError::new(
                "the async runtime of the credentials provider has shut down",
            )),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(task) = task {
                    task.abort();
                }
                Err(CredentialsError::new(format!(
                    "the async credentials provider took longer than {:?}",
                    self.timeout
                )))
            }
        }
    }

    fn may_block(&self) -> bool {
        true
    }
}

impl fmt::Debug for TokioCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioCredentials")
            .field("provider", &self.describe)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What [`TokioCredentials`] shows for a provider given as a closure.
struct Closure;

impl fmt::Debug for Closure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<closure>")
    }
}
