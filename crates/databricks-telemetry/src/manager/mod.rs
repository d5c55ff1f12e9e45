//! The driver's entry point: [`TelemetryClientManager`] hands out
//! [`TelemetryClientHandle`]s, one per connection, onto the shared pipeline.
//!
//! # Settings: where each one lives
//!
//! A handle's configuration decides what it can: some settings belong to its lane (one per
//! host and identity), some to its host, one to the manager. Each is taken from the first
//! acquirer of that lane, host or manager; a later acquirer with another value is reported (a
//! `debug` log naming the key, and [`TelemetryClientHandle::settings_conflicts`] for lane
//! settings and the transport), never applied and never silently ignored.
//!
//! | setting | lives in | taken from |
//! |---|---|---|
//! | `enabled` | the handle | each acquirer (a disabled handle records nothing and touches no lane) |
//! | `force_enabled`, `batch_size`, `flush_interval_ms`, `max_queue_size`, `close_timeout_ms` | the lane | the lane's first acquirer |
//! | `circuit_breaker_*`, `request_timeout_ms`, `max_retries`, `retry_*_delay_ms`, `max_export_attempts`, `feature_flag_*`, `allow_insecure_http` | the host | the host's first acquirer |
//! | transport ([`AcquireOptions::with_transport`]) | the host | the host's first acquirer |
//! | `max_pending_events` | the manager | its first acquirer |
//!
//! # A short-lived program
//!
//! Releasing a handle never waits: the lane drains in the background. A program that exits
//! right after its last query must wait for that, or what is still queued is lost (and not even
//! counted, since the process is gone). Hold a [`ShutdownGuard`] in `main`:
//!
//! ```no_run
//! use std::time::Duration;
//! use databricks_telemetry::manager::TelemetryClientManager;
//!
//! fn main() {
//!     // Dropped last, at the end of main: delivers what is queued, for at most 5 s.
//!     let _telemetry = TelemetryClientManager::global().shutdown_on_drop(Duration::from_secs(5));
//!     // ... open a connection, run a query, close it ...
//! }
//! ```
//!
//! or call [`TelemetryClientHandle::close`] (or `close_async` inside an async runtime) on the
//! connection's handle before returning.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::config::TelemetryConfig;
use crate::context::SessionContextBuilder;
use crate::credentials::CredentialsProvider;
use crate::driver::DriverInfo;
use crate::export::{
    BreakerSnapshot, DatabricksExporter, DatabricksExporterError, Exporter, ServiceEndpoint,
    ServiceEndpointError, Transport,
};
use crate::feature_flags::FeatureFlagCache;
use crate::host::{HostError, HostKey};
use crate::jitter::Jitter;
use crate::model::FrontendLog;
use crate::pipeline::engine::{AcquireFailure, Engine, Grip, HostParts};
use crate::pipeline::host::FlagSource;
use crate::pipeline::lane::Wake;
use crate::pipeline::{CloseFuture, CloseOutcome, FlushResult};
use crate::stats::TelemetryStats;

mod acquire_options;
mod identity;

pub use acquire_options::AcquireOptions;
pub use identity::ClientIdentity;

