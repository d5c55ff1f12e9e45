//! A lane's and a host's own settings, and how a later acquirer's differing values are
//! reported. Which setting lives where is a column of the settings table
//! ([`Scope`](crate::config::Scope)); the differences compare every setting of the scope, so a
//! new one is reported without a line here.

use std::time::Duration;

use super::retry::RetryPolicy;
use crate::config::{Scope, ScopedValues, TelemetryConfig};
use crate::pipeline::breaker::{CircuitBreakerSettings, DEFAULT_INITIAL_OPEN_DURATION};
use crate::spool::SpoolSettings;

/// What an acquire brings to the pipeline from its configuration: the lane's and the host's
/// settings (applied when it creates them, compared otherwise) and the process-wide cap on
/// pending events (applied by the first acquire).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AcquireSettings {
    pub(crate) lane: LaneSettings,
    pub(crate) host: HostSettings,
    pub(crate) max_pending_events: usize,
}

impl AcquireSettings {
    pub(crate) fn from_config(config: &TelemetryConfig) -> Self {
        AcquireSettings {
            lane: LaneSettings::from_config(config),
            host: HostSettings::from_config(config),
            max_pending_events: config.max_pending_events(),
        }
    }
}

/// A lane's settings, from the configuration of the lane's first acquirer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LaneSettings {
    pub(crate) force_enabled: bool,
    pub(crate) batch_size: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) max_queue_size: usize,
    pub(crate) close_timeout: Duration,
    /// Where the lane's events wait on disk, when a `spool_dir` is set.
    pub(crate) spool: Option<SpoolSettings>,
    /// Every lane setting as given, for [`differences`](Self::differences).
    values: ScopedValues,
}

impl LaneSettings {
    pub(crate) fn from_config(config: &TelemetryConfig) -> Self {
        LaneSettings {
            force_enabled: config.force_enabled(),
            batch_size: config.batch_size(),
            flush_interval: config.flush_interval(),
            max_queue_size: config.max_queue_size(),
            close_timeout: config.close_timeout(),
            spool: config.spool_dir().map(|dir| SpoolSettings {
                dir: dir.into(),
                max_bytes: config.spool_max_bytes(),
                max_age: config.spool_max_age(),
            }),
            values: config.scoped(Scope::Lane),
        }
    }

    /// The option keys whose values in `other` differ from these.
    pub(crate) fn differences(&self, other: &LaneSettings) -> Vec<&'static str> {
        self.values.differences(&other.values)
    }
}

/// A host's settings, from the configuration of the host's first acquirer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostSettings {
    pub(crate) breaker: CircuitBreakerSettings,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_export_attempts: u32,
    pub(crate) feature_flag_timeout: Duration,
    /// Every host setting as given, for [`differences`](Self::differences).
    values: ScopedValues,
}

impl HostSettings {
    pub(crate) fn from_config(config: &TelemetryConfig) -> Self {
        HostSettings {
            // The pipeline's breaker: its open time starts at 1 s and grows to the timeout.
            breaker: CircuitBreakerSettings {
                enabled: config.circuit_breaker_enabled(),
                failure_threshold: config.circuit_breaker_threshold(),
                open_duration: config.circuit_breaker_timeout(),
                success_threshold: config.circuit_breaker_success_threshold(),
                max_open_duration: config.circuit_breaker_max_open(),
                initial_open_duration: Some(DEFAULT_INITIAL_OPEN_DURATION),
            },
            request_timeout: config.request_timeout(),
            retry: RetryPolicy::from_config(config),
            max_export_attempts: config.max_export_attempts(),
            feature_flag_timeout: config.feature_flag_timeout(),
            values: config.scoped(Scope::Host),
        }
    }

    /// The option keys whose values in `other` differ from these.
    pub(crate) fn differences(&self, other: &HostSettings) -> Vec<&'static str> {
        self.values.differences(&other.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_option_keys() {
        let a = TelemetryConfig::default();
        let b = TelemetryConfig::builder()
            .with_batch_size(10)
            .with_max_retries(1)
            .with_circuit_breaker_threshold(2)
            .build()
            .unwrap();
        let lane = LaneSettings::from_config(&a);
        assert_eq!(lane.differences(&lane), Vec::<&str>::new());
        assert_eq!(
            lane.differences(&LaneSettings::from_config(&b)),
            ["batch_size"]
        );
        assert_eq!(
            HostSettings::from_config(&a).differences(&HostSettings::from_config(&b)),
            ["max_retries", "circuit_breaker_threshold"]
        );
    }
}
