//! [`TelemetryOptions`]: the telemetry options a driver is given one at a time (ADBC's
//! `set_option` / `get_option`), kept checked and in order until the configuration is read.

use super::keys::Key;
use super::options::{check_option, known_setting};
use super::value::ConfigValue;
use super::{process_env, ConfigError, TelemetryConfig};

/// One option kept: the key as given, the setting it names, the value as given.
#[derive(Debug, Clone, PartialEq)]
struct Kept {
    key: String,
    setting: Key,
    value: ConfigValue,
}

/// The telemetry options of a driver's database or connection, as `set_option` hands them over:
/// each checked when it is set, kept in the order set, and read into a [`TelemetryConfig`] when
/// the connection opens.
///
/// - [`set`](Self::set) checks one option with [`TelemetryConfig::check_option`] (the same
///   error, naming key, value and expectation) and keeps it; a key that is not a telemetry key
///   (the driver's own, e.g. `databricks.http_path`) gives `Ok(false)` and is kept nowhere, so
///   a driver tries this store first and handles the key itself when it says `false`.
/// - [`get`](Self::get) gives the last value set for a setting, for `get_option`.
/// - [`with_default`](Self::with_default) adds the driver's own defaults, which rank below the
///   environment.
/// - [`config`](Self::config) reads everything, with the
///   [documented precedence](super#precedence): options set here, then the
///   `DATABRICKS_TELEMETRY_*` environment, then the driver's defaults, then the library's.
///   Rules between settings (`batch_size` at most `max_queue_size`; a plain-`http` `endpoint`
///   needs `allow_insecure_http`) are checked here, since one option may come before the other.
///
/// Clone it to hand a database's options on to each of its connections, which may then set
/// more of their own.
///
/// # Keys under either prefix
///
/// `adbc.databricks.telemetry.batch_size` and `databricks.telemetry.batch_size` name one
/// setting (see [`TelemetryConfig::OPTION_PREFIXES`]), so [`get`](Self::get) under either
/// finds the value last set under either: what `get` returns is what the configuration will
/// use, unless the option is later set again.
///
/// # Example
///
/// ```
/// use databricks_telemetry::config::{ConfigValue, TelemetryOptions};
///
/// // The driver's defaults: telemetry off unless the user turns it on (by option or environment).
/// let mut options = TelemetryOptions::new().with_default("databricks.telemetry.enabled", false)?;
///
/// // set_option, as the application calls it:
/// assert_eq!(options.set("adbc.databricks.telemetry.enabled", true), Ok(true));
/// assert_eq!(options.set("databricks.telemetry.batch_size", 200), Ok(true));
/// assert_eq!(options.set("databricks.http_path", "/sql/1.0/warehouses/abc"), Ok(false)); // the driver's own
/// let error = options.set("databricks.telemetry.batch_size", 0).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     r#"invalid value "0" for databricks.telemetry.batch_size: expected an integer from 1 to 10000"#
/// );
///
/// // get_option: the last value set, under either prefix.
/// assert_eq!(options.get("adbc.databricks.telemetry.batch_size"), Some(&ConfigValue::Int(200)));
/// assert_eq!(options.get("databricks.telemetry.flush_interval_ms"), None); // never set
///
/// // At connect:
/// let config = options.config_with_env(|_| None)?;
/// assert!(config.enabled());
/// assert_eq!(config.batch_size(), 200);
/// # Ok::<(), databricks_telemetry::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryOptions {
    /// Set with `set`, in the order set.
    options: Vec<Kept>,
    /// The driver's defaults, in the order given.
    defaults: Vec<Kept>,
}

