//! The simulated driver workload: connections spread over hosts and threads, paced, each
//! recording its session and statements through a shared client of the real
//! [`TelemetryClientManager`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::CredentialsProvider;
use databricks_telemetry::export::UserAgent;
use databricks_telemetry::manager::{
    AcquireError, ClientIdentity, Released, TelemetryClientHandle, TelemetryClientManager,
};
use databricks_telemetry::TelemetryConfig;

use super::actions::{Action, SimulatedSession};
use super::SimulateError;

/// One simulated host: where its clients export to.
#[derive(Debug, Clone)]
pub(crate) struct SimulatedHost {
    /// The host as a driver names it, e.g. `http://127.0.0.1:41234`.
    pub(crate) url: String,
    /// The workspace id its sessions report.
    pub(crate) workspace_id: i64,
    /// The credentials its clients send; `None` sends to `/telemetry-unauth`.
    pub(crate) credentials: Option<Arc<dyn CredentialsProvider>>,
    /// The user agent the simulated driver sends.
    pub(crate) user_agent: UserAgent,
}

/// The shape of a run.
#[derive(Debug, Clone)]
pub(crate) struct WorkloadPlan {
    /// Connections, spread round-robin over the hosts.
    pub(crate) connections: u32,
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

/// How a connection ended: its host and what releasing its client handle did.
#[derive(Debug)]
pub(crate) struct ConnectionEnd {
    /// Index of its host.
    pub(crate) host: usize,
    /// What the release did; the last handle of a client reports its final accounting.
    pub(crate) released: Released,
}

/// Paces the workload to a rate and stops it at a deadline; shared by every thread.
#[derive(Debug)]
struct Pacer {
    start: Instant,
    rate: Option<f64>,
    deadline: Option<Instant>,
    tickets: AtomicU64,
}

impl Pacer {
    /// Whether the run's time is up.
    fn expired(&self) -> bool {
        self.deadline
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
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// Runs the workload and returns how every connection ended.
///
/// Each thread opens its connections (acquiring a client handle and recording the session's
/// open), runs their statements interleaved, then closes each (recording the close, releasing the
/// handle).
///
/// # Errors
///
/// [`SimulateError::Acquire`] for the first client that could not be acquired (the thread's
/// other connections still close), [`SimulateError::Spawn`] when a thread cannot start.
pub(crate) fn run(
    plan: &WorkloadPlan,
    hosts: &[SimulatedHost],
    config: &TelemetryConfig,
    manager: &TelemetryClientManager,
    progress: &Progress,
    start: Instant,
) -> Result<Vec<ConnectionEnd>, SimulateError> {
    let pacer = Pacer {
        start,
        rate: plan.rate,
        deadline: plan.duration.map(|d| start + d),
        tickets: AtomicU64::new(0),
    };
    // Every simulated connection uses the same credentials (or none), so they share clients.
    let identity = match hosts.first().and_then(|h| h.credentials.as_ref()) {
        Some(_) => ClientIdentity::new("dbtel-simulate"),
        None => ClientIdentity::anonymous(),
    };
    let threads = plan.threads.clamp(1, plan.connections.max(1));
    let results: Vec<Result<Vec<ConnectionEnd>, SimulateError>> = std::thread::scope(|scope| {
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
                    identity: &identity,
                    pacer: &pacer,
                    progress,
                };
                std::thread::Builder::new()
                    .name(format!("dbtel-connections-{thread}"))
                    .spawn_scoped(scope, move || worker.run(&connections))
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
    let mut ends = Vec::with_capacity(plan.connections as usize);
    for result in results {
        ends.extend(result?);
    }
    Ok(ends)
}

/// What one thread needs.
struct ThreadWork<'a> {
    plan: &'a WorkloadPlan,
    hosts: &'a [SimulatedHost],
    config: &'a TelemetryConfig,
    manager: &'a TelemetryClientManager,
    identity: &'a ClientIdentity,
    pacer: &'a Pacer,
    progress: &'a Progress,
}

/// A connection in progress.
struct OpenConnection {
    host: usize,
    session: SimulatedSession,
    handle: TelemetryClientHandle,
    statements_done: u64,
}

impl ThreadWork<'_> {
    fn run(&self, connections: &[u32]) -> Result<Vec<ConnectionEnd>, AcquireError> {
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
        if failure.is_none() {
            self.run_statements(&mut open);
        }
        let ends = open.into_iter().map(|c| self.close(c)).collect();
        match failure {
            Some(error) => Err(error),
            None => Ok(ends),
        }
    }

    fn open(&self, index: u32) -> Result<OpenConnection, AcquireError> {
        let host_index = index as usize % self.hosts.len();
        let host = &self.hosts[host_index];
        let handle = self.manager.acquire_databricks(
            &host.url,
            self.identity,
            host.credentials.clone(),
            self.config,
            &host.user_agent,
        )?;
        let rng = fastrand::Rng::with_seed(self.plan.seed ^ (u64::from(index) << 32) ^ 0x5eed);
        let mut session = SimulatedSession::new(handle.host().as_str(), host.workspace_id, rng);
        let events = session.open();
        self.pacer.wait_turn(events.len() as u64);
        self.emit(&handle, events);
        Ok(OpenConnection {
            host: host_index,
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

    fn close(&self, mut connection: OpenConnection) -> ConnectionEnd {
        let event = connection.session.close();
        self.emit(&connection.handle, vec![event]);
        ConnectionEnd {
            host: connection.host,
            released: connection.handle.release(),
        }
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
