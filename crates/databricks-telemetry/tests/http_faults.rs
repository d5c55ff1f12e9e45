//! The fault matrix over real loopback HTTP: for each fault, the outcome, how many requests
//! were made (retried or not), the client's accounting, the breaker, and that credentials never
//! follow a redirect.

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::breaker::{CircuitBreakerSettings, CircuitState};
use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::export::{
    CircuitBreakerExporter, ExportOutcome, Exporter, FailureKind, HostCircuitBreaker,
};
use databricks_telemetry::{CloseResult, FlushResult, TelemetryClient};
use http_support::*;
use telemetry_endpoint::TelemetryEndpoint;

/// Attempts per export with [`fast_config`]: one and two retries.
const ATTEMPTS: usize = 3;

/// What an export should come to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Delivered,
    Partial(usize),
    Failed(FailureKind, &'static str),
}

/// Where the requests go, and how to count them.
enum Target {
    Endpoint(TelemetryEndpoint),
    Fake(FakeServer),
    Refused(SocketAddr),
}

impl Target {
    fn endpoint(fault: &str) -> Self {
        let endpoint = start_endpoint();
        endpoint.set_fault(fault.parse().unwrap());
        Target::Endpoint(endpoint)
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Target::Endpoint(e) => e.addr(),
            Target::Fake(f) => f.addr(),
            Target::Refused(addr) => *addr,
        }
    }

    /// Upload requests received; `None` when they cannot be counted (refused connections).
    fn requests(&self) -> Option<usize> {
        match self {
            Target::Endpoint(e) => Some(uploads(e).len()),
            Target::Fake(f) => Some(f.requests().len()),
            Target::Refused(_) => None,
        }
    }
}

fn check_outcome(outcome: &ExportOutcome, expect: Expect) {
    match expect {
        Expect::Delivered => assert_eq!(*outcome, ExportOutcome::Delivered),
        Expect::Partial(delivered) => assert!(
            matches!(outcome, ExportOutcome::PartiallyDelivered { delivered: d, failure }
                if *d == delivered && failure.kind == FailureKind::NotRetryable),
            "{outcome:?}"
        ),
        Expect::Failed(kind, reason) => {
            let failure = outcome.failure().unwrap_or_else(|| panic!("{outcome:?}"));
            assert!(matches!(outcome, ExportOutcome::Failed(_)), "{outcome:?}");
            assert_eq!(failure.kind, kind, "{outcome:?}");
            assert!(failure.reason.contains(reason), "{outcome:?}");
        }
    }
}

