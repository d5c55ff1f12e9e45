//! A close waits only while delivery can progress: over real loopback servers (a fake that
//! hangs, the local endpoint with faults, the healthy endpoint) and a manual clock that never
//! moves while the close runs.

use crate::http_support;

use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::clock::{Clock, ManualClock};
use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
use databricks_telemetry::unstable::{breaker, CircuitState};
use databricks_telemetry::{
    ClientIdentity, CloseResult, TelemetryClientHandle, TelemetryClientManager, TelemetryConfig,
};
use http_support::{
    eventually, exporter, fast_builder, logs, start_endpoint, FakeBehaviour, FakeServer, TOKEN,
    WAIT,
};

/// Close's own deadline in these tests: long, so a close that waited it out would be seen as
/// `TimedOut` (and a slow test), never as one of the early results.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// The lane's drain deadline (clock time): longer than anything the tests advance the clock by
/// before they want the lane to deliver.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(120);

/// One event per batch (sent at once), requests that outlast the test, a breaker that opens at
/// the first failure and stays open for a minute of clock time.
fn config() -> TelemetryConfig {
    fast_builder()
        .with_batch_size(1)
        .with_request_timeout(Duration::from_secs(30))
        .with_close_timeout(CLOSE_TIMEOUT)
        .with_circuit_breaker_threshold(1)
        .with_circuit_breaker_timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A manager on `clock` and one handle on the host at `addr`, authenticated with [`TOKEN`].
fn acquire(
    clock: &Arc<ManualClock>,
    addr: std::net::SocketAddr,
    config: &TelemetryConfig,
) -> (TelemetryClientManager, TelemetryClientHandle) {
    let manager = TelemetryClientManager::with_clock(Arc::clone(clock) as Arc<dyn Clock>);
    let exporter = exporter(addr, config);
    let handle = manager
        .acquire_with_credentials(
            "127.0.0.1",
            &ClientIdentity::new("close-stall"),
            Some(Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>),
            config,
            move |_| Box::new(exporter),
        )
        .unwrap();
    (manager, handle)
}

fn enqueue(handle: &TelemetryClientHandle, n: usize) {
    for log in logs(n) {
        handle.enqueue(log);
    }
}

#[test]
fn close_returns_at_once_while_the_hosts_request_hangs() {
    let clock = Arc::new(ManualClock::new());
    let server = FakeServer::start(FakeBehaviour::Hang);
    let (manager, handle) = acquire(&clock, server.addr(), &config());
    enqueue(&handle, 1);
    assert!(
        eventually(WAIT, || server.requests().len() == 1),
        "the worker sent its request"
    );
    // The request has been in flight for a second of clock time: stuck.
    clock.advance(Duration::from_secs(1));
    let before = clock.now();

    let outcome = handle.close(CLOSE_WAIT);

    assert_eq!(outcome.result, CloseResult::RequestStuck);
    assert!(outcome.result.is_stalled());
    assert_eq!(clock.now(), before, "the close needed no time to pass");
    assert_eq!(outcome.stats.pending, 1, "the event is still the lane's");
    assert!(outcome.stats.is_balanced(), "{:?}", outcome.stats);

    // The lane drains in the background: once the service is gone and the drain deadline
    // passed, what it held is counted.
    drop(server);
    clock.advance(CLOSE_TIMEOUT * 2);
    assert!(eventually(WAIT, || manager.lane_count() == 0));
    let stats = manager.stats();
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.exported, 0);
    assert_eq!(
        stats.dropped.closed_before_delivery + stats.dropped.export_failed,
        1,
        "{stats:?}"
    );
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn a_young_request_is_waited_for_and_delivers() {
    let clock = Arc::new(ManualClock::new());
    // Answers after a moment of real time; the manual clock never moves, so the request is never
    // old enough to be stuck.
    let server = FakeServer::start(FakeBehaviour::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"errors":[],"numProtoSuccess":1}"#.to_vec(),
        delay: Duration::from_millis(100),
    });
    let (manager, handle) = acquire(&clock, server.addr(), &config());
    enqueue(&handle, 1);
    assert!(eventually(WAIT, || server.requests().len() == 1));
    let before = clock.now();

    let outcome = handle.close(CLOSE_WAIT);

    assert_eq!(
        outcome.result,
        CloseResult::Completed,
        "{:?}",
        outcome.stats
    );
    assert_eq!(clock.now(), before);
    assert_eq!(outcome.stats.exported, 1);
    assert_eq!(outcome.stats.pending, 0);
    assert!(manager.stats().is_balanced());
}

