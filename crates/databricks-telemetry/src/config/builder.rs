//! [`TelemetryConfigBuilder`]: a configuration in code, checked by the same rules as options.

use std::time::Duration;

use super::keys::Key;
use super::values::{
    count_in_range, duration_in_range, invalid, is_plain_http, is_valid_driver_name,
    is_valid_flag_name, parse_endpoint, parse_org_id, render_duration,
};
use super::{ConfigError, TelemetryConfig};

/// Builds a [`TelemetryConfig`], starting from the defaults.
///
/// Setters take values as they are; [`build`](Self::build) checks every one against the ranges
/// in the [module documentation](super) and reports the first that is out of range under its
/// option key.
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

/// Generates one `with_*` setter per field.
macro_rules! setters {
    ($($(#[$doc:meta])* $setter:ident($field:ident: $type:ty);)*) => {
        $(
            $(#[$doc])*
            pub fn $setter(mut self, $field: $type) -> Self {
                self.config.$field = $field;
                self
            }
        )*
    };
}

impl TelemetryConfigBuilder {
    setters! {
        /// Sets `enabled`: whether telemetry may be sent at all.
        with_enabled(enabled: bool);
        /// Sets `force_enabled`: send telemetry without consulting the server feature flag.
        with_force_enabled(force_enabled: bool);
        /// Sets `batch_size`: the most logs in one export request (1..=10,000).
        with_batch_size(batch_size: usize);
        /// Sets `flush_interval_ms`: how often pending logs are exported (10 ms..=1 h).
        with_flush_interval(flush_interval: Duration);
        /// Sets `max_queue_size`: the most logs waiting for export (1..=1,000,000, at least the
        /// batch size).
        with_max_queue_size(max_queue_size: usize);
        /// Sets `close_timeout_ms`: how long closing may take (1 ms..=10 min).
        with_close_timeout(close_timeout: Duration);
        /// Sets `request_timeout_ms`: how long one export request may take (1 ms..=5 min).
        with_request_timeout(request_timeout: Duration);
        /// Sets `max_retries`: retries of one failed export (0..=10).
        with_max_retries(max_retries: u32);
        /// Sets `max_export_attempts`: sends of one batch, retries and probes together, before
        /// it is dropped (1..=1,000).
        with_max_export_attempts(max_export_attempts: u32);
        /// Sets `max_pending_events`: the most events waiting across every lane of one manager
        /// (1..=100,000,000).
        with_max_pending_events(max_pending_events: usize);
        /// Sets `retry_base_delay_ms`: the first retry's delay (1 ms..=1 min).
        with_retry_base_delay(retry_base_delay: Duration);
        /// Sets `retry_max_delay_ms`: the cap on the retry backoff, and the wait between tries
        /// after `max_retries` (1 ms..=10 min, at least the base delay).
        with_retry_max_delay(retry_max_delay: Duration);
        /// Sets `circuit_breaker_enabled`: whether the per-host circuit breaker is used.
        with_circuit_breaker_enabled(circuit_breaker_enabled: bool);
        /// Sets `circuit_breaker_threshold`: consecutive failures that open the breaker
        /// (1..=1,000).
        with_circuit_breaker_threshold(circuit_breaker_threshold: u32);
        /// Sets `circuit_breaker_timeout_ms`: how long the breaker stays open (1 ms..=1 day).
        with_circuit_breaker_timeout(circuit_breaker_timeout: Duration);
        /// Sets `circuit_breaker_success_threshold`: successes in half-open that close the
        /// breaker (1..=100).
        with_circuit_breaker_success_threshold(circuit_breaker_success_threshold: u32);
        /// Sets `circuit_breaker_max_open_ms`: the cap on how long a `Retry-After` holds the
        /// breaker open (1 ms..=1 day, at least the breaker timeout).
        with_circuit_breaker_max_open(circuit_breaker_max_open: Duration);
        /// Sets `feature_flag_timeout_ms`: how long the feature-flag request may take
        /// (1 ms..=1 min).
        with_feature_flag_timeout(feature_flag_timeout: Duration);
        /// Sets `allow_insecure_http`: allow plain `http` to loopback hosts (tests and the local
        /// endpoint).
        with_allow_insecure_http(allow_insecure_http: bool);
    }

    /// Sets `feature_flag_driver`: the driver name in the feature-flag URL (1 to 64 ASCII
    /// letters, digits, `_` or `-`).
    pub fn with_feature_flag_driver(mut self, feature_flag_driver: impl Into<String>) -> Self {
        self.config.feature_flag_driver = feature_flag_driver.into();
        self
    }

    /// Sets `feature_flag_name`: the server flags that turn telemetry on (any of them `"true"`).
    /// At least one name; each 1 to 256 printable ASCII characters, without spaces or commas.
    pub fn with_feature_flag_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.feature_flag_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `endpoint`: send telemetry to this host or URL instead of the connection's
    /// workspace, e.g. `http://127.0.0.1:8080` for `dbtel serve` (plain `http` only to a loopback
    /// host, and only with `allow_insecure_http`). Read it back, in its one spelling, with
    /// [`TelemetryConfig::endpoint`].
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.config.endpoint = Some(endpoint.into());
        self
    }

    /// Sets `org_id`: the workspace (org) id, decimal digits within `i64` (the `?o=` of a
    /// workspace URL). Read it back with [`TelemetryConfig::org_id`].
    pub fn with_org_id(mut self, org_id: impl Into<String>) -> Self {
        self.config.org_id = Some(org_id.into());
        self
    }

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
        check_count(sources, Key::BatchSize, config.batch_size)?;
        check_duration(sources, Key::FlushInterval, config.flush_interval)?;
        check_count(sources, Key::MaxQueueSize, config.max_queue_size)?;
        check_duration(sources, Key::CloseTimeout, config.close_timeout)?;
        check_duration(sources, Key::RequestTimeout, config.request_timeout)?;
        check_count(sources, Key::MaxRetries, config.max_retries)?;
        check_count(sources, Key::MaxExportAttempts, config.max_export_attempts)?;
        check_count(sources, Key::MaxPendingEvents, config.max_pending_events)?;
        check_duration(sources, Key::RetryBaseDelay, config.retry_base_delay)?;
        check_duration(sources, Key::RetryMaxDelay, config.retry_max_delay)?;
        check_count(
            sources,
            Key::CircuitBreakerThreshold,
            config.circuit_breaker_threshold,
        )?;
        check_duration(
            sources,
            Key::CircuitBreakerTimeout,
            config.circuit_breaker_timeout,
        )?;
        check_count(
            sources,
            Key::CircuitBreakerSuccessThreshold,
            config.circuit_breaker_success_threshold,
        )?;
        check_duration(
            sources,
            Key::CircuitBreakerMaxOpen,
            config.circuit_breaker_max_open,
        )?;
        if !is_valid_driver_name(&config.feature_flag_driver) {
            let label = sources.label(Key::FeatureFlagDriver);
            return Err(invalid(
                Key::FeatureFlagDriver,
                &label,
                &config.feature_flag_driver,
            ));
        }
        if config.feature_flag_names.is_empty()
            || !config
                .feature_flag_names
                .iter()
                .all(|name| is_valid_flag_name(name))
        {
            let label = sources.label(Key::FeatureFlagName);
            return Err(invalid(
                Key::FeatureFlagName,
                &label,
                &config.feature_flag_names.join(","),
            ));
        }
        check_duration(
            sources,
            Key::FeatureFlagTimeout,
            config.feature_flag_timeout,
        )?;
        if let Some(endpoint) = config.endpoint.take() {
            let spelled = parse_endpoint(&endpoint)
                .ok_or_else(|| invalid(Key::Endpoint, &sources.label(Key::Endpoint), &endpoint))?;
            config.endpoint = Some(spelled);
        }
        if let Some(org_id) = config.org_id.take() {
            let spelled = parse_org_id(&org_id)
                .ok_or_else(|| invalid(Key::OrgId, &sources.label(Key::OrgId), &org_id))?;
            config.org_id = Some(spelled);
        }

        check_not_exceeding(
            sources,
            (Key::BatchSize, config.batch_size.to_string()),
            (Key::MaxQueueSize, config.max_queue_size.to_string()),
            config.batch_size <= config.max_queue_size,
        )?;
        check_not_exceeding(
            sources,
            (
                Key::RetryBaseDelay,
                render_duration(config.retry_base_delay),
            ),
            (Key::RetryMaxDelay, render_duration(config.retry_max_delay)),
            config.retry_base_delay <= config.retry_max_delay,
        )?;
        check_not_exceeding(
            sources,
            (
                Key::CircuitBreakerTimeout,
                render_duration(config.circuit_breaker_timeout),
            ),
            (
                Key::CircuitBreakerMaxOpen,
                render_duration(config.circuit_breaker_max_open),
            ),
            config.circuit_breaker_timeout <= config.circuit_breaker_max_open,
        )?;
        if let Some(endpoint) = &config.endpoint {
            if is_plain_http(endpoint) && !config.allow_insecure_http {
                return Err(ConfigError::Requires {
                    key: sources.label(Key::Endpoint),
                    value: endpoint.clone(),
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

/// Checks an integer setting against its key's range.
fn check_count<T>(sources: &Sources, key: Key, value: T) -> Result<(), ConfigError>
where
    T: Copy + ToString + TryInto<u64>,
{
    let in_range = value
        .try_into()
        .is_ok_and(|count| count_in_range(key, count));
    if in_range {
        Ok(())
    } else {
        Err(invalid(key, &sources.label(key), &value.to_string()))
    }
}

/// Checks a duration setting against its key's millisecond range.
fn check_duration(sources: &Sources, key: Key, value: Duration) -> Result<(), ConfigError> {
    if duration_in_range(key, value) {
        Ok(())
    } else {
        Err(invalid(key, &sources.label(key), &render_duration(value)))
    }
}

/// Fails with [`ConfigError::Exceeds`] naming both settings unless `holds`.
fn check_not_exceeding(
    sources: &Sources,
    (key, value): (Key, String),
    (limit_key, limit_value): (Key, String),
    holds: bool,
) -> Result<(), ConfigError> {
    if holds {
        Ok(())
    } else {
        Err(ConfigError::Exceeds {
            key: sources.label(key),
            value,
            limit_key: sources.label(limit_key),
            limit_value,
        })
    }
}
