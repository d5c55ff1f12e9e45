//! The per-host circuit breaker: the state machine behind a lock, reading a clock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;

use crate::clock::Clock;
use crate::export::{ExportOutcome, FailureKind};
use crate::pipeline::breaker::{Admission, CircuitBreaker, CircuitBreakerSettings, CircuitState};

/// A [`CircuitBreaker`] shared by every lane of one host (hold it in an [`Arc`]).
///
/// The lock is held only while the state changes, never during an export.
#[derive(Debug)]
pub struct HostCircuitBreaker {
    inner: Mutex<Guarded>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
struct Guarded {
    breaker: CircuitBreaker,
    rejected_batches: u64,
}

/// What a [`HostCircuitBreaker`] has done, for stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The current state (an open breaker whose period has ended reads open until the next
    /// admission).
    pub state: CircuitState,
    /// How many times it opened.
    pub opened: u64,
    /// How many times it half-opened.
    pub half_opened: u64,
    /// How many times it closed again.
    pub closed: u64,
    /// How many batches it turned away.
    pub rejected_batches: u64,
}

impl HostCircuitBreaker {
    /// A closed breaker with `settings` that reads the time from `clock`.
    pub fn new(settings: CircuitBreakerSettings, clock: Arc<dyn Clock>) -> Self {
        Self::from_breaker(CircuitBreaker::new(settings), clock)
    }

    /// A closed breaker with `settings` and jitter seeded with `seed`, reading `clock`.
    pub fn with_seed(settings: CircuitBreakerSettings, clock: Arc<dyn Clock>, seed: u64) -> Self {
        Self::from_breaker(CircuitBreaker::with_seed(settings, seed), clock)
    }

    fn from_breaker(breaker: CircuitBreaker, clock: Arc<dyn Clock>) -> Self {
        HostCircuitBreaker {
            inner: Mutex::new(Guarded {
                breaker,
                rejected_batches: 0,
            }),
            clock,
        }
    }

    /// When the breaker may next admit, while it rejects (see [`CircuitBreaker::retry_at`]).
    pub fn retry_at(&self) -> Option<Instant> {
        self.lock().breaker.retry_at()
    }

    /// Gives back a probe that was never sent (see [`CircuitBreaker::release_probe`]).
    pub fn release_probe(&self) {
        self.lock().breaker.release_probe();
    }

    /// Whether a batch may be exported now; a rejection is counted in
    /// [`BreakerSnapshot::rejected_batches`].
    pub fn admit(&self) -> Admission {
        let mut guarded = self.lock();
        let admission = guarded.breaker.admit(self.clock.now());
        if admission == Admission::Rejected {
            guarded.rejected_batches += 1;
        }
        admission
    }

    /// Reports what became of an admitted batch.
    ///
    /// `Delivered` and `PartiallyDelivered` are successes; `Failed` is a failure (a timed-out
    /// export comes back as `Failed(Retryable)`, so a hanging endpoint opens the breaker), and a
    /// `Throttled` failure passes its `retry_after` on; except that a
    /// [`Credentials`](FailureKind::Credentials) failure is one identity's problem, not the
    /// host's: it only gives back a probe it may have held.
    pub fn record(&self, outcome: &ExportOutcome) {
        let mut guarded = self.lock();
        let now = self.clock.now();
        match outcome {
            ExportOutcome::Delivered | ExportOutcome::PartiallyDelivered { .. } => {
                guarded.breaker.on_success(now)
            }
            ExportOutcome::Failed(failure) => match failure.kind {
                FailureKind::Credentials => guarded.breaker.release_probe(),
                FailureKind::Throttled { retry_after } => {
                    guarded.breaker.on_failure(now, retry_after)
                }
                FailureKind::Retryable | FailureKind::NotRetryable => {
                    guarded.breaker.on_failure(now, None)
                }
            },
        }
    }

    /// The current state and counts.
    pub fn snapshot(&self) -> BreakerSnapshot {
        let guarded = self.lock();
        let transitions = guarded.breaker.transitions();
        BreakerSnapshot {
            state: guarded.breaker.state(),
            opened: transitions.opened,
            half_opened: transitions.half_opened,
            closed: transitions.closed,
            rejected_batches: guarded.rejected_batches,
        }
    }

    /// The settings the breaker follows.
    pub fn settings(&self) -> CircuitBreakerSettings {
        *self.lock().breaker.settings()
    }

    /// The breaker's state never breaks halfway (no method panics while holding the lock), so a
    /// poisoned lock is safe to use.
    fn lock(&self) -> MutexGuard<'_, Guarded> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
