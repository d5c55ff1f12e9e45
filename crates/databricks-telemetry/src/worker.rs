//! The background worker: one named thread that batches events, exports them, and drains on
//! shutdown.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::export::{ExportOutcome, Exporter, FailureKind};
use crate::model::FrontendLog;
use crate::shared::{Control, Shared};

/// The name of every client's worker thread.
pub(crate) const WORKER_THREAD_NAME: &str = "dbx-telemetry";

pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) exporter: Box<dyn Exporter>,
    pub(crate) control_rx: Receiver<Control>,
    pub(crate) flush_interval: Duration,
}

impl Worker {
    /// Runs until shutdown, or until a closer gives up on it.
    pub(crate) fn run(self) {
        let mut batch = Vec::with_capacity(self.shared.batch_size);
        let mut next_flush = Instant::now() + self.flush_interval;
        loop {
            let keep_going = match self.control_rx.recv_deadline(next_flush) {
                Ok(Control::BatchReady) => {
                    self.shared.batch_ready_sent.store(false, Ordering::Release);
                    self.export_full_batches(&mut batch)
                }
                Ok(Control::Flush(done)) => {
                    let keep_going = self.export_queued(&mut batch);
                    // The flusher may have timed out and gone; that is fine.
                    let _ = done.send(());
                    keep_going
                }
                Ok(Control::Shutdown(deadline)) => {
                    self.shutdown(&mut batch, deadline);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    next_flush = Instant::now() + self.flush_interval;
                    self.export_queued(&mut batch)
                }
                // `Shared` holds the sender and the worker holds `Shared`: this cannot happen, but
                // if it did, nothing more could be asked of the worker.
                Err(RecvTimeoutError::Disconnected) => {
                    self.shared.finish(false);
                    return;
                }
            };
            if !keep_going {
                return;
            }
        }
    }

    /// Exports whole batches while at least `batch_size` events are queued.
    fn export_full_batches(&self, batch: &mut Vec<FrontendLog>) -> bool {
        while self.shared.events_rx.len() >= self.shared.batch_size {
            match self.export_next(batch, self.shared.batch_size, None) {
                None => return false,
                Some(0) => break,
                Some(_) => {}
            }
        }
        true
    }

    /// Exports what is queued now (not what arrives meanwhile), in batches.
    fn export_queued(&self, batch: &mut Vec<FrontendLog>) -> bool {
        let mut remaining = self.shared.events_rx.len();
        while remaining > 0 {
            let take = remaining.min(self.shared.batch_size);
            match self.export_next(batch, take, None) {
                None => return false,
                Some(0) => break,
                Some(taken) => remaining = remaining.saturating_sub(taken),
            }
        }
        true
    }

    /// Takes up to `max` events and exports them; says how many it took, or `None` once the
    /// client is finished.
    fn export_next(
        &self,
        batch: &mut Vec<FrontendLog>,
        max: usize,
        deadline: Option<Instant>,
    ) -> Option<usize> {
        batch.clear();
        if !self.shared.take_batch(batch, max) {
            return None;
        }
        if batch.is_empty() {
            return Some(0);
        }
        let outcome = export_guarded(self.exporter.as_ref(), batch, deadline);
        let taken = batch.len();
        batch.clear();
        self.account(taken, &outcome).then_some(taken)
    }

    /// Counts one batch's outcome, unless a closer already counted it as undelivered.
    fn account(&self, len: usize, outcome: &ExportOutcome) -> bool {
        let mut ledger = self.shared.ledger();
        if ledger.finished {
            return false;
        }
        let len = len as u64;
        let delivered = outcome.delivered_count(len as usize) as u64;
        match outcome {
            ExportOutcome::CircuitOpen => ledger.circuit_open += len,
            ExportOutcome::Disabled => ledger.disabled_by_server += len,
            ExportOutcome::Delivered => {
                ledger.batches_sent += 1;
                ledger.exported += len;
            }
            ExportOutcome::PartiallyDelivered { .. } | ExportOutcome::Failed(_) => {
                ledger.batches_sent += 1;
                ledger.batches_failed += 1;
                ledger.exported += delivered;
                ledger.export_failed += len - delivered;
            }
        }
        if let Some(failure) = outcome.failure() {
            tracing::debug!(events = len, delivered, %failure, "telemetry batch not delivered");
        }
        true
    }

    /// Exports everything queued until `deadline`, then counts the rest and finishes.
    fn shutdown(&self, batch: &mut Vec<FrontendLog>, deadline: Instant) {
        while Instant::now() < deadline {
            match self.export_next(batch, self.shared.batch_size, Some(deadline)) {
                None => return,
                Some(0) => break,
                Some(_) => {}
            }
        }
        self.shared.finish(false);
    }
}

/// Calls the exporter, turning a panic into a failed outcome.
fn export_guarded(
    exporter: &dyn Exporter,
    batch: &[FrontendLog],
    deadline: Option<Instant>,
) -> ExportOutcome {
    match catch_unwind(AssertUnwindSafe(|| exporter.export(batch, deadline))) {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::debug!(events = batch.len(), "telemetry exporter panicked");
            ExportOutcome::failed(FailureKind::Retryable, "exporter panicked")
        }
    }
}
