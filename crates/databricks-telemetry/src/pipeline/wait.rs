//! How a wait for the pipeline ends, and `close_async`'s future.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::TelemetryStats;
use crate::threads;

/// How a [`flush`](crate::TelemetryClientHandle::flush) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[must_use = "a flush may have timed out"]
#[non_exhaustive]
pub enum FlushResult {
    /// Everything enqueued before the call was exported or dropped (and counted).
    Completed,
    /// The timeout passed first; the events are still pending and will be exported later.
    TimedOut,
}

/// How a close or a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[must_use = "a close may have timed out"]
#[non_exhaustive]
pub enum CloseResult {
    /// Everything was exported or dropped (and counted) in time.
    Completed,
    /// The timeout passed first. A lane whose own close deadline had passed too was finished
    /// (what it held counted as `closed_before_delivery`); otherwise it keeps draining in the
    /// background within its `close_timeout_ms`. A shutdown also says so when a lane's own
    /// close deadline passed (by a second) while its host's request was still in flight: the
    /// lane is finished then, the request's batch counted as `closed_before_delivery`.
    TimedOut,
    /// Returned before the timeout, without waiting: the host's circuit breaker is open, so
    /// nothing can be delivered before its open period ends. The lane keeps draining in the
    /// background within its `close_timeout_ms`; what it has not delivered by then is counted
    /// as `closed_before_delivery`.
    BreakerOpen,
    /// Returned before the timeout, without waiting: the host's request in flight is stuck (in
    /// flight for half a second, or sent again after the service failed to answer the last
    /// one). The lane keeps draining in the background as for
    /// [`BreakerOpen`](Self::BreakerOpen).
    RequestStuck,
    /// Returned before the timeout, without waiting: the lane's last attempt failed and its
    /// batch's next one is due only after the timeout. The lane keeps draining in the background as for
    /// [`BreakerOpen`](Self::BreakerOpen).
    RetryPending,
}

impl CloseResult {
    /// Whether the close returned early because delivery could not progress
    /// ([`BreakerOpen`](Self::BreakerOpen), [`RequestStuck`](Self::RequestStuck),
    /// [`RetryPending`](Self::RetryPending)): the events are still pending, not lost.
    pub fn is_stalled(self) -> bool {
        matches!(
            self,
            CloseResult::BreakerOpen | CloseResult::RequestStuck | CloseResult::RetryPending
        )
    }
}

/// What closing a handle (or shutting a manager down) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[must_use = "the outcome says whether everything was delivered"]
#[non_exhaustive]
pub struct CloseOutcome {
    /// Whether it completed in time.
    pub result: CloseResult,
    /// The accounting at the end (the lane's for a handle, every lane's for a manager).
    pub stats: TelemetryStats,
}

/// `timeout` from now; a timeout too large for the clock (`Duration::MAX` for "as long as it
/// takes") means a day, which no close or flush needs.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(24 * 60 * 60))
}

#[derive(Debug, Default)]
struct Slot {
    outcome: Option<CloseOutcome>,
    waker: Option<Waker>,
}

/// The future of [`close_async`](crate::TelemetryClientHandle::close_async): the wait
/// runs on a short-lived helper thread, so the future needs no particular async runtime and
/// never blocks the task that polls it.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct CloseFuture {
    slot: Arc<Mutex<Slot>>,
}

impl CloseFuture {
    /// A future that is ready with `outcome` at once: there was nothing to wait for.
    pub(crate) fn ready(outcome: CloseOutcome) -> Self {
        CloseFuture {
            slot: Arc::new(Mutex::new(Slot {
                outcome: Some(outcome),
                waker: None,
            })),
        }
    }

    /// Runs `wait` on a helper thread; the future completes with what it returns. When no
    /// thread can be started, `wait` runs right away on the caller's thread instead.
    pub(crate) fn spawn(wait: impl FnOnce() -> CloseOutcome + Send + 'static) -> Self {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let filled = Arc::clone(&slot);
        let wait = Arc::new(Mutex::new(Some(wait)));
        let on_thread = Arc::clone(&wait);
        let started = threads::spawn("dbx-telemetry-close", move || {
            let wait = on_thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(wait) = wait {
                let outcome = wait();
                let mut slot = filled.lock().unwrap_or_else(PoisonError::into_inner);
                slot.outcome = Some(outcome);
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
            }
        });
        if started.is_err() {
            let wait = wait.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(wait) = wait {
                slot.lock().unwrap_or_else(PoisonError::into_inner).outcome = Some(wait());
            }
        }
        CloseFuture { slot }
    }
}

impl Future for CloseFuture {
    type Output = CloseOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseOutcome> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.outcome {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
