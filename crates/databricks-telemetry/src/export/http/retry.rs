//! [`RetryPolicy`]: how many times a failed export is retried, and how long to wait between.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::config::TelemetryConfig;

/// How failed exports are retried: at most `max_retries` times, after an exponential backoff
/// with full jitter, never longer than `max_delay`.
///
/// Retry `n` (0 for the first retry) waits a uniformly random time in
/// `[0, min(max_delay, base_delay * 2^n)]`. When the service sent `Retry-After`, the wait is at
/// least that long, capped at `max_delay`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use databricks_telemetry::unstable::RetryPolicy;
///
/// let policy = RetryPolicy {
///     max_retries: 3,
///     base_delay: Duration::from_millis(100),
///     max_delay: Duration::from_secs(1),
/// };
/// // `unit` is the random draw in [0, 1]: 1 gives the ceiling, 0.5 half of it.
/// assert_eq!(policy.backoff(0, None, 1.0), Duration::from_millis(100));
/// assert_eq!(policy.backoff(2, None, 0.5), Duration::from_millis(200));
/// assert_eq!(policy.backoff(9, None, 1.0), Duration::from_secs(1)); // capped
/// // Retry-After is honoured, capped at max_delay.
/// assert_eq!(policy.backoff(0, Some(Duration::from_millis(700)), 0.0), Duration::from_millis(700));
/// assert_eq!(policy.backoff(0, Some(Duration::from_secs(30)), 0.0), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The ceiling of the first retry's delay.
    pub base_delay: Duration,
    /// The cap on every delay, `Retry-After` included.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The configuration's `max_retries`, `retry_base_delay_ms` and `retry_max_delay_ms`.
    pub fn from_config(config: &TelemetryConfig) -> Self {
        RetryPolicy {
            max_retries: config.max_retries(),
            base_delay: config.retry_base_delay(),
            max_delay: config.retry_max_delay(),
        }
    }

    /// The delay before retry number `retry` (0 for the first), given the service's
    /// `Retry-After` (if any) and a random draw `unit` in `[0, 1]` (values outside are clamped).
    ///
    /// A pure function: the caller supplies the randomness.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let ceiling = self.ceiling(retry);
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        let jittered = ceiling.mul_f64(unit).min(ceiling);
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_delay)),
            None => jittered,
        }
    }

    /// `min(max_delay, base_delay * 2^retry)`, without overflow.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }
}

/// A uniformly distributed number in `[0, 1)` for jitter. Each `RandomState` is seeded from the
/// operating system once per thread and then advanced, so consecutive draws differ; that is
/// plenty for spreading retries, and needs no dependency.
pub(crate) fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    // The top 53 bits make an exactly representable fraction.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_draws_are_fractions_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let first = draws[0];
        assert!(draws.iter().any(|&d| d != first), "{draws:?}");
    }
}
