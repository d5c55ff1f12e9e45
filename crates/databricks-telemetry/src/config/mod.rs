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
//! Each checks every value against its setting's range, and fails with a [`ConfigError`] that names
//! the key, the value as given and what was expected. A mistyped key or value never falls back
//! to a default silently. [`TelemetryConfig::check_option`] checks one option at a time, with
//! the same error, for a driver's `set_option`.
//!
//! # Settings
//!
//! Each key can be given under either prefix: `adbc.databricks.telemetry.batch_size` and
//! `databricks.telemetry.batch_size` are the same setting. Every setting has a `with_*` setter
//! on [`TelemetryConfigBuilder`], whose documentation states its option key, default and
//! allowed values, and a getter of the same name on [`TelemetryConfig`]. The crate's README
//! has them all in one table (checked against this module by a test), with the environment
//! variable of each and where it lives (each handle, its lane, its host or the manager; see
//! the crate docs, "Settings: where each one lives"). Durations are whole milliseconds in
//! options (their keys end in `_ms`) and [`Duration`](std::time::Duration)s in code.
//!
//! All of that comes from one list in this module's source (`config/settings.rs`): a new
//! setting is a row there, its use in the layer it configures, and its row in the README's
//! table.
//!
//! # Environment
//!
//! `DATABRICKS_TELEMETRY_ENABLED`, `DATABRICKS_TELEMETRY_BATCH_SIZE` and
//! `DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS` set `enabled`, `batch_size` and `flush_interval_ms`.
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
mod error;
mod generate;
mod keys;
mod kinds;
mod options;
mod settings;
mod store;
mod value;
mod values;

pub use builder::TelemetryConfigBuilder;
pub use error::ConfigError;
pub use settings::TelemetryConfig;
pub(crate) use settings::{Scope, ScopedValues, DEFAULTS};
pub use store::TelemetryOptions;
pub use value::ConfigValue;

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
}

/// The process environment, as [`TelemetryConfig::from_options`] reads it.
fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}
