//! A host's export worker: serves the host's lanes round-robin, one batch per lane per turn,
//! holds them while the breaker is open, and finishes lanes whose handles are gone.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use super::authorizer::AuthorizationError;
use super::host::{Host, HostState, WorkerState};
use super::lane::{Batch, Lane, LaneState, Sending};
use super::retry::{after_failure, is_worth_retrying, RetryDecision, RetryLimits};
use crate::credentials::AuthorizationValue;
use crate::export::{ExportFailure, ExportOutcome, FailureKind};
use crate::feature_flags::FlagAnswer;
use crate::jitter::Jitter;
use crate::pipeline::breaker::{Admission, CircuitState};
use crate::spool::SPILL_INTERVAL;

/// How long (clock time) a worker with nothing to do waits before its thread ends.
pub(crate) const IDLE_LINGER: Duration = Duration::from_secs(1);

/// Runs until the host has had nothing to do for [`IDLE_LINGER`].
pub(crate) fn run(host: Arc<Host>) {
    let mut jitter = Jitter::new(host.seed);
    while let Some((lane, drain_deadline)) = next_lane(&host) {
        serve(&host, &lane, drain_deadline, &mut jitter);
    }
}

/// When a lane wants its next turn.
enum Due {
    /// It holds nothing.
    Idle,
    Now,
    At(Instant),
    /// It counts events a producer has not finished queueing: look again in a moment.
    Transient,
    /// It holds events and has live credentials but no authorization yet: get one now, before
    /// its connections may go.
    Authorize,
}

/// How long to wait before looking again at a lane in [`Due::Transient`].
const TRANSIENT_WAIT: Duration = Duration::from_millis(1);

/// Finds the next lane to serve (with its drain deadline), finishing lanes that are done and
/// parking while none is due. `None` when the worker should end.
///
/// Each round: take a pending notification, retire the lanes that are done, [`scan`] the
/// lanes; then serve what is due, authorize a lane that asks for it, or, with nothing due,
/// check whether the worker has been idle long enough to end ([`IdleTimer`]) and otherwise
/// park until the earliest due time ([`park_until_due`]).
fn next_lane(host: &Arc<Host>) -> Option<(Arc<Lane>, Option<Instant>)> {
    let mut state = host.lock();
    let mut idle = IdleTimer::default();
    loop {
        if host.take_wake() {
            host.set_worker(&mut state, WorkerState::Running);
        }
        let now = host.engine.clock.now();
        let finished = take_finished_lanes(&mut state, now);
        if !finished.is_empty() {
            // Finishing may write to the spool (up to its deadline-write budget): never under
            // the host's lock, which acquire and release wait on.
            state.retiring.extend(finished.iter().cloned());
            drop(state);
            for lane in &finished {
                host.retire(lane);
            }
            state = host.lock();
            state
                .retiring
                .retain(|lane| !finished.iter().any(|done| Arc::ptr_eq(lane, done)));
            continue;
        }

        let lookahead = match scan(host, &mut state, now) {
            Scan::Serve {
                lane,
                drain_deadline,
            } => {
                host.set_worker(&mut state, WorkerState::Running);
                return Some((lane, drain_deadline));
            }
            Scan::Authorize(lane) => {
                host.set_worker(&mut state, WorkerState::Running);
                drop(state);
                authorize_early(host, &lane);
                state = host.lock();
                continue;
            }
            Scan::Spill(lane) => {
                host.set_worker(&mut state, WorkerState::Running);
                drop(state);
                spill(host, &lane, false);
                state = host.lock();
                continue;
            }
            Scan::NothingDue(lookahead) => lookahead,
        };
        let next_wake = match idle.check(host, &mut state, &lookahead, now) {
            IdleCheck::Wait(next_wake) => next_wake,
            IdleCheck::LookAgain => continue,
            IdleCheck::End => return None,
        };
        state = park_until_due(host, state, next_wake, lookahead.transient, now);
    }
}

