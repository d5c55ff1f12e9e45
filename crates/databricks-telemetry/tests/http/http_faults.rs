//! The fault matrix over real loopback HTTP: for each fault, the outcome, how many requests
//! were made (retried or not), the client's accounting, the breaker, and that credentials never
//! follow a redirect.

use crate::http_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::export::{ExportOutcome, FailureKind};
use databricks_telemetry::unstable::CircuitState;
use databricks_telemetry::CloseResult;
use databricks_telemetry::TelemetryClientManager;
use http_support::*;
use telemetry_endpoint::TelemetryEndpoint;

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

/// Runs one row of the matrix: one export (one request, and what its answer means), then
/// three batches through a client whose breaker opens after two failures (what the pipeline
/// does with that answer: retried, dropped or held).
fn run_case(target: Target, expect: Expect) {
    let config = fast_builder().with_batch_size(2).build().unwrap();

    // 1. One export: the outcome, from exactly one request.
    let started = Instant::now();
    let outcome = send_once(&exporter(target.addr(), &config), &logs(2), true);
    check_outcome(&outcome, expect);
    assert!(started.elapsed() < WAIT / 2, "{:?}", started.elapsed());
    if let Some(requests) = target.requests() {
        assert_eq!(requests, 1, "requests for one export");
    }

    // 2. Through the pipeline, on a manual clock, with a breaker that opens after two
    //    failures: three batches, the accounting and the breaker.
    let config = fast_builder()
        .with_batch_size(2)
        .with_circuit_breaker_threshold(2)
        .build()
        .unwrap();
    let clock = ManualClock::new();
    let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), 7);
    let before = target.requests();
    let client = Client::with(
        manager.clone(),
        &config,
        Box::new(exporter(target.addr(), &config)),
        Some(Arc::new(StaticBearerToken::new(TOKEN))),
    )
    .unwrap();
    for log in logs(6) {
        client.enqueue(log);
    }
    assert!(manager.settle(WAIT));
    // A retry waits its backoff (at most a few ms) on the manual clock.
    for _ in 0..3 {
        clock.advance(Duration::from_millis(10));
        assert!(manager.settle(WAIT));
    }
    let held = client.stats();
    let breaker = databricks_telemetry::unstable::breaker(&manager, "127.0.0.1").unwrap();
    let sent = target
        .requests()
        .zip(before)
        .map(|(after, before)| after - before);
    assert!(held.is_balanced(), "{held:?}");
    match expect {
        Expect::Delivered => {
            assert_eq!(held.exported, 6, "{held:?}");
            assert_eq!(breaker.state, CircuitState::Closed, "{breaker:?}");
            assert!(sent.is_none_or(|sent| sent == 3), "{sent:?}");
        }
        Expect::Partial(delivered) => {
            assert_eq!(held.exported, 3 * delivered as u64, "{held:?}");
            assert_eq!(held.dropped.export_failed, 3 * (2 - delivered) as u64);
            assert_eq!(breaker.state, CircuitState::Closed, "the service answered");
        }
        Expect::Failed(FailureKind::Credentials, _) => {
            // Refused credentials are the lane's problem, not the host's.
            assert_eq!(held.dropped.credentials_failed, 6, "{held:?}");
            assert_eq!(breaker.state, CircuitState::Closed, "{breaker:?}");
            assert_eq!(breaker.opened, 0);
            assert!(sent.is_none_or(|sent| sent == 3), "{sent:?}");
        }
        Expect::Failed(FailureKind::NotRetryable, _) => {
            // Two refused batches open the breaker; the third waits.
            assert_eq!(held.dropped.export_failed, 4, "{held:?}");
            assert_eq!(held.pending, 2, "{held:?}");
            assert_eq!(breaker.state, CircuitState::Open, "{breaker:?}");
            assert!(sent.is_none_or(|sent| sent == 2), "{sent:?}");
        }
        Expect::Failed(kind, _) => {
            // Retryable: nothing is dropped; the first batch is tried until the breaker opens
            // (at once for a Retry-After, else after two failures), and everything waits.
            let requests = match kind {
                FailureKind::Throttled {
                    retry_after: Some(_),
                } => 1,
                _ => 2,
            };
            assert_eq!(held.exported, 0, "{held:?}");
            assert_eq!(held.dropped.total(), 0, "held, not dropped: {held:?}");
            assert_eq!(held.pending, 6, "{held:?}");
            assert_eq!(breaker.state, CircuitState::Open, "{breaker:?}");
            assert_eq!(breaker.opened, 1);
            assert!(sent.is_none_or(|sent| sent == requests), "{sent:?}");
        }
    }
    // Shutting down while the breaker holds: the deadline counts what waits.
    assert_eq!(
        client.close(Duration::from_millis(200)) == CloseResult::Completed,
        held.pending == 0
    );
    let end = client.stats();
    assert_eq!(end.pending, 0, "{end:?}");
    assert_eq!(end.dropped.closed_before_delivery, held.pending, "{end:?}");
    assert!(end.is_balanced(), "{end:?}");
}

fn retryable(reason: &'static str) -> Expect {
    Expect::Failed(FailureKind::Retryable, reason)
}

fn not_retryable(reason: &'static str) -> Expect {
    Expect::Failed(FailureKind::NotRetryable, reason)
}

fn refused(reason: &'static str) -> Expect {
    Expect::Failed(FailureKind::Credentials, reason)
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
    run_case(Target::endpoint("500"), retryable("HTTP 500"));
}

#[test]
fn statuses_408_502_504_are_retried() {
    for status in ["408", "502", "504"] {
        run_case(Target::endpoint(status), retryable(status));
    }
}

