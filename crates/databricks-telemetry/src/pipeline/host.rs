//! A host: its lanes, its circuit breaker, its exporter (one connection pool), and the export
//! worker it starts while it has work.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::circuit::HostCircuitBreaker;
use super::engine::EngineShared;
use super::host_choices::HostChoices;
use super::lane::Lane;
use super::settings::HostSettings;
use super::stall::InFlight;
use super::worker;
use crate::clock::ClockSleeper;
use crate::export::{Exporter, ServiceEndpoint};
use crate::feature_flags::FeatureFlagCache;
use crate::host::HostKey;
use crate::stats::TelemetryStats;
use crate::threads;

/// The name of every export worker thread.
pub(crate) const WORKER_THREAD_NAME: &str = "dbx-telemetry";

/// Where a Databricks host's feature flag is asked.
#[derive(Debug)]
pub(crate) struct FlagSource {
    pub(crate) cache: Arc<FeatureFlagCache>,
    pub(crate) endpoint: ServiceEndpoint,
}

/// One host's share of the pipeline.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) key: HostKey,
    pub(crate) settings: HostSettings,
    pub(crate) exporter: Box<dyn Exporter>,
    /// `None` for hosts whose exporter is not the Databricks service's (no flag to ask).
    pub(crate) flags: Option<FlagSource>,
    /// The host's first acquirer's transport and org id, kept to tell a later acquirer that
    /// chose otherwise.
    pub(crate) choices: HostChoices,
    pub(crate) breaker: HostCircuitBreaker,
    /// The request the worker is waiting for, and whether the last one failed: what tells a
    /// close that delivery stalled.
    pub(crate) in_flight: InFlight,
    pub(crate) engine: Arc<EngineShared>,
    /// Seeds the worker's retry jitter.
    pub(crate) seed: u64,
    state: Mutex<HostState>,
    /// Something changed since the worker last looked (an event, a release, a flush). An atomic
    /// beside the lock, so a producer need not take the lock while the worker is running.
    wake: AtomicBool,
    /// Whether the worker is running (not parked, not stopped): then setting `wake` is enough.
    /// Set and cleared by the worker under the lock; read without it.
    running: AtomicBool,
    /// While the worker is parked: the clock time it wakes up at by itself, in nanoseconds from
    /// the engine's epoch (0 when not parked).
    parked_until: AtomicU64,
    /// The accounting of the host's lanes that are gone.
    retired: Mutex<TelemetryStats>,
    /// The worker parks here; enqueues, releases and a moving manual clock wake it.
    wakeup: Condvar,
}

/// A lane as its host sees it: who holds it and when it must be done.
#[derive(Debug)]
pub(crate) struct LaneEntry {
    pub(crate) lane: Arc<Lane>,
    pub(crate) handles: usize,
    /// Set when the last handle went (or shutdown began): by then (clock time) the lane is
    /// finished, whatever it still holds.
    pub(crate) drain_deadline: Option<Instant>,
}

/// What the worker is doing, for wake-ups and for tests that wait for quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerState {
    /// No thread: the next notification starts one.
    Stopped,
    /// Looking for work or exporting.
    Running,
    /// Waiting for the clock or a notification, having seen nothing to do at `observed`.
    Parked { observed: Instant },
}

#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) lanes: Vec<LaneEntry>,
    pub(crate) worker: WorkerState,
    /// Where the next round-robin scan starts.
    pub(crate) cursor: usize,
    /// Lanes that need the server's flag wait until then (clock time): its fetch failed.
    pub(crate) flag_hold_until: Option<Instant>,
    /// The manager is shutting down: every lane finishes, handles or not.
    pub(crate) closing: bool,
    /// Lanes the worker took out to finish with this lock let go (a finish may write to the
    /// spool): a shutdown waits for them too.
    pub(crate) retiring: Vec<Arc<Lane>>,
}

impl Host {
    pub(crate) fn new(
        key: HostKey,
        settings: HostSettings,
        exporter: Box<dyn Exporter>,
        flags: Option<FlagSource>,
        choices: HostChoices,
        engine: Arc<EngineShared>,
    ) -> Arc<Self> {
        let seed = engine.next_seed();
        let breaker = HostCircuitBreaker::with_seed(
            settings.breaker,
            Arc::clone(&engine.clock),
            engine.next_seed(),
        );
        let host = Arc::new(Host {
            key,
            settings,
            exporter,
            flags,
            choices,
            breaker,
            in_flight: InFlight::default(),
            seed,
            state: Mutex::new(HostState {
                lanes: Vec::new(),
                worker: WorkerState::Stopped,
                cursor: 0,
                flag_hold_until: None,
                closing: false,
                retiring: Vec::new(),
            }),
            wake: AtomicBool::new(false),
            running: AtomicBool::new(false),
            parked_until: AtomicU64::new(0),
            retired: Mutex::default(),
            wakeup: Condvar::new(),
            engine,
        });
        let sleeper: Arc<dyn ClockSleeper> = Arc::clone(&host) as Arc<dyn ClockSleeper>;
        host.engine.clock.subscribe(Arc::downgrade(&sleeper));
        host
    }

