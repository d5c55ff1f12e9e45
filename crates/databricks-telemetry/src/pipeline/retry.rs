//! The one retry rule: whether a batch whose send failed is sent again, when, and how a
//! service's `Retry-After` is honoured.
//!
//! This is the only place that decides on retries. An [`Exporter`](crate::export::Exporter)
//! makes one attempt and says what its answer means; the worker asks [`after_failure`] what to
//! do with the batch and puts it back on its lane (or drops it). The host's circuit breaker does
//! not decide on retries: it stops every send to a host for a while, and how long a
//! `Retry-After` holds it open is [`retry_after_hold`], the same rule as here.
//!
//! The rule, for a batch that has now been sent `attempts` times and failed in a way worth
//! trying again (a retryable failure, a throttled answer, a credentials provider error):
//!
//! 1. After `max_export_attempts` sends it is given up (dropped, and counted).
//! 2. Otherwise it waits before the next send: for the first `max_retries` retries an
//!    exponential backoff with full jitter (retry `n`, from 0, waits a random time in
//!    `[0, min(retry_max_delay, retry_base_delay * 2^n)]`); after those quick retries, one send
//!    per `retry_max_delay`.
//! 3. A `Retry-After` the service sent is a floor on that wait: the batch waits at least
//!    [`retry_after_hold`], what the service asked for, capped at `circuit_breaker_max_open_ms`
//!    (it may be longer than `retry_max_delay`: the service is not asked again before it said).
//!
//! While the host's breaker is open or half-open, its schedule, not this wait, says when a held
//! batch is sent (see the worker); each such send still counts against `max_export_attempts`.

use std::time::Duration;

use crate::config::TelemetryConfig;
use crate::export::FailureKind;

/// The backoff between quick retries: `max_retries` of them, each waiting a random time up to
/// `base_delay * 2^n`, never longer than `max_delay` (then one send per `max_delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Quick retries after the first send (`max_retries`).
    pub(crate) max_retries: u32,
    /// The ceiling of the first retry's delay (`retry_base_delay_ms`).
    pub(crate) base_delay: Duration,
    /// The cap on every backoff, and the wait between sends once the quick retries are used
    /// (`retry_max_delay_ms`).
    pub(crate) max_delay: Duration,
}

impl RetryPolicy {
    /// The configuration's `max_retries`, `retry_base_delay_ms` and `retry_max_delay_ms`.
    pub(crate) fn from_config(config: &TelemetryConfig) -> Self {
        RetryPolicy {
            max_retries: config.max_retries(),
            base_delay: config.retry_base_delay(),
            max_delay: config.retry_max_delay(),
        }
    }

    /// `min(max_delay, base_delay * 2^retry)`, without overflow.
    pub(crate) fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }

    /// The delay before quick retry number `retry` (0 for the first), given a random draw
    /// `unit` in `[0, 1]` (values outside are clamped, NaN is 0): full jitter over
    /// [`ceiling`](Self::ceiling).
    pub(crate) fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(retry);
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        ceiling.mul_f64(unit).min(ceiling)
    }
}

/// Whether an upload that failed this way is sent again: a retryable failure or a throttled
/// answer is; a refused batch or refused credentials are not (the batch is dropped and counted).
/// A credentials provider that fails is also retried: the worker sends nothing then, and calls
/// [`after_failure`] directly.
pub(crate) fn is_worth_retrying(kind: FailureKind) -> bool {
    match kind {
        FailureKind::Retryable | FailureKind::Throttled { .. } => true,
        FailureKind::NotRetryable | FailureKind::Credentials => false,
    }
}

/// What becomes of a batch whose send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryDecision {
    /// Send it again, no sooner than this long from now.
    RetryIn(Duration),
    /// It has used its `max_export_attempts`: drop it.
    GiveUp,
}

/// Everything [`after_failure`] needs from a host's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryLimits {
    /// The backoff of the quick retries.
    pub(crate) policy: RetryPolicy,
    /// Sends of one batch before it is dropped (`max_export_attempts`).
    pub(crate) max_export_attempts: u32,
    /// The longest a `Retry-After` is honoured (`circuit_breaker_max_open_ms`).
    pub(crate) retry_after_cap: Duration,
}

/// The rule (see the module docs): what to do with a batch sent `attempts` times (at least 1),
/// the last time answered with `retry_after` (if the service said), given a random draw `unit`
/// in `[0, 1]` for the jitter.
pub(crate) fn after_failure(
    limits: &RetryLimits,
    attempts: u32,
    retry_after: Option<Duration>,
    unit: f64,
) -> RetryDecision {
    if attempts >= limits.max_export_attempts {
        return RetryDecision::GiveUp;
    }
    let retry = attempts.saturating_sub(1);
    let delay = if retry >= limits.policy.max_retries {
        // The quick retries are used up: from now on, one send per `retry_max_delay` (the
        // breaker, when enabled, usually holds the host by then).
        limits.policy.max_delay
    } else {
        limits.policy.backoff(retry, unit)
    };
    let delay = match retry_after {
        Some(asked) => delay.max(retry_after_hold(asked, limits.retry_after_cap)),
        None => delay,
    };
    RetryDecision::RetryIn(delay)
}