impl TelemetryOptions {
    /// No options and no driver defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a driver default for `key` (a telemetry key under either prefix): it ranks below
    /// the environment and the options [`set`](Self::set), above the library's default (see
    /// [`TelemetryConfig::from_options_with_defaults`]). A later default for the same setting
    /// replaces an earlier one.
    ///
    /// # Errors
    ///
    /// The error [`TelemetryConfig::check_option`] gives for the key and value, and
    /// [`ConfigError::UnknownOption`] for a key that is not a telemetry key: a driver's default
    /// is a constant of the driver, so a key of its own there is a mistake.
    ///
    /// ```
    /// use databricks_telemetry::config::TelemetryOptions;
    ///
    /// let options = TelemetryOptions::new().with_default("databricks.telemetry.flush_interval_ms", 1_000)?;
    /// let env = |name: &str| (name == "DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS").then(|| "250".to_owned());
    /// assert_eq!(options.config_with_env(env)?.flush_interval().as_millis(), 250);
    /// assert_eq!(options.config_with_env(|_| None)?.flush_interval().as_millis(), 1_000);
    ///
    /// assert!(TelemetryOptions::new().with_default("databricks.http_path", "/sql").is_err());
    /// # Ok::<(), databricks_telemetry::ConfigError>(())
    /// ```
    pub fn with_default(
        mut self,
        key: &str,
        value: impl Into<ConfigValue>,
    ) -> Result<Self, ConfigError> {
        let value = value.into();
        match Self::checked(key, value.clone())? {
            Some(setting) => {
                self.defaults.push(Kept {
                    key: key.to_owned(),
                    setting,
                    value,
                });
                Ok(self)
            }
            None => Err(ConfigError::UnknownOption {
                key: key.to_owned(),
                value: value.to_string(),
                suggestion: None,
            }),
        }
    }

    /// Checks one option, as `set_option` gets it, and keeps it when it is a telemetry option:
    /// `Ok(true)`. `Ok(false)` for a key under neither prefix (the driver's own, not checked
    /// and kept nowhere). Setting a key again keeps both values; the last one is the one that
    /// counts, for [`get`](Self::get) and [`config`](Self::config), whichever prefix each used.
    ///
    /// # Errors
    ///
    /// Exactly the error [`TelemetryConfig::check_option`] gives: a value of the wrong type or
    /// out of range, an unknown key under a prefix (or a near miss of one), with a "did you
    /// mean" suggestion. A rejected option is not kept.
    pub fn set(&mut self, key: &str, value: impl Into<ConfigValue>) -> Result<bool, ConfigError> {
        let value = value.into();
        match Self::checked(key, value.clone())? {
            Some(setting) => {
                self.options.push(Kept {
                    key: key.to_owned(),
                    setting,
                    value,
                });
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The value last [`set`](Self::set) for the setting `key` names, under either prefix, as
    /// it was given (text or typed); `None` when it was never set, and for a key that is not a
    /// telemetry key. Driver defaults and the environment are not options: read the effective
    /// value from [`config`](Self::config).
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        let setting = known_setting(key)?;
        self.options
            .iter()
            .rev()
            .find(|kept| kept.setting == setting)
            .map(|kept| &kept.value)
    }

    /// The driver's default for `setting` (the last one given), if any.
    #[cfg(feature = "adbc")]
    pub(super) fn default_for(&self, setting: Key) -> Option<&ConfigValue> {
        self.defaults
            .iter()
            .rev()
            .find(|kept| kept.setting == setting)
            .map(|kept| &kept.value)
    }

    /// The options set, in the order set, each with its key as given (a key set twice appears
    /// twice).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ConfigValue)> + '_ {
        self.options
            .iter()
            .map(|kept| (kept.key.as_str(), &kept.value))
    }

    /// Whether no option was set (driver defaults do not count).
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }

    /// The configuration: the options set (the last value of each setting), over the
    /// `DATABRICKS_TELEMETRY_*` environment, over the driver's defaults, over the library's
    /// defaults (see [Precedence](super#precedence)).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a rule between two settings that the options break (each option
    /// was already checked on its own when it was set). The environment never causes an
    /// error: a bad variable is ignored with a warning.
    pub fn config(&self) -> Result<TelemetryConfig, ConfigError> {
        self.config_with_env(process_env)
    }

    /// [`config`](Self::config) with the environment given as a lookup function (variable name
    /// to value), so tests need not touch the process environment.
    ///
    /// # Errors
    ///
    /// As [`config`](Self::config).
    pub fn config_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TelemetryConfig, ConfigError> {
        let pairs = |kept: &[Kept]| {
            kept.iter()
                .map(|kept| (kept.key.clone(), kept.value.clone()))
                .collect::<Vec<_>>()
        };
        TelemetryConfig::from_options_with_defaults_and_env(
            pairs(&self.defaults),
            pairs(&self.options),
            env,
        )
    }

    /// The setting `key` names, once `value` is checked for it; `None` for a key of the
    /// driver's own.
    fn checked(key: &str, value: ConfigValue) -> Result<Option<Key>, ConfigError> {
        if check_option(key, value)? {
            Ok(known_setting(key))
        } else {
            Ok(None)
        }
    }
}
