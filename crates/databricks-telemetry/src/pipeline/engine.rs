//! The engine of one manager: the hosts and their lanes, acquire and release, flush, close and
//! shutdown, and the totals of lanes already gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::authorizer::Authorizer;
use super::host::{FlagSource, Host, LaneEntry};
use super::host_choices::HostChoices;
use super::lane::{Lane, PendingBudget};
use super::settings::AcquireSettings;
use super::stall::{next_check, stall};
use super::wait::{deadline_after, CloseResult, FlushResult};
use crate::clock::Clock;
use crate::credentials::CredentialsProvider;
use crate::export::{Exporter, Transport};
use crate::host::HostKey;
use crate::identity::ClientIdentity;
use crate::spool::DeadlineWrites;
use crate::stats::TelemetryStats;

/// How long past a lane's drain deadline `close` and `shutdown` wait for its worker before
/// they count the lane's events themselves (an export honouring its deadline has returned by
/// then; one begun with the whole request timeout before the lane was closing may not have).
const ABANDON_GRACE: Duration = Duration::from_secs(1);

/// What every host of one engine shares.
#[derive(Debug)]
pub(crate) struct EngineShared {
    pub(crate) clock: Arc<dyn Clock>,
    /// The clock's time when the engine was made: instants kept in atomics are counted from it.
    epoch: Instant,
    seeds: AtomicU64,
    pub(crate) authorizer: Authorizer,
    /// Totals of lanes that are gone; signalled whenever a lane goes.
    retired: Mutex<TelemetryStats>,
    lane_gone: Condvar,
    /// The manager-wide bound on pending events, from the first acquire's configuration.
    pub(crate) budget: OnceLock<Arc<PendingBudget>>,
    /// When lanes' spool writes at a deadline must end (a shutdown's deadline bounds them all).
    pub(crate) deadline_writes: Arc<DeadlineWrites>,
}

impl EngineShared {
    /// `at` as nanoseconds from the epoch, at least 1 (0 means "none" where it is stored).
    pub(crate) fn nanos_since_epoch(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
    }

    /// A new seed for a host's jitter.
    pub(crate) fn next_seed(&self) -> u64 {
        let n = self.seeds.fetch_add(1, Ordering::Relaxed);
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B
    }

    /// Adds a finished lane's accounting to the totals.
    pub(crate) fn retire(&self, stats: &TelemetryStats) {
        let mut retired = self.retired.lock().unwrap_or_else(PoisonError::into_inner);
        retired.add(stats);
        drop(retired);
        self.lane_gone.notify_all();
    }
}

#[derive(Debug, Default)]
struct Registry {
    hosts: HashMap<HostKey, Arc<Host>>,
    shut_down: bool,
}

/// Why a lane could not be acquired.
#[derive(Debug)]
pub(crate) enum AcquireFailure<E> {
    /// The manager has shut down.
    ShutDown,
    /// Making the host's exporter failed.
    Exporter(E),
}

/// One manager's pipeline.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) shared: Arc<EngineShared>,
    registry: Mutex<Registry>,
    handle_ids: AtomicU64,
}

/// A handle's grip on its lane, as the engine hands it out.
#[derive(Debug)]
pub(crate) struct Grip {
    pub(crate) host: Arc<Host>,
    pub(crate) lane: Arc<Lane>,
    pub(crate) id: u64,
}

/// What a new host needs, made only when the host is new.
pub(crate) struct HostParts {
    pub(crate) exporter: Box<dyn Exporter>,
    pub(crate) flags: Option<FlagSource>,
    /// The transport the host sends through (`None`: the exporter's default), kept to tell a
    /// later acquirer that brings another.
    pub(crate) transport: Option<Arc<dyn Transport>>,
}

