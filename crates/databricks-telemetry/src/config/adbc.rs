//! ADBC-shaped helpers on the option store (the `adbc` feature): an [`OptionValue`] as
//! `set_option` gets it, whether a key is telemetry's, and the value in effect for
//! `get_option`, and `set_option`/`get_option_*` adapters answering in ADBC's own errors.

use adbc_core::error::{Error as AdbcError, Status};
use adbc_core::options::OptionValue;

use super::keys::Key;
use super::options::{is_telemetry_key, known_setting};
use super::store::TelemetryOptions;
use super::value::ConfigValue;
use super::values::invalid;
use super::{process_env, ConfigError};

impl TelemetryOptions {
    /// [`set`](Self::set) for an ADBC [`OptionValue`]: text, an integer or a double as they
    /// are; bytes as UTF-8 text. `Ok(false)` for a key that is not telemetry's (the driver
    /// handles it).
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set); bytes that are not UTF-8 are an invalid value.
    ///
    /// ```
    /// use adbc_core::options::OptionValue;
    /// use databricks_telemetry::config::TelemetryOptions;
    ///
    /// let mut options = TelemetryOptions::new();
    /// assert_eq!(options.set_adbc("adbc.databricks.telemetry.batch_size", &OptionValue::Int(200)), Ok(true));
    /// assert_eq!(options.set_adbc("databricks.http_path", &OptionValue::String("/sql".into())), Ok(false));
    /// assert!(matches!(options.value_in_effect("databricks.telemetry.batch_size"), Some(OptionValue::Int(200))));
    /// # Ok::<(), databricks_telemetry::ConfigError>(())
    /// ```
    pub fn set_adbc(&mut self, key: &str, value: &OptionValue) -> Result<bool, ConfigError> {
        let value = match value {
            OptionValue::String(text) => ConfigValue::String(text.clone()),
            OptionValue::Int(value) => ConfigValue::Int(*value),
            OptionValue::Double(value) => ConfigValue::Float(*value),
            OptionValue::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => ConfigValue::String(text.to_owned()),
                Err(_) => {
                    return match known_setting(key) {
                        Some(setting) => {
                            Err(invalid(setting, key, &String::from_utf8_lossy(bytes)))
                        }
                        None => Ok(false),
                    };
                }
            },
            // `OptionValue` is non-exhaustive upstream: a kind this crate does not know.
            #[allow(unreachable_patterns)]
            _ => return Ok(false),
        };
        self.set(key, value)
    }

    /// Whether `key` is telemetry's: any key under `adbc.databricks.telemetry.` or
    /// `databricks.telemetry.` (or a near miss of a prefix), known or mistyped, so that a
    /// driver hands it to [`set_adbc`](Self::set_adbc), which keeps a known one and reports a
    /// mistyped one with a "did you mean" suggestion; what a driver's `set_option` and
    /// `get_option` ask before handling a key themselves.
    ///
    /// ```
    /// use databricks_telemetry::config::TelemetryOptions;
    ///
    /// assert!(TelemetryOptions::is_telemetry_key("databricks.telemetry.batch_size"));
    /// assert!(TelemetryOptions::is_telemetry_key("databricks.telemetry.batch_sise"));
    /// assert!(!TelemetryOptions::is_telemetry_key("databricks.http_path"));
    /// ```
    pub fn is_telemetry_key(key: &str) -> bool {
        is_telemetry_key(key)
    }

    /// `set_option` in ADBC's terms: [`set_adbc`](Self::set_adbc), its error as an ADBC
    /// `InvalidArguments` with the library's message (the "did you mean" included). `Ok(true)`
    /// when the option was kept, `Ok(false)` for a key that is not telemetry's (the driver
    /// handles it).
    ///
    /// # Errors
    ///
    /// `Status::InvalidArguments` for a telemetry key with a bad value, or a mistyped one.
    ///
    /// ```
    /// use adbc_core::error::Status;
    /// use adbc_core::options::OptionValue;
    /// use databricks_telemetry::config::TelemetryOptions;
    ///
    /// let mut options = TelemetryOptions::new();
    /// let error = options.set_option("databricks.telemetry.batch_sise", &OptionValue::Int(50)).unwrap_err();
    /// assert_eq!(error.status, Status::InvalidArguments);
    /// assert!(error.message.contains("did you mean databricks.telemetry.batch_size?"));
    /// assert_eq!(options.set_option("databricks.http_path", &OptionValue::String("/sql".into())), Ok(false));
    /// ```
    pub fn set_option(&mut self, key: &str, value: &OptionValue) -> Result<bool, AdbcError> {
        self.set_adbc(key, value).map_err(|error| {
            AdbcError::with_message_and_status(error.to_string(), Status::InvalidArguments)
        })
    }

    /// `get_option_string`: the [value in effect](Self::value_in_effect) as text (a number as
    /// its decimal text).
    ///
    /// # Errors
    ///
    /// `Status::NotFound` for a key that is not telemetry's or has no value in effect.
    pub fn get_option_string(&self, key: &str) -> Result<String, AdbcError> {
        self.read_option(key, |value| match value {
            OptionValue::String(text) => Some(text),
            OptionValue::Int(value) => Some(value.to_string()),
            OptionValue::Double(value) => Some(value.to_string()),
            _ => None,
        })
    }

    /// `get_option_int`: the [value in effect](Self::value_in_effect) as an integer (text
    /// that parses as one, e.g. from the environment).
    ///
    /// # Errors
    ///
    /// `Status::NotFound` for a key that is not telemetry's, has no value in effect, or whose
    /// value is not an integer.
    pub fn get_option_int(&self, key: &str) -> Result<i64, AdbcError> {
        self.read_option(key, |value| match value {
            OptionValue::Int(value) => Some(value),
            OptionValue::String(text) => text.trim().parse().ok(),
            _ => None,
        })
    }

    /// `get_option_double`: the [value in effect](Self::value_in_effect) as a double (an
    /// integer, or text that parses as a number).
    ///
    /// # Errors
    ///
    /// `Status::NotFound` for a key that is not telemetry's, has no value in effect, or whose
    /// value is not a number.
    pub fn get_option_double(&self, key: &str) -> Result<f64, AdbcError> {
        self.read_option(key, |value| match value {
            OptionValue::Double(value) => Some(value),
            #[allow(clippy::cast_precision_loss)] // option values are small
            OptionValue::Int(value) => Some(value as f64),
            OptionValue::String(text) => text.trim().parse().ok(),
            _ => None,
        })
    }

    /// The value in effect for `key` as `read` converts it, else `NotFound`.
    fn read_option<T>(
        &self,
        key: &str,
        read: impl FnOnce(OptionValue) -> Option<T>,
    ) -> Result<T, AdbcError> {
        self.value_in_effect(key).and_then(read).ok_or_else(|| {
            AdbcError::with_message_and_status(
                format!("no telemetry option {key} of that type is set"),
                Status::NotFound,
            )
        })
    }

    /// The value of the setting `key` names as a connection opened now would use it, for
    /// `get_option`: the value last set (under either prefix), else the
    /// `DATABRICKS_TELEMETRY_*` environment variable, else the driver's default
    /// ([`with_default`](Self::with_default)); `None` when none of them gives one (the
    /// library's default applies; ADBC's answer is `NotFound`) and for a key that is not
    /// telemetry's. Integers, booleans (as `"true"`/`"false"`), doubles and text come back as
    /// given; the environment's as text.
    pub fn value_in_effect(&self, key: &str) -> Option<OptionValue> {
        let setting = known_setting(key)?;
        if let Some(value) = self.get(key) {
            return Some(option_value(value));
        }
        if let Some(text) = setting_env(setting) {
            return Some(OptionValue::String(text));
        }
        self.default_for(setting).map(option_value)
    }
}

/// The environment variable of `setting`, when it has one and it is set.
fn setting_env(setting: Key) -> Option<String> {
    setting.env_var().and_then(process_env)
}

fn option_value(value: &ConfigValue) -> OptionValue {
    match value {
        ConfigValue::String(text) => OptionValue::String(text.clone()),
        ConfigValue::Int(value) => OptionValue::Int(*value),
        ConfigValue::Float(value) => OptionValue::Double(*value),
        other => OptionValue::String(other.to_string()),
    }
}
