//! A 2xx status line means delivered, whatever the body does next; credentials that cannot be
//! had, sent or that the service refuses are a credentials error: never retried, never a
//! failure of the host.

use crate::http_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsError, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{ExportOutcome, Exporter, FailureKind};
use databricks_telemetry::unstable::CircuitState;
use http_support::*;

#[test]
fn a_2xx_declaring_a_huge_body_that_never_comes_is_delivered_once() {
    // 200 with a 1 GB Content-Length, then silence.
    let fake = FakeServer::start(FakeBehaviour::PartialBody {
        declared: 1_000_000_000,
        sent: Vec::new(),
    });
    let config = fast_builder()
        .with_request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = send_once(&exporter(fake.addr(), &config), &logs(3), true);
    assert_eq!(outcome, ExportOutcome::Delivered);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a body over the limit is not waited for: {:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests().len(), 1, "a 2xx is never sent again");
}

#[test]
fn a_2xx_whose_body_stalls_is_delivered_not_retried() {
    // 200 with 100 bytes announced, 10 sent, then silence: the read times out.
    let fake = FakeServer::start(FakeBehaviour::PartialBody {
        declared: 100,
        sent: b"{\"numProt".to_vec(),
    });
    let outcome = send_once(&exporter(fake.addr(), &fast_config()), &logs(3), true);
    assert_eq!(outcome, ExportOutcome::Delivered);
    assert_eq!(fake.requests().len(), 1, "a 2xx is never sent again");
    assert_eq!(fake.connections(), 1);
}

/// Always fails.
#[derive(Debug)]
struct Failing;

impl CredentialsProvider for Failing {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        Err(CredentialsError::new("token expired"))
    }
}

#[test]
fn an_unsendable_authorization_value_is_a_credentials_error_sent_nowhere() {
    let fake = FakeServer::start(FakeBehaviour::json(200, "{}"));
    let config = fast_config();
    for value in [
        "Bearer t\u{f6}ken",
        "Bearer \u{1F600}",
        "Bearer a\r\nX-Evil: 1",
        "Bearer a\nb",
        "Bearer a\0b",
        "",
    ] {
        let outcome = exporter(fake.addr(), &config).export(
            &logs(1),
            Some(&AuthorizationValue::new(value)),
            soon(),
        );
        assert_eq!(
            outcome.failure().map(|f| f.kind),
            Some(FailureKind::Credentials),
            "{value:?}: {outcome:?}"
        );
    }
    assert_eq!(fake.connections(), 0, "nothing is sent, not even once");
}

/// A refused token (401) and a provider that fails, through the pipeline with a breaker that
/// opens after one failure: each batch is dropped as `credentials_failed` (a refused upload
/// after one request, a provider error after its attempts), and the breaker never opens.
#[test]
fn credentials_failures_never_open_the_breaker() {
    let endpoint = start_endpoint();
    let config = fast_builder()
        .with_batch_size(1)
        .with_circuit_breaker_threshold(1)
        .with_max_export_attempts(2)
        .build()
        .unwrap();
    let providers: [Arc<dyn CredentialsProvider>; 2] = [
        Arc::new(StaticBearerToken::new("not-the-token")),
        Arc::new(Failing),
    ];
    for provider in providers {
        let clocked =
            Clocked::start_with(exporter(endpoint.addr(), &config), &config, Some(provider));
        clocked.enqueue(logs(3));
        for _ in 0..10 {
            clocked.advance(Duration::from_millis(10)); // past any retry's backoff
        }
        let stats = clocked.stats();
        assert_eq!(stats.dropped.credentials_failed, 3, "{stats:?}");
        assert!(stats.is_balanced(), "{stats:?}");
        let breaker =
            databricks_telemetry::unstable::breaker(clocked.client.manager(), "127.0.0.1").unwrap();
        assert_eq!(breaker.state, CircuitState::Closed, "{breaker:?}");
        assert_eq!(breaker.opened, 0);
    }
    assert_eq!(
        endpoint.stats().uploads_unauthorized,
        3,
        "each refused upload was sent once: no retry, no breaker"
    );
}
