//! Reading a configuration from a driver's options, its defaults and the environment, and
//! checking one option at a time.

use std::sync::{Mutex, PoisonError};

use super::builder::{Sources, TelemetryConfigBuilder};
use super::keys::{edit_distance, Key};
use super::value::ConfigValue;
use super::values::invalid;
use super::{ConfigError, TelemetryConfig};

/// How far (in edits, ignoring ASCII case) a key's namespace may be from an option prefix and
/// still be taken for a mistyped telemetry option rather than an option of the driver's own.
const PREFIX_TYPO_DISTANCE: usize = 2;

/// What an option key means to this crate.
#[derive(Debug, PartialEq, Eq)]
enum Classified {
    /// Not a telemetry option: it belongs to the driver.
    Foreign,
    /// A telemetry setting.
    Known(Key),
    /// Under a prefix (or a near miss of one), but naming no setting; the suggestion is a full
    /// key under the prefix the key was closest to.
    Unknown { suggestion: Option<String> },
}

/// One telemetry option as given: its key (the label errors use), its setting and its value.
#[derive(Debug)]
pub(super) struct Entry {
    label: String,
    setting: Key,
    value: ConfigValue,
}

/// The telemetry options among `options`, in order; the driver's own are left out.
///
/// # Errors
///
/// [`ConfigError::UnknownOption`] for the first key under a prefix (or a near miss of one) that
/// names no setting.
pub(super) fn collect<K, V>(
    options: impl IntoIterator<Item = (K, V)>,
) -> Result<Vec<Entry>, ConfigError>
where
    K: AsRef<str>,
    V: Into<ConfigValue>,
{
    let mut entries = Vec::new();
    for (key, value) in options {
        let key = key.as_ref();
        match classify(key) {
            Classified::Foreign => {}
            Classified::Known(setting) => entries.push(Entry {
                label: key.to_owned(),
                setting,
                value: value.into(),
            }),
            Classified::Unknown { suggestion } => {
                return Err(ConfigError::UnknownOption {
                    key: key.to_owned(),
                    value: value.into().to_string(),
                    suggestion,
                })
            }
        }
    }
    Ok(entries)
}

/// See [`TelemetryConfig::from_options_with_defaults_and_env`]: `defaults`, then the
/// environment, then `options`, each over the one before.
pub(super) fn read(
    defaults: &[Entry],
    options: &[Entry],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TelemetryConfig, ConfigError> {
    // Variables ignored so far: their value was bad, or broke a rule with another setting.
    // Each pass ignores one more or ends, so this runs at most once per variable, plus one.
    let mut ignored: Vec<&'static str> = Vec::new();
    loop {
        let mut builder = TelemetryConfigBuilder::default();
        let mut sources = Sources::default();
        for entry in defaults {
            entry.apply(&mut builder, &mut sources)?;
        }
        for &setting in Key::ALL {
            let Some(variable) = setting.env_var() else {
                continue;
            };
            if ignored.contains(&variable) || options.iter().any(|entry| entry.setting == setting) {
                continue;
            }
            let Some(text) = env(variable) else {
                continue;
            };
            let value = ConfigValue::String(text);
            match apply(builder.config_mut(), setting, variable, &value) {
                Ok(()) => {
                    tracing::debug!(variable, value = %value, "telemetry setting taken from the environment");
                    sources.set(setting, variable);
                }
                Err(error) => {
                    warn_once(variable, &error);
                    ignored.push(variable);
                }
            }
        }
        for entry in options {
            entry.apply(&mut builder, &mut sources)?;
        }
        match builder.build_from(&sources) {
            Ok(config) => return Ok(config),
            Err(error) => match blamed_variable(&error) {
                Some(variable) if !ignored.contains(&variable) => {
                    warn_once(variable, &error);
                    ignored.push(variable);
                }
                _ => return Err(error),
            },
        }
    }
}

/// See [`TelemetryConfig::check_option`].
pub(super) fn check_option(key: &str, value: ConfigValue) -> Result<bool, ConfigError> {
    match collect([(key, value)])?.pop() {
        None => Ok(false),
        Some(entry) => {
            let mut scratch = TelemetryConfig::default();
            apply(&mut scratch, entry.setting, &entry.label, &entry.value)?;
            Ok(true)
        }
    }
}

/// Whether `key` is under a telemetry prefix (or a near miss of one): a known setting or a
/// mistyped one, whose error the library reports.
#[cfg(feature = "adbc")]
pub(super) fn is_telemetry_key(key: &str) -> bool {
    !matches!(classify(key), Classified::Foreign)
}

/// The setting `key` names, when it is a known telemetry key under either prefix.
pub(super) fn known_setting(key: &str) -> Option<Key> {
    match classify(key) {
        Classified::Known(setting) => Some(setting),
        Classified::Foreign | Classified::Unknown { .. } => None,
    }
}

impl Entry {
    /// Sets this option's value in `builder`, and records where it came from.
    fn apply(
        &self,
        builder: &mut TelemetryConfigBuilder,
        sources: &mut Sources,
    ) -> Result<(), ConfigError> {
        apply(builder.config_mut(), self.setting, &self.label, &self.value)?;
        sources.set(self.setting, &self.label);
        Ok(())
    }
}

/// The environment variable a rule between two settings failed on, if one of them came from
/// the environment (errors name such a setting by its variable): the one that is too large
/// first.
fn blamed_variable(error: &ConfigError) -> Option<&'static str> {
    let ConfigError::Exceeds { key, limit_key, .. } = error else {
        return None;
    };
    let variables = || Key::ALL.iter().copied().filter_map(Key::env_var);
    variables()
        .find(|variable| variable == key)
        .or_else(|| variables().find(|variable| variable == limit_key))
}

