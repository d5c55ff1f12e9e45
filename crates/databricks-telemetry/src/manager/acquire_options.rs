//! [`AcquireOptions`]: everything a connection says when it acquires its telemetry handle.

use std::fmt;
use std::sync::Arc;

use crate::config::{ConfigError, TelemetryConfig, TelemetryOptions};
use crate::context::TelemetryAuthType;
use crate::credentials::CredentialsProvider;
use crate::driver::DriverInfo;
use crate::export::Transport;

/// Builds a host's transport when an acquire creates the host; see
/// [`AcquireOptions::with_transport_fn`].
type BuildTransport =
    dyn Fn() -> Result<Arc<dyn Transport>, Box<dyn std::error::Error + Send + Sync>> + Send + Sync;

/// Where a host's transport comes from.
#[derive(Clone)]
pub(crate) enum TransportSource {
    /// This one (compared by pointer with the host's).
    Given(Arc<dyn Transport>),
    /// Built by this function, only when the acquire creates the host.
    Built(Arc<BuildTransport>),
}
use crate::identity::ClientIdentity;

/// What a connection acquires its handle with, for
/// [`TelemetryClientManager::acquire_databricks`](super::TelemetryClientManager::acquire_databricks).
///
/// Starts anonymous (no credentials: `/telemetry-unauth`) with the default configuration;
/// `with_*` setters add the rest.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use databricks_telemetry::credentials::StaticBearerToken;
/// use databricks_telemetry::{AcquireOptions, ClientIdentity, DriverInfo, TelemetryConfig};
///
/// let token = "dapi-secret";
/// let options = AcquireOptions::new("adb-123.4.azuredatabricks.net", DriverInfo::new("Databricks ADBC Rust", "0.1.0")?)
///     .with_credentials(
///         ClientIdentity::from_credential("pat", token),
///         Arc::new(StaticBearerToken::new(token)),
///     )
///     .with_config(TelemetryConfig::default())
///     .with_org_id("1234567890");
/// assert!(!format!("{options:?}").contains(token));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use = "options do nothing until a handle is acquired with them"]
pub struct AcquireOptions {
    pub(crate) host: String,
    pub(crate) driver: DriverInfo,
    pub(crate) identity: ClientIdentity,
    pub(crate) credentials: Option<Arc<dyn CredentialsProvider>>,
    pub(crate) config: TelemetryConfig,
    pub(crate) org_id: Option<String>,
    pub(crate) auth_type: Option<TelemetryAuthType>,
    pub(crate) transport: Option<TransportSource>,
    pub(crate) transport_settings: Option<String>,
    /// Why the options of [`with_options`](Self::with_options) made no configuration.
    pub(crate) config_error: Option<ConfigError>,
}

impl AcquireOptions {
    /// A connection to `host` (e.g. `adb-123.4.azuredatabricks.net`, or a URL) of `driver`,
    /// anonymous, with the default configuration.
    pub fn new(host: impl Into<String>, driver: DriverInfo) -> Self {
        AcquireOptions {
            host: host.into(),
            driver,
            identity: ClientIdentity::anonymous(),
            credentials: None,
            config: TelemetryConfig::default(),
            org_id: None,
            auth_type: None,
            transport: None,
            transport_settings: None,
            config_error: None,
        }
    }

    /// The connection's credentials and whose they are: batches go to `/telemetry-ext` with
    /// the `Authorization` `provider` gives (see [`crate::credentials`]). Connections with the
    /// same identity share a lane.
    pub fn with_credentials(
        mut self,
        identity: ClientIdentity,
        provider: Arc<dyn CredentialsProvider>,
    ) -> Self {
        self.identity = identity;
        self.credentials = Some(provider);
        self
    }

    /// The telemetry configuration (from the connection's options).
    pub fn with_config(mut self, config: TelemetryConfig) -> Self {
        self.config = config;
        self
    }

    /// The telemetry configuration from the connection's options
    /// ([`TelemetryOptions::config`]: options, then environment, then defaults). When they
    /// make no valid configuration, acquiring fails with
    /// [`AcquireError::Config`](crate::AcquireError::Config), and
    /// [`acquire_or_disabled`](super::TelemetryClientManager::acquire_or_disabled) hands out a
    /// handle that records nothing.
    pub fn with_options(mut self, options: &TelemetryOptions) -> Self {
        match options.config() {
            Ok(config) => {
                self.config = config;
                self.config_error = None;
            }
            Err(error) => self.config_error = Some(error),
        }
        self
    }

    /// The workspace's organisation id (the `?o=` of the connection's HTTP path, decimal
    /// digits): sent as `x-databricks-org-id`, and the `workspace_id` of sessions started from
    /// the handle's [`session`](super::TelemetryClientHandle::session).
    pub fn with_org_id(mut self, org_id: impl Into<String>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }

    /// How the connection authenticates: the `auth_type` of sessions started from the handle's
    /// [`session`](super::TelemetryClientHandle::session) (and
    /// [`open_session`](super::TelemetryClientHandle::open_session)), so the driver names it
    /// once, where it picks the credentials.
    pub fn with_auth_type(mut self, auth_type: TelemetryAuthType) -> Self {
        self.auth_type = Some(auth_type);
        self
    }