/// Why a handle could not be acquired.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcquireError {
    /// The host string is not a usable host.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The endpoint is not usable (not a host, or plain HTTP where it is not allowed).
    #[error(transparent)]
    Endpoint(#[from] ServiceEndpointError),
    /// The host's exporter could not be built.
    #[error(transparent)]
    Exporter(#[from] DatabricksExporterError),
    /// The manager has been shut down; it hands out nothing more.
    #[error("the telemetry manager has been shut down")]
    ShutDown,
}

/// Hands out telemetry handles onto one shared pipeline (see the [module docs](self) and
/// [`pipeline`](crate::pipeline) for how it works).
///
/// - One lane per (normalised host, [`ClientIdentity`]); every connection with that pair shares
///   it through a [`TelemetryClientHandle`], and each brings its own credentials.
/// - One export worker thread per host with work, one circuit breaker and one HTTP connection
///   pool per host; no thread per identity.
/// - Releasing a handle never blocks; the last one's lane drains in the background within its
///   close timeout. [`shutdown`](Self::shutdown) waits for everything, within a deadline.
///
/// Use [`global`](Self::global) in a driver; tests make independent managers with
/// [`new`](Self::new) or [`with_clock`](Self::with_clock).
///
/// ```
/// use std::time::Duration;
/// use databricks_telemetry::manager::{ClientIdentity, TelemetryClientManager};
/// use databricks_telemetry::testing::InMemoryExporter;
/// use databricks_telemetry::{TelemetryConfig, TelemetrySessionContext};
///
/// let manager = TelemetryClientManager::new();
/// let exporter = InMemoryExporter::new();
/// let config = TelemetryConfig::default();
/// let user = ClientIdentity::new("user-1");
/// let make = |_: &_| Box::new(exporter.clone()) as Box<_>;
///
/// let a = manager.acquire("HTTPS://Adb-1.Azuredatabricks.net/", &user, &config, make).unwrap();
/// let b = manager.acquire("adb-1.azuredatabricks.net:443", &user, &config, make).unwrap();
/// assert!(a.shares_lane_with(&b));
/// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
/// a.enqueue(session.connection_opened(Duration::from_millis(80)));
/// drop(a);
/// b.release(); // returns at once; the lane drains in the background
/// let outcome = manager.shutdown(Duration::from_secs(5));
/// assert_eq!(outcome.stats.exported, 1);
/// assert_eq!(exporter.exported_count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct TelemetryClientManager {
    engine: Arc<Engine>,
}

impl Default for TelemetryClientManager {
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetryClientManager {
    /// An independent manager on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An independent manager whose timing (flush intervals, retry waits, breakers, close
    /// deadlines, flag expiry) reads `clock`, with random jitter.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::with_clock_and_seed(clock, Jitter::random_seed())
    }

    /// [`with_clock`](Self::with_clock) with jitter that follows `seed`, for repeatable tests.
    pub fn with_clock_and_seed(clock: Arc<dyn Clock>, seed: u64) -> Self {
        TelemetryClientManager {
            engine: Arc::new(Engine::new(clock, seed)),
        }
    }

