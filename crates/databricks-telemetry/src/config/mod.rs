//! [`TelemetryConfig`]: every setting of the telemetry pipeline, its default, and where it can
//! be set.
//!
//! A configuration comes from one of two places:
//!
//! - [`TelemetryConfig::from_options`]: a driver passes its string options through; the keys
//!   under [`TelemetryConfig::OPTION_PREFIX`] (`adbc.databricks.telemetry.`) are read, a few
//!   environment variables fill in what the options leave out, and everything else is a default.
//! - [`TelemetryConfig::builder`]: a configuration in code.
//!
//! Both check every value against the table below, and fail with a [`ConfigError`] that names
//! the key, the value as given and what was expected. A mistyped key or value never falls back
//! to a default silently.
//!
//! # Settings
//!
//! | Option key (after `adbc.databricks.telemetry.`) | Default | Allowed | Meaning |
//! |---|---|---|---|
//! | `enabled` | `true` | bool | Whether telemetry may be sent at all. |
//! | `force_enabled` | `false` | bool | Send without consulting the server feature flag. |
//! | `batch_size` | `100` | 1..=10,000, at most `max_queue_size` | Most logs in one export request. |
//! | `flush_interval_ms` | `5000` | 10..=3,600,000 | How often pending logs are exported. |
//! | `max_queue_size` | `10000` | 1..=1,000,000 | Most logs waiting for export; more are dropped and counted. |
//! | `close_timeout_ms` | `2000` | 1..=600,000 | How long closing the client may take. |
//! | `request_timeout_ms` | `10000` | 1..=300,000 | How long one export request may take. |
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
//! A driver option beats the environment, which beats the default. A variable is read only when
//! the driver did not give its option; when it is read, its value must be valid (a variable that
//! is set but empty is an error, not "unset").
//!
//! # Parsing rules
//!
//! - Booleans are `true`, `false`, `1` or `0`, in any ASCII case.
//! - Integers and durations are plain decimal numbers: ASCII digits only, no sign, no unit, no
//!   separator.
//! - Leading and trailing whitespace is ignored in every value.
//! - Keys are case-sensitive. A key that does not start with the prefix belongs to the driver and
//!   is ignored, unless it is a near miss of the prefix (within two edits, or differing only in
//!   case, e.g. `adbc.databricks.telemetri.enabled`): that is reported as an unknown option.
//! - An unknown key under the prefix is an error, with a "did you mean" suggestion when a known
//!   key is within two edits (or lacks only its `_ms` suffix).
//! - A key given more than once is allowed: every value is checked, and the last one wins (as
//!   when a driver's `set_option` is called twice).

mod builder;
mod defaults;
mod error;
mod keys;
mod options;
mod values;

use std::time::Duration;

pub use builder::TelemetryConfigBuilder;
pub use defaults::*;
pub use error::ConfigError;

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
        }
    }
}

impl TelemetryConfig {
    /// The prefix of every telemetry option key.
    pub const OPTION_PREFIX: &'static str = "adbc.databricks.telemetry.";

    /// A builder starting from the defaults.
    pub fn builder() -> TelemetryConfigBuilder {
        TelemetryConfigBuilder::default()
    }

    /// Reads a configuration from a driver's string options, with the process environment's
    /// overrides (see the [module documentation](self)).
    ///
    /// Options whose keys do not start with [`OPTION_PREFIX`](Self::OPTION_PREFIX) are ignored.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key (or environment variable), the value and what was
    /// expected, for the first value that is invalid, out of range, or inconsistent with
    /// another, and for an unknown key under the prefix.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_telemetry::TelemetryConfig;
    ///
    /// let options = [
    ///     ("adbc.databricks.telemetry.batch_size", "50"),
    ///     ("adbc.databricks.telemetry.flush_interval_ms", "1000"),
    ///     ("adbc.databricks.warehouse_id", "abc123"), // the driver's own: ignored
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
        V: AsRef<str>,
    {
        Self::from_options_with_env(options, |name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
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
        V: AsRef<str>,
    {
        options::from_options_with_env(options, env)
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
}
