//! Shared, reference-counted clients: one per (host, identity), one circuit breaker per host.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::breaker::CircuitBreakerSettings;
use crate::client::{ClientError, CloseResult, FlushResult, TelemetryClient};
use crate::clock::{Clock, SystemClock};
use crate::config::TelemetryConfig;
use crate::credentials::CredentialsProvider;
use crate::export::{
    BreakerSnapshot, CircuitBreakerExporter, DatabricksExporter, DatabricksExporterError, Exporter,
    FeatureFlagGate, HostCircuitBreaker, ServiceEndpoint, ServiceEndpointError, UserAgent,
};
use crate::feature_flags::FeatureFlagCache;
use crate::host::{HostError, HostKey};
use crate::model::FrontendLog;
use crate::stats::TelemetryStats;

/// Whose credentials a client's events are sent with.
///
/// Connections with equal identities share a client; a different identity gets its own, so no
/// event is ever sent with the credentials of a connection that does not share its identity.
/// Use something stable that names the principal (a user or service principal id), or a digest
/// of the credential; never the credential itself. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity(Option<String>);

impl ClientIdentity {
    /// The identity named `id`.
    pub fn new(id: impl Into<String>) -> Self {
        ClientIdentity(Some(id.into()))
    }

    /// No credentials: events go to the unauthenticated endpoint.
    pub fn anonymous() -> Self {
        ClientIdentity(None)
    }

    /// Whether this is the anonymous identity.
    pub fn is_anonymous(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("ClientIdentity(<identified>)"),
            None => f.write_str("ClientIdentity(<anonymous>)"),
        }
    }
}

