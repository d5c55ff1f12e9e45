//! [`TelemetryClientHandle`]: a connection's share of a lane, cloneable into its statements and
//! tasks, holding the connection's session.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::context::{
    SessionContextBuilder, StatementRecorder, TelemetryAuthType, TelemetrySessionContext,
};
use crate::driver::DriverInfo;
use crate::host::HostKey;
use crate::model::{FrontendLog, OperationType};
use crate::pipeline::engine::{Engine, Grip};
use crate::pipeline::lane::Wake;
use crate::pipeline::{CloseFuture, CloseOutcome, CloseResult, FlushResult};
use crate::stats::TelemetryStats;

/// A connection's share of a lane, and the connection's session.
///
/// **Sharing.** Clone it into whatever records for the connection (its statements, the tasks
/// that download CloudFetch chunks): a clone is one reference count, and every clone is the
/// same share. [`begin`](Self::begin) starts a [`StatementRecorder`] bound to the handle, which
/// sends its statement's event itself.
///
/// **Releasing.** Dropping the last clone (or calling [`release`](Self::release) on it) gives
/// the share up at once, never blocking; the lane then delivers what it holds in the
/// background within its close timeout. A bound recorder holds a clone until it is finished,
/// so the share outlives the connection's own clones while one of its statements is still
/// being recorded (e.g. a result reader the application has not dropped yet).
///
/// **Closing.** [`close`](Self::close) and [`close_async`](Self::close_async) take `&self`: they
/// give the share up for every clone at once (recorders included) and wait, within a deadline,
/// for the lane to deliver. What any clone is given afterwards is not recorded: it is counted
/// as [`after_close`](crate::DroppedEvents::after_close) in the lane's accounting (this
/// handle's [`stats`](Self::stats); while other connections keep the lane, the manager's
/// too, but once the lane has finished the manager's totals are final, as for events offered
/// after [`shutdown`](super::TelemetryClientManager::shutdown)).
///
/// **Disabled.** A handle whose configuration disables telemetry, or
/// [`disabled`](Self::disabled) for a driver whose acquire failed (telemetry never fails a
/// connection), records nothing and touches no lane; everything on it is a no-op.
#[must_use = "dropping the handle releases it at once"]
#[derive(Clone)]
pub struct TelemetryClientHandle {
    shared: Arc<HandleShared>,
}

/// What every clone of one handle shares.
struct HandleShared {
    /// `None` for a disabled handle.
    share: Option<Share>,
    /// The share was given up (a close by any clone, or the last clone gone): set once.
    released: AtomicBool,
    /// `None` for [`TelemetryClientHandle::disabled`].
    host: Option<HostKey>,
    /// What sessions started from the handle know: the driver and the workspace.
    defaults: Option<SessionDefaults>,
    /// The connection's session, once set.
    session: Mutex<Option<Arc<TelemetrySessionContext>>>,
}

/// A live handle's grip on its lane, and the engine that handed it out.
#[derive(Debug)]
struct Share {
    grip: Grip,
    engine: Arc<Engine>,
}

/// What a handle from `acquire_databricks` knows for the sessions started from it.
#[derive(Debug)]
pub(super) struct SessionDefaults {
    pub(super) driver: DriverInfo,
    pub(super) workspace_id: Option<i64>,
    pub(super) auth_type: Option<TelemetryAuthType>,
}

impl TelemetryClientHandle {
    /// A handle on `grip`'s lane, or a disabled one (`grip` is `None`).
    pub(super) fn new(
        engine: &Arc<Engine>,
        host: HostKey,
        grip: Option<Grip>,
        defaults: Option<SessionDefaults>,
    ) -> Self {
        TelemetryClientHandle {
            shared: Arc::new(HandleShared {
                share: grip.map(|grip| Share {
                    grip,
                    engine: Arc::clone(engine),
                }),
                released: AtomicBool::new(false),
                host: Some(host),
                defaults,
                session: Mutex::new(None),
            }),
        }
    }

    /// A handle that records nothing and touches no pipeline: for a driver whose acquire failed
    /// (telemetry never fails a connection), so the rest of its code keeps one shape.
    ///
    /// ```
    /// use databricks_telemetry::model::OperationType;
    /// use databricks_telemetry::TelemetryClientHandle;
    ///
    /// let telemetry = TelemetryClientHandle::disabled();
    /// assert!(!telemetry.is_enabled());
    /// assert!(telemetry.begin(OperationType::ExecuteStatement).is_inert());
    /// assert_eq!(telemetry.stats().enqueued, 0);
    /// ```
    pub fn disabled() -> Self {
        TelemetryClientHandle {
            shared: Arc::new(HandleShared {
                share: None,
                released: AtomicBool::new(false),
                host: None,
                defaults: None,
                session: Mutex::new(None),
            }),
        }
    }

