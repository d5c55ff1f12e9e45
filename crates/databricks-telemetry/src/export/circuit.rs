//! The per-host circuit breaker and the exporter that honours it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;

use super::{ExportOutcome, Exporter, FailureKind};
use crate::breaker::{Admission, CircuitBreaker, CircuitBreakerSettings, CircuitState};
use crate::clock::Clock;
use crate::model::FrontendLog;

/// A [`CircuitBreaker`] shared by every client of one host (hold it in an [`Arc`]).
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
        HostCircuitBreaker {
            inner: Mutex::new(Guarded {
                breaker: CircuitBreaker::new(settings),
                rejected_batches: 0,
            }),
            clock,
        }
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
    /// `Delivered` and `PartiallyDelivered` are successes; `Failed` of any other kind is a failure
    /// (a timed-out export comes back as `Failed(Retryable)`, so a hanging endpoint opens the
    /// breaker); a `Throttled` failure passes its `retry_after` on. `Failed(Credentials)` reports
    /// nothing: bad or missing credentials say nothing about the host's health, so they neither
    /// open nor close the breaker (a half-open probe that ends so stays unanswered until the
    /// next admission). `CircuitOpen` and `Disabled` report nothing.
    pub fn record(&self, outcome: &ExportOutcome) {
        match outcome {
            ExportOutcome::Delivered | ExportOutcome::PartiallyDelivered { .. } => {
                let mut guarded = self.lock();
                let now = self.clock.now();
                guarded.breaker.on_success(now);
            }
            ExportOutcome::Failed(failure) if failure.kind == FailureKind::Credentials => {}
            ExportOutcome::Failed(failure) => {
                let retry_after = match failure.kind {
                    FailureKind::Throttled { retry_after } => retry_after,
                    FailureKind::Retryable
                    | FailureKind::NotRetryable
                    | FailureKind::Credentials => None,
                };
                let mut guarded = self.lock();
                let now = self.clock.now();
                guarded.breaker.on_failure(now, retry_after);
            }
            ExportOutcome::CircuitOpen | ExportOutcome::Disabled => {}
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

/// An [`Exporter`] that asks a [`HostCircuitBreaker`] before each export.
///
/// While the breaker rejects, it returns [`ExportOutcome::CircuitOpen`] without calling the inner
/// exporter. Otherwise it calls the inner exporter and records the outcome. A panic in the inner
/// exporter is caught, recorded as a failure and returned as
/// `ExportOutcome::failed(FailureKind::Retryable, "exporter panicked")`; this exporter never
/// panics.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
/// use databricks_telemetry::breaker::CircuitBreakerSettings;
/// use databricks_telemetry::clock::SystemClock;
/// use databricks_telemetry::export::{
///     CircuitBreakerExporter, ExportOutcome, Exporter, HostCircuitBreaker,
/// };
/// use databricks_telemetry::model::FrontendLog;
///
/// #[derive(Debug)]
/// struct Unreachable;
/// impl Exporter for Unreachable {
///     fn export(&self, _: &[FrontendLog], _: Option<Instant>) -> ExportOutcome {
///         ExportOutcome::failed(databricks_telemetry::export::FailureKind::Retryable, "refused")
///     }
/// }
///
/// let settings = CircuitBreakerSettings { failure_threshold: 1, ..Default::default() };
/// let breaker = Arc::new(HostCircuitBreaker::new(settings, Arc::new(SystemClock)));
/// let exporter = CircuitBreakerExporter::new(Unreachable, breaker);
/// let batch = [FrontendLog::default()];
/// assert!(matches!(exporter.export(&batch, None), ExportOutcome::Failed(_)));
/// assert_eq!(exporter.export(&batch, None), ExportOutcome::CircuitOpen);
/// ```
#[derive(Debug)]
pub struct CircuitBreakerExporter<E> {
    inner: E,
    breaker: Arc<HostCircuitBreaker>,
}

impl<E: Exporter> CircuitBreakerExporter<E> {
    /// Wraps `inner` so that it exports only when `breaker` admits.
    pub fn new(inner: E, breaker: Arc<HostCircuitBreaker>) -> Self {
        CircuitBreakerExporter { inner, breaker }
    }

    /// The wrapped exporter.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// The breaker this exporter asks.
    pub fn breaker(&self) -> &Arc<HostCircuitBreaker> {
        &self.breaker
    }
}

impl<E: Exporter> Exporter for CircuitBreakerExporter<E> {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        if !self.breaker.admit().is_admitted() {
            return ExportOutcome::CircuitOpen;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| self.inner.export(batch, deadline)))
            .unwrap_or_else(|_| {
                tracing::debug!("exporter panicked; counted as a failed export");
                ExportOutcome::failed(FailureKind::Retryable, "exporter panicked")
            });
        self.breaker.record(&outcome);
        outcome
    }
}