/// The service asks for 2 s of quiet: one request, and the breaker holds the host (the wait,
/// then the retry: `http_retry.rs`).
#[test]
fn status_503_with_retry_after_is_throttled_and_not_retried_early() {
    run_case(Target::endpoint("503:retry-after=2"), throttled(Some(2)));
}

#[test]
fn status_503_without_a_usable_retry_after_is_retryable() {
    run_case(Target::endpoint("503"), retryable("HTTP 503"));
    run_case(
        Target::endpoint("503:retry-after=soon"),
        retryable("HTTP 503"),
    );
}

#[test]
fn status_429_with_retry_after_is_throttled_and_not_retried_early() {
    run_case(Target::endpoint("429:retry-after=1"), throttled(Some(1)));
}

#[test]
fn status_429_with_an_http_date_or_junk_is_throttled() {
    let in_a_minute = httpdate_in(Duration::from_secs(60));
    let fault = format!("429:retry-after={in_a_minute}");
    let target = Target::endpoint(&fault);
    let outcome = send_once(&exporter(target.addr(), &fast_config()), &logs(1), true);
    let Some(FailureKind::Throttled {
        retry_after: Some(after),
    }) = outcome.failure().map(|f| f.kind)
    else {
        panic!("{outcome:?}")
    };
    assert!((55..=60).contains(&after.as_secs()), "{after:?}");
    run_case(Target::endpoint("429:retry-after=later"), throttled(None));
    run_case(Target::endpoint("429"), throttled(None));
}

#[test]
fn status_401_is_a_credentials_failure_and_not_retried() {
    run_case(Target::endpoint("401"), refused("HTTP 401"));
}

#[test]
fn status_403_is_a_credentials_failure_and_not_retried() {
    run_case(Target::endpoint("403"), refused("HTTP 403"));
}

#[test]
fn status_400_is_not_retried() {
    run_case(Target::endpoint("400"), not_retryable("HTTP 400"));
}

#[test]
fn statuses_404_and_501_are_not_retried() {
    run_case(Target::endpoint("404"), not_retryable("HTTP 404"));
    run_case(Target::endpoint("501"), not_retryable("HTTP 501"));
}

#[test]
fn a_hang_times_out_is_retried_and_opens_the_breaker() {
    let started = Instant::now();
    run_case(Target::endpoint("hang"), retryable("timed out"));
    // One export, then two requests through the pipeline (the first batch and its retry), each
    // one request timeout.
    assert!(
        started.elapsed() >= REQUEST_TIMEOUT * 3,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_refused_connection_is_retried_and_opens_the_breaker() {
    run_case(
        Target::Refused(closed_port()),
        retryable("connection refused"),
    );
}

#[test]
fn a_reset_after_a_2xx_status_is_delivered_once() {
    // The status line said 200: the batch was accepted, whatever happens to the body.
    run_case(Target::endpoint("reset"), Expect::Delivered);
}

#[test]
fn a_malformed_body_on_200_is_a_success() {
    run_case(Target::endpoint("malformed"), Expect::Delivered);
}

#[test]
fn a_10mb_body_is_a_success_and_is_not_read() {
    let started = Instant::now();
    run_case(Target::endpoint("huge=10mb"), Expect::Delivered);
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
    let outcome = send_once(&exporter(fake.addr(), &config), &logs(1), true);
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
    run_case(Target::Fake(fake), Expect::Partial(1));
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
fn requests_stay_bounded_under_a_minute_of_429() {
    // Ten batches ready at once, and a service that answers 429 for a whole (simulated) minute:
    // the first answer opens the breaker, whose open time then doubles from 1 s; one probe at a
    // time. No stacked retries, nothing dropped.
    let target = Target::endpoint("429:retry-after=0");
    let config = fast_builder().with_batch_size(1).build().unwrap();
    let clock = ManualClock::new();
    let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), 3);
    let client = Client::with(
        manager.clone(),
        &config,
        Box::new(exporter(target.addr(), &config)),
        Some(Arc::new(StaticBearerToken::new(TOKEN))),
    )
    .unwrap();
    for log in logs(10) {
        client.enqueue(log);
    }
    assert!(manager.settle(WAIT));
    assert_eq!(target.requests(), Some(1));
    for _ in 0..600 {
        clock.advance(Duration::from_millis(100));
        assert!(manager.settle(WAIT));
    }
    // Probes at about 1, 3, 7, 15, 31 s (each period up to 20 % shorter), and one more by 60 s.
    let requests = target.requests().unwrap();
    assert!(
        (6..=8).contains(&requests),
        "{requests} requests in a minute"
    );
    let stats = client.stats();
    assert_eq!((stats.pending, stats.dropped.total()), (10, 0), "{stats:?}");
    let _ = client.close(Duration::from_millis(100));
    assert_eq!(client.stats().dropped.closed_before_delivery, 10);
}

#[test]
fn recovery_after_a_fault_scope_delivers() {
    // Two failures, then the endpoint recovers: the pipeline's second retry delivers.
    let target = Target::endpoint("500*2");
    let config = fast_builder().with_batch_size(3).build().unwrap();
    let clocked = Clocked::start(exporter(target.addr(), &config), &config);
    clocked.enqueue(logs(3));
    assert_eq!(target.requests(), Some(1));
    for _ in 0..2 {
        clocked.advance(Duration::from_millis(5)); // fast_config's retry_max_delay
    }
    assert_eq!(target.requests(), Some(3));
    let Target::Endpoint(endpoint) = &target else {
        unreachable!()
    };
    assert_eq!(endpoint.stats().logs_accepted, 3);
    let stats = clocked.stats();
    assert_eq!((stats.exported, stats.batches_failed), (3, 2), "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}

/// An HTTP date `after` from now.
fn httpdate_in(after: Duration) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now() + after)
}