/// What one look at the host's lanes found.
enum Scan {
    /// This lane's turn (with its drain deadline); the round-robin cursor has moved past it.
    Serve {
        lane: Arc<Lane>,
        drain_deadline: Option<Instant>,
    },
    /// This lane wants an authorization now (see [`authorize_early`]).
    Authorize(Arc<Lane>),
    /// This lane cannot send: what it holds goes to its spool now (see [`spill`]).
    Spill(Arc<Lane>),
    /// No lane is due now.
    NothingDue(Lookahead),
}

/// What a scan that found nothing due saw.
#[derive(Default)]
struct Lookahead {
    /// Some lane holds events or is draining: the worker is not idle.
    busy: bool,
    /// Some lane counts an event a producer has not finished queueing.
    transient: bool,
    /// The earliest clock time a lane is due or a drain deadline passes.
    next_wake: Option<Instant>,
}

/// Looks at every lane once, round-robin from the cursor, for the first one due at `now`
/// (holding back failed batches while the breaker is engaged, and lanes that need the flag while
/// it is held).
fn scan(host: &Host, state: &mut HostState, now: Instant) -> Scan {
    let breaker_at = host.breaker.retry_at().filter(|&at| at > now);
    // While the breaker is open or half-open its schedule decides when a failed batch is
    // tried again, not the wait the retry rule (`retry.rs`) gave it.
    let breaker_engaged = host.breaker.snapshot().state != CircuitState::Closed;
    let flag_hold = state.flag_hold_until.filter(|&at| at > now);
    let mut seen = Lookahead::default();
    let count = state.lanes.len();
    for offset in 0..count {
        let index = (state.cursor + offset) % count;
        let entry = &state.lanes[index];
        if let Some(deadline) = entry.drain_deadline {
            seen.busy = true;
            seen.next_wake = earliest(seen.next_wake, deadline);
        }
        let draining = entry.drain_deadline.is_some();
        let lane = &entry.lane;
        match spill_due(lane, breaker_engaged, now) {
            Some(at) if at <= now => return Scan::Spill(Arc::clone(lane)),
            Some(at) => seen.next_wake = earliest(seen.next_wake, at),
            None => {}
        }
        let mut due = match lane_due(lane, draining, breaker_engaged, now) {
            Due::Idle => continue,
            Due::Now => now,
            Due::At(at) => at,
            Due::Transient => {
                seen.busy = true;
                seen.transient = true;
                continue;
            }
            Due::Authorize => return Scan::Authorize(Arc::clone(lane)),
        };
        seen.busy = true;
        if let Some(at) = breaker_at {
            due = due.max(at);
        }
        if let (Some(at), true) = (flag_hold, needs_flag(host, lane)) {
            due = due.max(at);
        }
        if due <= now {
            let found = Scan::Serve {
                lane: Arc::clone(lane),
                drain_deadline: entry.drain_deadline,
            };
            state.cursor = index + 1;
            return found;
        }
        seen.next_wake = earliest(seen.next_wake, due);
    }
    Scan::NothingDue(seen)
}

/// Since when (clock time) no lane has held anything; the worker ends [`IDLE_LINGER`] later.
#[derive(Default)]
struct IdleTimer {
    since: Option<Instant>,
}

/// What a worker with nothing due does next.
enum IdleCheck {
    /// Park until then (clock time; `None`: for [`IDLE_LINGER`]).
    Wait(Option<Instant>),
    /// A notification came while it was about to end: scan again.
    LookAgain,
    /// Idle long enough: the thread ends (the worker is marked stopped).
    End,
}

impl IdleTimer {
    /// After a scan that found nothing due: keeps waiting for the lanes while any is busy, else
    /// starts or continues the idle time and ends the worker once it reaches [`IDLE_LINGER`].
    fn check(
        &mut self,
        host: &Host,
        state: &mut HostState,
        seen: &Lookahead,
        now: Instant,
    ) -> IdleCheck {
        if seen.busy {
            self.since = None;
            return IdleCheck::Wait(seen.next_wake);
        }
        let end = *self.since.get_or_insert(now) + IDLE_LINGER;
        if now < end {
            return IdleCheck::Wait(Some(end));
        }
        if host.set_worker(state, WorkerState::Stopped) {
            // Notified while deciding to end: look again instead.
            host.set_worker(state, WorkerState::Running);
            return IdleCheck::LookAgain;
        }
        IdleCheck::End
    }
}

