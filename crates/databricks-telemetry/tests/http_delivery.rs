//! A 2xx status line means delivered, whatever the body does next; credentials that cannot be
//! had, sent or that the service refuses are a credentials error: never retried, never a
//! failure of the host.

mod http_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::clock::SystemClock;
use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsError, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::unstable::{CircuitBreakerSettings, CircuitState};
use databricks_telemetry::{
    export::{DatabricksExporter, ExportOutcome, Exporter, FailureKind},
    unstable::HostCircuitBreaker,
};
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
    let outcome = exporter(fake.addr(), &config, true).export(&logs(3), None);
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
    let outcome = exporter(fake.addr(), &fast_config(), true).export(&logs(3), None);
    assert_eq!(outcome, ExportOutcome::Delivered);
    assert_eq!(fake.requests().len(), 1, "a 2xx is never sent again");
    assert_eq!(fake.connections(), 1);
}

/// Gives a fixed value (whatever it holds).
#[derive(Debug)]
struct Fixed(&'static str);

impl CredentialsProvider for Fixed {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        Ok(AuthorizationValue::new(self.0))
    }
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
        let exporter =
            DatabricksExporter::builder(endpoint_at(fake.addr(), &config), &config, user_agent())
                .with_credentials(Arc::new(Fixed(value)))
                .build()
                .unwrap();
        let outcome = exporter.export(&logs(1), None);
        assert_eq!(
            outcome.failure().map(|f| f.kind),
            Some(FailureKind::Credentials),
            "{value:?}: {outcome:?}"
        );
    }
    assert_eq!(fake.connections(), 0, "nothing is sent, not even once");
}

#[test]
fn credentials_failures_never_open_the_breaker() {
    let endpoint = start_endpoint();
    let config = fast_config();
    let settings = CircuitBreakerSettings {
        failure_threshold: 1,
        ..Default::default()
    };
    let providers: [Arc<dyn CredentialsProvider>; 2] = [
        Arc::new(StaticBearerToken::new("not-the-token")),
        Arc::new(Failing),
    ];
    for provider in providers {
        let breaker = Arc::new(HostCircuitBreaker::new(settings, Arc::new(SystemClock)));
        let exporter = DatabricksExporter::builder(
            endpoint_at(endpoint.addr(), &config),
            &config,
            user_agent(),
        )
        .with_credentials(provider)
        .build()
        .unwrap();
        for _ in 0..3 {
            // What the pipeline does with each batch: ask the host's breaker, send, report.
            assert!(breaker.admit().is_admitted());
            let outcome = exporter.export(&logs(1), None);
            breaker.record(&outcome);
            assert_eq!(
                outcome.failure().map(|f| f.kind),
                Some(FailureKind::Credentials)
            );
        }
        assert_eq!(breaker.snapshot().state, CircuitState::Closed);
        assert_eq!(breaker.snapshot().opened, 0);
    }
    assert_eq!(
        endpoint.stats().uploads_unauthorized,
        3,
        "each refused upload was sent once: no retry, no breaker"
    );
}