/// Runs one row of the matrix: a direct export, then three batches through a client whose
/// breaker opens after two failures.
fn run_case(target: Target, expect: Expect, attempts: usize) {
    let config = fast_builder().with_batch_size(2).build().unwrap();

    // 1. One export: the outcome, and retried or not.
    let started = Instant::now();
    let outcome = exporter(target.addr(), &config, true).export(&logs(2), None);
    check_outcome(&outcome, expect);
    assert!(started.elapsed() < WAIT / 2, "{:?}", started.elapsed());
    if let Some(requests) = target.requests() {
        assert_eq!(requests, attempts, "requests for one export");
    }

    // 2. Through a client with a breaker: accounting and breaker state.
    let settings = CircuitBreakerSettings {
        failure_threshold: 2,
        ..CircuitBreakerSettings::default()
    };
    let breaker = Arc::new(HostCircuitBreaker::new(
        settings,
        Arc::new(ManualClock::new()),
    ));
    let gated =
        CircuitBreakerExporter::new(exporter(target.addr(), &config, true), breaker.clone());
    let client = TelemetryClient::new(&config, gated).unwrap();
    for batch in logs(6).chunks(2) {
        for log in batch {
            client.enqueue(log.clone());
        }
        assert_eq!(client.flush(WAIT), FlushResult::Completed);
    }
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    let stats = client.stats();
    assert_eq!(stats.enqueued, 6, "{stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
    let snapshot = breaker.snapshot();
    match expect {
        Expect::Delivered => {
            assert_eq!(stats.exported, 6, "{stats:?}");
            assert_eq!(snapshot.state, CircuitState::Closed, "{snapshot:?}");
            if let Some(requests) = target.requests() {
                assert_eq!(requests, attempts + 3 * attempts);
            }
        }
        Expect::Partial(delivered) => {
            assert_eq!(stats.exported, 3 * delivered as u64, "{stats:?}");
            assert_eq!(
                stats.dropped.export_failed,
                3 * (2 - delivered) as u64,
                "{stats:?}"
            );
            assert_eq!(
                snapshot.state,
                CircuitState::Closed,
                "the service answered: {snapshot:?}"
            );
        }
        Expect::Failed(FailureKind::Credentials, _) => {
            // Refused credentials say nothing about the host: every batch is tried, the breaker
            // stays closed.
            assert_eq!(stats.exported, 0, "{stats:?}");
            assert_eq!(stats.dropped.export_failed, 6, "{stats:?}");
            assert_eq!(stats.dropped.circuit_open, 0, "{stats:?}");
            assert_eq!(snapshot.state, CircuitState::Closed, "{snapshot:?}");
            assert_eq!(snapshot.opened, 0);
            if let Some(requests) = target.requests() {
                assert_eq!(requests, 4 * attempts, "each batch once, none retried");
            }
        }
        Expect::Failed(kind, _) => {
            // A Retry-After opens the breaker at once; other failures after the threshold (2).
            let failed_batches = match kind {
                FailureKind::Throttled {
                    retry_after: Some(_),
                } => 1,
                _ => 2,
            };
            assert_eq!(stats.exported, 0, "{stats:?}");
            assert_eq!(stats.dropped.export_failed, 2 * failed_batches, "{stats:?}");
            assert_eq!(
                stats.dropped.circuit_open,
                6 - 2 * failed_batches,
                "{stats:?}"
            );
            assert_eq!(stats.batches_sent, failed_batches, "{stats:?}");
            assert_eq!(snapshot.state, CircuitState::Open, "{snapshot:?}");
            assert_eq!(snapshot.opened, 1);
            assert_eq!(snapshot.rejected_batches, 3 - failed_batches);
            if let Some(requests) = target.requests() {
                assert_eq!(
                    requests as u64,
                    (1 + failed_batches) * attempts as u64,
                    "the open breaker sent nothing"
                );
            }
        }
    }
}

fn retryable(reason: &'static str) -> Expect {
    Expect::Failed(FailureKind::Retryable, reason)
}

fn not_retryable(reason: &'static str) -> Expect {
    Expect::Failed(FailureKind::NotRetryable, reason)
}

fn throttled(retry_after: Option<u64>) -> Expect {
    Expect::Failed(
        FailureKind::Throttled {
            retry_after: retry_after.map(Duration::from_secs),
        },
        "HTTP",
    )
}

#[test]
fn status_500_is_retried() {
    run_case(Target::endpoint("500"), retryable("HTTP 500"), ATTEMPTS);
}

#[test]
fn statuses_408_502_504_are_retried() {
    for status in ["408", "502", "504"] {
        run_case(Target::endpoint(status), retryable(status), ATTEMPTS);
    }
}

/// The service asks for 2 s of quiet, more than a retry may wait here (5 ms): one request, and
/// the breaker holds the host (retries within the cap: `http_retry.rs`).
#[test]
fn status_503_with_retry_after_is_throttled_and_not_retried_early() {
    run_case(Target::endpoint("503:retry-after=2"), throttled(Some(2)), 1);
}

#[test]
fn status_503_without_a_usable_retry_after_is_retryable() {
    run_case(Target::endpoint("503"), retryable("HTTP 503"), ATTEMPTS);
    run_case(
        Target::endpoint("503:retry-after=soon"),
        retryable("HTTP 503"),
        ATTEMPTS,
    );
}

#[test]
fn status_429_with_retry_after_is_throttled_and_not_retried_early() {
    run_case(Target::endpoint("429:retry-after=1"), throttled(Some(1)), 1);
}

#[test]
fn status_429_with_an_http_date_or_junk_is_throttled() {
    let in_a_minute = httpdate_in(Duration::from_secs(60));
    let fault = format!("429:retry-after={in_a_minute}");
    let target = Target::endpoint(&fault);
    let outcome = exporter(target.addr(), &fast_config(), true).export(&logs(1), None);
    let Some(FailureKind::Throttled {
        retry_after: Some(after),
    }) = outcome.failure().map(|f| f.kind)
    else {
        panic!("{outcome:?}")
    };
    assert!((55..=60).contains(&after.as_secs()), "{after:?}");
    run_case(
        Target::endpoint("429:retry-after=later"),
        throttled(None),
        ATTEMPTS,
    );
    run_case(Target::endpoint("429"), throttled(None), ATTEMPTS);
}

#[test]
fn status_401_is_not_retried() {
    run_case(
        Target::endpoint("401"),
        Expect::Failed(FailureKind::Credentials, "HTTP 401"),
        1,
    );
}

#[test]
fn status_403_is_not_retried() {
    run_case(
        Target::endpoint("403"),
        Expect::Failed(FailureKind::Credentials, "HTTP 403"),
        1,
    );
}

#[test]
fn status_400_is_not_retried() {
    run_case(Target::endpoint("400"), not_retryable("HTTP 400"), 1);
}

#[test]
fn statuses_404_and_501_are_not_retried() {
    run_case(Target::endpoint("404"), not_retryable("HTTP 404"), 1);
    run_case(Target::endpoint("501"), not_retryable("HTTP 501"), 1);
}

#[test]
fn a_hang_times_out_is_retried_and_opens_the_breaker() {
    let started = Instant::now();
    run_case(Target::endpoint("hang"), retryable("timed out"), ATTEMPTS);
    // One export and two through the client, each of three attempts of one request timeout.
    assert!(
        started.elapsed() >= REQUEST_TIMEOUT * 9,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_refused_connection_is_retried_and_opens_the_breaker() {
    run_case(
        Target::Refused(closed_port()),
        retryable("connection refused"),
        ATTEMPTS,
    );
}

#[test]
fn a_reset_after_a_2xx_status_is_delivered_once() {
    // The status line said 200: the batch was accepted, whatever happens to the body.
    run_case(Target::endpoint("reset"), Expect::Delivered, 1);
}

#[test]
fn a_malformed_body_on_200_is_a_success() {
    run_case(Target::endpoint("malformed"), Expect::Delivered, 1);
}

#[test]
fn a_10mb_body_is_a_success_and_is_not_read() {
    let started = Instant::now();
    run_case(Target::endpoint("huge=10mb"), Expect::Delivered, 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn reading_stops_at_the_body_limit() {
    // 10 MB announced, 100 KiB sent, then silence: reading to the end would time out.
    let fake = FakeServer::start(FakeBehaviour::PartialBody {
        declared: 10 * 1024 * 1024,
        sent: vec![b' '; 100 * 1024],
    });
    let config = fast_builder()
        .with_request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = exporter(fake.addr(), &config, true).export(&logs(1), None);
    assert_eq!(outcome, ExportOutcome::Delivered);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn fewer_accepted_than_sent_is_a_partial_delivery_and_not_retried() {
    let fake = FakeServer::start(FakeBehaviour::json(
        200,
        r#"{"errors":[{"message":"bad"}],"numSuccess":1,"numProtoSuccess":1,"numRealtimeSuccess":0}"#,
    ));
    run_case(Target::Fake(fake), Expect::Partial(1), 1);
}

fn redirect_case(fault_prefix: &str) {
    let target_server = FakeServer::start(FakeBehaviour::json(200, "{}"));
    let fault = format!(
        "{fault_prefix}=http://127.0.0.1:{}/telemetry-ext",
        target_server.addr().port()
    );
    run_case(
        Target::endpoint(&fault),
        not_retryable("redirect not followed"),
        1,
    );
    // Give a wrongly followed redirect every chance to show up.
    assert!(!eventually(Duration::from_millis(100), || target_server
        .connections()
        > 0));
    assert_eq!(
        target_server.connections(),
        0,
        "the redirect target was contacted"
    );
    assert!(target_server
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_none()));
}

#[test]
fn a_redirect_to_another_port_is_not_followed_and_not_retried() {
    redirect_case("redirect");
}

#[test]
fn no_redirect_status_is_followed() {
    for code in [301, 302, 303, 308] {
        redirect_case(&format!("redirect:{code}"));
    }
}

#[test]
fn requests_per_batch_stay_bounded_under_429() {
    let target = Target::endpoint("429:retry-after=0");
    let config = fast_builder().with_batch_size(1).build().unwrap();
    let client = TelemetryClient::new(&config, exporter(target.addr(), &config, true)).unwrap();
    for log in logs(10) {
        client.enqueue(log);
    }
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    let stats = client.stats();
    assert_eq!(stats.dropped.export_failed, 10, "{stats:?}");
    assert!(stats.is_balanced());
    assert_eq!(target.requests(), Some(10 * ATTEMPTS));
}

#[test]
fn recovery_after_a_fault_scope_delivers() {
    // Two failures, then the endpoint recovers: the third attempt delivers.
    let target = Target::endpoint("500*2");
    let outcome = exporter(target.addr(), &fast_config(), true).export(&logs(3), None);
    assert_eq!(outcome, ExportOutcome::Delivered);
    assert_eq!(target.requests(), Some(3));
    let Target::Endpoint(endpoint) = &target else {
        unreachable!()
    };
    assert_eq!(endpoint.stats().logs_accepted, 3);
}

/// An HTTP date `after` from now.
fn httpdate_in(after: Duration) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now() + after)
}