    /// The process-wide manager.
    pub fn global() -> &'static TelemetryClientManager {
        static GLOBAL: OnceLock<TelemetryClientManager> = OnceLock::new();
        GLOBAL.get_or_init(TelemetryClientManager::new)
    }

    /// A handle on the lane of (`host`, `identity`), exporting through the exporter
    /// `make_exporter` builds for the host (called only when the host is new, with the
    /// normalised host; it must be quick, do no network I/O, and not call this manager). The
    /// lane sends without credentials (`export_as` gets `None`).
    ///
    /// # Errors
    ///
    /// [`AcquireError::Host`] for a host string that is not a host; [`AcquireError::ShutDown`]
    /// after [`shutdown`](Self::shutdown).
    pub fn acquire<F>(
        &self,
        host: &str,
        identity: &ClientIdentity,
        config: &TelemetryConfig,
        make_exporter: F,
    ) -> Result<TelemetryClientHandle, AcquireError>
    where
        F: FnOnce(&HostKey) -> Box<dyn Exporter>,
    {
        self.acquire_with_credentials(host, identity, None, config, make_exporter)
    }

    /// [`acquire`](Self::acquire), the connection bringing `credentials`: the lane's batches are
    /// sent with the `Authorization` of a live connection's provider (see
    /// [`credentials`](crate::credentials)).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub fn acquire_with_credentials<F>(
        &self,
        host: &str,
        identity: &ClientIdentity,
        credentials: Option<Arc<dyn CredentialsProvider>>,
        config: &TelemetryConfig,
        make_exporter: F,
    ) -> Result<TelemetryClientHandle, AcquireError>
    where
        F: FnOnce(&HostKey) -> Box<dyn Exporter>,
    {
        let host = HostKey::parse(host)?;
        self.acquire_parts(host, identity, credentials, None, config, |host| {
            Ok(HostParts {
                exporter: make_exporter(host),
                flags: None,
            })
        })
    }

    /// A handle that sends to the Databricks telemetry service at `options`' host (e.g.
    /// `adb-123.4.azuredatabricks.net`, or a URL), or at the configuration's `endpoint` when it
    /// has one (e.g. `dbtel serve`). The org id comes from the options, else the
    /// configuration's `org_id`.
    ///
    /// With credentials, batches go to `/telemetry-ext` with the `Authorization` of a live
    /// connection's provider, once the server's feature flag for the host says telemetry is on
    /// (skipped with `force_enabled`); the flag is fetched by the host's worker, never on the
    /// caller's thread, and cached per host for this manager. Without credentials (a failed
    /// login), batches go to `/telemetry-unauth` without the flag, which needs credentials:
    /// only `enabled` decides.
    ///
    /// The identity decides sharing: give connections with the same credentials the same
    /// identity ([`ClientIdentity::from_credential`] does).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use databricks_telemetry::credentials::StaticBearerToken;
    /// use databricks_telemetry::{AcquireOptions, ClientIdentity, DriverInfo, TelemetryClientManager};
    ///
    /// let driver = DriverInfo::new("Databricks ADBC Rust", "0.1.0")?;
    /// let token = "dapi-...";
    /// let telemetry = TelemetryClientManager::global().acquire_databricks(
    ///     &AcquireOptions::new("adb-123.4.azuredatabricks.net", driver).with_credentials(
    ///         ClientIdentity::from_credential("pat", token),
    ///         Arc::new(StaticBearerToken::new(token)),
    ///     ),
    /// )?;
    /// let session = telemetry.session().expect("a Databricks handle").session_id("01f0-...").build();
    /// telemetry.enqueue(session.connection_opened(std::time::Duration::from_millis(80)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AcquireError::Endpoint`] for a host that is not a host or is plain HTTP where that is
    /// not allowed; [`AcquireError::Exporter`] when the exporter cannot be built (e.g. an org
    /// id that is not decimal); [`AcquireError::ShutDown`] after [`shutdown`](Self::shutdown).
    pub fn acquire_databricks(
        &self,
        options: &AcquireOptions,
    ) -> Result<TelemetryClientHandle, AcquireError> {
        let config = &options.config;
        // The configuration's `endpoint` (e.g. `dbtel serve`) beats the connection's host.
        let target = config.endpoint().unwrap_or(&options.host);
        let endpoint = ServiceEndpoint::parse(target, config)?;
        let org_id = options
            .org_id
            .as_deref()
            .or(config.org_id())
            .map(str::to_owned);
        let host = endpoint.host().clone();
        let shared = Arc::clone(&self.engine.shared);
        let user_agent = options.driver.user_agent();
        let workspace_id = match &org_id {
            None => None,
            Some(org_id) => Some(org_id.parse::<i64>().map_err(|_| {
                AcquireError::Exporter(DatabricksExporterError::InvalidOrgId {
                    value: org_id.clone(),
                })
            })?),
        };
        let mut handle = self.acquire_parts(
            host,
            &options.identity,
            options.credentials.clone(),
            options.transport.as_ref(),
            config,
            |_| {
                let mut builder =
                    DatabricksExporter::builder(endpoint.clone(), config, user_agent.clone());
                if let Some(org_id) = &org_id {
                    builder = builder.org_id(org_id.clone());
                }
                // The host's flag is asked through the same transport as its uploads.
                let mut cache =
                    FeatureFlagCache::with_clock(config, user_agent, Arc::clone(&shared.clock));
                if let Some(transport) = &options.transport {
                    builder = builder.transport(Arc::clone(transport));
                    cache = cache.with_transport(Arc::clone(transport));
                }
                let exporter = builder.build()?;
                Ok(HostParts {
                    exporter: Box::new(exporter),
                    flags: Some(FlagSource {
                        cache: Arc::new(cache),
                        endpoint,
                    }),
                })
            },
        )?;
        handle.session = Some(Arc::new(SessionDefaults {
            driver: options.driver.clone(),
            workspace_id,
        }));
        Ok(handle)
    }

    fn acquire_parts(
        &self,
        host: HostKey,
        identity: &ClientIdentity,
        credentials: Option<Arc<dyn CredentialsProvider>>,
        transport: Option<&Arc<dyn Transport>>,
        config: &TelemetryConfig,
        make_host: impl FnOnce(&HostKey) -> Result<HostParts, AcquireError>,
    ) -> Result<TelemetryClientHandle, AcquireError> {
        if !config.enabled() {
            // A disabled handle touches nothing, so it is handed out even after shutdown: a
            // driver can always fall back to one.
            return Ok(TelemetryClientHandle {
                manager: self.clone(),
                host,
                grip: None,
                session: None,
            });
        }
        let grip = self
            .engine
            .acquire(
                host.clone(),
                identity,
                credentials,
                transport,
                config,
                make_host,
            )
            .map_err(|failure| match failure {
                AcquireFailure::ShutDown => AcquireError::ShutDown,
                AcquireFailure::Exporter(error) => error,
            })?;
        Ok(TelemetryClientHandle {
            manager: self.clone(),
            host,
            grip: Some(grip),
            session: None,
        })
    }

    /// Stops handing out handles and taking events, delivers what every lane holds within
    /// `timeout`, and returns the final accounting of every lane this manager ever had (with
    /// `pending == 0`). A hanging host does not delay the others; what it still holds at the
    /// deadline is counted as `closed_before_delivery`. Idempotent; handles still held keep
    /// working but count what they are given as `after_close`.
    pub fn shutdown(&self, timeout: Duration) -> CloseOutcome {
        let (result, stats) = self.engine.shutdown(timeout);
        CloseOutcome { result, stats }
    }

    /// A guard that [shuts the manager down](Self::shutdown) with `timeout` when dropped: hold
    /// it in `main` so a short-lived program delivers its events before it exits.
    pub fn shutdown_on_drop(&self, timeout: Duration) -> ShutdownGuard {
        ShutdownGuard {
            manager: self.clone(),
            timeout,
        }
    }

    /// The accounting of every lane, live and finished.
    pub fn stats(&self) -> TelemetryStats {
        self.engine.stats()
    }

    /// The accounting of `host`'s lanes (normalised), live and finished, while the manager keeps
    /// the host (it keeps every host it was asked for, also after shutdown).
    pub fn host_stats(&self, host: &str) -> Option<TelemetryStats> {
        let host = HostKey::parse(host).ok()?;
        self.engine.host_stats(&host)
    }

    /// How many lanes are alive (held by a handle, or draining).
    pub fn lane_count(&self) -> usize {
        self.engine.lane_count()
    }

    /// How many hosts the manager keeps (every host it was asked for: a host's breaker, flag and
    /// totals outlive its lanes and its worker).
    pub fn host_count(&self) -> usize {
        self.engine.hosts().len()
    }

    /// The breaker of `host` (normalised), while the manager keeps the host.
    pub fn breaker(&self, host: &str) -> Option<BreakerSnapshot> {
        let host = HostKey::parse(host).ok()?;
        self.engine.host(&host).map(|host| host.breaker.snapshot())
    }

    /// A testing aid: waits until every host's worker has nothing to do at the clock's current
    /// time (parked or stopped, nothing due, no notification pending), or `timeout` of real
    /// time passes; says which. With a [`ManualClock`](crate::clock::ManualClock), call it after
    /// enqueueing or advancing the clock, before looking at the results.
    pub fn settle(&self, timeout: Duration) -> bool {
        self.engine.settle(timeout)
    }
}

