//! The retry policy: the backoff as a pure function of its random draw, and the waits an
//! exporter really makes.

mod http_support;

use std::time::{Duration, Instant};

use databricks_telemetry::{
    export::{ExportOutcome, Exporter, FailureKind},
    unstable::RetryPolicy,
};
use http_support::*;
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
    assert_eq!(
        huge.ceiling(40),
        Duration::MAX,
        "saturates instead of overflowing"
    );
}

#[test]
fn full_jitter_scales_the_ceiling_by_the_draw() {
    let p = policy(100, 1000);
    assert_eq!(p.backoff(0, None, 0.0), Duration::ZERO);
    assert_eq!(p.backoff(0, None, 0.25), ms(25));
    assert_eq!(p.backoff(1, None, 0.5), ms(100));
    assert_eq!(p.backoff(3, None, 1.0), ms(800));
    assert_eq!(p.backoff(5, None, 1.0), ms(1000));
    // Out-of-range draws are clamped.
    assert_eq!(p.backoff(1, None, 7.0), ms(200));
    assert_eq!(p.backoff(1, None, -1.0), Duration::ZERO);
    assert_eq!(p.backoff(1, None, f64::NAN), Duration::ZERO);
}

#[test]
fn retry_after_sets_a_floor_capped_at_the_maximum() {
    let p = policy(100, 1000);
    assert_eq!(p.backoff(0, Some(ms(300)), 0.0), ms(300));
    assert_eq!(
        p.backoff(0, Some(ms(300)), 1.0),
        ms(300),
        "above the jittered 100"
    );
    assert_eq!(
        p.backoff(3, Some(ms(300)), 1.0),
        ms(800),
        "the backoff is longer"
    );
    assert_eq!(p.backoff(0, Some(Duration::from_secs(3600)), 0.0), ms(1000));
    assert_eq!(p.backoff(0, Some(Duration::ZERO), 0.5), ms(50));
}

#[test]
fn the_policy_comes_from_the_configuration() {
    let config = fast_builder()
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
    assert_eq!(
        databricks_telemetry::unstable::retry_policy(&exporter(closed_port(), &config, false)),
        RetryPolicy::from_config(&config)
    );
}

proptest! {
    #[test]
    fn a_delay_never_exceeds_the_cap_and_honours_retry_after(
        base in 1u64..10_000,
        extra in 0u64..100_000,
        retry in 0u32..64,
        unit in 0.0f64..=1.0,
        retry_after in proptest::option::of(0u64..1_000_000),
    ) {
        let p = policy(base, base + extra);
        let retry_after = retry_after.map(ms);
        let delay = p.backoff(retry, retry_after, unit);
        prop_assert!(delay <= p.max_delay);
        prop_assert!(delay <= p.ceiling(retry).max(retry_after.unwrap_or_default().min(p.max_delay)));
        if let Some(asked) = retry_after {
            prop_assert!(delay >= asked.min(p.max_delay));
        }
    }

    #[test]
    fn a_larger_draw_never_waits_less(
        retry in 0u32..20,
        a in 0.0f64..=1.0,
        b in 0.0f64..=1.0,
    ) {
        let p = policy(10, 5_000);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(p.backoff(retry, None, low) <= p.backoff(retry, None, high));
    }
}

#[test]
fn retries_wait_no_longer_than_the_cap() {
    let endpoint = start_endpoint();
    endpoint.set_fault("500".parse().unwrap());
    let config = fast_builder()
        .with_max_retries(10)
        .with_retry_base_delay(ms(40))
        .with_retry_max_delay(ms(40))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = exporter(endpoint.addr(), &config, true).export(&logs(1), None);
    let took = started.elapsed();
    assert_eq!(outcome.failure().unwrap().kind, FailureKind::Retryable);
    assert_eq!(uploads(&endpoint).len(), 11);
    // Ten waits of at most 40 ms; uncapped, the backoff from 40 ms would reach seconds.
    assert!(took < ms(10 * 40 + 400), "{took:?}");
}

#[test]
fn retry_after_within_the_cap_is_waited_then_retried() {
    let endpoint = start_endpoint();
    endpoint.set_fault("503:retry-after=1*1".parse().unwrap());
    let config = fast_builder()
        .with_max_retries(1)
        .with_retry_max_delay(ms(2000))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = exporter(endpoint.addr(), &config, true).export(&logs(1), None);
    let took = started.elapsed();
    assert_eq!(
        outcome,
        ExportOutcome::Delivered,
        "the retry after the wait succeeds"
    );
    assert_eq!(uploads(&endpoint).len(), 2);
    assert!(took >= ms(1000), "waited the Retry-After: {took:?}");
}

#[test]
fn retry_after_beyond_the_cap_is_not_retried_early() {
    let endpoint = start_endpoint();
    endpoint.set_fault("503:retry-after=30*1".parse().unwrap());
    let config = fast_builder()
        .with_max_retries(3)
        .with_retry_max_delay(ms(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = exporter(endpoint.addr(), &config, true).export(&logs(1), None);
    assert_eq!(
        outcome.failure().map(|f| f.kind),
        Some(FailureKind::Throttled {
            retry_after: Some(Duration::from_secs(30))
        }),
        "{outcome:?}"
    );
    assert_eq!(
        uploads(&endpoint).len(),
        1,
        "no request inside the 30 s asked for"
    );
    assert!(started.elapsed() < ms(1000), "{:?}", started.elapsed());
}

#[test]
fn zero_retries_means_one_request() {
    let endpoint = start_endpoint();
    endpoint.set_fault("500".parse().unwrap());
    let config = fast_builder().with_max_retries(0).build().unwrap();
    let outcome = exporter(endpoint.addr(), &config, true).export(&logs(1), None);
    assert!(matches!(outcome, ExportOutcome::Failed(_)));
    assert_eq!(uploads(&endpoint).len(), 1);
}
