//! The simulated driver workload: connections spread over hosts, identities and threads,
//! paced, each recording its session and statements through its own handle of the real
//! [`TelemetryClientManager`].
//!
//! Connection `i` goes to host `i % hosts` with identity `(i / hosts) % identities`, so every
//! (host, identity) pair has a connection and its own lane. Every thread first opens its
//! connections; once all are open (a rendezvous), the lanes are counted; then the statements run,
//! and each connection closes by recording its close and releasing its handle on its own
//! thread, timed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
use databricks_telemetry::TelemetryConfig;
use databricks_telemetry::{
    AcquireError, ClientIdentity, TelemetryClientHandle, TelemetryClientManager,
};
use databricks_telemetry::{AcquireOptions, DriverInfo};

use super::actions::{Action, SimulatedSession};
use super::interrupt::StopFlag;
use super::targets::Token;
use super::SimulateError;

/// One simulated host: where its lanes export to.
#[derive(Debug, Clone)]
pub(crate) struct SimulatedHost {
    /// The host as a driver names it, e.g. `http://127.0.0.1:41234`.
    pub(crate) url: String,
    /// The workspace id its sessions report.
    pub(crate) workspace_id: i64,
    /// The bearer token every connection sends (each with a provider of its own); `None`
    /// sends to `/telemetry-unauth`.
    pub(crate) token: Option<Token>,
    /// The user agent the simulated driver sends.
    pub(crate) driver: DriverInfo,
}

/// The shape of a run.
#[derive(Debug, Clone)]
pub(crate) struct WorkloadPlan {
    /// Connections, spread round-robin over the hosts, then over the identities of a host.
    pub(crate) connections: u32,
    /// Identities (lanes) per host; 1 without credentials.
    pub(crate) identities: u32,
    /// Statements per connection; `None` for as many as fit in `duration`.
    pub(crate) statements: Option<u64>,
    /// Events per second over all connections; `None` for as fast as possible.
    pub(crate) rate: Option<f64>,
    /// How long connections keep running statements; `None` for no limit.
    pub(crate) duration: Option<Duration>,
    /// Threads the connections run on.
    pub(crate) threads: u32,
    /// Seed of the random streams.
    pub(crate) seed: u64,
}

/// Counters the workload updates as it goes, for the progress bar and the report.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Events handed to the library.
    pub(crate) generated: AtomicU64,
    /// Statements (actions) done.
    pub(crate) statements: AtomicU64,
}

/// What the workload observed besides the events.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WorkloadEnd {
    /// Lanes the manager had once every connection was open (none released yet).
    pub(crate) lanes: usize,
    /// The longest a connection's `release` took, on the connection's own thread.
    pub(crate) release_max: Duration,
}

/// What the connection threads record as they go.
#[derive(Debug, Default)]
struct Observed {
    lanes: AtomicUsize,
    release_max_ns: AtomicU64,
}

/// Paces the workload to a rate and stops it at a deadline; shared by every thread.
#[derive(Debug)]
struct Pacer {
    start: Instant,
    rate: Option<f64>,
    deadline: Option<Instant>,
    tickets: AtomicU64,
    /// Set by SIGINT or SIGTERM: the run stops as if its time were up.
    stop: StopFlag,
}

/// The longest a paced thread sleeps before it looks at [`Pacer::stop`] again.
const STOP_CHECK_EVERY: Duration = Duration::from_millis(20);