/// Shuts its manager down when dropped; from [`TelemetryClientManager::shutdown_on_drop`].
#[derive(Debug)]
#[must_use = "the guard shuts the manager down when dropped: hold it until the program ends"]
pub struct ShutdownGuard {
    manager: TelemetryClientManager,
    timeout: Duration,
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        let outcome = self.manager.shutdown(self.timeout);
        tracing::debug!(result = ?outcome.result, exported = outcome.stats.exported, dropped = outcome.stats.dropped.total(), "telemetry shut down");
    }
}

/// A connection's share of a lane. Drop it (or call [`release`](Self::release)) when the
/// connection closes: that returns at once, and the lane delivers what it holds in the
/// background. [`close`](Self::close) and [`close_async`](Self::close_async) do the same and
/// wait.
#[must_use = "dropping the handle releases it at once"]
#[derive(Debug)]
pub struct TelemetryClientHandle {
    manager: TelemetryClientManager,
    host: HostKey,
    /// `None` for a disabled handle, and once released.
    grip: Option<Grip>,
    /// What sessions started from this handle know: the driver and the workspace.
    session: Option<Arc<SessionDefaults>>,
}

/// What a handle from `acquire_databricks` knows for the sessions started from it.
#[derive(Debug)]
struct SessionDefaults {
    driver: DriverInfo,
    workspace_id: Option<i64>,
}

