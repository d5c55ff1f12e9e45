//! Test aids (feature `testing`): an in-memory exporter that records batches and can be told to
//! fail, be slow, hang or panic.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::credentials::AuthorizationValue;
use crate::export::{ExportOutcome, Exporter, FailureKind};
use crate::model::FrontendLog;

/// What an [`InMemoryExporter`] does with a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behaviour {
    /// Record the batch and report it delivered.
    Deliver,
    /// Report the batch failed with this kind, recording nothing.
    Fail(FailureKind),
    /// Record the first `n` logs and report the rest failed.
    Partial(usize),
    /// Wait this long, then deliver.
    Slow(Duration),
    /// Block until [`InMemoryExporter::release`] is called, ignoring any deadline (a hung
    /// exporter), then deliver.
    Hang,
    /// Panic.
    Panic,
}

/// An exporter that keeps what it is given in memory. Clones share the same record.
///
/// ```
/// use std::time::Duration;
/// use databricks_telemetry::export::FailureKind;
/// use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
///
/// let exporter = InMemoryExporter::new();
/// exporter.script([Behaviour::Fail(FailureKind::Retryable)]); // the first batch fails
/// exporter.set_behaviour(Behaviour::Deliver);                 // then all are delivered
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporter {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    default: Option<Behaviour>,
    script: VecDeque<Behaviour>,
    released: bool,
    calls: Vec<usize>,
    delivered: Vec<Vec<FrontendLog>>,
    deadlines: Vec<Instant>,
    authorizations: Vec<Option<String>>,
}

impl InMemoryExporter {
    /// An exporter that delivers everything.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What to do with every batch not covered by a [`script`](Self::script).
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state().default = Some(behaviour);
    }

    /// What to do with the next batches, one behaviour each, before the default applies.
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.state().script.extend(behaviours);
    }

    /// Lets every hung export (and every later [`Behaviour::Hang`]) go on.
    pub fn release(&self) {
        self.state().released = true;
        self.inner.changed.notify_all();
    }

    /// The batches delivered, in order (for `Partial`, the delivered part).
    pub fn batches(&self) -> Vec<Vec<FrontendLog>> {
        self.state().delivered.clone()
    }

    /// Every log delivered, in order.
    pub fn logs(&self) -> Vec<FrontendLog> {
        self.state().delivered.iter().flatten().cloned().collect()
    }

    /// How many logs were delivered.
    pub fn exported_count(&self) -> usize {
        self.state().delivered.iter().map(Vec::len).sum()
    }

    /// The size of every batch the exporter was called with, delivered or not.
    pub fn call_sizes(&self) -> Vec<usize> {
        self.state().calls.clone()
    }

    /// The `Authorization` value the pipeline passed with each call (`None` for an
    /// unauthenticated lane), in the clear: test credentials only.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.state().authorizations.clone()
    }

    /// The deadline passed with each call.
    pub fn deadlines(&self) -> Vec<Instant> {
        self.state().deadlines.clone()
    }

    /// Waits until the exporter has been called at least `calls` times, or `timeout` passes;
    /// says whether it was.
    pub fn wait_for_calls(&self, calls: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        while state.calls.len() < calls {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .inner
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Exporter for InMemoryExporter {
    fn export(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        let behaviour = {
            let mut state = self.state();
            state.calls.push(batch.len());
            state.deadlines.push(deadline);
            state
                .authorizations
                .push(authorization.map(|value| value.expose().to_owned()));
            let next = state.script.pop_front();
            next.or_else(|| state.default.clone())
                .unwrap_or(Behaviour::Deliver)
        };
        self.inner.changed.notify_all();
        let delivered = match behaviour {
            Behaviour::Deliver => batch.len(),
            Behaviour::Fail(kind) => return ExportOutcome::failed(kind, "scripted failure"),
            Behaviour::Partial(n) => n.min(batch.len()),
            Behaviour::Slow(delay) => {
                std::thread::sleep(delay);
                batch.len()
            }
            Behaviour::Hang => {
                let mut state = self.state();
                while !state.released {
                    state = self
                        .inner
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                batch.len()
            }
            Behaviour::Panic => panic!("scripted exporter panic"),
        };
        self.state().delivered.push(batch[..delivered].to_vec());
        self.inner.changed.notify_all();
        if delivered == batch.len() {
            ExportOutcome::Delivered
        } else {
            ExportOutcome::PartiallyDelivered {
                delivered,
                failure: crate::export::ExportFailure::new(
                    FailureKind::NotRetryable,
                    "scripted partial delivery",
                ),
            }
        }
    }
}
