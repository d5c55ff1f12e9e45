//! Reading a configuration from a driver's string options and the environment.

use std::time::Duration;

use super::builder::{Sources, TelemetryConfigBuilder};
use super::keys::{edit_distance, Key};
use super::values::{
    count_in_range, invalid, is_valid_driver_name, parse_bool, parse_decimal, parse_flag_names,
};
use super::{ConfigError, TelemetryConfig};

/// How far (in edits, ignoring ASCII case) a key's namespace may be from the option prefix and
/// still be taken for a mistyped telemetry option rather than an option of the driver's own.
const PREFIX_TYPO_DISTANCE: usize = 2;

/// What an option key means to this crate.
#[derive(Debug, PartialEq, Eq)]
enum Classified {
    /// Not a telemetry option: it belongs to the driver.
    Foreign,
    /// A telemetry setting.
    Known(Key),
    /// Under the prefix (or a near miss of it), but naming no setting.
    Unknown { suggestion: Option<Key> },
}

/// See [`TelemetryConfig::from_options_with_env`].
pub(super) fn from_options_with_env<K, V>(
    options: impl IntoIterator<Item = (K, V)>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<TelemetryConfig, ConfigError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut builder = TelemetryConfigBuilder::default();
    let mut given = Vec::new();
    for (key, value) in options {
        let (key, value) = (key.as_ref(), value.as_ref());
        match classify(key) {
            Classified::Foreign => {}
            Classified::Known(setting) => {
                apply(builder.config_mut(), setting, key, value)?;
                given.push(setting);
            }
            Classified::Unknown { suggestion } => {
                return Err(ConfigError::UnknownOption {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    suggestion: suggestion.map(Key::option_key),
                })
            }
        }
    }

    let mut sources = Sources::default();
    for setting in Key::ALL {
        let Some(variable) = setting.env_var() else {
            continue;
        };
        if given.contains(&setting) {
            continue;
        }
        if let Some(value) = env(variable) {
            tracing::debug!(variable, value = %value, "telemetry setting taken from the environment");
            apply(builder.config_mut(), setting, variable, &value)?;
            sources.set_from_environment(setting);
        }
    }
    builder.build_from(&sources)
}

/// Decides whether `key` is a telemetry option, a mistyped one, or the driver's own.
fn classify(key: &str) -> Classified {
    if let Some(name) = key.strip_prefix(TelemetryConfig::OPTION_PREFIX) {
        return match Key::from_name(name) {
            Some(setting) => Classified::Known(setting),
            None => Classified::Unknown {
                suggestion: Key::closest_to(name),
            },
        };
    }
    let namespace_wanted = TelemetryConfig::OPTION_PREFIX.trim_end_matches('.');
    match key.rsplit_once('.') {
        Some((namespace, name))
            if edit_distance(&namespace.to_ascii_lowercase(), namespace_wanted)
                <= PREFIX_TYPO_DISTANCE =>
        {
            Classified::Unknown {
                suggestion: Key::closest_to(name),
            }
        }
        _ => Classified::Foreign,
    }
}

/// Parses `text` as the value of `setting` into `config`, reporting errors under `label` (the
/// option key or environment variable it came from). Range checks happen here so the error shows
/// the text exactly as given.
fn apply(
    config: &mut TelemetryConfig,
    setting: Key,
    label: &str,
    text: &str,
) -> Result<(), ConfigError> {
    let boolean = || parse_bool(text).ok_or_else(|| invalid(setting, label, text));
    let millis = || integer(setting, label, text).map(Duration::from_millis);
    match setting {
        Key::Enabled => config.enabled = boolean()?,
        Key::ForceEnabled => config.force_enabled = boolean()?,
        Key::BatchSize => config.batch_size = integer(setting, label, text)?,
        Key::FlushInterval => config.flush_interval = millis()?,
        Key::MaxQueueSize => config.max_queue_size = integer(setting, label, text)?,
        Key::CloseTimeout => config.close_timeout = millis()?,
        Key::RequestTimeout => config.request_timeout = millis()?,
        Key::MaxRetries => config.max_retries = integer(setting, label, text)?,
        Key::MaxExportAttempts => config.max_export_attempts = integer(setting, label, text)?,
        Key::MaxPendingEvents => config.max_pending_events = integer(setting, label, text)?,
        Key::RetryBaseDelay => config.retry_base_delay = millis()?,
        Key::RetryMaxDelay => config.retry_max_delay = millis()?,
        Key::CircuitBreakerEnabled => config.circuit_breaker_enabled = boolean()?,
        Key::CircuitBreakerThreshold => {
            config.circuit_breaker_threshold = integer(setting, label, text)?;
        }
        Key::CircuitBreakerTimeout => config.circuit_breaker_timeout = millis()?,
        Key::CircuitBreakerSuccessThreshold => {
            config.circuit_breaker_success_threshold = integer(setting, label, text)?;
        }
        Key::CircuitBreakerMaxOpen => config.circuit_breaker_max_open = millis()?,
        Key::FeatureFlagDriver => {
            let name = text.trim();
            if !is_valid_driver_name(name) {
                return Err(invalid(setting, label, text));
            }
            name.clone_into(&mut config.feature_flag_driver);
        }
        Key::FeatureFlagName => {
            config.feature_flag_names =
                parse_flag_names(text).ok_or_else(|| invalid(setting, label, text))?;
        }
        Key::FeatureFlagTimeout => config.feature_flag_timeout = millis()?,
        Key::AllowInsecureHttp => config.allow_insecure_http = boolean()?,
    }
    Ok(())
}

/// Parses `text` as a plain decimal integer within `setting`'s range.
fn integer<T: TryFrom<u64>>(setting: Key, label: &str, text: &str) -> Result<T, ConfigError> {
    parse_decimal(text)
        .filter(|&count| count_in_range(setting, count))
        .and_then(|count| T::try_from(count).ok())
        .ok_or_else(|| invalid(setting, label, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_separates_ours_typos_and_the_drivers_own() {
        assert_eq!(
            classify("adbc.databricks.telemetry.batch_size"),
            Classified::Known(Key::BatchSize)
        );
        assert_eq!(
            classify("adbc.databricks.warehouse_id"),
            Classified::Foreign
        );
        assert_eq!(classify("adbc.connection.autocommit"), Classified::Foreign);
        assert_eq!(classify("uri"), Classified::Foreign);
        assert_eq!(
            classify("adbc.databricks.telemetri.enabled"),
            Classified::Unknown {
                suggestion: Some(Key::Enabled)
            }
        );
        assert_eq!(
            classify("ADBC.Databricks.Telemetry.batch_size"),
            Classified::Unknown {
                suggestion: Some(Key::BatchSize)
            }
        );
    }
}
