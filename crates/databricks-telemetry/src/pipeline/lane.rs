//! A lane: the queue and the accounting of one (host, identity), with the credentials of its
//! live connections.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::settings::LaneSettings;
use crate::credentials::{AuthorizationValue, CredentialsProvider};
use crate::identity::ClientIdentity;
use crate::model::FrontendLog;
use crate::spool::{DeadlineWrites, LaneSpool, SpoolMark, Written};
use crate::stats::{Ledger, TelemetryStats};

/// The most events in one spool write (one sync): about a megabyte of JSON.
const SPOOL_WRITE_EVENTS: usize = 1_000;

/// The manager-wide bound on events waiting in any lane.
#[derive(Debug)]
pub(crate) struct PendingBudget {
    pending: AtomicUsize,
    limit: usize,
}

impl PendingBudget {
    pub(crate) fn new(limit: usize) -> Self {
        PendingBudget {
            pending: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes room for one event; false when the manager already holds `limit`.
    #[inline]
    fn try_take(&self) -> bool {
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.limit {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Takes room for `events` replayed from the spool, over the limit if need be (by one
    /// batch at most: a lane replays one batch at a time).
    fn take_forced(&self, events: usize) {
        self.pending.fetch_add(events, Ordering::Relaxed);
    }

    fn give_back(&self, events: usize) {
        self.pending.fetch_sub(events, Ordering::Relaxed);
    }
}

/// What an enqueue asks of the worker, decided without a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: the worker already knows the lane has events.
    Nothing,
    /// The lane was empty: start its flush timer and make sure the host has a worker.
    FirstEvent,
    /// The lane now holds a whole batch.
    BatchReady,
}

/// Room for one event in a lane, taken by [`Lane::admit`].
#[derive(Debug)]
pub(crate) struct Room {
    /// The events the lane held before.
    before: usize,
}

/// A batch taken off a lane: sent, or waiting at the lane's front for its next attempt.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) logs: Vec<FrontendLog>,
    /// Failed attempts so far (requests, and credentials that could not be had): a delivery
    /// ends the batch, so every attempt but its last failed.
    pub(crate) attempts: u32,
    /// Read back from the spool: its records stay on disk until the batch is delivered or
    /// dropped for good (then acknowledged).
    pub(crate) origin: Option<SpoolMark>,
}

/// The batch the worker has taken and not yet accounted for, as a close deadline would spool
/// it (only for a lane with a spool).
#[derive(Debug)]
pub(crate) enum Sending {
    /// A copy of its events (they are in memory only).
    Copy(Vec<FrontendLog>),
    /// Replayed: its records are still on disk, unacknowledged.
    OnDisk(SpoolMark, usize),
}

/// The part of a lane only its worker and its handles' slow paths touch, under its lock.
#[derive(Debug)]
pub(crate) struct LaneState {
    pub(crate) ledger: Ledger,
    /// The batch that failed and waits to be sent again, ahead of everything queued.
    pub(crate) retry: Option<Batch>,
    /// When (by the clock) the retry batch may be sent.
    pub(crate) not_before: Option<Instant>,
    /// When (by the clock) queued events are due even if there is less than a batch.
    pub(crate) flush_due: Option<Instant>,
    /// Callers waiting in `flush`: while any wait, the lane sends whatever it holds.
    pub(crate) flushes: usize,
    /// The credentials providers of the lane's live handles, oldest first.
    pub(crate) providers: Vec<(u64, Arc<dyn CredentialsProvider>)>,
    /// The latest authorization a provider gave; used once no live provider is left.
    pub(crate) kept: Option<AuthorizationValue>,
    /// Some acquirer brought credentials: without any, the lane cannot send.
    pub(crate) expects_credentials: bool,
    /// Option keys a later acquirer gave other values for (reported, not applied).
    pub(crate) conflicts: Vec<&'static str>,
    /// The lane finished and its accounting was added to its host's and its manager's totals:
    /// what waiters for the lane's end wait for.
    pub(crate) retired: bool,
    /// The batch being sent (lanes with a spool only), for a deadline to spool.
    pub(crate) sending: Option<Sending>,
    /// While the lane cannot send: when (clock time) it next writes what it holds to the spool.
    pub(crate) spill_due: Option<Instant>,
    /// The worker is writing events it took off the lane to the spool, or reading a batch back,
    /// with the lane's lock let go (what it took still counts as pending): a finish waits for it
    /// to account for them.
    pub(crate) spilling: bool,
    /// When (real time) the close timeout of the lane's last release ends: a write at its
    /// deadline stops by then.
    pub(crate) write_by: Option<Instant>,
}

/// One (host, identity)'s queue, accounting and credentials.
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) identity: ClientIdentity,
    pub(crate) settings: LaneSettings,
    /// Where the lane's events wait on disk (`spool_dir`), if anywhere.
    pub(crate) spool: Option<LaneSpool>,
    /// With a spool: the queue length at which the worker is woken to spill (half of
    /// `max_queue_size`); `usize::MAX` without one.
    spill_mark: usize,
    /// Each event in a box of its own: the queue's blocks hold pointers, not 432-byte events.
    tx: Sender<Box<FrontendLog>>,
    rx: Receiver<Box<FrontendLog>>,
    /// Events queued, waiting for a retry or being exported; checked against `max_queue_size`.
    pending: AtomicUsize,
    /// No more events are accepted: the lane finished, or the manager is shutting down.
    closed: AtomicBool,
    /// A connection brought a provider that may block and the lane keeps no authorization yet:
    /// the worker gets one at once, before the connection may go.
    pub(crate) wants_authorization: AtomicBool,
    queue_full: AtomicU64,
    after_close: AtomicU64,
    budget: Arc<PendingBudget>,
    /// When spool writes at a deadline must end (shared by the manager's lanes).
    deadline_writes: Arc<DeadlineWrites>,
    state: Mutex<LaneState>,
    /// Signalled when events are settled or the lane finishes.
    settled: Condvar,
}

impl Drop for Lane {
    /// An event a producer pushed after it was admitted and just as the lane finished (a clone
    /// enqueueing while another closes the handle) stays in the queue; `stats` counts it as
    /// dropped after close. If nothing asked for the stats before the lane goes, its room in the
    /// manager-wide budget is given back here, so it never holds the budget.
    fn drop(&mut self) {
        let late = self.rx.try_iter().count();
        if late > 0 {
            self.budget.give_back(late);
            tracing::debug!(
                late,
                "telemetry events offered while their lane finished were dropped"
            );
        }
    }
}

impl Lane {
    pub(crate) fn new(
        identity: ClientIdentity,
        settings: LaneSettings,
        budget: Arc<PendingBudget>,
        spool: Option<LaneSpool>,
        deadline_writes: Arc<DeadlineWrites>,
    ) -> Self {
        // Unbounded: memory grows with what is queued, nothing is reserved per capacity; the
        // bound is `pending`, checked before the send.
        let (tx, rx) = crossbeam_channel::unbounded();
        let spill_mark = if spool.is_some() {
            (settings.max_queue_size / 2).max(1)
        } else {
            usize::MAX
        };
        Lane {
            identity,
            settings,
            spool,
            spill_mark,
            tx,
            rx,
            pending: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            wants_authorization: AtomicBool::new(false),
            queue_full: AtomicU64::new(0),
            after_close: AtomicU64::new(0),
            budget,
            deadline_writes,
            state: Mutex::new(LaneState {
                ledger: Ledger::default(),
                retry: None,
                not_before: None,
                flush_due: None,
                flushes: 0,
                providers: Vec::new(),
                kept: None,
                expects_credentials: false,
                conflicts: Vec::new(),
                retired: false,
                sending: None,
                spill_due: None,
                spilling: false,
                write_by: None,
            }),
            settled: Condvar::new(),
        }
    }

