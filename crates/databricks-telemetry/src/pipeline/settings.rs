//! Which settings belong to a lane and which to a host, and how a later acquirer's differing
//! values are reported.

use std::time::Duration;

use super::retry::RetryPolicy;
use crate::breaker::CircuitBreakerSettings;
use crate::config::TelemetryConfig;

/// A lane's settings, from the configuration of the lane's first acquirer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LaneSettings {
    pub(crate) force_enabled: bool,
    pub(crate) batch_size: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) max_queue_size: usize,
    pub(crate) close_timeout: Duration,
}

impl LaneSettings {
    pub(crate) fn from_config(config: &TelemetryConfig) -> Self {
        LaneSettings {
            force_enabled: config.force_enabled(),
            batch_size: config.batch_size(),
            flush_interval: config.flush_interval(),
            max_queue_size: config.max_queue_size(),
            close_timeout: config.close_timeout(),
        }
    }

    /// The option keys whose values in `other` differ from these.
    pub(crate) fn differences(&self, other: &LaneSettings) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut check = |differs: bool, key: &'static str| {
            if differs {
                keys.push(key);
            }
        };
        check(self.force_enabled != other.force_enabled, "force_enabled");
        check(self.batch_size != other.batch_size, "batch_size");
        check(
            self.flush_interval != other.flush_interval,
            "flush_interval_ms",
        );
        check(
            self.max_queue_size != other.max_queue_size,
            "max_queue_size",
        );
        check(
            self.close_timeout != other.close_timeout,
            "close_timeout_ms",
        );
        keys
    }
}

/// A host's settings, from the configuration of the host's first acquirer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HostSettings {
    pub(crate) breaker: CircuitBreakerSettings,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_export_attempts: u32,
    pub(crate) feature_flag_timeout: Duration,
}

impl HostSettings {
    pub(crate) fn from_config(config: &TelemetryConfig) -> Self {
        HostSettings {
            breaker: CircuitBreakerSettings::from_config(config),
            request_timeout: config.request_timeout(),
            retry: RetryPolicy::from_config(config),
            max_export_attempts: config.max_export_attempts(),
            feature_flag_timeout: config.feature_flag_timeout(),
        }
    }

    /// The option keys whose values in `other` differ from these.
    pub(crate) fn differences(&self, other: &HostSettings) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut check = |differs: bool, key: &'static str| {
            if differs {
                keys.push(key);
            }
        };
        let (a, b) = (&self.breaker, &other.breaker);
        check(a.enabled != b.enabled, "circuit_breaker_enabled");
        check(
            a.failure_threshold != b.failure_threshold,
            "circuit_breaker_threshold",
        );
        check(
            a.open_duration != b.open_duration,
            "circuit_breaker_timeout_ms",
        );
        check(
            a.success_threshold != b.success_threshold,
            "circuit_breaker_success_threshold",
        );
        check(
            a.max_open_duration != b.max_open_duration,
            "circuit_breaker_max_open_ms",
        );
        check(
            self.request_timeout != other.request_timeout,
            "request_timeout_ms",
        );
        check(
            self.retry.max_retries != other.retry.max_retries,
            "max_retries",
        );
        check(
            self.retry.base_delay != other.retry.base_delay,
            "retry_base_delay_ms",
        );
        check(
            self.retry.max_delay != other.retry.max_delay,
            "retry_max_delay_ms",
        );
        check(
            self.max_export_attempts != other.max_export_attempts,
            "max_export_attempts",
        );
        check(
            self.feature_flag_timeout != other.feature_flag_timeout,
            "feature_flag_timeout_ms",
        );
        keys
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
            ["circuit_breaker_threshold", "max_retries"]
        );
    }
}
