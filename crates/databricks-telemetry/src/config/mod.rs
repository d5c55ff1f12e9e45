//! [`TelemetryConfig`]: every setting of the telemetry pipeline, its default, and where it can
//! be set.
//!
//! A configuration comes from one of three places:
//!
//! - [`TelemetryConfig::from_options`]: a driver passes its options through as it holds them,
//!   `(key, value)` pairs whose value is text or a typed [`ConfigValue`]; the keys under
//!   `adbc.databricks.telemetry.` or `databricks.telemetry.` ([`TelemetryConfig::OPTION_PREFIXES`])
//!   are read, a few environment variables fill in what the options leave out, and everything
//!   else is a default. [`TelemetryConfig::from_options_with_defaults`] takes the driver's own
//!   defaults too, below the environment.
//! - [`TelemetryOptions`]: for a driver that is given its options one at a time (ADBC's
//!   `set_option` and `get_option`): each is checked when set, the last value of a setting is
//!   what `get` returns, and the configuration is read from all of them at connect.
//! - [`TelemetryConfig::builder`]: a configuration in code.
//!
//! Each checks every value against the table below, and fail with a [`ConfigError`] that names
//! the key, the value as given and what was expected. A mistyped key or value never falls back
//! to a default silently. [`TelemetryConfig::check_option`] checks one option at a time, with
//! the same error, for a driver's `set_option`.
//!
//! # Settings
//!
//! Each key can be given under either prefix: `adbc.databricks.telemetry.batch_size` and
//! `databricks.telemetry.batch_size` are the same setting.
//!
//! | Option key (after the prefix) | Default | Allowed | Meaning |
//! |---|---|---|---|
//! | `enabled` | `true` | bool | Whether telemetry may be sent at all. |
//! | `force_enabled` | `false` | bool | Send without consulting the server feature flag. |
//! | `batch_size` | `100` | 1..=10,000, at most `max_queue_size` | Most logs in one export request. |
//! | `flush_interval_ms` | `5000` | 10..=3,600,000 | How often pending logs are exported. |
//! | `max_queue_size` | `10000` | 1..=1,000,000 | Most logs waiting for export; more are dropped and counted. |
//! | `close_timeout_ms` | `2000` | 1..=600,000 | How long closing the client may take. |
//! | `request_timeout_ms` | `10000` | 1..=300,000 | How long one export request may take (and one call of a credentials provider that may block). |
//! | `max_retries` | `3` | 0..=10 | Retries of a failed batch with exponential backoff; after those, one try per `retry_max_delay_ms`. |
//! | `max_export_attempts` | `25` | 1..=1,000 | Sends of one batch (retries and probes) before it is dropped as `export_failed`; the default holds about ten minutes of outage. |
//! | `max_pending_events` | `100000` | 1..=100,000,000 | Most events waiting across every lane of a manager (from its first acquire); more are dropped as `queue_full`. |
//! | `retry_base_delay_ms` | `100` | 1..=60,000, at most `retry_max_delay_ms` | First retry delay (then doubling, with jitter). |
//! | `retry_max_delay_ms` | `10000` | 1..=600,000 | Cap on any retry delay, including an honoured `Retry-After`. |
//! | `circuit_breaker_enabled` | `true` | bool | Whether the per-host circuit breaker is used. |
//! | `circuit_breaker_threshold` | `5` | 1..=1,000 | Consecutive failed exports that open the breaker. |
//! | `circuit_breaker_timeout_ms` | `60000` | 1..=86,400,000, at most `circuit_breaker_max_open_ms` | How long the breaker stays open before one probe. |
//! | `circuit_breaker_success_threshold` | `1` | 1..=100 | Successful probes in half-open that close the breaker. |
//! | `circuit_breaker_max_open_ms` | `600000` | 1..=86,400,000 | Cap on how long a `Retry-After` holds the breaker open. |
//! | `feature_flag_driver` | `ADBC` | 1 to 64 ASCII letters, digits, `_`, `-` | Driver name in the feature-flag URL path. |
//! | `feature_flag_name` | `adbc.databricks.telemetry.enabled,databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc` | one or more names, comma separated, each 1 to 256 printable ASCII characters without spaces | Server flags that turn telemetry on: on when any of them is `"true"`. Not derived from `feature_flag_driver`. |
//! | `feature_flag_timeout_ms` | `5000` | 1..=60,000 | How long the feature-flag request may take. |
//! | `allow_insecure_http` | `false` | bool | Allow plain `http`, to loopback hosts only (tests, the local endpoint). |
//! | `endpoint` | none (the connection's workspace) | a host or URL without a path: `host[:port]`, `https://host[:port]`, or `http://host:port` to a loopback host with `allow_insecure_http` | Where telemetry is sent instead, e.g. `http://127.0.0.1:8080` for `dbtel serve`. |
//! | `org_id` | none | decimal digits within `i64` | The workspace (org) id, as in the `?o=` of a workspace URL: the logs' `workspace_id` and the `x-databricks-org-id` header. |
//!
//! Each default is also a constant: [`DEFAULT_BATCH_SIZE`], [`DEFAULT_FLUSH_INTERVAL`] and so
//! on. Durations are whole milliseconds in options and [`Duration`]s in code.
//!
//! # Environment
//!
//! | Variable | Setting |
//! |---|---|
//! | `DATABRICKS_TELEMETRY_ENABLED` | `enabled` |
//! | `DATABRICKS_TELEMETRY_BATCH_SIZE` | `batch_size` |
//! | `DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS` | `flush_interval_ms` |
//!
//! A variable is read only when the driver did not give its option. A bad variable never fails
//! a connection: a value that does not parse or is out of range (an empty one included), or one
//! that breaks a rule with another setting (`DATABRICKS_TELEMETRY_BATCH_SIZE` above
//! `max_queue_size`), is ignored as if unset, with one `tracing` warning naming the variable,
//! its value and what was expected (at most once per variable per process). An explicit option
//! or driver default that is bad is still an error.
//!
//! # Precedence
//!
//! From highest to lowest:
//!
//! 1. the driver's options (`options` of [`TelemetryConfig::from_options`] and its siblings);
//! 2. the environment variables above;
//! 3. the driver's defaults (`defaults` of [`TelemetryConfig::from_options_with_defaults`]), so
//!    a driver that ships, say, `enabled=false` still lets a user turn telemetry on with
//!    `DATABRICKS_TELEMETRY_ENABLED=true`;
//! 4. this module's defaults.
//!
//! Within one layer a key given more than once, under either prefix, takes the last value
//! given (as when a driver's `set_option` is called twice); every value is checked.
//!
//! # Parsing rules
//!
//! - Booleans are `true`, `false`, `1` or `0`, in any ASCII case; typed, a bool or the integer
//!   `0` or `1`.
//! - Integers and durations are plain decimal numbers: ASCII digits only, no sign, no unit, no
//!   separator; typed, an integer (or a whole float) in range. See [`ConfigValue`] for every
//!   type a key takes.
//! - Leading and trailing whitespace is ignored in every value.
//! - Keys are case-sensitive. A key that does not start with a prefix belongs to the driver and
//!   is ignored, unless it is a near miss of one (within two edits, or differing only in case,
//!   e.g. `adbc.databricks.telemetri.enabled`): that is reported as an unknown option.
//! - An unknown key under a prefix is an error, with a "did you mean" suggestion when a known
//!   key is within two edits (or lacks only its `_ms` suffix).