/// Why a client could not be acquired.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    /// The host string is not a usable host.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The endpoint is not usable (not a host, or plain HTTP where it is not allowed).
    #[error(transparent)]
    Endpoint(#[from] ServiceEndpointError),
    /// The exporter could not be built.
    #[error(transparent)]
    Exporter(#[from] DatabricksExporterError),
    /// The client could not be started.
    #[error(transparent)]
    Client(#[from] ClientError),
}

type ClientKey = (HostKey, ClientIdentity);

#[derive(Debug)]
struct ClientEntry {
    client: Arc<TelemetryClient>,
    handles: usize,
}

#[derive(Debug)]
struct BreakerEntry {
    breaker: Arc<HostCircuitBreaker>,
    clients: usize,
}

#[derive(Debug, Default)]
struct Registry {
    clients: HashMap<ClientKey, ClientEntry>,
    breakers: HashMap<HostKey, BreakerEntry>,
}

#[derive(Debug)]
struct ManagerInner {
    registry: Mutex<Registry>,
    clock: Arc<dyn Clock>,
    /// The server feature flags, cached per host for every client of this manager; made by
    /// the first [`TelemetryClientManager::acquire_databricks`].
    feature_flags: OnceLock<Arc<FeatureFlagCache>>,
}

/// Hands out shared telemetry clients.
///
/// - One client per (normalised host, [`ClientIdentity`]); every connection with that pair
///   shares it through a [`TelemetryClientHandle`].
/// - One circuit breaker per host, shared by every identity's client for that host; its
///   settings come from the configuration of the host's first client.
/// - Dropping (or [`release`](TelemetryClientHandle::release)-ing) the last handle of a client
///   removes it, then closes it within its close timeout outside any lock; the host's breaker
///   goes with the host's last client. A released client is never handed out again.
///
/// Use [`global`](Self::global) in a driver; tests make independent managers with
/// [`new`](Self::new) or [`with_clock`](Self::with_clock).
///
/// ```
/// use databricks_telemetry::manager::{ClientIdentity, TelemetryClientManager};
/// use databricks_telemetry::testing::InMemoryExporter;
/// use databricks_telemetry::TelemetryConfig;
///
/// let manager = TelemetryClientManager::new();
/// let exporter = InMemoryExporter::new();
/// let config = TelemetryConfig::default();
/// let user = ClientIdentity::new("user-1");
/// let make = |_: &_| Box::new(exporter.clone()) as Box<_>;
///
/// let a = manager.acquire("HTTPS://Adb-1.Azuredatabricks.net/", &user, &config, make).unwrap();
/// let b = manager.acquire("adb-1.azuredatabricks.net:443", &user, &config, make).unwrap();
/// assert!(a.shares_client_with(&b));
/// drop(a);
/// assert_eq!(manager.client_count(), 1);
/// b.release(); // the last handle: closes and flushes the client
/// assert_eq!(manager.client_count(), 0);
/// assert_eq!(manager.breaker_count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct TelemetryClientManager {
    inner: Arc<ManagerInner>,
}

impl Default for TelemetryClientManager {
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetryClientManager {
    /// An independent manager using the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An independent manager whose breakers and feature-flag cache read `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        TelemetryClientManager {
            inner: Arc::new(ManagerInner {
                registry: Mutex::default(),
                clock,
                feature_flags: OnceLock::new(),
            }),
        }
    }

    /// The process-wide manager.
    pub fn global() -> &'static TelemetryClientManager {
        static GLOBAL: OnceLock<TelemetryClientManager> = OnceLock::new();
        GLOBAL.get_or_init(TelemetryClientManager::new)
    }

    /// A handle on the client for (`host`, `identity`), creating it when there is none.
    ///
    /// `make_exporter` is called only when a new client is created, with the normalised host;
    /// the manager wraps what it returns in the host's circuit breaker. It runs under the
    /// manager's lock, so it must be quick, do no network I/O, and not call this manager.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Host`] for a host string that is not a host, and
    /// [`AcquireError::Client`] when the client's worker cannot start.
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
        let host = HostKey::parse(host)?;
        self.acquire_with(host, identity, config, |host, breaker| {
            Ok(Box::new(CircuitBreakerExporter::new(
                make_exporter(host),
                breaker,
            )))
        })
    }

    /// A handle on the client that sends to the Databricks telemetry service at `endpoint` (a
    /// host such as `adb-123.4.azuredatabricks.net`, or a URL), creating it when there is none.
    ///
    /// A new client exports through the whole stack: a [`FeatureFlagGate`] (outermost, so a
    /// server flag that turns telemetry off never counts against the host), the host's circuit
    /// breaker, and a [`DatabricksExporter`] with `credentials` (`/telemetry-ext`), or without
    /// them (`/telemetry-unauth`, for the anonymous identity). The feature flags are cached per
    /// host for every client of this manager, fetched with the `feature_flag_*` settings and
    /// user agent of the first call that needs them; with `force_enabled` there is no gate.
    ///
    /// The identity decides sharing: give connections with the same credentials the same
    /// identity, and never pass credentials with [`ClientIdentity::anonymous`].
    ///
    /// # Errors
    ///
    /// [`AcquireError::Endpoint`] for an endpoint that is not a host or is plain HTTP where
    /// that is not allowed; [`AcquireError::Exporter`] and [`AcquireError::Client`] when the
    /// exporter or the client cannot be built.
    pub fn acquire_databricks(
        &self,
        endpoint: &str,
        identity: &ClientIdentity,
        credentials: Option<Arc<dyn CredentialsProvider>>,
        config: &TelemetryConfig,
        user_agent: &UserAgent,
    ) -> Result<TelemetryClientHandle, AcquireError> {
        let endpoint = ServiceEndpoint::parse(endpoint, config)?;
        // Only made (and only consulted) without `force_enabled`, so the shared cache never
        // carries one connection's force onto another's.
        let flags = (!config.force_enabled()).then(|| {
            Arc::clone(self.inner.feature_flags.get_or_init(|| {
                let clock = Arc::clone(&self.inner.clock);
                Arc::new(FeatureFlagCache::with_clock(config, user_agent, clock))
            }))
        });
        let host = endpoint.host().clone();
        self.acquire_with(host, identity, config, move |_, breaker| {
            let mut builder =
                DatabricksExporter::builder(endpoint.clone(), config, user_agent.clone());
            if let Some(credentials) = &credentials {
                builder = builder.credentials(Arc::clone(credentials));
            }
            let guarded = CircuitBreakerExporter::new(builder.build()?, breaker);
            Ok(match flags {
                Some(flags) => {
                    Box::new(FeatureFlagGate::new(guarded, flags, endpoint, credentials))
                }
                None => Box::new(guarded),
            })
        })
    }

    /// Shares or creates the client for (`host`, `identity`); `make_exporter` builds a new
    /// client's exporter around the host's breaker.
    fn acquire_with<F>(
        &self,
        host: HostKey,
        identity: &ClientIdentity,
        config: &TelemetryConfig,
        make_exporter: F,
    ) -> Result<TelemetryClientHandle, AcquireError>
    where
        F: FnOnce(&HostKey, Arc<HostCircuitBreaker>) -> Result<Box<dyn Exporter>, AcquireError>,
    {
        let key = (host.clone(), identity.clone());
        let mut registry = self.registry();
        if let Some(entry) = registry.clients.get_mut(&key) {
            entry.handles += 1;
            let client = Arc::clone(&entry.client);
            drop(registry);
            return Ok(self.handle(key, client));
        }

        let breaker = match registry.breakers.get(&host) {
            Some(entry) => Arc::clone(&entry.breaker),
            None => Arc::new(HostCircuitBreaker::new(
                CircuitBreakerSettings::from_config(config),
                Arc::clone(&self.inner.clock),
            )),
        };
        // Starting a client spawns its thread; no network I/O happens here.
        let exporter = make_exporter(&host, Arc::clone(&breaker))?;
        let client = Arc::new(TelemetryClient::new(config, exporter)?);
        registry
            .breakers
            .entry(host.clone())
            .or_insert(BreakerEntry {
                breaker,
                clients: 0,
            })
            .clients += 1;
        registry.clients.insert(
            key.clone(),
            ClientEntry {
                client: Arc::clone(&client),
                handles: 1,
            },
        );
        drop(registry);
        tracing::debug!(host = %host, "telemetry client created");
        Ok(self.handle(key, client))
    }

    fn handle(&self, key: ClientKey, client: Arc<TelemetryClient>) -> TelemetryClientHandle {
        TelemetryClientHandle {
            manager: self.clone(),
            key,
            client: Some(client),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many clients are alive.
    pub fn client_count(&self) -> usize {
        self.registry().clients.len()
    }

    /// How many hosts have a breaker.
    pub fn breaker_count(&self) -> usize {
        self.registry().breakers.len()
    }

    /// The breaker of `host` (normalised), while the host has a client.
    pub fn breaker(&self, host: &str) -> Option<BreakerSnapshot> {
        let host = HostKey::parse(host).ok()?;
        self.registry()
            .breakers
            .get(&host)
            .map(|e| e.breaker.snapshot())
    }

    /// Drops one handle's share; when it was the last, removes the client (and the host's breaker
    /// when no other identity uses the host) and says what to close.
    fn release_share(&self, key: &ClientKey) -> Option<LastRelease> {
        let mut registry = self.registry();
        let entry = registry.clients.get_mut(key)?;
        entry.handles -= 1;
        if entry.handles > 0 {
            return None;
        }
        registry.clients.remove(key)?;
        let host = &key.0;
        let breaker = registry.breakers.get_mut(host).map(|b| {
            b.clients -= 1;
            Arc::clone(&b.breaker)
        });
        if registry.breakers.get(host).is_some_and(|b| b.clients == 0) {
            registry.breakers.remove(host);
        }
        Some(LastRelease { breaker })
    }
}

struct LastRelease {
    breaker: Option<Arc<HostCircuitBreaker>>,
}

/// What releasing a handle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// Other handles still share the client.
    Shared,
    /// This was the last handle: the client was closed.
    Closed {
        /// How close ended.
        close: CloseResult,
        /// The client's final accounting.
        stats: TelemetryStats,
        /// The host's breaker as the client left it.
        breaker: Option<BreakerSnapshot>,
    },
}