    /// The host's state. Updates under the lock are a few assignments and never panic halfway,
    /// so a poisoned lock is used as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Finishes `lane` (counting whatever it still holds as closed before delivery) and adds its
    /// accounting to the host's and the manager's totals. Call it once the lane is out of
    /// the host's list.
    pub(crate) fn retire(&self, lane: &Lane) {
        lane.finish();
        let stats = lane.stats();
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(&stats);
        self.engine.retire(&stats);
        lane.mark_retired();
        tracing::debug!(host = %self.key, exported = stats.exported, dropped = stats.dropped.total(), "telemetry lane finished");
    }

    /// The accounting of the host's live lanes.
    pub(crate) fn live_stats(&self) -> TelemetryStats {
        let lanes: Vec<Arc<Lane>> = self
            .lock()
            .lanes
            .iter()
            .map(|e| Arc::clone(&e.lane))
            .collect();
        let mut total = TelemetryStats::default();
        for lane in lanes {
            total.add(&lane.stats());
        }
        total
    }

    /// The accounting of every lane the host has had.
    pub(crate) fn stats(&self) -> TelemetryStats {
        let mut total = *self.retired.lock().unwrap_or_else(PoisonError::into_inner);
        total.add(&self.live_stats());
        total
    }

    /// Tells the worker something changed, starting it when the host has none. While the
    /// worker runs this is one atomic store and one load: no lock, no system call.
    pub(crate) fn notify(self: &Arc<Self>) {
        // Store, then load (both SeqCst); the worker clears `running`, then loads `wake`,
        // before it parks: one of the two sees the other, so no wake-up is missed.
        self.wake.store(true, Ordering::SeqCst);
        if self.running.load(Ordering::SeqCst) {
            return;
        }
        let mut state = self.lock();
        self.notify_locked(&mut state);
    }

    /// [`notify`](Self::notify) for a lane's first event, which needs the worker by `due` (clock
    /// time: its flush timer): a parked worker that wakes up by itself before then is
    /// left alone (it will look at `wake` when it does), which spares the producer a lock and a
    /// system call.
    pub(crate) fn notify_by(self: &Arc<Self>, due: Instant) {
        self.wake.store(true, Ordering::SeqCst);
        if self.running.load(Ordering::SeqCst) {
            return;
        }
        let until = self.parked_until.load(Ordering::SeqCst);
        if until != 0 && until <= self.engine.nanos_since_epoch(due) {
            return;
        }
        let mut state = self.lock();
        self.notify_locked(&mut state);
    }

    /// Notes when a worker about to park wakes up by itself (clock time).
    pub(crate) fn note_park_deadline(&self, deadline: Instant) {
        let nanos = self.engine.nanos_since_epoch(deadline);
        self.parked_until.store(nanos, Ordering::SeqCst);
    }

    pub(crate) fn notify_locked(self: &Arc<Self>, state: &mut HostState) {
        self.wake.store(true, Ordering::SeqCst);
        if state.worker == WorkerState::Stopped {
            let host = Arc::clone(self);
            match threads::spawn(WORKER_THREAD_NAME, move || worker::run(host)) {
                Ok(()) => {
                    state.worker = WorkerState::Running;
                    self.running.store(true, Ordering::SeqCst);
                }
                // Nothing is lost: the events wait, and the next notification tries again.
                Err(error) => tracing::debug!(%error, "could not start a telemetry worker"),
            }
        } else {
            self.wakeup.notify_all();
        }
    }

    /// Takes a pending notification (the worker, under the lock).
    pub(crate) fn take_wake(&self) -> bool {
        self.wake.swap(false, Ordering::SeqCst)
    }

    /// Records what the worker is doing (under the lock). Leaving `Running` clears `running`
    /// and says whether a notification arrived meanwhile (then the worker must look again
    /// instead of parking or ending).
    pub(crate) fn set_worker(&self, state: &mut HostState, worker: WorkerState) -> bool {
        state.worker = worker;
        if !matches!(worker, WorkerState::Parked { .. }) {
            self.parked_until.store(0, Ordering::SeqCst);
        }
        let running = worker == WorkerState::Running;
        self.running.store(running, Ordering::SeqCst);
        !running && self.wake.load(Ordering::SeqCst)
    }

    /// Parks the worker for at most `timeout` of real time (or until notified).
    pub(crate) fn park<'a>(
        &'a self,
        state: MutexGuard<'a, HostState>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, HostState> {
        self.wakeup
            .wait_timeout(state, timeout)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Whether the worker is parked with nothing to do at the clock's current time, or stopped,
    /// with no notification pending.
    pub(crate) fn is_quiet(&self) -> bool {
        let now = self.engine.clock.now();
        let state = self.lock();
        !self.wake.load(Ordering::SeqCst)
            && match state.worker {
                WorkerState::Stopped => true,
                WorkerState::Running => false,
                WorkerState::Parked { observed } => observed == now,
            }
    }
}

impl ClockSleeper for Host {
    fn clock_moved(&self) {
        let _state = self.lock();
        self.wakeup.notify_all();
    }
}
