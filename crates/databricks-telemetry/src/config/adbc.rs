//! ADBC-shaped helpers on the option store (the `adbc` feature): an [`OptionValue`] as
//! `set_option` gets it, whether a key is telemetry's, and the value in effect for
//! `get_option`.

use adbc_core::options::OptionValue;

use super::keys::Key;
use super::options::known_setting;
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

    /// Whether `key` is a telemetry option (under `adbc.databricks.telemetry.` or
    /// `databricks.telemetry.`), which [`set_adbc`](Self::set_adbc) keeps and
    /// [`value_in_effect`](Self::value_in_effect) answers: what a driver's `set_option` and
    /// `get_option` ask before handling a key themselves.
    pub fn is_telemetry_key(key: &str) -> bool {
        known_setting(key).is_some()
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
