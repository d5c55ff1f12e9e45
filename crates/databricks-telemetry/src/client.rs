//! The telemetry client: the driver's handle on the pipeline.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::TrySendError;

use crate::config::TelemetryConfig;
use crate::export::Exporter;
use crate::model::FrontendLog;
use crate::shared::{Control, Finished, Shared};
use crate::stats::TelemetryStats;
use crate::worker::{Worker, WORKER_THREAD_NAME};

/// The client could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The operating system would not start the worker thread.
    #[error("could not start the telemetry worker thread: {0}")]
    SpawnWorker(#[source] std::io::Error),
}

/// How a [`flush`](TelemetryClient::flush) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushResult {
    /// Everything enqueued before the call was exported or dropped (and counted).
    Completed,
    /// The timeout passed first; the events are still pending and will be exported later.
    TimedOut,
}

/// How a [`close`](TelemetryClient::close) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseResult {
    /// The worker exported what it could and stopped in time; it has been joined.
    Completed,
    /// The deadline passed first (the exporter hung or was slow). What was not delivered is
    /// counted as `closed_before_delivery`; the worker thread ends on its own.
    TimedOut,
}

/// The driver's handle on the telemetry pipeline: a bounded queue and a background worker that
/// batches and exports.
///
/// - [`enqueue`](Self::enqueue) never blocks, never does I/O and never serialises: a flag check,
///   a `try_send`, and a read of the queue's length to wake the worker once `batch_size` events
///   wait. When the queue is full the event is dropped and counted.
/// - The worker exports in batches of at most `batch_size`, when `batch_size` events are queued,
///   every `flush_interval`, on [`flush`](Self::flush), and on [`close`](Self::close).
/// - [`close`](Self::close) (and `Drop`, with the configured close timeout) exports what is
///   queued and returns by its deadline whatever the exporter does.
/// - [`stats`](Self::stats) accounts for every event.
///
/// It is `Send + Sync`: share it with an [`Arc`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use databricks_telemetry::testing::InMemoryExporter;
/// use databricks_telemetry::{TelemetryClient, TelemetryConfig, TelemetrySessionContext};
///
/// let exporter = InMemoryExporter::new();
/// let client = TelemetryClient::new(&TelemetryConfig::default(), exporter.clone()).unwrap();
/// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
/// client.enqueue(session.connection_opened(Duration::from_millis(80)));
/// client.close(Duration::from_secs(2));
/// assert_eq!(exporter.exported_count(), 1);
/// assert_eq!(client.stats().exported, 1);
/// ```
#[derive(Debug)]
pub struct TelemetryClient {
    /// `None` for a disabled client.
    shared: Option<Arc<Shared>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    close_timeout: Duration,
}

impl TelemetryClient {
    /// Starts a client that exports through `exporter`. A configuration with telemetry
    /// disabled gives a [disabled](Self::disabled) client and starts no thread.
    ///
    /// # Errors
    ///
    /// [`ClientError::SpawnWorker`] when the worker thread cannot be started.
    pub fn new(
        config: &TelemetryConfig,
        exporter: impl Exporter + 'static,
    ) -> Result<Self, ClientError> {
        if !config.enabled() {
            return Ok(Self::disabled());
        }
        let (events_tx, events_rx) = crossbeam_channel::bounded(config.max_queue_size());
        let (control_tx, control_rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared::new(
            events_tx,
            events_rx,
            control_tx,
            config.batch_size(),
        ));
        let worker = Worker {
            shared: Arc::clone(&shared),
            exporter: Box::new(exporter),
            control_rx,
            flush_interval: config.flush_interval(),
        };
        let handle = std::thread::Builder::new()
            .name(WORKER_THREAD_NAME.to_owned())
            .spawn(move || worker.run())
            .map_err(ClientError::SpawnWorker)?;
        Ok(TelemetryClient {
            shared: Some(shared),
            worker: Mutex::new(Some(handle)),
            close_timeout: config.close_timeout(),
        })
    }

    /// A client that does nothing: enqueue is a branch and a drop; stats stay zero.
    pub fn disabled() -> Self {
        TelemetryClient {
            shared: None,
            worker: Mutex::new(None),
            close_timeout: Duration::ZERO,
        }
    }