#[cfg(feature = "adbc")]
mod adbc;
mod builder;
mod defaults;
mod error;
mod keys;
mod options;
mod store;
mod value;
mod values;

use std::time::Duration;

pub use builder::TelemetryConfigBuilder;
pub use defaults::*;
pub use error::ConfigError;
pub use store::TelemetryOptions;
pub use value::ConfigValue;

/// Every setting of the telemetry pipeline; see the [module documentation](self) for the table
/// of keys, defaults and allowed values.
///
/// [`Default`] gives the defaults, which are also the `DEFAULT_*` constants of this module.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    enabled: bool,
    force_enabled: bool,
    batch_size: usize,
    flush_interval: Duration,
    max_queue_size: usize,
    close_timeout: Duration,
    request_timeout: Duration,
    max_retries: u32,
    max_export_attempts: u32,
    max_pending_events: usize,
    retry_base_delay: Duration,
    retry_max_delay: Duration,
    circuit_breaker_enabled: bool,
    circuit_breaker_threshold: u32,
    circuit_breaker_timeout: Duration,
    circuit_breaker_success_threshold: u32,
    circuit_breaker_max_open: Duration,
    feature_flag_driver: String,
    feature_flag_names: Vec<String>,
    feature_flag_timeout: Duration,
    allow_insecure_http: bool,
    endpoint: Option<String>,
    org_id: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            enabled: DEFAULT_ENABLED,
            force_enabled: DEFAULT_FORCE_ENABLED,
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            max_export_attempts: DEFAULT_MAX_EXPORT_ATTEMPTS,
            max_pending_events: DEFAULT_MAX_PENDING_EVENTS,
            retry_base_delay: DEFAULT_RETRY_BASE_DELAY,
            retry_max_delay: DEFAULT_RETRY_MAX_DELAY,
            circuit_breaker_enabled: DEFAULT_CIRCUIT_BREAKER_ENABLED,
            circuit_breaker_threshold: DEFAULT_CIRCUIT_BREAKER_THRESHOLD,
            circuit_breaker_timeout: DEFAULT_CIRCUIT_BREAKER_TIMEOUT,
            circuit_breaker_success_threshold: DEFAULT_CIRCUIT_BREAKER_SUCCESS_THRESHOLD,
            circuit_breaker_max_open: DEFAULT_CIRCUIT_BREAKER_MAX_OPEN,
            feature_flag_driver: DEFAULT_FEATURE_FLAG_DRIVER.to_owned(),
            feature_flag_names: DEFAULT_FEATURE_FLAG_NAMES.map(str::to_owned).to_vec(),
            feature_flag_timeout: DEFAULT_FEATURE_FLAG_TIMEOUT,
            allow_insecure_http: DEFAULT_ALLOW_INSECURE_HTTP,
            endpoint: None,
            org_id: None,
        }
    }
}