/// Parks the worker until `next_wake` (clock time; `None`: for [`IDLE_LINGER`]) or a
/// notification, at most [`TRANSIENT_WAIT`] while a lane is `transient`. Returns at once when
/// the time has come or a notification arrived meanwhile.
fn park_until_due<'a>(
    host: &'a Host,
    mut state: MutexGuard<'a, HostState>,
    next_wake: Option<Instant>,
    transient: bool,
    now: Instant,
) -> MutexGuard<'a, HostState> {
    let mut wait = next_wake.map_or(IDLE_LINGER, |at| host.engine.clock.real_wait(at));
    if transient {
        wait = wait.min(TRANSIENT_WAIT);
    }
    if wait.is_zero() {
        return state;
    }
    // Stays "parked" through wake-ups that change nothing (a manual clock's poll), so tests
    // waiting for quiet see it; a notification or a moved clock ends it.
    host.note_park_deadline(next_wake.unwrap_or(now + IDLE_LINGER));
    if host.set_worker(&mut state, WorkerState::Parked { observed: now }) {
        return state; // notified meanwhile: look again at once
    }
    host.park(state, wait)
}

fn earliest(current: Option<Instant>, candidate: Instant) -> Option<Instant> {
    Some(current.map_or(candidate, |current| current.min(candidate)))
}

/// Whether the lane's batches wait for the server's feature flag.
fn needs_flag(host: &Host, lane: &Lane) -> bool {
    host.flags.is_some() && !lane.settings.force_enabled && lane.lock().expects_credentials
}

/// When `lane` wants a turn.
fn lane_due(lane: &Lane, draining: bool, breaker_engaged: bool, now: Instant) -> Due {
    if lane.wants_authorization.load(Ordering::Acquire) {
        return Due::Authorize;
    }
    let replay = lane.spool.as_ref().is_some_and(|spool| spool.has_waiting());
    if !lane.has_events() && !replay {
        return Due::Idle;
    }
    let mut state = lane.lock();
    if state.ledger.finished {
        return Due::Idle;
    }
    // A spool without credentials to send it with waits (see `may_replay`).
    let replay = replay && may_replay(lane, &state);
    if !replay && !lane.has_events() {
        return Due::Idle;
    }
    if state.retry.is_some() {
        return match state.not_before {
            Some(at) if at > now && !breaker_engaged => Due::At(at),
            _ => Due::Now,
        };
    }
    if replay && lane.queued() < lane.settings.batch_size {
        // Spooled records wait: a batch of them now (or at the breaker's next probe).
        return Due::Now;
    }
    if lane.queued() == 0 {
        // Counted by a producer that has not sent it yet (between the two steps of enqueue).
        return Due::Transient;
    }
    if draining || state.flushes > 0 || lane.queued() >= lane.settings.batch_size {
        return Due::Now;
    }
    let due = *state
        .flush_due
        .get_or_insert(now + lane.settings.flush_interval);
    if due <= now {
        Due::Now
    } else {
        Due::At(due)
    }
}

/// When (clock time) `lane` writes what it holds to its spool: only while it cannot send (its
/// host's breaker is engaged, or its failed batch waits for a retry) and holds something in
/// memory; at once when its queue reached half its size. `None`: not now.
fn spill_due(lane: &Lane, breaker_engaged: bool, now: Instant) -> Option<Instant> {
    let spool = lane.spool.as_ref()?;
    let mut state = lane.lock();
    let waiting_retry = state.retry.is_some() && state.not_before.is_some_and(|at| at > now);
    let blocked = breaker_engaged || waiting_retry;
    // A replayed batch waiting for its retry is on disk already: it stays.
    let holds = lane.queued() > 0 || state.retry.as_ref().is_some_and(|b| b.origin.is_none());
    if state.ledger.finished || !blocked || !holds || spool.is_broken() {
        state.spill_due = None;
        return None;
    }
    if lane.queued() >= (lane.settings.max_queue_size / 2).max(1) {
        return Some(now);
    }
    Some(*state.spill_due.get_or_insert(now + SPILL_INTERVAL))
}