    /// Whether this client exports anything.
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Hands an event to the pipeline. Never blocks; when the queue is full, or the client is
    /// closing or closed, the event is dropped and counted.
    #[inline]
    pub fn enqueue(&self, log: FrontendLog) {
        let Some(shared) = &self.shared else { return };
        if shared.is_closed() {
            shared.drops.after_close.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match shared.events_tx.try_send(log) {
            Ok(()) => {
                if shared.events_tx.len() >= shared.batch_size {
                    wake_for_batch(shared);
                }
            }
            Err(TrySendError::Full(_)) => {
                shared.drops.queue_full.fetch_add(1, Ordering::Relaxed);
            }
            // The worker keeps the receiver alive in `Shared`, so this cannot happen; count it
            // rather than lose it.
            Err(TrySendError::Disconnected(_)) => {
                shared.drops.after_close.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until everything enqueued before this call has been exported or dropped, or until
    /// `timeout` passes. A flush while another is running waits its turn; none is skipped.
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        let Some(shared) = &self.shared else {
            return FlushResult::Completed;
        };
        if shared.is_closed() {
            // Close exports or counts everything; wait for it like close does.
            return match shared.wait_finished(deadline_after(timeout)) {
                Finished::NotYet => FlushResult::TimedOut,
                Finished::ByWorker | Finished::Abandoned => FlushResult::Completed,
            };
        }
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        if shared.control_tx.send(Control::Flush(done_tx)).is_err() {
            return FlushResult::Completed;
        }
        match done_rx.recv_timeout(timeout) {
            Ok(()) => FlushResult::Completed,
            // Disconnected: the worker stopped (a close finished everything).
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => FlushResult::Completed,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => FlushResult::TimedOut,
        }
    }

    /// Stops accepting events, exports what is queued, and returns by `timeout` whatever the
    /// exporter does. What could not be delivered in time is counted as
    /// `closed_before_delivery`; events offered from now on are counted as `after_close`.
    ///
    /// Idempotent, and safe to call from many threads at once: each caller returns by its own
    /// deadline, and once any caller returns every event is accounted for.
    pub fn close(&self, timeout: Duration) -> CloseResult {
        let Some(shared) = &self.shared else {
            return CloseResult::Completed;
        };
        let deadline = deadline_after(timeout);
        if !shared.closed.swap(true, Ordering::AcqRel) {
            // The first closer tells the worker; the marker goes behind any flush requests.
            let _ = shared.control_tx.send(Control::Shutdown(deadline));
        }
        match shared.wait_finished(deadline) {
            Finished::ByWorker => {
                let handle = self
                    .worker
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(handle) = handle {
                    // The worker returns right after finishing.
                    let _ = handle.join();
                }
                CloseResult::Completed
            }
            Finished::Abandoned => CloseResult::TimedOut,
            Finished::NotYet => {
                tracing::debug!("telemetry close deadline passed; counting what was not delivered");
                shared.finish(true);
                CloseResult::TimedOut
            }
        }
    }

    /// The close timeout `Drop` uses (the configuration's `close_timeout_ms`).
    pub(crate) fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Whether close has begun.
    pub fn is_closed(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.is_closed())
    }

    /// A snapshot of the accounting (see [`TelemetryStats`]).
    pub fn stats(&self) -> TelemetryStats {
        self.shared
            .as_ref()
            .map_or_else(TelemetryStats::default, |s| s.stats())
    }
}

/// `timeout` from now; a timeout too large for the clock (`Duration::MAX` for "wait as long as it
/// takes") means a day, which no close or flush needs.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(24 * 60 * 60))
}

/// Tells the worker a batch is ready, once until it reacts.
#[cold]
fn wake_for_batch(shared: &Shared) {
    if !shared.batch_ready_sent.load(Ordering::Relaxed)
        && !shared.batch_ready_sent.swap(true, Ordering::AcqRel)
    {
        let _ = shared.control_tx.send(Control::BatchReady);
    }
}

impl Drop for TelemetryClient {
    /// Closes with the configured close timeout.
    fn drop(&mut self) {
        if self.shared.is_some() {
            self.close(self.close_timeout);
        }
    }
}