    /// Hands an event to the lane; never blocks. A few tens of nanoseconds: two counters and a
    /// push onto a lock-free queue; the lane's first event (and each whole batch) also wakes the
    /// host's worker. After a [`close`](Self::close) (by any clone) the event is counted as
    /// dropped after close instead.
    #[inline]
    pub fn enqueue(&self, log: FrontendLog) {
        let Some(share) = &self.shared.share else {
            return;
        };
        if self.shared.released.load(Ordering::Acquire) {
            return count_after_close(share, log);
        }
        let Some(room) = share.grip.lane.admit() else {
            return;
        };
        match share.grip.lane.push(room, log) {
            Wake::Nothing => {}
            wake @ (Wake::FirstEvent | Wake::BatchReady) => wake_worker(&share.grip, wake),
        }
    }

    /// Whether the handle records anything: its configuration enables telemetry, and no clone
    /// has closed it. A driver can skip building events when it does not:
    ///
    /// ```
    /// # use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
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
        self.shared.share.is_some() && !self.shared.released.load(Ordering::Acquire)
    }

    /// Asks for everything the lane holds to be sent now, and waits until it is exported or
    /// dropped (and counted), or `timeout` passes. While the host's breaker is open the events
    /// wait, so a flush then times out.
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        match &self.shared.share {
            Some(share) if !share.grip.lane.lock().ledger.finished => {
                share.engine.flush(&share.grip, timeout)
            }
            _ => FlushResult::Completed,
        }
    }

    /// The lane's accounting (shared with every handle of the lane).
    pub fn stats(&self) -> TelemetryStats {
        self.shared
            .share
            .as_ref()
            .map_or_else(TelemetryStats::default, |share| share.grip.lane.stats())
    }

    /// A session context builder for this connection: the driver's name and version, the
    /// workspace id from the org id and the auth type (from
    /// [`AcquireOptions::with_auth_type`](crate::AcquireOptions::with_auth_type)) filled in.
    /// `None` for handles acquired without a
    /// [`DriverInfo`] ([`acquire`](super::TelemetryClientManager::acquire),
    /// [`acquire_with_credentials`](super::TelemetryClientManager::acquire_with_credentials),
    /// [`disabled`](Self::disabled)). [`open_session`](Self::open_session) builds and keeps it
    /// in one step.
    pub fn session(&self) -> Option<SessionContextBuilder> {
        self.shared.defaults.as_ref().map(|defaults| {
            let mut builder = defaults.driver.session();
            if let Some(id) = defaults.workspace_id {
                builder = builder.with_workspace_id(id);
            }
            if let Some(auth_type) = defaults.auth_type {
                builder = builder.with_auth_type(auth_type);
            }
            builder
        })
    }

    /// Builds the connection's session from [`session`](Self::session)'s builder as `build`
    /// completes it (typically with the session id the server assigned and the auth type),
    /// keeps it for [`begin`](Self::begin), and returns it: the connection's open and close
    /// events are one line each.
    ///
    /// `None`, and nothing kept, when the handle records nothing (disabled, or closed) or was
    /// acquired without a [`DriverInfo`] (use [`set_session`](Self::set_session) there).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use databricks_telemetry::{AcquireOptions, TelemetryAuthType, DriverInfo, TelemetryClientManager};
    /// # let manager = TelemetryClientManager::new();
    /// # let options = AcquireOptions::new("adb-1.azuredatabricks.net", DriverInfo::new("Databricks ADBC Rust", "0.1.0")?);
    /// let telemetry = manager.acquire_databricks(&options)?;
    /// // The session opened: its id is known.
    /// if let Some(session) = telemetry.open_session(|s| s.with_session_id("01f0-...").with_auth_type(TelemetryAuthType::Pat)) {
    ///     telemetry.enqueue(session.connection_opened(Duration::from_millis(120)));
    /// }
    /// // ... statements ...
    /// // The session closed.
    /// if let Some(session) = telemetry.session_context() {
    ///     telemetry.enqueue(session.connection_closed(Duration::from_millis(3)));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_session(
        &self,
        build: impl FnOnce(SessionContextBuilder) -> SessionContextBuilder,
    ) -> Option<Arc<TelemetrySessionContext>> {
        if !self.is_enabled() {
            return None;
        }
        let session = build(self.session()?).build();
        self.set_session(Arc::clone(&session));
        Some(session)
    }

    /// Keeps `session` as the connection's session (replacing one kept before): statements
    /// [begun](Self::begin) from now on, from any clone, belong to it.
    pub fn set_session(&self, session: Arc<TelemetrySessionContext>) {
        *self.session_slot() = Some(session);
    }

    /// The connection's session, once [`open_session`](Self::open_session) or
    /// [`set_session`](Self::set_session) set it.
    pub fn session_context(&self) -> Option<Arc<TelemetrySessionContext>> {
        self.session_slot().clone()
    }

    /// Starts recording one operation now, in the connection's session, bound to this handle:
    /// clone the recorder into the tasks that download the statement's chunks and poll its
    /// status; its event is enqueued onto this handle's lane by
    /// [`submit`](StatementRecorder::submit), or, when neither that nor
    /// [`finish`](StatementRecorder::finish) was called, when its last clone is dropped (e.g.
    /// with the result reader that holds it). The recorder holds a clone of the handle until
    /// then.
    ///
    /// Before a session is set, on a disabled handle and after a close, the recorder is inert:
    /// it records nothing, allocates nothing and sends nothing.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
    /// # use databricks_telemetry::testing::InMemoryExporter;
    /// # use databricks_telemetry::{TelemetryConfig, TelemetrySessionContext};
    /// use databricks_telemetry::model::OperationType;
    /// # let manager = TelemetryClientManager::new();
    /// # let make = |_: &_| Box::new(InMemoryExporter::new()) as Box<_>;
    /// # let config = TelemetryConfig::builder().with_flush_interval(Duration::from_secs(3600)).build()?;
    /// # let telemetry = manager.acquire("adb-1.azuredatabricks.net", &ClientIdentity::anonymous(), &config, make)?;
    /// assert!(telemetry.begin(OperationType::ExecuteStatement).is_inert(), "no session yet");
    /// telemetry.set_session(TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build());
    ///
    /// let statement = telemetry.begin(OperationType::ExecuteStatement);
    /// statement.set_statement_id("01f0-...");
    /// let download = statement.clone(); // into a CloudFetch task
    /// download.record_chunk_download(Duration::from_millis(30));
    /// drop(download);
    /// drop(statement); // the last clone: the event goes to the lane
    /// assert_eq!(telemetry.stats().enqueued, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn begin(&self, operation: OperationType) -> StatementRecorder {
        match self.recording_session() {
            Some(session) => {
                StatementRecorder::bound(session, operation, Instant::now(), self.clone())
            }
            None => StatementRecorder::inert(operation),
        }
    }

    /// [`begin`](Self::begin) for an operation that began at `start` (a monotonic instant).
    pub fn begin_at(&self, operation: OperationType, start: Instant) -> StatementRecorder {
        match self.recording_session() {
            Some(session) => StatementRecorder::bound(session, operation, start, self.clone()),
            None => StatementRecorder::inert(operation),
        }
    }

    /// The normalised host; `None` for [`disabled`](Self::disabled).
    pub fn host(&self) -> Option<&HostKey> {
        self.shared.host.as_ref()
    }

    /// Whether two handles share one lane (every clone of a handle shares its lane).
    pub fn shares_lane_with(&self, other: &TelemetryClientHandle) -> bool {
        match (&self.shared.share, &other.shared.share) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.grip.lane, &b.grip.lane),
            _ => false,
        }
    }

    /// The lane's option keys for which a later acquirer gave another value than the lane's
    /// first acquirer (whose values apply); `"transport"` when a handle of this lane was
    /// acquired with a transport other than its host's (the host's first acquirer's applies;
    /// see [`AcquireOptions::with_transport`](super::AcquireOptions::with_transport) and
    /// [`with_transport_settings`](super::AcquireOptions::with_transport_settings)); and
    /// `"org_id"` when it was acquired with another org id than the host's first acquirer's
    /// (which is sent with every upload of the host: with the configuration's `endpoint`, the
    /// connections of every workspace share the endpoint's host).
    pub fn settings_conflicts(&self) -> Vec<&'static str> {
        self.shared
            .share
            .as_ref()
            .map_or_else(Vec::new, |share| share.grip.lane.lock().conflicts.clone())
    }

    /// Drops this clone at once; never blocks. When it is the last clone (bound recorders
    /// hold clones too), the share is given up and its credentials provider withdrawn (never
    /// called again); when it was the lane's last share, the lane delivers what it holds in
    /// the background within its close timeout. Dropping the handle does the same.
    pub fn release(self) {
        drop(self);
    }

    /// Gives the share up for every clone at once (what any of them is given afterwards is
    /// counted as dropped after close, see the [type docs](Self)), and waits at most `timeout`
    /// for the lane: until it has delivered and counted everything (the lane's last share), or
    /// everything enqueued before the call (when other connections share it).
    ///
    /// A later close (from any clone) gives nothing up again: it waits, within its own
    /// `timeout`, until what the lane held is delivered and counted, as [`flush`](Self::flush)
    /// does. On a disabled handle it completes at once.
    ///
    /// It waits only while delivery can progress: when the host's circuit breaker is open, the
    /// host's request in flight is stuck, or the lane's last attempt failed and its retry is due
    /// only after `timeout`, it returns at once with [`CloseResult::BreakerOpen`],
    /// [`CloseResult::RequestStuck`] or [`CloseResult::RetryPending`]
    /// ([`is_stalled`](CloseResult::is_stalled)), and the lane keeps draining in the background
    /// within its close timeout (what it cannot deliver by then is counted as
    /// `closed_before_delivery`). So a close at connection release costs nothing while the
    /// service is down or hanging.
    ///
    /// Blocks the calling thread: inside an async runtime use
    /// [`close_async`](Self::close_async) (a blocking close on a current-thread runtime would
    /// also starve an async credentials provider that runs on it).
    /// [`close_configured`](Self::close_configured) waits the configured `close_timeout_ms`.
    pub fn close(&self, timeout: Duration) -> CloseOutcome {
        let gave_up = self.give_up();
        self.wait_closed(gave_up, timeout)
    }

    /// [`close`](Self::close) as a future that needs no particular async runtime (the wait runs
    /// on a short-lived helper thread) and never blocks the task that polls it. The share is
    /// given up when this is called, before the future is first polled.
    pub fn close_async(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = CloseOutcome> + Send + Unpin + 'static {
        let gave_up = self.give_up();
        if self.shared.share.is_none() {
            return CloseFuture::ready(self.wait_closed(gave_up, timeout));
        }
        let handle = self.clone();
        CloseFuture::spawn(move || handle.wait_closed(gave_up, timeout))
    }

    /// [`close`](Self::close) within the lane's configured `close_timeout_ms` (2 seconds by
    /// default): what a driver calls when it releases a connection.
    ///
    /// ```
    /// # use databricks_telemetry::{ClientIdentity, CloseResult, TelemetryClientManager, TelemetryConfig};
    /// # use databricks_telemetry::testing::InMemoryExporter;
    /// # let manager = TelemetryClientManager::new();
    /// # let make = |_: &_| Box::new(InMemoryExporter::new()) as Box<_>;
    /// # let telemetry = manager.acquire("adb-1.azuredatabricks.net", &ClientIdentity::anonymous(), &TelemetryConfig::default(), make)?;
    /// let outcome = telemetry.close_configured();
    /// assert_eq!(outcome.result, CloseResult::Completed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_configured(&self) -> CloseOutcome {
        self.close(self.close_timeout())
    }

    /// [`close_async`](Self::close_async) within the lane's configured `close_timeout_ms`.
    pub fn close_async_configured(
        &self,
    ) -> impl Future<Output = CloseOutcome> + Send + Unpin + 'static {
        self.close_async(self.close_timeout())
    }

    /// The lane's `close_timeout_ms` (zero for a disabled handle, which has nothing to wait
    /// for).
    fn close_timeout(&self) -> Duration {
        self.shared.share.as_ref().map_or(Duration::ZERO, |share| {
            share.grip.lane.settings.close_timeout
        })
    }

    /// Marks the share given up; true when this call did (it was not already).
    fn give_up(&self) -> bool {
        !self.shared.released.swap(true, Ordering::AcqRel)
    }

    /// Waits for the lane after a close: the engine's close for the call that gave the share
    /// up, a flush for any later one.
    fn wait_closed(&self, gave_up: bool, timeout: Duration) -> CloseOutcome {
        let Some(share) = &self.shared.share else {
            return CloseOutcome {
                result: CloseResult::Completed,
                stats: TelemetryStats::default(),
            };
        };
        let result = if gave_up {
            share.engine.close(&share.grip, timeout)
        } else if share.grip.lane.lock().ledger.finished {
            CloseResult::Completed
        } else {
            share.engine.settle_unless_stalled(&share.grip, timeout)
        };
        CloseOutcome {
            result,
            stats: share.grip.lane.stats(),
        }
    }

    /// The session statements begin in: `None` when the handle records nothing or no session
    /// was set.
    fn recording_session(&self) -> Option<Arc<TelemetrySessionContext>> {
        if !self.is_enabled() {
            return None;
        }
        self.session_slot().clone()
    }

    fn session_slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<TelemetrySessionContext>>> {
        // Only ever a whole assignment or a clone under the lock: a poisoned lock is intact.
        self.shared
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TelemetryClientHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryClientHandle")
            .field("host", &self.shared.host)
            .field("enabled", &self.is_enabled())
            .field("session", &self.session_slot().is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for HandleShared {
    /// The last clone is gone: the share is given up, unless a close already did.
    fn drop(&mut self) {
        if let Some(share) = &self.share {
            if !*self.released.get_mut() {
                share.engine.release(&share.grip);
            }
        }
    }
}

/// An event offered after the share was given up: counted as dropped after close, on the lane.
#[cold]
#[inline(never)]
fn count_after_close(share: &Share, log: FrontendLog) {
    drop(log);
    share.grip.lane.count_after_close();
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
