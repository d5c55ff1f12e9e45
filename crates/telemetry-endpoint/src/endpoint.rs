//! [`TelemetryEndpoint`]: a running endpoint on its own runtime thread, driven synchronously.

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::Path;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{
    serve_on, EndpointConfig, EndpointError, EndpointHandle, EndpointStats, Fault,
    FeatureFlagAnswer, RecordedRequest,
};

/// A running endpoint. It serves on a background thread with its own tokio runtime, so plain
/// (non-async) code and tests can use it.
///
/// Dropping it shuts it down, like [`shutdown`](Self::shutdown).
///
/// # Examples
///
/// ```
/// use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};
///
/// let endpoint = TelemetryEndpoint::start(EndpointConfig::default())?;
/// assert!(endpoint.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(endpoint.stats().requests_total, 0);
/// endpoint.shutdown();
/// # Ok::<(), telemetry_endpoint::EndpointError>(())
/// ```
#[derive(Debug)]
pub struct TelemetryEndpoint {
    addr: SocketAddr,
    handle: EndpointHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TelemetryEndpoint {
    /// Binds `config.bind` and starts serving; returns once the socket is bound.
    ///
    /// # Errors
    ///
    /// [`EndpointError::EmptyToken`] for an empty token, [`EndpointError::Bind`] when the
    /// address cannot be bound, [`EndpointError::Runtime`] when the runtime or its thread cannot
    /// be started.
    pub fn start(config: EndpointConfig) -> Result<TelemetryEndpoint, EndpointError> {
        if config
            .token
            .as_deref()
            .is_some_and(|token| token.trim().is_empty())
        {
            return Err(EndpointError::EmptyToken);
        }
        let bind_error = |source| EndpointError::Bind {
            addr: config.bind,
            source,
        };
        let listener = StdTcpListener::bind(config.bind).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(EndpointError::Runtime)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(bind_error)?
        };
        let handle = EndpointHandle::new(&config);
        let (stop, stopped) = oneshot::channel::<()>();
        let served = handle.clone();
        let thread = std::thread::Builder::new()
            .name(format!("telemetry-endpoint-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve_on(listener, served, async {
                    // A dropped sender means shut down too.
                    let _ = stopped.await;
                }));
                // Dropping the runtime drops every connection task that is still open.
                drop(runtime);
            })
            .map_err(EndpointError::Runtime)?;
        tracing::debug!(%addr, "telemetry endpoint listening");
        Ok(TelemetryEndpoint {
            addr,
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the endpoint listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, e.g. `http://127.0.0.1:41234`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A cloneable handle on the endpoint's state.
    pub fn handle(&self) -> EndpointHandle {
        self.handle.clone()
    }

    /// The same counters as `GET /stats`.
    pub fn stats(&self) -> EndpointStats {
        self.handle.stats()
    }

    /// The accepted frontend logs still in memory (the `protoLogs` strings), in arrival order.
    pub fn logs(&self) -> Vec<String> {
        self.handle.logs()
    }

    /// The requests received, in arrival order (see [`EndpointHandle::requests`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.handle.requests()
    }

    /// Installs `fault` for upload requests (replacing any other); a window starts now.
    pub fn set_fault(&self, fault: Fault) {
        self.handle.set_fault(fault);
    }

    /// Removes the installed fault, if any.
    pub fn clear_fault(&self) {
        self.handle.clear_fault();
    }

    /// Answers feature-flag requests with `answer` from now on.
    pub fn set_feature_flags(&self, answer: FeatureFlagAnswer) {
        self.handle.set_feature_flags(answer);
    }

    /// Writes the accepted logs in memory to `path` as JSON lines; returns how many.
    ///
    /// # Errors
    ///
    /// The file cannot be created or written.
    pub fn write_capture(&self, path: &Path) -> io::Result<usize> {
        self.handle.write_capture(path)
    }

    /// Stops accepting, closes every connection (hung ones too) and joins the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::debug!("the endpoint thread panicked");
            }
        }
    }
}

impl Drop for TelemetryEndpoint {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
