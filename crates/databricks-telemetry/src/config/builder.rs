//! [`TelemetryConfigBuilder`]: a configuration in code, checked by the same rules as options.

use super::keys::Key;
use super::values::is_plain_http;
use super::{ConfigError, TelemetryConfig};

/// Builds a [`TelemetryConfig`], starting from the defaults.
///
/// Setters take values as they are; [`build`](Self::build) checks every one against the range
/// its setter states and reports the first that is out of range under its option key. Each
/// setter's documentation states the setting's default, which is also what
/// [`TelemetryConfig::default`] and [`TelemetryConfig::builder`] start from.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use databricks_telemetry::TelemetryConfig;
///
/// let config = TelemetryConfig::builder()
///     .with_batch_size(50)
///     .with_flush_interval(Duration::from_secs(1))
///     .build()?;
/// assert_eq!(config.batch_size(), 50);
///
/// let error = TelemetryConfig::builder().with_batch_size(0).build().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     r#"invalid value "0" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"#
/// );
/// # Ok::<(), databricks_telemetry::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct TelemetryConfigBuilder {
    config: TelemetryConfig,
}

impl TelemetryConfigBuilder {
    /// Checks every setting and returns the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for the first setting outside its range, named by its
    /// option key; [`ConfigError::Exceeds`] when the batch size exceeds the queue size, the base
    /// retry delay exceeds the maximum retry delay, or the breaker timeout exceeds the breaker's
    /// maximum open time; [`ConfigError::Requires`] for a plain-`http` endpoint without
    /// `allow_insecure_http`.
    pub fn build(self) -> Result<TelemetryConfig, ConfigError> {
        self.build_from(&Sources::default())
    }

    /// [`build`](Self::build), naming the settings listed in `sources` by their environment
    /// variables.
    pub(super) fn build_from(self, sources: &Sources) -> Result<TelemetryConfig, ConfigError> {
        let mut config = self.config;
        config.check(sources)?;
        if let Some(endpoint) = config.endpoint() {
            if is_plain_http(endpoint) && !config.allow_insecure_http() {
                return Err(ConfigError::Requires {
                    key: sources.label(Key::Endpoint),
                    value: endpoint.to_owned(),
                    required_key: sources.label_beside(Key::AllowInsecureHttp, Key::Endpoint),
                    required_value: "true".to_owned(),
                });
            }
        }
        Ok(config)
    }

    /// The configuration being built, for [`from_options`](TelemetryConfig::from_options) to
    /// fill in.
    pub(super) fn config_mut(&mut self) -> &mut TelemetryConfig {
        &mut self.config
    }
}

/// Where each setting's value came from (the option key as given, or the environment
/// variable), so errors name what the driver or the user wrote.
#[derive(Debug, Default, Clone)]
pub(super) struct Sources {
    labels: Vec<(Key, String)>,
}

impl Sources {
    /// Records that `key`'s value now comes from `label` (an option key as given, or an
    /// environment variable).
    pub(super) fn set(&mut self, key: Key, label: &str) {
        self.labels.retain(|(known, _)| *known != key);
        self.labels.push((key, label.to_owned()));
    }

    /// The name to report `key` under: where its value came from, else its full option key.
    pub(super) fn label(&self, key: Key) -> String {
        self.labels
            .iter()
            .find(|(known, _)| *known == key)
            .map_or_else(|| key.option_key(), |(_, label)| label.clone())
    }

    /// [`label`](Self::label) for `key`, except that a key not given is named under the prefix
    /// `beside` was given with, so one error does not mix the two spellings.
    pub(super) fn label_beside(&self, key: Key, beside: Key) -> String {
        if self.labels.iter().any(|(known, _)| *known == key) {
            return self.label(key);
        }
        let beside = self.label(beside);
        TelemetryConfig::OPTION_PREFIXES
            .into_iter()
            .find(|prefix| beside.starts_with(prefix))
            .map_or_else(|| key.option_key(), |prefix| key.key_under(prefix))
    }
}