/// A connection's share of a client. Drop it (or call [`release`](Self::release)) when the
/// connection closes; the last one closes the client.
///
/// It offers what a connection needs (enqueue, flush, stats) but not close: the client belongs
/// to every connection that shares it.
#[must_use = "dropping the handle releases the client at once"]
#[derive(Debug)]
pub struct TelemetryClientHandle {
    manager: TelemetryClientManager,
    key: ClientKey,
    /// `None` once released.
    client: Option<Arc<TelemetryClient>>,
}

impl TelemetryClientHandle {
    fn client(&self) -> &TelemetryClient {
        // Only `release` takes it, and it consumes the handle.
        self.client
            .as_deref()
            .unwrap_or_else(|| unreachable!("handle used after release"))
    }

    /// Hands an event to the shared client; never blocks.
    #[inline]
    pub fn enqueue(&self, log: FrontendLog) {
        self.client().enqueue(log);
    }

    /// Whether the shared client exports anything (its configuration enables telemetry). A
    /// driver can skip building events when it does not:
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
        self.client().is_enabled()
    }

    /// Flushes the shared client (see [`TelemetryClient::flush`]).
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        self.client().flush(timeout)
    }

    /// The shared client's accounting.
    pub fn stats(&self) -> TelemetryStats {
        self.client().stats()
    }

    /// The normalised host.
    pub fn host(&self) -> &HostKey {
        &self.key.0
    }

    /// Whether two handles share one client.
    pub fn shares_client_with(&self, other: &TelemetryClientHandle) -> bool {
        match (&self.client, &other.client) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Gives up this share; the last one closes the client (outside any lock, within the
    /// client's close timeout) and reports how it ended.
    pub fn release(mut self) -> Released {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Released {
        let Some(client) = self.client.take() else {
            return Released::Shared;
        };
        match self.manager.release_share(&self.key) {
            None => Released::Shared,
            Some(last) => {
                let close = client.close(client.close_timeout());
                let stats = client.stats();
                let breaker = last.breaker.map(|b| b.snapshot());
                tracing::debug!(host = %self.key.0, ?close, "telemetry client released");
                Released::Closed {
                    close,
                    stats,
                    breaker,
                }
            }
        }
    }
}

impl Drop for TelemetryClientHandle {
    fn drop(&mut self) {
        self.release_inner();
    }
}