impl TelemetryConfig {
    /// The prefix of every telemetry option key in the ADBC namespace (`adbc.databricks.`).
    pub const OPTION_PREFIX: &'static str = "adbc.databricks.telemetry.";

    /// The prefix of the same keys in the Databricks drivers' namespace (`databricks.`), as the
    /// Rust ADBC driver names its options.
    pub const SHORT_OPTION_PREFIX: &'static str = "databricks.telemetry.";

    /// Both prefixes: a key under either names the same setting.
    pub const OPTION_PREFIXES: [&'static str; 2] = [Self::OPTION_PREFIX, Self::SHORT_OPTION_PREFIX];

    /// A builder starting from the defaults.
    pub fn builder() -> TelemetryConfigBuilder {
        TelemetryConfigBuilder::default()
    }

    /// Reads a configuration from a driver's options as it holds them, with the process
    /// environment's overrides (see the [module documentation](self)).
    ///
    /// `options` are `(key, value)` pairs: a key as `&str` or `String`, a value as text or
    /// anything that converts into a [`ConfigValue`] (`200`, `true`, `ConfigValue::Int(200)`);
    /// a `&HashMap<String, ConfigValue>` works as it is. Keys under neither of the
    /// [`OPTION_PREFIXES`](Self::OPTION_PREFIXES) are the driver's own, and ignored.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key, the value and what was expected, for the first option
    /// that is invalid, out of range, or inconsistent with another, and for an unknown key under
    /// a prefix. An environment variable never causes an error (a bad one is ignored with a
    /// warning).
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_telemetry::config::ConfigValue;
    /// use databricks_telemetry::TelemetryConfig;
    ///
    /// // As an ADBC driver holds its options: keys and typed values.
    /// let options: Vec<(String, ConfigValue)> = vec![
    ///     ("databricks.telemetry.batch_size".into(), 50.into()),
    ///     ("databricks.telemetry.flush_interval_ms".into(), "1000".into()),
    ///     ("databricks.warehouse_id".into(), "abc123".into()), // the driver's own: ignored
    /// ];
    /// let config = TelemetryConfig::from_options(options)?;
    /// assert_eq!(config.batch_size(), 50);
    /// assert_eq!(config.flush_interval(), Duration::from_secs(1));
    ///
    /// let error = TelemetryConfig::from_options([("adbc.databricks.telemetry.batch_sise", "50")])
    ///     .unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     r#"unknown option adbc.databricks.telemetry.batch_sise (value "50"): did you mean adbc.databricks.telemetry.batch_size?"#
    /// );
    /// # Ok::<(), databricks_telemetry::ConfigError>(())
    /// ```
    pub fn from_options<K, V>(
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: Into<ConfigValue>,
    {
        Self::from_options_with_env(options, process_env)
    }

    /// [`from_options`](Self::from_options) with the environment given as a lookup function
    /// (variable name to value), so tests need not touch the process environment.
    ///
    /// # Errors
    ///
    /// As [`from_options`](Self::from_options).
    ///
    /// # Example
    ///
    /// ```
    /// use databricks_telemetry::TelemetryConfig;
    ///
    /// let env = |name: &str| (name == "DATABRICKS_TELEMETRY_BATCH_SIZE").then(|| "20".to_owned());
    /// let config = TelemetryConfig::from_options_with_env(Vec::<(String, String)>::new(), env)?;
    /// assert_eq!(config.batch_size(), 20);
    /// # Ok::<(), databricks_telemetry::ConfigError>(())
    /// ```
    pub fn from_options_with_env<K, V>(
        options: impl IntoIterator<Item = (K, V)>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: Into<ConfigValue>,
    {
        let none: [(&str, ConfigValue); 0] = [];
        Self::from_options_with_defaults_and_env(none, options, env)
    }

    /// [`from_options`](Self::from_options) with the driver's own defaults, which rank below
    /// the environment (see [Precedence](self#precedence)): a driver that turns telemetry off
    /// by default passes `enabled=false` here, not among `options`, so
    /// `DATABRICKS_TELEMETRY_ENABLED=true` still turns it on.
    ///
    /// `defaults` take the same keys and values as `options`.
    ///
    /// # Errors
    ///
    /// As [`from_options`](Self::from_options); a bad default is an error too.
    ///
    /// # Example
    ///
    /// ```
    /// use databricks_telemetry::TelemetryConfig;
    ///
    /// // The driver ships telemetry off; the user's environment turns it on.
    /// let defaults = [("databricks.telemetry.enabled", false)];
    /// let options = [("databricks.telemetry.batch_size", 200)];
    /// let env = |name: &str| (name == "DATABRICKS_TELEMETRY_ENABLED").then(|| "true".to_owned());
    /// let config = TelemetryConfig::from_options_with_defaults_and_env(defaults, options, env)?;
    /// assert!(config.enabled());
    /// assert_eq!(config.batch_size(), 200);
    ///
    /// // In a driver: the process environment.
    /// let config = TelemetryConfig::from_options_with_defaults(defaults, options)?;
    /// # let _ = config;
    /// # Ok::<(), databricks_telemetry::ConfigError>(())
    /// ```
    pub fn from_options_with_defaults<KD, VD, K, V>(
        defaults: impl IntoIterator<Item = (KD, VD)>,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError>
    where
        KD: AsRef<str>,
        VD: Into<ConfigValue>,
        K: AsRef<str>,
        V: Into<ConfigValue>,
    {
        Self::from_options_with_defaults_and_env(defaults, options, process_env)
    }

    /// [`from_options_with_defaults`](Self::from_options_with_defaults) with the environment
    /// given as a lookup function.
    ///
    /// # Errors
    ///
    /// As [`from_options_with_defaults`](Self::from_options_with_defaults).
    pub fn from_options_with_defaults_and_env<KD, VD, K, V>(
        defaults: impl IntoIterator<Item = (KD, VD)>,
        options: impl IntoIterator<Item = (K, V)>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError>
    where
        KD: AsRef<str>,
        VD: Into<ConfigValue>,
        K: AsRef<str>,
        V: Into<ConfigValue>,
    {
        let defaults = options::collect(defaults)?;
        let options = options::collect(options)?;
        options::read(&defaults, &options, &env)
    }

    /// Checks one option on its own, for a driver's `set_option`: `Ok(true)` for a telemetry
    /// option whose value is valid, `Ok(false)` for a key under neither prefix (the driver's
    /// own; nothing is checked).
    ///
    /// The error is the one [`from_options`](Self::from_options) gives for the same key and
    /// value. Rules between settings (`batch_size` at most `max_queue_size`; a plain-`http`
    /// `endpoint` needs `allow_insecure_http`) are not checked here, since the other setting
    /// may come later: they are checked when the configuration is read from all the options.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a value of the wrong type or out of range;
    /// [`ConfigError::UnknownOption`] for an unknown key under a prefix, or a near miss of one.
    ///
    /// # Example
    ///
    /// ```
    /// use databricks_telemetry::TelemetryConfig;
    ///
    /// assert_eq!(TelemetryConfig::check_option("databricks.telemetry.batch_size", 500), Ok(true));
    /// assert_eq!(TelemetryConfig::check_option("databricks.warehouse_id", "abc"), Ok(false));
    /// let error = TelemetryConfig::check_option("databricks.telemetry.batch_size", 0).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     r#"invalid value "0" for databricks.telemetry.batch_size: expected an integer from 1 to 10000"#
    /// );
    /// ```
    pub fn check_option(key: &str, value: impl Into<ConfigValue>) -> Result<bool, ConfigError> {
        options::check_option(key, value.into())
    }

    /// Whether telemetry may be sent at all (`enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether telemetry is sent without consulting the server feature flag (`force_enabled`).
    pub fn force_enabled(&self) -> bool {
        self.force_enabled
    }

    /// The most logs in one export request (`batch_size`).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// How often pending logs are exported (`flush_interval_ms`).
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }

    /// The most logs waiting for export (`max_queue_size`).
    pub fn max_queue_size(&self) -> usize {
        self.max_queue_size
    }

    /// How long closing the client may take (`close_timeout_ms`).
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// How long one export request may take (`request_timeout_ms`).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Retries of one failed export (`max_retries`).
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// `max_export_attempts`: how many times one batch is sent (retries and breaker probes)
    /// before it is dropped as `export_failed`.
    pub fn max_export_attempts(&self) -> u32 {
        self.max_export_attempts
    }

    /// `max_pending_events`: the most events waiting for export across every lane of one
    /// manager.
    pub fn max_pending_events(&self) -> usize {
        self.max_pending_events
    }

    /// The first retry's delay (`retry_base_delay_ms`).
    pub fn retry_base_delay(&self) -> Duration {
        self.retry_base_delay
    }

    /// The cap on any retry delay, including an honoured `Retry-After` (`retry_max_delay_ms`).
    pub fn retry_max_delay(&self) -> Duration {
        self.retry_max_delay
    }

    /// Whether the per-host circuit breaker is used (`circuit_breaker_enabled`).
    pub fn circuit_breaker_enabled(&self) -> bool {
        self.circuit_breaker_enabled
    }

    /// Consecutive failed exports that open the breaker (`circuit_breaker_threshold`).
    pub fn circuit_breaker_threshold(&self) -> u32 {
        self.circuit_breaker_threshold
    }

    /// How long the breaker stays open before it lets one probe through
    /// (`circuit_breaker_timeout_ms`).
    pub fn circuit_breaker_timeout(&self) -> Duration {
        self.circuit_breaker_timeout
    }

    /// Successful probes in half-open that close the breaker
    /// (`circuit_breaker_success_threshold`).
    pub fn circuit_breaker_success_threshold(&self) -> u32 {
        self.circuit_breaker_success_threshold
    }

    /// The cap on how long a `Retry-After` holds the breaker open (`circuit_breaker_max_open_ms`).
    pub fn circuit_breaker_max_open(&self) -> Duration {
        self.circuit_breaker_max_open
    }

    /// The driver name in the feature-flag URL path (`feature_flag_driver`).
    pub fn feature_flag_driver(&self) -> &str {
        &self.feature_flag_driver
    }

    /// The server flags that turn telemetry on (`feature_flag_name`): telemetry is on when any
    /// of them is `"true"`. Never empty.
    pub fn feature_flag_names(&self) -> &[String] {
        &self.feature_flag_names
    }

    /// How long the feature-flag request may take (`feature_flag_timeout_ms`).
    pub fn feature_flag_timeout(&self) -> Duration {
        self.feature_flag_timeout
    }

    /// Whether plain `http` is allowed to loopback hosts (`allow_insecure_http`).
    pub fn allow_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    /// Where telemetry is sent instead of the connection's workspace (`endpoint`), as
    /// `https://host[:port]` or `http://host:port` (a loopback host, with
    /// `allow_insecure_http`): the value given, in that one spelling. `None` when not set.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The workspace (org) id (`org_id`): decimal digits without leading zeros, within `i64`.
    /// `None` when not set.
    pub fn org_id(&self) -> Option<&str> {
        self.org_id.as_deref()
    }
}

/// The process environment, as [`TelemetryConfig::from_options`] reads it.
fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}