/// Writes what `lane` holds in memory (its failed batch, then its queue, oldest first) to its
/// spool, under the lane's lock (so a close deadline cannot count the same events), and counts
/// it. A replayed batch waiting for a retry is on disk already: it stays, unless
/// `release_replayed` (it used its attempts), when it is let go unacknowledged (read again
/// later) and counts as spooled again.
fn spill(host: &Host, lane: &Lane, release_replayed: bool) {
    // Opened first, with no lock held: a directory that cannot be used keeps the events in
    // memory (warned once) rather than counting them as not written.
    if !lane.spool.as_ref().is_some_and(|spool| spool.usable()) {
        return;
    }
    let mut state = lane.lock();
    state.spill_due = None;
    if state.ledger.finished {
        return;
    }
    let mut taken = 0;
    let mut logs = Vec::new();
    let replayed_waits = state.retry.as_ref().is_some_and(|b| b.origin.is_some());
    if !replayed_waits || release_replayed {
        if let Some(batch) = state.retry.take() {
            state.not_before = None;
            match batch.origin {
                Some(mark) => {
                    if let Some(spool) = &lane.spool {
                        spool.release(&mark);
                    }
                    state.ledger.spooled += batch.logs.len() as u64;
                    taken += batch.logs.len();
                }
                None => logs = batch.logs,
            }
        }
    }
    logs.extend(lane.take(&mut state, usize::MAX));
    if logs.is_empty() {
        lane.settle(taken);
        return;
    }
    // Written with the lane's lock let go (producers, release and acquire take it): the events
    // stay counted as pending until the ledger is settled below, and a finish meanwhile waits
    // for that (`spilling`).
    state.spilling = true;
    drop(state);
    let counts = lane.write_to_spool(&logs, None);
    let mut state = lane.lock();
    state.spilling = false;
    Lane::count_spool(&mut state, &counts);
    taken += logs.len();
    tracing::debug!(host = %host.key, events = taken, "telemetry events spooled while the host cannot take them");
    lane.settle(taken);
}

/// Gets `lane` an authorization to keep, from a live provider, as soon as a connection that
/// brought a provider that may block has acquired it: before that connection may go. A failure
/// is left to the lane's first send, which asks again (and retries).
fn authorize_early(host: &Arc<Host>, lane: &Arc<Lane>) {
    lane.wants_authorization.store(false, Ordering::Release);
    let _ = host
        .engine
        .authorizer
        .authorize(lane, host.settings.request_timeout);
}

/// Takes out the lanes without handles that are drained or past their deadline, for the
/// caller to retire ([`Host::retire`]) once it has let go of the host's lock.
fn take_finished_lanes(state: &mut HostState, now: Instant) -> Vec<Arc<Lane>> {
    let mut finished = Vec::new();
    let mut index = 0;
    while index < state.lanes.len() {
        let entry = &state.lanes[index];
        let done = (entry.handles == 0 || state.closing)
            && entry
                .drain_deadline
                .is_some_and(|deadline| !entry.lane.has_events() || now >= deadline);
        if done {
            let entry = state.lanes.remove(index);
            if state.cursor > index {
                state.cursor -= 1;
            }
            finished.push(entry.lane);
        } else {
            index += 1;
        }
    }
    finished
}

