//! The pipeline's retries over real loopback HTTP, on a manual clock: when a failed batch is
//! sent again, how a `Retry-After` is honoured, and when a batch is given up. The exporter
//! makes one request per batch; the rule itself is in `pipeline/retry.rs` (with its unit tests).

use crate::http_support;

use std::time::Duration;

use databricks_telemetry::unstable::CircuitState;
use http_support::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One event per batch, no breaker (so the batch's own wait decides), and `fault` at the
/// endpoint.
fn setup(
    fault: &str,
    config: databricks_telemetry::TelemetryConfigBuilder,
) -> (telemetry_endpoint::TelemetryEndpoint, Clocked) {
    let endpoint = start_endpoint();
    endpoint.set_fault(fault.parse().unwrap());
    let config = config
        .with_batch_size(1)
        .with_circuit_breaker_enabled(false)
        .build()
        .unwrap();
    let clocked = Clocked::start(exporter(endpoint.addr(), &config), &config);
    (endpoint, clocked)
}

#[test]
fn retries_wait_no_longer_than_the_cap_and_stop_at_the_attempt_budget() {
    // Uncapped, a backoff from 40 ms would reach seconds within ten retries.
    let (endpoint, clocked) = setup(
        "500",
        fast_builder()
            .with_max_retries(10)
            .with_retry_base_delay(ms(40))
            .with_retry_max_delay(ms(40))
            .with_max_export_attempts(11),
    );
    clocked.enqueue(logs(1));
    assert_eq!(uploads(&endpoint).len(), 1);
    for step in 1..=10 {
        clocked.advance(ms(40));
        assert!(
            uploads(&endpoint).len() > step,
            "step {step}: a wait beyond the cap"
        );
    }
    assert_eq!(uploads(&endpoint).len(), 11, "the attempt budget");
    let stats = clocked.stats();
    assert_eq!(stats.dropped.export_failed, 1, "{stats:?}");
    assert_eq!((stats.batches_sent, stats.batches_failed), (11, 11));
    assert!(stats.is_balanced(), "{stats:?}");
    clocked.advance(Duration::from_secs(60));
    assert_eq!(uploads(&endpoint).len(), 11, "nothing after giving up");
}

#[test]
fn after_the_quick_retries_a_batch_is_sent_once_per_max_delay() {
    // No quick retries at all: every wait is exactly retry_max_delay.
    let (endpoint, clocked) = setup(
        "500",
        fast_builder()
            .with_max_retries(0)
            .with_retry_max_delay(ms(5))
            .with_max_export_attempts(3),
    );
    clocked.enqueue(logs(1));
    assert_eq!(uploads(&endpoint).len(), 1);
    clocked.advance(ms(4));
    assert_eq!(uploads(&endpoint).len(), 1, "before retry_max_delay");
    clocked.advance(ms(1));
    assert_eq!(uploads(&endpoint).len(), 2);
    clocked.advance(ms(5));
    assert_eq!(uploads(&endpoint).len(), 3);
    let stats = clocked.stats();
    assert_eq!(stats.dropped.export_failed, 1, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn five_hundreds_then_success_delivers_once() {
    let (endpoint, clocked) = setup("500*2", fast_builder());
    clocked.enqueue(logs(1));
    for _ in 0..2 {
        clocked.advance(ms(5)); // fast_config's retry_max_delay: every backoff is over
    }
    assert_eq!(uploads(&endpoint).len(), 3);
    assert_eq!(endpoint.stats().logs_accepted, 1);
    let stats = clocked.stats();
    assert_eq!((stats.exported, stats.pending), (1, 0), "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn a_retry_after_is_waited_then_retried() {
    let (endpoint, clocked) = setup("503:retry-after=1*1", fast_builder());
    clocked.enqueue(logs(1));
    assert_eq!(uploads(&endpoint).len(), 1);
    clocked.advance(ms(999));
    assert_eq!(
        uploads(&endpoint).len(),
        1,
        "no request inside the second asked for"
    );
    clocked.advance(ms(1));
    assert_eq!(uploads(&endpoint).len(), 2);
    let stats = clocked.stats();
    assert_eq!(
        stats.exported, 1,
        "the retry after the wait succeeds: {stats:?}"
    );
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn a_429_retry_after_beyond_retry_max_delay_is_still_waited() {
    // retry_max_delay caps the backoff, not what the service asked for.
    let (endpoint, clocked) = setup(
        "429:retry-after=30*1",
        fast_builder().with_retry_max_delay(ms(300)),
    );
    clocked.enqueue(logs(1));
    clocked.advance(ms(29_999));
    assert_eq!(uploads(&endpoint).len(), 1, "no request inside the 30 s");
    clocked.advance(ms(1));
    assert_eq!(uploads(&endpoint).len(), 2);
    let stats = clocked.stats();
    assert_eq!(stats.exported, 1, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn a_retry_after_is_honoured_up_to_circuit_breaker_max_open() {
    // A day asked for; ten seconds honoured.
    let (endpoint, clocked) = setup(
        "503:retry-after=86400*1",
        fast_builder()
            .with_circuit_breaker_timeout(Duration::from_secs(5))
            .with_circuit_breaker_max_open(Duration::from_secs(10)),
    );
    clocked.enqueue(logs(1));
    clocked.advance(ms(9_999));
    assert_eq!(uploads(&endpoint).len(), 1);
    clocked.advance(ms(1));
    assert_eq!(uploads(&endpoint).len(), 2);
    assert_eq!(clocked.stats().exported, 1);
    assert!(clocked.stats().is_balanced());
}

#[test]
fn a_retry_after_holds_the_breaker_as_long_as_the_batch() {
    // With the breaker: the Retry-After opens it at once, for the same 5 s the batch waits
    // (longer than its own first open period of about 1 s); then one probe delivers.
    let endpoint = start_endpoint();
    endpoint.set_fault("429:retry-after=5*1".parse().unwrap());
    let config = fast_builder().with_batch_size(1).build().unwrap();
    let clocked = Clocked::start(exporter(endpoint.addr(), &config), &config);
    let breaker =
        || databricks_telemetry::unstable::breaker(clocked.client.manager(), "127.0.0.1").unwrap();
    clocked.enqueue(logs(1));
    assert_eq!(breaker().state, CircuitState::Open);
    clocked.advance(ms(4_999));
    assert_eq!(uploads(&endpoint).len(), 1);
    clocked.advance(ms(1));
    assert_eq!(uploads(&endpoint).len(), 2);
    assert_eq!(breaker().state, CircuitState::Closed);
    let stats = clocked.stats();
    assert_eq!(stats.exported, 1, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn one_attempt_means_one_request() {
    let (endpoint, clocked) = setup("500", fast_builder().with_max_export_attempts(1));
    clocked.enqueue(logs(1));
    clocked.advance(Duration::from_secs(60));
    assert_eq!(uploads(&endpoint).len(), 1);
    let stats = clocked.stats();
    assert_eq!(stats.dropped.export_failed, 1, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}
