//! The driver's entry point: [`TelemetryClientManager`] hands out
//! [`TelemetryClientHandle`]s, one per connection, onto the shared pipeline. Where each setting
//! lives, and how a short-lived program keeps its last events, is in the crate docs.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{ConfigError, TelemetryConfig};
use crate::credentials::CredentialsProvider;
use crate::export::http::ExporterSettings;
use crate::export::{
    DatabricksExporter, DatabricksExporterError, Exporter, ServiceEndpoint, ServiceEndpointError,
};
use crate::feature_flags::{FeatureFlagCache, FlagSettings};
use crate::host::{HostError, HostKey};
use crate::identity::ClientIdentity;
use crate::jitter::Jitter;
use crate::pipeline::circuit::BreakerSnapshot;
use crate::pipeline::engine::{AcquireFailure, Engine, Grip, HostParts};
use crate::pipeline::host::FlagSource;
use crate::pipeline::host_choices::HostChoices;
use crate::pipeline::settings::AcquireSettings;
use crate::pipeline::CloseOutcome;
use crate::stats::TelemetryStats;
use crate::system_clock::SystemClock;

mod acquire_options;
#[cfg(feature = "adbc")]
mod adbc;
mod handle;

pub use acquire_options::AcquireOptions;
use acquire_options::TransportSource;
pub use handle::TelemetryClientHandle;

use handle::SessionDefaults;

/// Why a handle could not be acquired.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcquireError {
    /// The host string (or the configuration's `endpoint`) is not a usable host.
    #[error(transparent)]
    Host(#[from] HostError),
    /// Plain HTTP was asked for without `allow_insecure_http`.
    #[error(
        "plain http to {host} is not allowed: telemetry uses https; set \
         adbc.databricks.telemetry.allow_insecure_http=true to allow http to a loopback host"
    )]
    InsecureHttpNotAllowed {
        /// The host asked for.
        host: String,
    },
    /// Plain HTTP was asked for to a host that is not this machine.
    #[error(
        "plain http to {host} is not allowed: http is only ever used for loopback hosts \
         (localhost, 127.0.0.0/8, ::1); use https"
    )]
    InsecureHttpNotLoopback {
        /// The host asked for.
        host: String,
    },
    /// The org id is not a decimal number.
    #[error("invalid org id {value:?} for x-databricks-org-id: expected a decimal number")]
    InvalidOrgId {
        /// The org id given.
        value: String,
    },
    /// No transport was given, and the crate was built without its default client (feature
    /// `ureq-transport`).
    #[error("no HTTP transport: give one, or build with the `ureq-transport` feature")]
    NoTransport,
    /// The transport from [`AcquireOptions::with_transport_fn`] could not be built.
    #[error("the telemetry transport could not be built: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The manager has been shut down; it hands out nothing more.
    #[error("the telemetry manager has been shut down")]
    ShutDown,
    /// The options given with [`AcquireOptions::with_options`] make no valid configuration.
    #[error("invalid telemetry options: {0}")]
    Config(#[source] ConfigError),
}

impl AcquireError {
    /// The endpoint's error, as the driver sees it.
    fn endpoint(error: ServiceEndpointError) -> Self {
        match error {
            ServiceEndpointError::InvalidHost(error) => AcquireError::Host(error),
            ServiceEndpointError::InsecureHttpNotAllowed { host } => {
                AcquireError::InsecureHttpNotAllowed { host }
            }
            ServiceEndpointError::InsecureHttpNotLoopback { host } => {
                AcquireError::InsecureHttpNotLoopback { host }
            }
        }
    }

    /// The exporter's error, as the driver sees it.
    fn exporter(error: DatabricksExporterError) -> Self {
        match error {
            DatabricksExporterError::InsecureEndpoint(error) => Self::endpoint(error),
            DatabricksExporterError::InvalidOrgId { value } => AcquireError::InvalidOrgId { value },
            DatabricksExporterError::NoTransport => AcquireError::NoTransport,
        }
    }
}