impl Pacer {
    /// Whether the run's time is up (or it was interrupted).
    fn expired(&self) -> bool {
        self.stop.is_set()
            || self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// Waits until `events` more events are due at the rate (never past the deadline).
    fn wait_turn(&self, events: u64) {
        let Some(rate) = self.rate else { return };
        let ticket = self.tickets.fetch_add(events, Ordering::Relaxed);
        let mut due = self.start + Duration::from_secs_f64(ticket as f64 / rate);
        if let Some(deadline) = self.deadline {
            due = due.min(deadline);
        }
        loop {
            let now = Instant::now();
            if due <= now || self.stop.is_set() {
                return;
            }
            std::thread::sleep((due - now).min(STOP_CHECK_EVERY));
        }
    }
}

/// The identity of connection `index`: its host's identity number `(index / hosts) %
/// identities`, or anonymous without credentials.
fn identity_of(index: u32, hosts: usize, identities: u32, credentials: bool) -> ClientIdentity {
    if !credentials {
        return ClientIdentity::anonymous();
    }
    let number = (index as usize / hosts.max(1)) % identities.max(1) as usize;
    ClientIdentity::new(format!("dbtel-simulate-{number}"))
}

/// Runs the workload; returns the lanes it made and how long releases took. It stops early,
/// as at the end of `--duration`, once `stop` is set.
///
/// Each thread opens its connections (acquiring a handle and recording the session's open);
/// once every thread has, the lanes are counted; then each thread runs its connections'
/// statements interleaved, and closes each (recording the close, releasing the handle).
///
/// # Errors
///
/// [`SimulateError::Acquire`] for the first handle that could not be acquired (the thread's
/// other connections still close), [`SimulateError::Spawn`] when a thread cannot start.
pub(crate) fn run(
    plan: &WorkloadPlan,
    hosts: &[SimulatedHost],
    config: &TelemetryConfig,
    manager: &TelemetryClientManager,
    progress: &Progress,
    start: Instant,
    stop: &StopFlag,
) -> Result<WorkloadEnd, SimulateError> {
    let pacer = Pacer {
        start,
        rate: plan.rate,
        deadline: plan.duration.map(|d| start + d),
        tickets: AtomicU64::new(0),
        stop: stop.clone(),
    };
    let threads = plan.threads.clamp(1, plan.connections.max(1));
    let opened = Rendezvous::new(threads as usize);
    let observed = Observed::default();
    let count_lanes = || {
        observed
            .lanes
            .store(manager.lane_count(), Ordering::Release);
    };
    let results: Vec<Result<(), SimulateError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let connections: Vec<u32> = (thread..plan.connections)
                    .step_by(threads as usize)
                    .collect();
                let worker = ThreadWork {
                    plan,
                    hosts,
                    config,
                    manager,
                    pacer: &pacer,
                    progress,
                    opened: &opened,
                    observed: &observed,
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("dbtel-connections-{thread}"))
                    .spawn_scoped(scope, move || worker.run(&connections));
                if spawned.is_err() {
                    // The others must not wait for it.
                    opened.arrive(false, count_lanes);
                }
                spawned
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| match worker {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    .map_err(SimulateError::Acquire),
                Err(error) => Err(SimulateError::Spawn(error)),
            })
            .collect()
    });
    for result in results {
        result?;
    }
    Ok(WorkloadEnd {
        lanes: observed.lanes.load(Ordering::Acquire),
        release_max: Duration::from_nanos(observed.release_max_ns.load(Ordering::Acquire)),
    })
}

/// Where the connection threads wait until every connection is open: the last to arrive runs
/// a closure before any goes on. Unlike [`std::sync::Barrier`], a thread that never started
/// can be counted out.
#[derive(Debug)]
struct Rendezvous {
    /// Threads still to arrive, and whether the last one has finished its closure.
    state: Mutex<(usize, bool)>,
    open: Condvar,
}

impl Rendezvous {
    fn new(threads: usize) -> Self {
        Rendezvous {
            state: Mutex::new((threads, false)),
            open: Condvar::new(),
        }
    }