    /// Send uploads and flag fetches through `transport` (e.g. the driver's own HTTP client:
    /// `export::ReqwestTransport`, with the `reqwest` feature) instead
    /// of the default client.
    ///
    /// A host has one transport: **its first acquirer's**, kept as long as the manager (for
    /// the global manager, the process). It applies when this acquire creates the host. A
    /// later acquire that brings another transport (another `Arc`, or any transport when the
    /// first acquirer brought none) does not replace it: it is reported like other settings
    /// conflicts, as a `debug` log naming `transport` and in the handle's
    /// [`settings_conflicts`](super::TelemetryClientHandle::settings_conflicts). Give every
    /// connection to a host the same `Arc`, or describe each with
    /// [`with_transport_settings`](Self::with_transport_settings) (then the descriptions are
    /// compared instead).
    ///
    /// So the transport must outlive any one connection: a `ReqwestTransport` on the runtime
    /// of a connection that later closes fails every later request on the host. A driver with
    /// one tokio runtime per connection builds it with `ReqwestTransport::with_own_runtime`,
    /// best in [`with_transport_fn`](Self::with_transport_fn), which builds it only for the
    /// host's first connection.
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(TransportSource::Given(transport));
        self
    }

    /// Like [`with_transport`](Self::with_transport), but the transport is built by `build`
    /// only when this acquire creates the host: a driver that sets this on every connection
    /// builds one transport per host, not one per connection. A later acquire's function is
    /// not run: it is reported as a `transport` conflict when the host sends through the
    /// default client, or when [`with_transport_settings`](Self::with_transport_settings)
    /// describes it otherwise than the host's (describe every connection's transport to have a
    /// later database's other proxy or CA reported). `build` runs on the
    /// acquiring thread before the manager's registry is locked, so it may take its time (start
    /// a runtime) and may call the manager; when two acquires race to create a host, one's
    /// transport is dropped unused. When `build` fails, the
    /// acquire fails with [`AcquireError::Transport`](crate::AcquireError::Transport) (and a
    /// driver falls back to [`TelemetryClientHandle::disabled`](crate::TelemetryClientHandle::disabled)).
    ///
    /// ```
    /// # #[cfg(feature = "reqwest")]
    /// # fn driver(client: reqwest::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use databricks_telemetry::export::ReqwestTransport;
    /// use databricks_telemetry::{AcquireOptions, DriverInfo};
    ///
    /// // The connection's own configured client (proxy, CA); the transport, with a runtime of
    /// // its own, is built for the host's first connection only.
    /// let options = AcquireOptions::new("adb-1.azuredatabricks.net", DriverInfo::new("Databricks ADBC Rust", "0.1.0")?)
    ///     .with_transport_fn(move || Ok(Arc::new(ReqwestTransport::with_own_runtime(client.clone())?)));
    /// # let _ = options;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_transport_fn<F>(mut self, build: F) -> Self
    where
        F: Fn() -> Result<Arc<dyn Transport>, Box<dyn std::error::Error + Send + Sync>>
            + Send
            + Sync
            + 'static,
    {
        self.transport = Some(TransportSource::Built(Arc::new(build)));
        self
    }

    /// Sends through the driver's own `client` (its proxy, CA and TLS backend), on a small
    /// runtime of the transport's own ([`ReqwestTransport::with_own_runtime`](crate::export::ReqwestTransport::with_own_runtime)),
    /// built for the host's first connection only
    /// ([`with_transport_fn`](Self::with_transport_fn)); `description` says what the client
    /// is built from, as [`with_transport_settings`](Self::with_transport_settings) (never a
    /// credential: it is logged), so that a later connection's other proxy or CA is reported.
    ///
    /// ```
    /// # fn driver(client: reqwest::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use databricks_telemetry::{AcquireOptions, DriverInfo};
    ///
    /// let options = AcquireOptions::new("adb-1.azuredatabricks.net", DriverInfo::new("Databricks ADBC Rust", "0.1.0")?)
    ///     .with_reqwest_client(client, "proxy=none ca=system");
    /// # let _ = options;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "reqwest")]
    pub fn with_reqwest_client(
        self,
        client: reqwest::Client,
        description: impl Into<String>,
    ) -> Self {
        self.with_transport_fn(move || {
            let transport = crate::export::ReqwestTransport::with_own_runtime(client.clone())?;
            Ok(Arc::new(transport))
        })
        .with_transport_settings(description)
    }

    /// Describes what the connection's transport is built from (e.g. `"proxy=http://p:3128
    /// ca=/etc/ca.pem"`; never a credential: it is logged): the host's first acquirer's
    /// description is kept, and a later acquire of the same host whose transport
    /// ([`with_transport`](Self::with_transport) or
    /// [`with_transport_fn`](Self::with_transport_fn)) is described otherwise is reported as a
    /// `transport` conflict (its transport is not used). Without descriptions, transports
    /// given with `with_transport` are compared by pointer, and a function from
    /// `with_transport_fn` is reported only when the host sends through the default client.
    pub fn with_transport_settings(mut self, description: impl Into<String>) -> Self {
        self.transport_settings = Some(description.into());
        self
    }

    /// The transport given with [`with_transport`](Self::with_transport), if any.
    pub(crate) fn given_transport(&self) -> Option<&Arc<dyn Transport>> {
        match &self.transport {
            Some(TransportSource::Given(transport)) => Some(transport),
            _ => None,
        }
    }

    /// The host (or URL) telemetry goes to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The driver.
    pub fn driver(&self) -> &DriverInfo {
        &self.driver
    }

    /// The configuration.
    pub fn config(&self) -> &TelemetryConfig {
        &self.config
    }
}

impl fmt::Debug for AcquireOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOptions")
            .field("host", &self.host)
            .field("driver", &self.driver)
            .field("identity", &self.identity)
            .field("credentials", &self.credentials)
            .field("org_id", &self.org_id)
            .field("transport_settings", &self.transport_settings)
            .field("auth_type", &self.auth_type)
            .field(
                "transport",
                &match &self.transport {
                    None => "default",
                    Some(TransportSource::Given(_)) => "given",
                    Some(TransportSource::Built(_)) => "built for a new host",
                },
            )
            .finish_non_exhaustive()
    }
}