    /// Takes room for one event, or counts it as dropped (`None`) when the lane is closed or
    /// full; never blocks. The event itself is handed over by [`push`](Self::push).
    #[inline]
    pub(crate) fn admit(&self) -> Option<Room> {
        if self.closed.load(Ordering::Acquire) {
            self.after_close.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let before = self.pending.fetch_add(1, Ordering::AcqRel);
        if before >= self.settings.max_queue_size || !self.budget.try_take() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            self.queue_full.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(Room { before })
    }

    /// Queues `log` into the `room` [`admit`](Self::admit) took. Says what the worker needs to
    /// hear.
    ///
    /// Not inlined: the event is copied once here, into its box (inlined, the compiler copied it
    /// on the stack twice more on the way).
    #[inline(never)]
    pub(crate) fn push(&self, room: Room, log: FrontendLog) -> Wake {
        // The lane owns the receiver, so the send cannot fail.
        let _ = self.tx.send(Box::new(log));
        if room.before == 0 {
            Wake::FirstEvent
        } else if room.before + 1 == self.settings.batch_size || room.before + 1 == self.spill_mark
        {
            Wake::BatchReady
        } else {
            Wake::Nothing
        }
    }

    /// Counts an event offered through a handle whose share was closed (by any of its clones)
    /// as dropped after close. Never blocks.
    pub(crate) fn count_after_close(&self) {
        self.after_close.fetch_add(1, Ordering::Relaxed);
    }

    /// The lane's state. Every update under the lock is a few assignments, so a panic cannot
    /// leave it torn and a poisoned lock is used as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the lane holds events (queued, waiting for a retry, or being exported).
    pub(crate) fn has_events(&self) -> bool {
        self.pending.load(Ordering::Acquire) > 0
    }

    /// Events in the queue (not counting a batch taken off it).
    pub(crate) fn queued(&self) -> usize {
        self.rx.len()
    }

    /// Stops accepting events: later ones count as `after_close`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Takes up to `max` queued events and counts them as received.
    pub(crate) fn take(&self, state: &mut LaneState, max: usize) -> Vec<FrontendLog> {
        let mut logs = Vec::with_capacity(max.min(self.rx.len()));
        logs.extend(self.rx.try_iter().take(max).map(|log| *log));
        state.ledger.received += logs.len() as u64;
        logs
    }

    /// Counts `events` records read back from the spool into a batch: received (so pending)
    /// and replayed, with room in the lane and the manager's budget like admitted events.
    pub(crate) fn admit_replayed(&self, state: &mut LaneState, events: usize) {
        state.ledger.received += events as u64;
        state.ledger.replayed += events as u64;
        self.pending.fetch_add(events, Ordering::AcqRel);
        self.budget.take_forced(events);
    }

    /// Counts what a spool write or read did besides writing: records it dropped from disk
    /// (read back, then dropped: they never took room) and events it could not write (taken
    /// off the lane: `refused`, whose room the caller gives back).
    pub(crate) fn count_spool(state: &mut LaneState, counts: &Written) {
        let ledger = &mut state.ledger;
        let from_disk = (counts.evicted + counts.expired + counts.corrupt) as u64;
        ledger.received += from_disk;
        ledger.replayed += from_disk;
        ledger.spool_full += (counts.evicted + counts.refused) as u64;
        ledger.spool_expired += counts.expired as u64;
        ledger.spool_corrupt += counts.corrupt as u64;
        ledger.spooled += counts.written as u64;
    }

    /// Writes `logs` to the spool in writes of at most [`SPOOL_WRITE_EVENTS`] (each synced),
    /// stopping when `budget` (real time) is spent, with no lock of the lane held (the caller
    /// keeps them counted as pending and accounts for what this returns under the lock: those
    /// not tried stay in flight), and sums what the writes did.
    pub(crate) fn write_to_spool(&self, logs: &[FrontendLog], budget: Option<Instant>) -> Written {
        let mut total = Written::default();
        let Some(spool) = &self.spool else {
            return total;
        };
        for chunk in logs.chunks(SPOOL_WRITE_EVENTS) {
            if budget.is_some_and(|until| Instant::now() >= until) {
                break;
            }
            let counts = spool.write(chunk);
            total.written += counts.written;
            total.refused += counts.refused;
            total.evicted += counts.evicted;
            total.expired += counts.expired;
            total.corrupt += counts.corrupt;
        }
        total
    }

    /// Wakes whoever waits on the lane's settlement (a finish waiting for a spill or a read).
    pub(crate) fn notify_settled(&self) {
        self.settled.notify_all();
    }

    /// `events` received events have been counted as exported or dropped. Call it with the
    /// lane's lock held, right after the ledger update, so a waiter sees both at once.
    pub(crate) fn settle(&self, events: usize) {
        self.pending.fetch_sub(events, Ordering::AcqRel);
        self.budget.give_back(events);
        self.settled.notify_all();
    }

    /// Marks the lane finished: it takes no more events, and whatever it still holds (queued,
    /// waiting for a retry, or in an export that has not returned) is counted as
    /// `closed_before_delivery`. A late export result is then ignored. Idempotent.
    pub(crate) fn finish(&self) {
        self.close();
        let mut state = self.lock();
        while state.spilling {
            // The worker writes what it took off the lane (one spill, without a deadline of
            // its own) and accounts for it; then this counts what is left.
            state = self
                .settled
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.ledger.finished {
            return;
        }
        let retry = state.retry.take();
        let sending = state.sending.take();
        let queued = self.take(&mut state, usize::MAX);
        let holding = state.ledger.in_flight();
        debug_assert!(holding >= queued.len() as u64);
        // From here the worker leaves the lane alone, and a late export result is ignored.
        state.ledger.finished = true;
        if let Some(spool) = &self.spool {
            if let Some(logs) = self.deadline_logs(&mut state, retry, sending, queued) {
                // Written with the lane's lock let go (what it holds still counts as pending);
                // another finish waits for this one (`spilling`).
                let mut until = self.deadline_writes.until(Instant::now());
                if let Some(write_by) = state.write_by {
                    until = until.min(write_by);
                }
                state.spilling = true;
                drop(state);
                let counts = self.write_to_spool(&logs, Some(until));
                state = self.lock();
                state.spilling = false;
                Self::count_spool(&mut state, &counts);
            }
            // Its segments are free for the next lane of its identity at once, not when the
            // last reference to this one goes.
            spool.let_go();
        }
        let ledger = &mut state.ledger;
        ledger.closed_before_delivery += ledger.in_flight();
        self.settle(holding as usize);
    }

    /// With a spool, what a finishing lane holds goes to disk instead of being dropped: a
    /// replayed batch's records stay there (unacknowledged, counted as spooled here); the rest
    /// is returned for the caller to write within
    /// [`DEADLINE_WRITE_BUDGET`](crate::spool::DEADLINE_WRITE_BUDGET), by a shutdown's deadline
    /// ([`DeadlineWrites`]) and by the close timeout; the caller counts what is left as closed
    /// before delivery. A batch whose request has not returned is written too (its copy): if
    /// the service took it after all, it is sent twice (at most one batch). `None`: the spool
    /// is known unusable.
    fn deadline_logs(
        &self,
        state: &mut LaneState,
        retry: Option<Batch>,
        sending: Option<Sending>,
        queued: Vec<FrontendLog>,
    ) -> Option<Vec<FrontendLog>> {
        let spool = self.spool.as_ref()?;
        let mut logs = Vec::new();
        for on_disk in [
            retry.map(|batch| match batch.origin {
                Some(mark) => Sending::OnDisk(mark, batch.logs.len()),
                None => Sending::Copy(batch.logs),
            }),
            sending,
        ]
        .into_iter()
        .flatten()
        {
            match on_disk {
                Sending::OnDisk(mark, len) => {
                    spool.release(&mark);
                    state.ledger.spooled += len as u64;
                }
                Sending::Copy(copy) => logs.extend(copy),
            }
        }
        if spool.is_broken() {
            // Known unusable: counted as closed before delivery, as without a spool.
            return None;
        }
        logs.extend(queued);
        Some(logs)
    }

    /// The accounting. Once the lane has finished, events a producer slipped in while it closed
    /// are first counted as dropped after close.
    pub(crate) fn stats(&self) -> TelemetryStats {
        let mut state = self.lock();
        if state.ledger.finished {
            let late = self.take(&mut state, usize::MAX).len();
            if late > 0 {
                state.ledger.after_close += late as u64;
                self.settle(late);
            }
        }
        state.ledger.snapshot(
            self.queue_full.load(Ordering::Relaxed),
            self.after_close.load(Ordering::Relaxed),
            self.rx.len() as u64,
        )
    }

    /// How many events must be settled for everything offered so far to be accounted for.
    pub(crate) fn settle_target(&self, state: &LaneState) -> u64 {
        state.ledger.received + self.rx.len() as u64
    }

    /// Waits until `target` events are settled or the lane finished (true), or `deadline`
    /// passes (false).
    pub(crate) fn wait_settled(
        &self,
        mut state: MutexGuard<'_, LaneState>,
        target: u64,
        deadline: Instant,
    ) -> bool {
        loop {
            if (state.ledger.finished && !state.spilling) || state.ledger.settled() >= target {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .settled
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Marks the finished lane retired (its accounting is in the totals) and wakes its waiters.
    pub(crate) fn mark_retired(&self) {
        self.lock().retired = true;
        self.settled.notify_all();
    }

    /// Waits until the lane has finished and its accounting is in the totals (true), or
    /// `deadline` passes (false).
    pub(crate) fn wait_finished(&self, deadline: Instant) -> bool {
        let mut state = self.lock();
        loop {
            if state.retired {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .settled
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