    /// Arrives (for a thread that did not start: `wait == false`); the last arrival runs
    /// `last`, then everyone goes on.
    fn arrive(&self, wait: bool, last: impl FnOnce()) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = state.0.saturating_sub(1);
        if state.0 == 0 {
            last();
            state.1 = true;
            self.open.notify_all();
            return;
        }
        while wait && !state.1 {
            state = self
                .open
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// What one thread needs.
struct ThreadWork<'a> {
    plan: &'a WorkloadPlan,
    hosts: &'a [SimulatedHost],
    config: &'a TelemetryConfig,
    manager: &'a TelemetryClientManager,
    pacer: &'a Pacer,
    progress: &'a Progress,
    /// Every thread waits here once its connections are open; the last to arrive counts the
    /// lanes.
    opened: &'a Rendezvous,
    observed: &'a Observed,
}

/// A connection in progress.
struct OpenConnection {
    session: SimulatedSession,
    handle: TelemetryClientHandle,
    statements_done: u64,
}

impl ThreadWork<'_> {
    fn run(&self, connections: &[u32]) -> Result<(), AcquireError> {
        let mut open = Vec::with_capacity(connections.len());
        let mut failure = None;
        for &index in connections {
            match self.open(index) {
                Ok(connection) => open.push(connection),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        // Every thread gets here (a failed acquire included), so no thread waits for ever.
        self.opened.arrive(true, || {
            self.observed
                .lanes
                .store(self.manager.lane_count(), Ordering::Release);
        });
        if failure.is_none() {
            self.run_statements(&mut open);
        }
        for connection in open {
            self.close(connection);
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn open(&self, index: u32) -> Result<OpenConnection, AcquireError> {
        let host_index = index as usize % self.hosts.len();
        let host = &self.hosts[host_index];
        let identity = identity_of(
            index,
            self.hosts.len(),
            self.plan.identities,
            host.token.is_some(),
        );
        // Each connection brings a credentials provider of its own, as a driver's would.
        let credentials = host.token.as_ref().map(|token| {
            Arc::new(StaticBearerToken::new(token.expose())) as Arc<dyn CredentialsProvider>
        });
        let options =
            AcquireOptions::new(&host.url, host.driver.clone()).with_config(self.config.clone());
        let options = match credentials {
            Some(credentials) => options.with_credentials(identity, credentials),
            None => options,
        };
        let handle = self.manager.acquire_databricks(&options)?;
        let rng = fastrand::Rng::with_seed(self.plan.seed ^ (u64::from(index) << 32) ^ 0x5eed);
        // A handle from an acquire always has its host (only `disabled()` has none).
        let host_name = handle.host().map_or(host.url.as_str(), |key| key.as_str());
        let mut session = SimulatedSession::new(host_name, host.workspace_id, rng);
        let events = session.open();
        self.pacer.wait_turn(events.len() as u64);
        self.emit(&handle, events);
        Ok(OpenConnection {
            session,
            handle,
            statements_done: 0,
        })
    }

    /// Runs one statement per connection in turn until each has run its share or time is up.
    fn run_statements(&self, open: &mut [OpenConnection]) {
        loop {
            let mut progressed = false;
            for connection in open.iter_mut() {
                if self.pacer.expired() {
                    return;
                }
                if self
                    .plan
                    .statements
                    .is_some_and(|limit| connection.statements_done >= limit)
                {
                    continue;
                }
                let action = Action::pick(connection.session.rng());
                self.pacer.wait_turn(action.event_count());
                let events = connection.session.perform(action);
                self.emit(&connection.handle, events);
                connection.statements_done += 1;
                self.progress.statements.fetch_add(1, Ordering::Relaxed);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    /// Records the close and releases the handle, timing the release (which must not wait for
    /// the lane to drain).
    fn close(&self, mut connection: OpenConnection) {
        let event = connection.session.close();
        self.emit(&connection.handle, vec![event]);
        let started = Instant::now();
        connection.handle.release();
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.observed
            .release_max_ns
            .fetch_max(took, Ordering::AcqRel);
    }

    fn emit(
        &self,
        handle: &TelemetryClientHandle,
        events: Vec<databricks_telemetry::model::FrontendLog>,
    ) {
        let count = events.len() as u64;
        for event in events {
            handle.enqueue(event);
        }
        self.progress.generated.fetch_add(count, Ordering::Relaxed);
    }
}