impl Engine {
    pub(crate) fn new(clock: Arc<dyn Clock>, seed: u64) -> Self {
        Engine {
            shared: Arc::new(EngineShared {
                epoch: clock.now(),
                clock,
                seeds: AtomicU64::new(seed),
                authorizer: Authorizer::default(),
                retired: Mutex::default(),
                lane_gone: Condvar::new(),
                budget: OnceLock::new(),
                deadline_writes: Arc::default(),
            }),
            registry: Mutex::default(),
            handle_ids: AtomicU64::new(1),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A grip on the lane of (`host`, `identity`), creating the host (with `make_host`) and the
    /// lane as needed; a lane still draining is taken back. `choices` (the acquirer's transport
    /// and org id) apply when the host is created; a later acquirer's that differ are reported
    /// as the lane's conflicts. Never does I/O.
    pub(crate) fn acquire<E>(
        &self,
        host: HostKey,
        identity: &ClientIdentity,
        credentials: Option<Arc<dyn CredentialsProvider>>,
        choices: &HostChoices,
        settings: &AcquireSettings,
        make_host: impl FnOnce(&HostKey) -> Result<HostParts, E>,
    ) -> Result<Grip, AcquireFailure<E>> {
        let budget = Arc::clone(
            self.shared
                .budget
                .get_or_init(|| Arc::new(PendingBudget::new(settings.max_pending_events))),
        );
        let mut registry = self.registry();
        if registry.shut_down {
            return Err(AcquireFailure::ShutDown);
        }
        let host_settings = settings.host.clone();
        // A transport or an org id other than the host's: the host keeps its own, and the
        // acquirer is told.
        let mut choice_conflicts = Vec::new();
        let host = match registry.hosts.get(&host) {
            Some(existing) => {
                let mut differences = existing.settings.differences(&host_settings);
                choice_conflicts = existing.choices.differences(choices);
                differences.extend_from_slice(&choice_conflicts);
                if !differences.is_empty() {
                    tracing::debug!(host = %existing.key, ?differences, "telemetry host settings differ from the host's first acquirer; the first acquirer's apply");
                }
                Arc::clone(existing)
            }
            None => {
                let parts = make_host(&host).map_err(AcquireFailure::Exporter)?;
                let new = Host::new(
                    host.clone(),
                    host_settings,
                    parts.exporter,
                    parts.flags,
                    HostChoices {
                        transport: parts.transport,
                        ..choices.clone()
                    },
                    Arc::clone(&self.shared),
                );
                registry.hosts.insert(host, Arc::clone(&new));
                new
            }
        };
        let lane_settings = &settings.lane;
        let id = self.handle_ids.fetch_add(1, Ordering::Relaxed);
        let mut registered = false;
        let mut state = host.lock();
        let lane = match state
            .lanes
            .iter_mut()
            .find(|entry| entry.lane.identity == *identity)
        {
            Some(entry) => {
                entry.handles += 1;
                entry.drain_deadline = None;
                let lane = Arc::clone(&entry.lane);
                let differences = lane.settings.differences(lane_settings);
                if !differences.is_empty() {
                    tracing::debug!(host = %host.key, ?differences, "telemetry lane settings differ from the lane's first acquirer; the first acquirer's apply");
                    let mut lane_state = lane.lock();
                    for key in differences {
                        if !lane_state.conflicts.contains(&key) {
                            lane_state.conflicts.push(key);
                        }
                    }
                }
                lane
            }
            None => {
                let spool = crate::spool::lane_spool(
                    lane_settings.spool.as_ref(),
                    host.key.as_ref(),
                    identity.spool_name(),
                );
                let lane = Arc::new(Lane::new(
                    identity.clone(),
                    lane_settings.clone(),
                    budget,
                    spool,
                    Arc::clone(&self.shared.deadline_writes),
                ));
                let spooled = lane.spool.is_some();
                if let Some(provider) = &credentials {
                    // Registered before the lane is visible to the worker: its first look at
                    // the lane (and the spool it may replay) already finds the credentials.
                    let mut lane_state = lane.lock();
                    lane_state.expects_credentials = true;
                    lane_state.providers.push((id, Arc::clone(provider)));
                    registered = true;
                }
                state.lanes.push(LaneEntry {
                    lane: Arc::clone(&lane),
                    handles: 1,
                    drain_deadline: None,
                });
                if spooled {
                    // What an earlier lane or process left in the spool is replayed now.
                    host.notify_locked(&mut state);
                }
                tracing::debug!(host = %host.key, "telemetry lane created");
                lane
            }
        };
        drop(state);
        drop(registry);
        if !choice_conflicts.is_empty() {
            let mut lane_state = lane.lock();
            for key in choice_conflicts {
                if !lane_state.conflicts.contains(&key) {
                    lane_state.conflicts.push(key);
                }
            }
        }
        if let Some(provider) = credentials {
            let mut lane_state = lane.lock();
            lane_state.expects_credentials = true;
            let may_block = provider.may_block();
            if !may_block {
                // Instant by its own word: keep its value from the start, so a connection
                // released before the worker ever ran still leaves the lane something to send
                // with.
                if let Ok(value) = super::authorizer::call_guarded(provider.as_ref()) {
                    lane_state.kept = Some(value);
                }
            }
            let ask_now = may_block && lane_state.kept.is_none();
            if !registered {
                lane_state.providers.push((id, provider));
            }
            drop(lane_state);
            if ask_now {
                // A provider that may block is never called on this thread: the host's worker
                // asks it at once, in the background.
                lane.wants_authorization.store(true, Ordering::Release);
            }
            if ask_now || lane.spool.is_some() {
                // A spool waits for credentials before it is replayed: it may be now.
                host.notify();
            }
        }
        Ok(Grip { host, lane, id })
    }

    /// Gives up `grip`: its provider is withdrawn at once; the last handle's lane drains in the
    /// background within its close timeout. Never blocks on the worker or the network.
    pub(crate) fn release(&self, grip: &Grip) {
        grip.lane.lock().providers.retain(|(id, _)| *id != grip.id);
        let mut state = grip.host.lock();
        let Some(index) = state
            .lanes
            .iter()
            .position(|entry| Arc::ptr_eq(&entry.lane, &grip.lane))
        else {
            return; // Already finished by a shutdown.
        };
        let entry = &mut state.lanes[index];
        entry.handles -= 1;
        if entry.handles > 0 {
            return;
        }
        if !entry.lane.has_events() {
            // Nothing to deliver: done now, no worker needed.
            let entry = state.lanes.remove(index);
            if state.cursor > index {
                state.cursor -= 1;
            }
            drop(state);
            grip.host.retire(&entry.lane);
            return;
        }
        let close_timeout = entry.lane.settings.close_timeout;
        // A lane with a spool stops draining early enough for its write at the deadline to end
        // within its close timeout too (as a shutdown's lanes do).
        let drain = if entry.lane.spool.is_some() {
            entry.lane.lock().write_by = Some(Instant::now() + close_timeout);
            close_timeout - DeadlineWrites::reserve(close_timeout)
        } else {
            close_timeout
        };
        let deadline = self.shared.clock.now() + drain;
        entry.drain_deadline = Some(entry.drain_deadline.map_or(deadline, |d| d.min(deadline)));
        grip.host.notify_locked(&mut state);
    }

    /// Asks the worker to send everything `grip`'s lane holds now, and waits until it is
    /// exported or dropped, or `timeout` passes.
    pub(crate) fn flush(&self, grip: &Grip, timeout: Duration) -> FlushResult {
        let deadline = deadline_after(timeout);
        let target = {
            let mut state = grip.lane.lock();
            state.flushes += 1;
            grip.lane.settle_target(&state)
        };
        grip.host.notify();
        let state = grip.lane.lock();
        let done = grip.lane.wait_settled(state, target, deadline);
        grip.lane.lock().flushes -= 1;
        if done {
            FlushResult::Completed
        } else {
            FlushResult::TimedOut
        }
    }

    /// Releases `grip` and waits for its lane: until it finished (the last handle) or until
    /// what was enqueued before is settled (others still share it), or `timeout` passes, or
    /// delivery stalls (see [`stall`](super::stall)): then it returns at once, and the lane keeps
    /// draining in the background.
    pub(crate) fn close(&self, grip: &Grip, timeout: Duration) -> CloseResult {
        let deadline = deadline_after(timeout);
        let last = {
            let state = grip.host.lock();
            state
                .lanes
                .iter()
                .find(|entry| Arc::ptr_eq(&entry.lane, &grip.lane))
                .is_none_or(|entry| entry.handles == 1)
        };
        if last {
            // A close may wait, so when the lane has no authorization yet (its provider may
            // block and the worker has not got one), ask this connection's provider now,
            // before it is withdrawn; bounded by the close's timeout.
            let unauthorized = {
                let state = grip.lane.lock();
                state.kept.is_none() && !state.providers.is_empty()
            };
            if unauthorized && grip.lane.has_events() {
                let bound = timeout.min(grip.host.settings.request_timeout);
                let _ = self.shared.authorizer.authorize(&grip.lane, bound);
            }
            self.release(grip);
            let result =
                wait_unless_stalled(grip, deadline, |until| grip.lane.wait_finished(until));
            if result == CloseResult::TimedOut {
                self.abandon_if_overdue(grip);
            }
            result
        } else {
            let result = self.settle_unless_stalled(grip, timeout);
            self.release(grip);
            result
        }
    }

    /// [`flush`](Self::flush) that stops waiting when delivery stalls: for a close that leaves
    /// the lane to other connections, and for a second close of a share already given up.
    pub(crate) fn settle_unless_stalled(&self, grip: &Grip, timeout: Duration) -> CloseResult {
        let deadline = deadline_after(timeout);
        let target = {
            let mut state = grip.lane.lock();
            state.flushes += 1;
            grip.lane.settle_target(&state)
        };
        grip.host.notify();
        let result = wait_unless_stalled(grip, deadline, |until| {
            grip.lane.wait_settled(grip.lane.lock(), target, until)
        });
        grip.lane.lock().flushes -= 1;
        result
    }

    /// Finishes `grip`'s lane when its drain deadline passed more than [`ABANDON_GRACE`] ago
    /// and its worker is still stuck in an export that ignores deadlines: what it holds is
    /// counted now, and the export's late result is ignored. (An export honouring its deadline
    /// returns by the drain deadline, and its worker counts it; abandoning it earlier would
    /// count a batch the service may have taken as undelivered.)
    fn abandon_if_overdue(&self, grip: &Grip) {
        self.abandon_overdue(&grip.host, &grip.lane, false);
    }

    /// Finishes `lane` (of `host`) when its drain deadline passed more than [`ABANDON_GRACE`]
    /// ago (and no handle holds it, unless `even_held`: a shutdown closes held lanes too);
    /// whether it did.
    fn abandon_overdue(&self, host: &Arc<Host>, lane: &Arc<Lane>, even_held: bool) -> bool {
        let now = self.shared.clock.now();
        let mut state = host.lock();
        let Some(index) = state.lanes.iter().position(|entry| {
            Arc::ptr_eq(&entry.lane, lane)
                && (even_held || entry.handles == 0)
                && entry
                    .drain_deadline
                    .is_some_and(|deadline| now >= deadline + ABANDON_GRACE)
        }) else {
            return false;
        };
        let entry = state.lanes.remove(index);
        if state.cursor > index {
            state.cursor -= 1;
        }
        drop(state);
        tracing::debug!(host = %host.key, "telemetry lane abandoned at its close deadline");
        host.retire(&entry.lane);
        true
    }

    /// Waits until `lane` (of `host`) finished, or `deadline` passes, or its own drain deadline
    /// passed more than [`ABANDON_GRACE`] ago while its worker is still in a request (begun
    /// before the lane was closing, with the whole request timeout): then the lane is finished
    /// here, what it holds (the batch in flight included) counted as `closed_before_delivery`.
    /// Whether it finished without being cut off.
    fn wait_finished_or_abandon(
        &self,
        host: &Arc<Host>,
        lane: &Arc<Lane>,
        deadline: Instant,
    ) -> bool {
        loop {
            if lane.wait_finished(next_check(deadline)) {
                return true;
            }
            if self.abandon_overdue(host, lane, true) || Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Stops taking events and acquires, drains every lane within `timeout`, counts what was not
    /// delivered by then as closed before delivery, and returns the final accounting.
    pub(crate) fn shutdown(&self, timeout: Duration) -> (CloseResult, TelemetryStats) {
        let deadline = deadline_after(timeout);
        let hosts: Vec<Arc<Host>> = {
            let mut registry = self.registry();
            registry.shut_down = true;
            registry.hosts.values().cloned().collect()
        };
        let clock_deadline = self.shared.clock.now() + timeout.min(Duration::from_secs(86_400));
        // Every lane's spool write at its deadline ends by the shutdown's, all lanes together;
        // lanes with a spool stop draining a little earlier to leave them the time.
        self.shared.deadline_writes.end_by(deadline);
        let spool_deadline = clock_deadline - DeadlineWrites::reserve(timeout);
        for host in &hosts {
            let mut state = host.lock();
            state.closing = true;
            for entry in &mut state.lanes {
                entry.lane.close();
                let own = if entry.lane.spool.is_some() {
                    spool_deadline
                } else {
                    clock_deadline
                };
                entry.drain_deadline = Some(entry.drain_deadline.map_or(own, |d| d.min(own)));
            }
            host.notify_locked(&mut state);
        }
        let mut completed = true;
        for host in &hosts {
            let state = host.lock();
            let lanes: Vec<Arc<Lane>> = state
                .lanes
                .iter()
                .map(|e| Arc::clone(&e.lane))
                .chain(state.retiring.iter().cloned())
                .collect();
            drop(state);
            for lane in lanes {
                if !self.wait_finished_or_abandon(host, &lane, deadline) {
                    completed = false;
                }
            }
        }
        if !completed {
            // The deadline passed, or a lane's own deadline cut off its host's request in
            // flight (a hanging host): count what is left now. An export still
            // running is not counted again when it returns.
            for host in &hosts {
                let gone: Vec<LaneEntry> = host.lock().lanes.drain(..).collect();
                for entry in gone {
                    host.retire(&entry.lane);
                }
            }
        }
        let result = if completed {
            CloseResult::Completed
        } else {
            CloseResult::TimedOut
        };
        (result, self.stats())
    }

    /// The accounting of every lane, live and gone.
    pub(crate) fn stats(&self) -> TelemetryStats {
        let mut total = *self
            .shared
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for host in self.hosts() {
            total.add(&host.live_stats());
        }
        total
    }

    pub(crate) fn hosts(&self) -> Vec<Arc<Host>> {
        self.registry().hosts.values().cloned().collect()
    }

    /// Whether the host exists (hosts are kept for the engine's life).
    pub(crate) fn has_host(&self, key: &HostKey) -> bool {
        self.registry().hosts.contains_key(key)
    }

    pub(crate) fn host(&self, key: &HostKey) -> Option<Arc<Host>> {
        self.registry().hosts.get(key).cloned()
    }

    /// The accounting of `key`'s lanes, live and gone.
    pub(crate) fn host_stats(&self, key: &HostKey) -> Option<TelemetryStats> {
        self.host(key).map(|host| host.stats())
    }

    /// Live lanes across every host.
    pub(crate) fn lane_count(&self) -> usize {
        self.hosts()
            .iter()
            .map(|host| host.lock().lanes.len())
            .sum()
    }

    /// Waits until every host's worker is parked with nothing due at the clock's current time
    /// (or stopped), or `timeout` passes; says which.
    pub(crate) fn settle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            // Quiet twice in a row, so a worker between two looks is not mistaken for quiet.
            if self.hosts().iter().all(|host| host.is_quiet()) {
                std::thread::yield_now();
                if self.hosts().iter().all(|host| host.is_quiet()) {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
            let retired = self
                .shared
                .retired
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let _ = self
                .shared
                .lane_gone
                .wait_timeout(retired, Duration::from_millis(1));
        }
    }
}

/// Waits with `done` (which waits until the instant it is given, and says whether the lane got
/// there) until `deadline`, looking every [`STALL_CHECK_EVERY`](super::stall::STALL_CHECK_EVERY)
/// whether `grip`'s delivery stalled: then it stops at once.
fn wait_unless_stalled(
    grip: &Grip,
    deadline: Instant,
    mut done: impl FnMut(Instant) -> bool,
) -> CloseResult {
    loop {
        if done(Instant::now()) {
            return CloseResult::Completed;
        }
        if let Some(stall) = stall(&grip.host, &grip.lane, deadline) {
            tracing::debug!(host = %grip.host.key, ?stall, "telemetry close returns at once: delivery cannot progress now; the lane drains in the background");
            return stall.close_result();
        }
        if Instant::now() >= deadline {
            return CloseResult::TimedOut;
        }
        if done(next_check(deadline)) {
            return CloseResult::Completed;
        }
    }
}
