//! When a lane's delivery cannot progress: what lets a close return at once instead of waiting
//! out its deadline.
//!
//! A close waits only while waiting can help. It stops waiting, and says why, as soon as one of
//! these holds for the lane it closes (checked before it waits and again every
//! [`STALL_CHECK_EVERY`] while it waits):
//!
//! - **the breaker is open**: the host's circuit breaker rejects requests now and admits none
//!   before its open period ends;
//! - **the request is stuck**: the host's worker is waiting for a request that has been in
//!   flight for [`STUCK_REQUEST_AFTER`] (clock time), or that followed a failed one (the
//!   service timed out, reset, or answered 429/5xx last time);
//! - **a retry is pending**: the lane's front batch failed and its next attempt is due only
//!   after the close's deadline (a short backoff is waited for).
//!
//! The lane itself is not touched: it keeps draining in the background within its
//! `close_timeout_ms`, and what it has not delivered by then is counted as
//! `closed_before_delivery`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::host::Host;
use super::lane::Lane;
use super::wait::CloseResult;
use crate::export::{ExportOutcome, FailureKind};
use crate::pipeline::breaker::CircuitState;

/// How long (clock time) a request may be in flight before a close stops waiting for it. A
/// telemetry upload answers in well under this; one that has not is most likely hanging, and
/// the lane goes on waiting for it in the background anyway.
pub(crate) const STUCK_REQUEST_AFTER: Duration = Duration::from_millis(500);

/// How often (real time) a waiting close looks again whether delivery stalled.
pub(crate) const STALL_CHECK_EVERY: Duration = Duration::from_millis(10);

/// Why a lane's delivery cannot progress now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stall {
    BreakerOpen,
    RequestStuck,
    RetryPending,
}

impl Stall {
    /// How a close that stopped waiting for this reports it.
    pub(crate) fn close_result(self) -> CloseResult {
        match self {
            Stall::BreakerOpen => CloseResult::BreakerOpen,
            Stall::RequestStuck => CloseResult::RequestStuck,
            Stall::RetryPending => CloseResult::RetryPending,
        }
    }
}

/// What a host's worker is sending, as a close sees it. Written by the worker around each
/// request, read without a lock.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    /// When (clock time, nanoseconds from the engine's epoch) the request in flight began; 0
    /// when none is.
    since: AtomicU64,
    /// The host's last request failed without the service's answer (a timeout, a reset, a 429
    /// or a 5xx).
    last_failed: AtomicBool,
}

impl InFlight {
    /// A request begins now (clock time, from the engine's epoch; a request at the epoch itself
    /// is stored as 1 ns after it, since 0 means none is in flight).
    pub(crate) fn begin(&self, nanos_since_epoch: u64) {
        self.since
            .store(nanos_since_epoch.max(1), Ordering::Release);
    }

    /// The request ended with `outcome`.
    pub(crate) fn end(&self, outcome: &ExportOutcome) {
        let failed = matches!(
            outcome.failure().map(|failure| failure.kind),
            Some(FailureKind::Retryable | FailureKind::Throttled { .. })
        );
        self.last_failed.store(failed, Ordering::Release);
        self.since.store(0, Ordering::Release);
    }
}

/// Why `lane` (of `host`) cannot deliver before `deadline` (real time), or `None` while it can.
pub(crate) fn stall(host: &Host, lane: &Lane, deadline: Instant) -> Option<Stall> {
    let now = host.engine.clock.now();
    if host.breaker.snapshot().state == CircuitState::Open
        && host.breaker.retry_at().is_some_and(|at| at > now)
    {
        return Some(Stall::BreakerOpen);
    }
    let since = host.in_flight.since.load(Ordering::Acquire);
    if since != 0 {
        let stuck_at = host
            .engine
            .nanos_since_epoch(now)
            .saturating_sub(u64::try_from(STUCK_REQUEST_AFTER.as_nanos()).unwrap_or(u64::MAX));
        if host.in_flight.last_failed.load(Ordering::Acquire) || since <= stuck_at {
            return Some(Stall::RequestStuck);
        }
    }
    // The close's remaining time, on the clock the backoff is measured by.
    let remaining = deadline.saturating_duration_since(Instant::now());
    let state = lane.lock();
    let retry_after_deadline = state
        .not_before
        .is_some_and(|at| now.checked_add(remaining).is_some_and(|end| at > end));
    if state.retry.is_some() && retry_after_deadline {
        return Some(Stall::RetryPending);
    }
    None
}

/// The next instant (real time) a waiting close looks again, no later than `deadline`.
pub(crate) fn next_check(deadline: Instant) -> Instant {
    deadline.min(Instant::now() + STALL_CHECK_EVERY)
}