/// The one `Retry-After` rule: the service asked for `asked` of quiet, and gets it, up to `cap`
/// (`circuit_breaker_max_open_ms`), so a wrong or hostile value cannot silence a host for long.
/// A held batch waits at least this long; a breaker opened by such an answer stays open at
/// least this long.
pub(crate) fn retry_after_hold(asked: Duration, cap: Duration) -> Duration {
    asked.min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn policy(base: u64, max: u64) -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: ms(base),
            max_delay: ms(max),
        }
    }

    fn limits(attempts: u32, cap: u64) -> RetryLimits {
        RetryLimits {
            policy: policy(100, 1000),
            max_export_attempts: attempts,
            retry_after_cap: ms(cap),
        }
    }

    #[test]
    fn the_ceiling_doubles_from_the_base_and_stops_at_the_cap() {
        let p = policy(100, 1000);
        let ceilings: Vec<Duration> = (0..6).map(|n| p.ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(p.ceiling(u32::MAX), ms(1000), "no overflow");
        let huge = RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_secs(u64::MAX / 2),
            max_delay: Duration::MAX,
        };
        assert_eq!(huge.ceiling(40), Duration::MAX, "saturates");
    }

    #[test]
    fn full_jitter_scales_the_ceiling_by_the_draw() {
        let p = policy(100, 1000);
        assert_eq!(p.backoff(0, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(0, 0.25), ms(25));
        assert_eq!(p.backoff(1, 0.5), ms(100));
        assert_eq!(p.backoff(3, 1.0), ms(800));
        assert_eq!(p.backoff(5, 1.0), ms(1000));
        // Out-of-range draws are clamped.
        assert_eq!(p.backoff(1, 7.0), ms(200));
        assert_eq!(p.backoff(1, -1.0), Duration::ZERO);
        assert_eq!(p.backoff(1, f64::NAN), Duration::ZERO);
    }

    #[test]
    fn the_policy_comes_from_the_configuration() {
        let config = TelemetryConfig::builder()
            .with_max_retries(4)
            .with_retry_base_delay(ms(7))
            .with_retry_max_delay(ms(70))
            .build()
            .unwrap();
        assert_eq!(
            RetryPolicy::from_config(&config),
            RetryPolicy {
                max_retries: 4,
                base_delay: ms(7),
                max_delay: ms(70),
            }
        );
    }

    #[test]
    fn quick_retries_back_off_then_one_send_per_max_delay() {
        let l = limits(25, 600_000);
        let waits: Vec<RetryDecision> = (1..=6).map(|n| after_failure(&l, n, None, 1.0)).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 1000, 1000, 1000].map(|n| RetryDecision::RetryIn(ms(n)))
        );
    }

    #[test]
    fn only_retryable_and_throttled_failures_are_sent_again() {
        assert!(is_worth_retrying(FailureKind::Retryable));
        assert!(is_worth_retrying(FailureKind::Throttled {
            retry_after: None
        }));
        assert!(is_worth_retrying(FailureKind::Throttled {
            retry_after: Some(ms(1))
        }));
        assert!(!is_worth_retrying(FailureKind::NotRetryable));
        assert!(!is_worth_retrying(FailureKind::Credentials));
    }

    #[test]
    fn the_attempt_budget_gives_up() {
        let l = limits(3, 600_000);
        assert_eq!(
            after_failure(&l, 2, None, 0.5),
            RetryDecision::RetryIn(ms(100))
        );
        assert_eq!(after_failure(&l, 3, None, 0.5), RetryDecision::GiveUp);
        assert_eq!(
            after_failure(&l, 3, Some(ms(1)), 0.5),
            RetryDecision::GiveUp
        );
        assert_eq!(
            after_failure(&limits(1, 1), 1, None, 0.0),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_a_floor_beyond_the_backoff_up_to_its_cap() {
        let l = limits(25, 30_000);
        // Above the jittered backoff, and above retry_max_delay (1 s) too.
        assert_eq!(
            after_failure(&l, 1, Some(ms(300)), 1.0),
            RetryDecision::RetryIn(ms(300))
        );
        assert_eq!(
            after_failure(&l, 1, Some(ms(5000)), 0.0),
            RetryDecision::RetryIn(ms(5000))
        );
        // The backoff is longer.
        assert_eq!(
            after_failure(&l, 3, Some(ms(300)), 1.0),
            RetryDecision::RetryIn(ms(400))
        );
        // Capped.
        assert_eq!(
            after_failure(&l, 1, Some(Duration::from_secs(86_400)), 0.0),
            RetryDecision::RetryIn(ms(30_000))
        );
        assert_eq!(
            after_failure(&l, 1, Some(Duration::ZERO), 0.5),
            RetryDecision::RetryIn(ms(50))
        );
    }

    proptest! {
        #[test]
        fn a_wait_stays_within_its_bounds(
            base in 1u64..10_000,
            extra in 0u64..100_000,
            attempts in 1u32..64,
            unit in 0.0f64..=1.0,
            retry_after in proptest::option::of(0u64..1_000_000),
            cap in 1u64..1_000_000,
        ) {
            let l = RetryLimits {
                policy: policy(base, base + extra),
                max_export_attempts: 64,
                retry_after_cap: ms(cap),
            };
            let retry_after = retry_after.map(ms);
            let RetryDecision::RetryIn(delay) = after_failure(&l, attempts, retry_after, unit) else {
                return Err(TestCaseError::fail("gave up within the budget"));
            };
            let hold = retry_after.map_or(Duration::ZERO, |asked| asked.min(ms(cap)));
            prop_assert!(delay <= l.policy.max_delay.max(hold));
            prop_assert!(delay >= hold);
        }

        #[test]
        fn a_larger_draw_never_waits_less(
            retry in 0u32..20,
            a in 0.0f64..=1.0,
            b in 0.0f64..=1.0,
        ) {
            let p = policy(10, 5_000);
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(p.backoff(retry, low) <= p.backoff(retry, high));
        }
    }
}
