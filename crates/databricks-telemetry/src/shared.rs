//! State shared by a client's producers, its worker and its closers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::model::FrontendLog;
use crate::stats::{Ledger, ProducerDrops, TelemetryStats};

/// What the client tells its worker, on a channel separate from the events.
#[derive(Debug)]
pub(crate) enum Control {
    /// At least `batch_size` events are queued.
    BatchReady,
    /// Export everything queued now, then answer.
    Flush(Sender<()>),
    /// Export everything queued until the deadline, count the rest, and stop.
    Shutdown(Instant),
}

/// Whether, and how, the ledger is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    /// Not yet: the worker is still exporting.
    NotYet,
    /// The worker finished and is returning; it can be joined.
    ByWorker,
    /// A closer gave up on the worker, which may still be stuck in its exporter.
    Abandoned,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) events_tx: Sender<FrontendLog>,
    pub(crate) events_rx: Receiver<FrontendLog>,
    pub(crate) control_tx: Sender<Control>,
    pub(crate) batch_size: usize,
    /// Set once close begins; producers then count their events as dropped after close.
    pub(crate) closed: AtomicBool,
    /// A `BatchReady` is on its way to the worker; saves producers from sending another.
    pub(crate) batch_ready_sent: AtomicBool,
    pub(crate) drops: ProducerDrops,
    ledger: Mutex<Ledger>,
    /// Signalled when the ledger becomes `finished`.
    finished: Condvar,
}

impl Shared {
    pub(crate) fn new(
        events_tx: Sender<FrontendLog>,
        events_rx: Receiver<FrontendLog>,
        control_tx: Sender<Control>,
        batch_size: usize,
    ) -> Self {
        Shared {
            events_tx,
            events_rx,
            control_tx,
            batch_size,
            closed: AtomicBool::new(false),
            batch_ready_sent: AtomicBool::new(false),
            drops: ProducerDrops::default(),
            ledger: Mutex::new(Ledger::default()),
            finished: Condvar::new(),
        }
    }

    /// The ledger. A panic while it was held cannot leave it torn (every update is a few
    /// additions), so a poisoned lock is used as it is.
    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Takes up to `max` events off the queue into `batch` and counts them as received, under
    /// the ledger's lock so a closer never misses events in a worker's hands. Returns false,
    /// taking nothing, once the ledger is finished.
    pub(crate) fn take_batch(&self, batch: &mut Vec<FrontendLog>, max: usize) -> bool {
        let mut ledger = self.ledger();
        if ledger.finished {
            return false;
        }
        while batch.len() < max {
            match self.events_rx.try_recv() {
                Ok(log) => batch.push(log),
                Err(_) => break,
            }
        }
        ledger.received += batch.len() as u64;
        true
    }

    /// Counts every event still queued as received and then dropped for `reason`.
    fn drain_queue(&self, ledger: &mut Ledger, reason: fn(&mut Ledger) -> &mut u64) {
        let mut drained = 0;
        while self.events_rx.try_recv().is_ok() {
            drained += 1;
        }
        ledger.received += drained;
        *reason(ledger) += drained;
    }

    /// Marks the ledger finished: what the worker still holds and what is queued is counted as
    /// closed before delivery. Called by the worker when it stops, and by a closer whose
    /// deadline passed first (`abandoned`). Idempotent.
    pub(crate) fn finish(&self, abandoned: bool) {
        let mut ledger = self.ledger();
        if !ledger.finished {
            let in_flight = ledger.in_flight();
            ledger.closed_before_delivery += in_flight;
            self.drain_queue(&mut ledger, |l| &mut l.closed_before_delivery);
            ledger.abandoned = abandoned;
            ledger.finished = true;
        }
        drop(ledger);
        self.finished.notify_all();
    }

    /// Waits until the ledger is finished or `deadline` passes.
    pub(crate) fn wait_finished(&self, deadline: Instant) -> Finished {
        let mut ledger = self.ledger();
        while !ledger.finished {
            let now = Instant::now();
            if now >= deadline {
                return Finished::NotYet;
            }
            ledger = self
                .finished
                .wait_timeout(ledger, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if ledger.abandoned {
            Finished::Abandoned
        } else {
            Finished::ByWorker
        }
    }

    /// A snapshot of the accounting. After close, events that a producer racing close slipped
    /// into the queue are first counted as dropped after close.
    pub(crate) fn stats(&self) -> TelemetryStats {
        let mut ledger = self.ledger();
        if ledger.finished {
            self.drain_queue(&mut ledger, |l| &mut l.after_close);
        }
        ledger.snapshot(&self.drops, self.events_rx.len() as u64)
    }
}