#[test]
fn close_returns_at_once_while_the_breaker_is_open_and_the_lane_delivers_later() {
    let clock = Arc::new(ManualClock::new());
    let endpoint = start_endpoint();
    endpoint.set_fault("503".parse().unwrap());
    let (manager, handle) = acquire(&clock, endpoint.addr(), &config());
    enqueue(&handle, 1);
    assert!(
        eventually(WAIT, || breaker(&manager, "127.0.0.1")
            .is_some_and(|breaker| breaker.state == CircuitState::Open)),
        "the 503 opened the breaker"
    );
    let before = clock.now();

    let outcome = handle.close(CLOSE_WAIT);

    assert_eq!(outcome.result, CloseResult::BreakerOpen);
    assert_eq!(clock.now(), before, "the close needed no time to pass");
    assert_eq!(outcome.stats.pending, 1);
    assert!(outcome.stats.is_balanced(), "{:?}", outcome.stats);

    // The service recovers and the breaker's period ends within the lane's close timeout: the
    // lane, draining in the background, delivers.
    endpoint.clear_fault();
    clock.advance(Duration::from_secs(61));
    assert!(eventually(WAIT, || manager.lane_count() == 0));
    let stats = manager.stats();
    assert_eq!(stats.exported, 1, "{stats:?}");
    assert_eq!(stats.pending, 0);
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn a_later_close_of_a_shared_lane_returns_at_once_while_a_retry_is_pending() {
    let clock = Arc::new(ManualClock::new());
    let endpoint = start_endpoint();
    endpoint.set_fault("503".parse().unwrap());
    // No breaker: the failed batch waits for its retry (a backoff of clock time).
    let config = fast_builder()
        .with_batch_size(1)
        .with_close_timeout(CLOSE_TIMEOUT)
        .with_circuit_breaker_enabled(false)
        .with_retry_base_delay(Duration::from_secs(10))
        .with_retry_max_delay(Duration::from_secs(10))
        .build()
        .unwrap();
    let (manager, first) = acquire(&clock, endpoint.addr(), &config);
    let second = manager
        .acquire_with_credentials(
            "127.0.0.1",
            &ClientIdentity::new("close-stall"),
            Some(Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>),
            &config,
            |_| unreachable!("the host exists"),
        )
        .unwrap();
    assert!(first.shares_lane_with(&second));
    enqueue(&first, 1);
    assert!(
        eventually(WAIT, || endpoint.requests().len() == 1
            && manager.settle(Duration::from_millis(10))),
        "the first attempt failed and the batch waits"
    );

    // The retry is due in 10 s (clock time), after this close's deadline; a retry due before
    // it would be waited for.
    let outcome = first.close(Duration::from_secs(5));

    assert_eq!(outcome.result, CloseResult::RetryPending);
    assert_eq!(outcome.stats.pending, 1);
    assert!(outcome.stats.is_balanced());

    // The other connection keeps the lane; once the service answers, the retry delivers.
    endpoint.clear_fault();
    clock.advance(Duration::from_secs(11));
    assert!(eventually(WAIT, || manager.stats().exported == 1));
    assert_eq!(second.close(CLOSE_WAIT).result, CloseResult::Completed);
    let stats = manager.stats();
    assert_eq!(stats.exported, 1, "{stats:?}");
    assert!(stats.is_balanced());
}

#[test]
fn close_configured_waits_for_a_healthy_service_and_delivers_everything() {
    let clock = Arc::new(ManualClock::new());
    let endpoint = start_endpoint();
    let config = fast_builder()
        .with_batch_size(10)
        .with_close_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (manager, handle) = acquire(&clock, endpoint.addr(), &config);
    enqueue(&handle, 3);
    let before = clock.now();

    let outcome = handle.close_configured();

    assert_eq!(
        outcome.result,
        CloseResult::Completed,
        "{:?}",
        outcome.stats
    );
    assert_eq!(clock.now(), before);
    assert_eq!(outcome.stats.exported, 3);
    assert_eq!(outcome.stats.pending, 0);
    assert_eq!(endpoint.stats().logs_accepted, 3);
    assert!(manager.stats().is_balanced());
}

#[test]
fn shutdown_cuts_off_a_request_in_flight_at_the_lanes_close_deadline() {
    let clock = Arc::new(ManualClock::new());
    // Answers a byte every second: the request, begun with a five-minute timeout while the
    // connection was open, would outlast any test.
    let server = FakeServer::start(FakeBehaviour::Dribble {
        every: Duration::from_secs(1),
    });
    let config = fast_builder()
        .with_batch_size(1)
        .with_request_timeout(Duration::from_secs(300))
        .with_close_timeout(Duration::from_secs(1))
        .with_circuit_breaker_enabled(false)
        .build()
        .unwrap();
    let (manager, handle) = acquire(&clock, server.addr(), &config);
    enqueue(&handle, 1);
    assert!(
        eventually(WAIT, || server.requests().len() == 1),
        "the worker sent its request"
    );
    // The connection closes: the lane has a second (clock time) to drain, and that second and
    // the grace after it pass while the request is still in flight.
    handle.release();
    clock.advance(Duration::from_secs(3));

    // A shutdown that may take ten minutes: it must return at the lane's own close deadline.
    let (sender, receiver) = std::sync::mpsc::channel();
    let shutting = manager.clone();
    std::thread::spawn(move || {
        let _ = sender.send(shutting.shutdown(Duration::from_secs(600)));
    });
    let outcome = receiver
        .recv_timeout(WAIT)
        .expect("the shutdown returned at the lane's close deadline, not after its own timeout");

    assert_eq!(outcome.result, CloseResult::TimedOut);
    assert_eq!(outcome.stats.pending, 0, "{:?}", outcome.stats);
    assert_eq!(outcome.stats.exported, 0);
    assert_eq!(
        outcome.stats.dropped.closed_before_delivery, 1,
        "the batch in flight counts as closed before delivery: {:?}",
        outcome.stats
    );
    assert!(outcome.stats.is_balanced(), "{:?}", outcome.stats);
    drop(server);
    // The request's late end changes nothing.
    assert!(eventually(WAIT, || manager.lane_count() == 0));
    let stats = manager.stats();
    assert_eq!(stats.dropped.closed_before_delivery, 1, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}