/// One turn of `lane`: take a batch, get its authorization and the flag, ask the breaker,
/// send once, and account.
fn serve(host: &Arc<Host>, lane: &Arc<Lane>, drain_deadline: Option<Instant>, jitter: &mut Jitter) {
    let clock = Arc::clone(&host.engine.clock);
    let now = clock.now();
    let batch = {
        let mut state = lane.lock();
        if state.ledger.finished {
            return;
        }
        let mut replayed = None;
        if state.retry.is_none() && wants_replay(lane, &state, drain_deadline.is_some()) {
            // Read (open, decompress, expire, delete: disk I/O) with the lane's lock let go; a
            // finish meanwhile waits for the read to be accounted for (`spilling`).
            state.spilling = true;
            drop(state);
            let replay = lane
                .spool
                .as_ref()
                .map(|spool| spool.read(lane.settings.batch_size));
            state = lane.lock();
            state.spilling = false;
            lane.notify_settled();
            replayed = replay.and_then(|replay| admit_replay(lane, &mut state, replay));
        }
        let batch = match state.retry.take() {
            Some(batch) => batch,
            None => match replayed {
                Some(batch) => batch,
                None => {
                    let logs = lane.take(&mut state, lane.settings.batch_size);
                    if logs.is_empty() {
                        return;
                    }
                    Batch {
                        logs,
                        attempts: 0,
                        origin: None,
                    }
                }
            },
        };
        state.not_before = None;
        state.flush_due = (lane.queued() > 0).then(|| now + lane.settings.flush_interval);
        if lane.spool.is_some() {
            state.sending = Some(match &batch.origin {
                Some(mark) => Sending::OnDisk(mark.clone(), batch.logs.len()),
                None => Sending::Copy(batch.logs.clone()),
            });
        }
        batch
    };

    let authorization = match host
        .engine
        .authorizer
        .authorize(lane, host.settings.request_timeout)
    {
        Ok(authorization) => authorization,
        Err(AuthorizationError::NoCredentials) => {
            settle_dropped(lane, batch, |ledger| &mut ledger.credentials_failed);
            return;
        }
        Err(AuthorizationError::ProviderFailed(reason)) => {
            let failure = ExportFailure::new(FailureKind::Credentials, reason);
            retry_or_drop(host, lane, batch, &failure, jitter, true);
            return;
        }
    };

    if host.flags.is_some() && !lane.settings.force_enabled && authorization.is_some() {
        match flag_answer(host, authorization.as_ref()) {
            FlagAnswer::On => {}
            FlagAnswer::Off | FlagAnswer::Missing => {
                settle_dropped(lane, batch, |ledger| &mut ledger.disabled_by_server);
                return;
            }
            FlagAnswer::Failed => {
                hold_for_flag(host, lane, batch);
                return;
            }
            FlagAnswer::Refused => {
                // The lane's credentials, not the host: as a 401 on an upload.
                let failure = ExportFailure::new(FailureKind::Credentials, "flag fetch refused");
                account(host, lane, batch, ExportOutcome::Failed(failure), jitter);
                return;
            }
        }
    }

    if host.breaker.admit() == Admission::Rejected {
        put_back(lane, batch, None);
        return;
    }

    let deadline = send_deadline(host, drain_deadline, clock.now());
    host.in_flight
        .begin(host.engine.nanos_since_epoch(clock.now()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        host.exporter
            .export(&batch.logs, authorization.as_ref(), deadline)
    }))
    .unwrap_or_else(|_| {
        tracing::debug!(host = %host.key, "telemetry exporter panicked");
        ExportOutcome::failed(FailureKind::Retryable, "exporter panicked")
    });
    host.breaker.record(&outcome);
    host.in_flight.end(&outcome);
    account(host, lane, batch, outcome, jitter);
}

/// Whether `lane` may send what its spool holds: an anonymous lane always (its events were
/// never sent with credentials), any other only once it has credentials to send them with (a
/// live provider, or the value it kept) — never unauthenticated, as a lane acquired without
/// credentials, or one whose acquirer has not registered its provider yet, would send them.
fn may_replay(lane: &Lane, state: &LaneState) -> bool {
    lane.identity.is_anonymous() || !state.providers.is_empty() || state.kept.is_some()
}

/// Whether to read a batch of spooled records now: the lane's spool has some waiting, the lane
/// may send them ([`may_replay`]), and its queue holds less than a batch (a full queue goes
/// first, and so does anything queued while a flush waits or the lane drains: they wait for
/// what is in memory, not for the spool's backlog).
fn wants_replay(lane: &Lane, state: &LaneState, draining: bool) -> bool {
    let Some(spool) = lane.spool.as_ref() else {
        return false;
    };
    let queued = lane.queued();
    let memory_first =
        queued >= lane.settings.batch_size || (queued > 0 && (draining || state.flushes > 0));
    spool.has_waiting() && !memory_first && may_replay(lane, state)
}