/// Hands out telemetry handles onto one shared pipeline (see the
/// [crate docs](crate#how-it-works) for how it works).
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
/// use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
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
    /// lane sends without credentials (the exporter gets `None`).
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
        let grip = self.acquire_grip(
            &host,
            identity,
            credentials,
            &HostChoices::default(),
            config,
            |host| {
                Ok(HostParts {
                    exporter: make_exporter(host),
                    flags: None,
                    transport: None,
                })
            },
        )?;
        Ok(TelemetryClientHandle::new(&self.engine, host, grip, None))
    }

    /// [`acquire_databricks`](Self::acquire_databricks), falling back to a handle that records
    /// nothing ([`TelemetryClientHandle::disabled`]) when it fails, the reason logged at
    /// `debug`: telemetry never fails a connection.
    ///
    /// ```
    /// use databricks_telemetry::config::TelemetryOptions;
    /// use databricks_telemetry::{AcquireOptions, DriverInfo, TelemetryClientManager};
    ///
    /// let mut options = TelemetryOptions::new();
    /// options.set("databricks.telemetry.batch_size", 500)?;
    /// options.set("databricks.telemetry.max_queue_size", 100)?; // smaller than a batch
    /// let acquire = AcquireOptions::new("adb-1.azuredatabricks.net", DriverInfo::new_lossy("Databricks ADBC Rust", "0.1.0"))
    ///     .with_options(&options);
    /// let telemetry = TelemetryClientManager::new().acquire_or_disabled(&acquire);
    /// assert!(!telemetry.is_enabled());
    /// # Ok::<(), databricks_telemetry::ConfigError>(())
    /// ```
    pub fn acquire_or_disabled(&self, options: &AcquireOptions) -> TelemetryClientHandle {
        self.acquire_databricks(options).unwrap_or_else(|error| {
            tracing::debug!(%error, host = %options.host, "telemetry disabled for this connection");
            TelemetryClientHandle::disabled()
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
    /// let session = telemetry.session().expect("a Databricks handle").with_session_id("01f0-...").build();
    /// telemetry.enqueue(session.connection_opened(std::time::Duration::from_millis(80)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AcquireError::Host`] for a host that is not a host;
    /// [`AcquireError::InsecureHttpNotAllowed`] and [`AcquireError::InsecureHttpNotLoopback`]
    /// for plain HTTP where that is not allowed; [`AcquireError::InvalidOrgId`] for an org id
    /// that is not decimal; [`AcquireError::NoTransport`] without a transport in a build
    /// without the default client; [`AcquireError::Transport`] when the function of
    /// [`AcquireOptions::with_transport_fn`] fails; [`AcquireError::Config`] when the options
    /// of [`AcquireOptions::with_options`] make no valid configuration;
    /// [`AcquireError::ShutDown`] after [`shutdown`](Self::shutdown).
    pub fn acquire_databricks(
        &self,
        options: &AcquireOptions,
    ) -> Result<TelemetryClientHandle, AcquireError> {
        if let Some(error) = &options.config_error {
            return Err(AcquireError::Config(error.clone()));
        }
        let config = &options.config;
        // The configuration's `endpoint` (e.g. `dbtel serve`) beats the connection's host.
        let target = config.endpoint().unwrap_or(&options.host);
        let endpoint = ServiceEndpoint::parse(target, config.allow_insecure_http())
            .map_err(AcquireError::endpoint)?;
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
            Some(org_id) => {
                Some(
                    org_id
                        .parse::<i64>()
                        .map_err(|_| AcquireError::InvalidOrgId {
                            value: org_id.clone(),
                        })?,
                )
            }
        };
        let defaults = SessionDefaults {
            driver: options.driver.clone(),
            workspace_id,
            auth_type: options.auth_type,
        };
        // A transport to build (it may start a runtime) is built before the registry is locked,
        // and only for a host that does not exist yet; if another acquire creates the host
        // meanwhile, it is dropped unused.
        let built = match &options.transport {
            Some(TransportSource::Built(build))
                if config.enabled() && !self.engine.has_host(&host) =>
            {
                Some(build().map_err(AcquireError::Transport)?)
            }
            _ => None,
        };
        let grip = self.acquire_grip(
            &host,
            &options.identity,
            options.credentials.clone(),
            &HostChoices {
                transport: options.given_transport().cloned(),
                builds_transport: matches!(options.transport, Some(TransportSource::Built(_))),
                transport_settings: options.transport_settings.clone(),
                org_id: org_id.clone(),
            },
            config,
            |_| {
                let mut builder = DatabricksExporter::builder(
                    endpoint.clone(),
                    ExporterSettings::from_config(config),
                    user_agent.clone(),
                );
                if let Some(org_id) = &org_id {
                    builder = builder.with_org_id(org_id.clone());
                }
                // The host's flag is asked through the same transport as its uploads.
                let mut cache = FeatureFlagCache::with_clock(
                    FlagSettings::from_config(config),
                    user_agent,
                    Arc::clone(&shared.clock),
                );
                let transport = match &options.transport {
                    None => None,
                    Some(TransportSource::Given(transport)) => Some(Arc::clone(transport)),
                    Some(TransportSource::Built(build)) => Some(match &built {
                        Some(transport) => Arc::clone(transport),
                        // Hosts are kept for the manager's life, so this is not reached.
                        None => build().map_err(AcquireError::Transport)?,
                    }),
                };
                if let Some(transport) = &transport {
                    builder = builder.with_transport(Arc::clone(transport));
                    cache = cache.with_transport(Arc::clone(transport));
                }
                let exporter = builder.build().map_err(AcquireError::exporter)?;
                Ok(HostParts {
                    exporter: Box::new(exporter),
                    flags: Some(FlagSource {
                        cache: Arc::new(cache),
                        endpoint,
                    }),
                    transport,
                })
            },
        )?;
        Ok(TelemetryClientHandle::new(
            &self.engine,
            host,
            grip,
            Some(defaults),
        ))
    }

    /// The lane's grip for a handle, `None` when `config` disables telemetry (a disabled
    /// handle touches nothing, so it is handed out even after shutdown: a driver can always
    /// fall back to one).
    fn acquire_grip(
        &self,
        host: &HostKey,
        identity: &ClientIdentity,
        credentials: Option<Arc<dyn CredentialsProvider>>,
        choices: &HostChoices,
        config: &TelemetryConfig,
        make_host: impl FnOnce(&HostKey) -> Result<HostParts, AcquireError>,
    ) -> Result<Option<Grip>, AcquireError> {
        if !config.enabled() {
            return Ok(None);
        }
        let grip = self
            .engine
            .acquire(
                host.clone(),
                identity,
                credentials,
                choices,
                &AcquireSettings::from_config(config),
                make_host,
            )
            .map_err(|failure| match failure {
                AcquireFailure::ShutDown => AcquireError::ShutDown,
                AcquireFailure::Exporter(error) => error,
            })?;
        Ok(Some(grip))
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

    /// The breaker of `host` (normalised), while the manager keeps the host (through
    /// `unstable::breaker`).
    pub(crate) fn breaker(&self, host: &str) -> Option<BreakerSnapshot> {
        let host = HostKey::parse(host).ok()?;
        self.engine.host(&host).map(|host| host.breaker.snapshot())
    }

    /// A testing aid: waits until every host's worker has nothing to do at the clock's current
    /// time (parked or stopped, nothing due, no notification pending), or `timeout` of real
    /// time passes; says which. With a [`ManualClock`](crate::clock::ManualClock), call it after
    /// enqueueing or advancing the clock, before looking at the results.
    #[must_use = "settle says whether the workers caught up within the timeout"]
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