impl TelemetryClientHandle {
    /// Hands an event to the lane; never blocks. A few tens of nanoseconds: two counters and a
    /// push onto a lock-free queue; the lane's first event (and each whole batch) also wakes the
    /// host's worker.
    #[inline]
    pub fn enqueue(&self, log: FrontendLog) {
        let Some(grip) = &self.grip else { return };
        let Some(room) = grip.lane.admit() else {
            return;
        };
        match grip.lane.push(room, log) {
            Wake::Nothing => {}
            wake @ (Wake::FirstEvent | Wake::BatchReady) => wake_worker(grip, wake),
        }
    }

    /// Whether the handle records anything (its configuration enables telemetry). A driver can
    /// skip building events when it does not:
    ///
    /// ```
    /// # use databricks_telemetry::manager::{ClientIdentity, TelemetryClientManager};
    /// # use databricks_telemetry::testing::InMemoryExporter;
    /// # use databricks_telemetry::{TelemetryConfig, TelemetrySessionContext};
    /// # let manager = TelemetryClientManager::new();
    /// let off = TelemetryConfig::builder().with_enabled(false).build()?;
    /// # let make = |_: &_| Box::new(InMemoryExporter::new()) as Box<_>;
    /// let telemetry = manager.acquire("adb-1.azuredatabricks.net", &ClientIdentity::anonymous(), &off, make)?;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// if telemetry.is_enabled() {
    ///     telemetry.enqueue(session.connection_opened(std::time::Duration::from_millis(5)));
    /// }
    /// assert!(!telemetry.is_enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.grip.is_some()
    }

    /// Asks for everything the lane holds to be sent now, and waits until it is exported or
    /// dropped (and counted), or `timeout` passes. While the host's breaker is open the events
    /// wait, so a flush then times out.
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        match &self.grip {
            Some(grip) => self.manager.engine.flush(grip, timeout),
            None => FlushResult::Completed,
        }
    }

    /// The lane's accounting (shared with every handle of the lane).
    pub fn stats(&self) -> TelemetryStats {
        self.grip
            .as_ref()
            .map_or_else(TelemetryStats::default, |grip| grip.lane.stats())
    }

    /// A session context builder for this connection: the driver's name and version, and the
    /// workspace id from the org id, filled in. `None` for handles acquired without a
    /// [`DriverInfo`] ([`acquire`](TelemetryClientManager::acquire),
    /// [`acquire_with_credentials`](TelemetryClientManager::acquire_with_credentials)).
    pub fn session(&self) -> Option<SessionContextBuilder> {
        self.session.as_ref().map(|defaults| {
            let builder = defaults.driver.session();
            match defaults.workspace_id {
                Some(id) => builder.workspace_id(id),
                None => builder,
            }
        })
    }

    /// The normalised host.
    pub fn host(&self) -> &HostKey {
        &self.host
    }

    /// Whether two handles share one lane.
    pub fn shares_lane_with(&self, other: &TelemetryClientHandle) -> bool {
        match (&self.grip, &other.grip) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.lane, &b.lane),
            _ => false,
        }
    }

    /// The lane's option keys for which a later acquirer gave another value than the lane's
    /// first acquirer (whose values apply), and `"transport"` when a handle of this lane was
    /// acquired with a transport other than its host's (the host's first acquirer's applies;
    /// see [`AcquireOptions::with_transport`]).
    pub fn settings_conflicts(&self) -> Vec<&'static str> {
        self.grip
            .as_ref()
            .map_or_else(Vec::new, |grip| grip.lane.lock().conflicts.clone())
    }

    /// Gives up this share at once, withdrawing its credentials provider (never called again).
    /// When it was the lane's last, the lane delivers what it holds in the background within
    /// its close timeout. Never blocks. Dropping the handle does the same.
    pub fn release(mut self) {
        self.release_inner();
    }

    /// [`release`](Self::release), then waits at most `timeout` for the lane: until it has
    /// delivered and counted everything (the last handle), or everything enqueued before the
    /// call (when others share it).
    ///
    /// Blocks the calling thread: inside an async runtime use
    /// [`close_async`](Self::close_async) (a blocking close on a current-thread runtime would
    /// also starve an async credentials provider that runs on it).
    pub fn close(mut self, timeout: Duration) -> CloseOutcome {
        let Some(grip) = self.grip.take() else {
            return CloseOutcome {
                result: crate::pipeline::CloseResult::Completed,
                stats: TelemetryStats::default(),
            };
        };
        let result = self.manager.engine.close(&grip, timeout);
        CloseOutcome {
            result,
            stats: grip.lane.stats(),
        }
    }

    /// [`close`](Self::close) as a future that needs no particular async runtime (the wait runs
    /// on a short-lived helper thread) and never blocks the task that polls it.
    pub fn close_async(mut self, timeout: Duration) -> CloseFuture {
        let grip = self.grip.take();
        let manager = self.manager.clone();
        CloseFuture::spawn(move || match grip {
            None => CloseOutcome {
                result: crate::pipeline::CloseResult::Completed,
                stats: TelemetryStats::default(),
            },
            Some(grip) => {
                let result = manager.engine.close(&grip, timeout);
                CloseOutcome {
                    result,
                    stats: grip.lane.stats(),
                }
            }
        })
    }

    fn release_inner(&mut self) {
        if let Some(grip) = self.grip.take() {
            self.manager.engine.release(&grip);
        }
    }
}

/// The slow path of enqueue (a lane's first event, or a whole batch): wake the host's worker,
/// or start it. While the worker runs, an atomic store and load. A first event starts the
/// lane's flush timer and needs the worker only by then, so a worker parked for less is left to
/// wake up by itself (no lock on the host, no system call).
#[cold]
#[inline(never)]
fn wake_worker(grip: &Grip, wake: Wake) {
    match wake {
        Wake::FirstEvent => {
            let due = grip.host.engine.clock.now() + grip.lane.settings.flush_interval;
            let due = *grip.lane.lock().flush_due.get_or_insert(due);
            grip.host.notify_by(due);
        }
        Wake::BatchReady | Wake::Nothing => grip.host.notify(),
    }
}

impl Drop for TelemetryClientHandle {
    fn drop(&mut self) {
        self.release_inner();
    }
}