/// Counts what a spool read dropped on the way (expired, corrupt) and admits its records as a
/// batch; `None` when it read none.
fn admit_replay(lane: &Lane, state: &mut LaneState, replay: crate::spool::Replay) -> Option<Batch> {
    Lane::count_spool(
        state,
        &crate::spool::Written {
            expired: replay.expired,
            corrupt: replay.corrupt,
            ..Default::default()
        },
    );
    let mark = replay.mark?;
    if replay.logs.is_empty() {
        return None;
    }
    lane.admit_replayed(state, replay.logs.len());
    Some(Batch {
        logs: replay.logs,
        attempts: 0,
        origin: Some(mark),
    })
}

/// The real-time deadline of one request: the request timeout, and no later than the lane's
/// drain deadline (clock time) allows.
fn send_deadline(host: &Host, drain_deadline: Option<Instant>, now: Instant) -> Instant {
    let mut timeout = host.settings.request_timeout;
    if let Some(drain) = drain_deadline {
        timeout = timeout.min(
            drain
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        );
    }
    Instant::now() + timeout
}

/// The host's flag, fetched with `authorization` when not cached.
fn flag_answer(host: &Host, authorization: Option<&AuthorizationValue>) -> FlagAnswer {
    let Some(flags) = &host.flags else {
        return FlagAnswer::On;
    };
    let deadline = Instant::now() + host.settings.feature_flag_timeout;
    flags.cache.lookup(
        &flags.endpoint,
        || Ok(authorization.cloned()),
        Some(deadline),
    )
}

/// The flag could not be had: the batch goes back, and lanes that need the flag wait until the
/// failed answer expires. Not a retry decision (that is `retry.rs`): nothing was sent, so the
/// batch's attempts are untouched; the wait is the flag cache's
/// [`FAILED_FLAG_TTL`](crate::feature_flags::FAILED_FLAG_TTL).
fn hold_for_flag(host: &Arc<Host>, lane: &Lane, batch: Batch) {
    let now = host.engine.clock.now();
    let until = host
        .flags
        .as_ref()
        .and_then(|flags| flags.cache.cached(&host.key))
        .map(|cached| cached.expires_at)
        .filter(|&at| at > now)
        .unwrap_or(now + host.settings.feature_flag_timeout);
    put_back(lane, batch, None);
    host.lock().flag_hold_until = Some(until);
    tracing::debug!(host = %host.key, "telemetry feature flag unavailable; events wait");
}

/// Puts `batch` back at the lane's front, to be sent again no earlier than `not_before`.
fn put_back(lane: &Lane, batch: Batch, not_before: Option<Instant>) {
    let mut state = lane.lock();
    if state.ledger.finished {
        return;
    }
    state.sending = None;
    state.retry = Some(batch);
    state.not_before = not_before;
}

/// A batch is done with for good (delivered, refused or dropped): replayed records are marked
/// consumed on disk. Call it with the lane's lock let go (it syncs the segment's header): the
/// batch is accounted for first, so a deadline meanwhile neither counts nor releases it.
fn acknowledge(lane: &Lane, origin: Option<&crate::spool::SpoolMark>) {
    if let (Some(spool), Some(mark)) = (&lane.spool, origin) {
        spool.ack(mark);
    }
}

/// Counts the whole batch as dropped for `reason`.
fn settle_dropped(lane: &Lane, batch: Batch, reason: fn(&mut crate::stats::Ledger) -> &mut u64) {
    let len = batch.logs.len();
    let origin = batch.origin;
    // Freed before the events count as settled, so a flush that returns finds them gone.
    drop(batch.logs);
    let mut state = lane.lock();
    if state.ledger.finished {
        return;
    }
    state.sending = None;
    *reason(&mut state.ledger) += len as u64;
    // Under the lock: whoever sees the ledger settled also sees the room given back.
    lane.settle(len);
    drop(state);
    acknowledge(lane, origin.as_ref());
}