/// The variables already warned about in this process.
static WARNED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Warns that `variable` is ignored because of `error`, once per variable per process.
fn warn_once(variable: &'static str, error: &ConfigError) {
    {
        let mut warned = WARNED.lock().unwrap_or_else(PoisonError::into_inner);
        if warned.contains(&variable) {
            return;
        }
        warned.push(variable);
    }
    tracing::warn!(
        variable,
        "ignoring the environment variable {variable} (this warning is not repeated): {error}"
    );
}

/// Decides whether `key` is a telemetry option, a mistyped one, or the driver's own.
fn classify(key: &str) -> Classified {
    for prefix in TelemetryConfig::OPTION_PREFIXES {
        if let Some(name) = key.strip_prefix(prefix) {
            return match Key::from_name(name) {
                Some(setting) => Classified::Known(setting),
                None => Classified::Unknown {
                    suggestion: Key::closest_to(name).map(|setting| setting.key_under(prefix)),
                },
            };
        }
    }
    let Some((namespace, name)) = key.rsplit_once('.') else {
        return Classified::Foreign;
    };
    let namespace = namespace.to_ascii_lowercase();
    let nearest = TelemetryConfig::OPTION_PREFIXES
        .into_iter()
        .map(|prefix| {
            (
                edit_distance(&namespace, prefix.trim_end_matches('.')),
                prefix,
            )
        })
        .min_by_key(|(distance, _)| *distance);
    match nearest {
        Some((distance, prefix)) if distance <= PREFIX_TYPO_DISTANCE => Classified::Unknown {
            suggestion: Key::closest_to(name).map(|setting| setting.key_under(prefix)),
        },
        _ => Classified::Foreign,
    }
}

/// Parses `value` as the value of `setting` into `config`, reporting errors under `label` (the
/// option key or environment variable it came from). A typed value is read as its text (see
/// [`ConfigValue`]); range checks happen here so the error shows the value exactly as given.
fn apply(
    config: &mut TelemetryConfig,
    setting: Key,
    label: &str,
    value: &ConfigValue,
) -> Result<(), ConfigError> {
    let text = value
        .text_for(setting.kind())
        .ok_or_else(|| invalid(setting, label, &value.to_string()))?;
    config.set_text(setting, label, &text)
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
            classify("databricks.telemetry.batch_size"),
            Classified::Known(Key::BatchSize)
        );
        assert_eq!(classify("databricks.http.proxy.url"), Classified::Foreign);
        assert_eq!(
            classify("databricks.retry.auth.max_retries"),
            Classified::Foreign
        );
        assert_eq!(
            classify("databricks.cloudfetch.enabled"),
            Classified::Foreign
        );
        assert_eq!(
            classify("adbc.databricks.telemetri.enabled"),
            Classified::Unknown {
                suggestion: Some("adbc.databricks.telemetry.enabled".to_owned())
            }
        );
        assert_eq!(
            classify("ADBC.Databricks.Telemetry.batch_size"),
            Classified::Unknown {
                suggestion: Some("adbc.databricks.telemetry.batch_size".to_owned())
            }
        );
        assert_eq!(
            classify("databricks.telemetri.batch_size"),
            Classified::Unknown {
                suggestion: Some("databricks.telemetry.batch_size".to_owned())
            }
        );
        assert_eq!(
            classify("databricks.telemetry.batch_sise"),
            Classified::Unknown {
                suggestion: Some("databricks.telemetry.batch_size".to_owned())
            }
        );
    }
}