/// Counts what became of one request.
fn account(
    host: &Arc<Host>,
    lane: &Arc<Lane>,
    batch: Batch,
    outcome: ExportOutcome,
    jitter: &mut Jitter,
) {
    let len = batch.logs.len();
    if let ExportOutcome::Failed(failure) = &outcome {
        if is_worth_retrying(failure.kind) {
            {
                let mut state = lane.lock();
                if state.ledger.finished {
                    // A deadline already counted this batch as closed before delivery.
                    return;
                }
                state.ledger.batches_sent += 1;
                state.ledger.batches_failed += 1;
            }
            retry_or_drop(host, lane, batch, failure, jitter, false);
            return;
        }
    }
    let origin = batch.origin;
    // Freed before the events count as settled, so a flush that returns finds them gone.
    drop(batch.logs);
    let mut state = lane.lock();
    if state.ledger.finished {
        return;
    }
    state.sending = None;
    state.ledger.batches_sent += 1;
    match outcome {
        ExportOutcome::Delivered => {
            state.ledger.exported += len as u64;
        }
        ExportOutcome::PartiallyDelivered { delivered, failure } => {
            let delivered = delivered.min(len);
            state.ledger.batches_failed += 1;
            state.ledger.exported += delivered as u64;
            state.ledger.export_failed += (len - delivered) as u64;
            tracing::debug!(host = %host.key, delivered, of = len, %failure, "telemetry batch partly delivered");
        }
        ExportOutcome::Failed(failure) => {
            state.ledger.batches_failed += 1;
            match failure.kind {
                FailureKind::Credentials => {
                    state.ledger.credentials_failed += len as u64;
                    if state.providers.is_empty() {
                        // The kept authorization was refused; without a live connection there
                        // is nothing better to send with.
                        state.kept = None;
                    }
                    tracing::debug!(host = %host.key, events = len, %failure, "telemetry credentials refused");
                }
                // Refused: not worth retrying (`retry.rs`; the others were put back above).
                FailureKind::NotRetryable
                | FailureKind::Retryable
                | FailureKind::Throttled { .. } => {
                    state.ledger.export_failed += len as u64;
                    tracing::debug!(host = %host.key, events = len, %failure, "telemetry batch refused");
                }
            }
        }
    }
    // Under the lock: whoever sees the ledger settled also sees the room given back.
    lane.settle(len);
    drop(state);
    acknowledge(lane, origin.as_ref());
}

/// A failure worth trying again: [`after_failure`] (the one retry rule) says whether the batch
/// goes back to the front of its lane, and for how long, or has used its attempts (then it is
/// dropped as `export_failed`, or `credentials_failed` when the provider was what failed).
fn retry_or_drop(
    host: &Arc<Host>,
    lane: &Arc<Lane>,
    mut batch: Batch,
    failure: &ExportFailure,
    jitter: &mut Jitter,
    credentials: bool,
) {
    batch.attempts += 1;
    let settings = &host.settings;
    let limits = RetryLimits {
        policy: settings.retry,
        max_export_attempts: settings.max_export_attempts,
        retry_after_cap: settings.breaker.max_open_duration,
    };
    let retry_after = match failure.kind {
        FailureKind::Throttled { retry_after } => retry_after,
        _ => None,
    };
    match after_failure(&limits, batch.attempts, retry_after, jitter.next_unit()) {
        RetryDecision::GiveUp => {
            tracing::debug!(host = %host.key, events = batch.logs.len(), attempts = batch.attempts, %failure, "telemetry batch used its attempts");
            if credentials {
                settle_dropped(lane, batch, |ledger| &mut ledger.credentials_failed);
            } else if lane.spool.as_ref().is_some_and(|spool| !spool.is_broken()) {
                // Not dropped: it waits on disk for a later try (or the next process).
                put_back(lane, batch, None);
                spill(host, lane, true);
            } else {
                settle_dropped(lane, batch, |ledger| &mut ledger.export_failed);
            }
        }
        RetryDecision::RetryIn(delay) => {
            tracing::trace!(host = %host.key, delay_ms = delay.as_millis() as u64, %failure, "telemetry batch waits for a retry");
            let not_before = host.engine.clock.now() + delay;
            put_back(lane, batch, Some(not_before));
        }
    }
}
