//! The HTTPS exporter against the local endpoint over real loopback HTTP: what it sends, where,
//! with which headers; the HTTPS rule; deadlines. One request per export: retries are the
//! pipeline's (`http_retry.rs`, `http_faults.rs`).

use crate::http_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::AuthorizationValue;
use databricks_telemetry::export::{ExportOutcome, Exporter, FailureKind, UserAgent};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::unstable::{
    DatabricksExporter, DatabricksExporterError, ExporterSettings, Scheme, ServiceEndpoint,
    ServiceEndpointError,
};
use databricks_telemetry::HostKey;
use databricks_telemetry::{CloseResult, TelemetryConfig};
use http_support::*;

fn event_ids(logs: &[FrontendLog]) -> BTreeSet<String> {
    logs.iter()
        .map(|l| l.frontend_log_event_id().to_string())
        .collect()
}

fn stored_ids(endpoint: &telemetry_endpoint::TelemetryEndpoint) -> Vec<String> {
    endpoint
        .logs()
        .iter()
        .map(|json| {
            let log: FrontendLog = serde_json::from_str(json).unwrap();
            log.frontend_log_event_id().to_string()
        })
        .collect()
}

#[test]
fn every_event_arrives_exactly_once_in_batches_of_at_most_batch_size() {
    let endpoint = start_endpoint();
    let config = fast_builder().with_batch_size(7).build().unwrap();
    let client = Client::new(&config, exporter(endpoint.addr(), &config), true).unwrap();
    let sent = logs(100);
    for log in sent.clone() {
        client.enqueue(log);
    }
    assert_eq!(client.close(WAIT), CloseResult::Completed);

    let stats = client.stats();
    assert_eq!(stats.enqueued, 100, "{stats:?}");
    assert_eq!(stats.exported, 100, "{stats:?}");
    assert_eq!(stats.pending, 0);
    assert!(stats.is_balanced());

    let endpoint_stats = endpoint.stats();
    assert_eq!(endpoint_stats.logs_accepted, 100, "{endpoint_stats:?}");
    assert_eq!(endpoint_stats.distinct_event_ids, 100);
    assert_eq!(endpoint_stats.duplicate_event_ids, 0);
    assert_eq!(endpoint_stats.uploads_rejected, 0);
    assert_eq!(endpoint_stats.uploads_unauthorized, 0);
    let stored: Vec<String> = stored_ids(&endpoint);
    assert_eq!(stored.len(), 100);
    assert_eq!(
        stored.iter().cloned().collect::<BTreeSet<_>>(),
        event_ids(&sent)
    );

    let uploads = uploads(&endpoint);
    assert_eq!(uploads.len() as u64, stats.batches_sent);
    assert_eq!(uploads.iter().map(|r| r.log_count).sum::<usize>(), 100);
    for upload in &uploads {
        assert_eq!(upload.path, "/telemetry-ext");
        assert_eq!(upload.status, Some(200));
        assert!((1..=7).contains(&upload.log_count), "{upload:?}");
    }
}

#[test]
fn uploads_carry_exactly_the_headers_of_the_wire_format() {
    let endpoint = start_endpoint();
    let config = fast_config();
    let exporter = DatabricksExporter::builder(
        endpoint_at(endpoint.addr(), &config),
        ExporterSettings::from_config(&config),
        UserAgent::new("Databricks ADBC Rust", "0.1.0")
            .unwrap()
            .with_entry("  PowerBI/2.1 ")
            .unwrap(),
    )
    .with_org_id("1234567890")
    .build()
    .unwrap();
    assert_eq!(
        exporter.export(&logs(3), Some(&token()), soon()),
        ExportOutcome::Delivered
    );

    let requests = uploads(&endpoint);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/telemetry-ext");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some("DatabricksADBCRust/0.1.0 PowerBI/2.1")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("x-databricks-org-id"), Some("1234567890"));
    assert_eq!(
        request.header("accept-encoding"),
        None,
        "no compression is asked for"
    );
}

#[test]
fn the_org_id_header_is_absent_unless_configured() {
    let endpoint = start_endpoint();
    let config = fast_config();
    let exporter = exporter(endpoint.addr(), &config);
    assert_eq!(
        send_once(&exporter, &logs(1), true),
        ExportOutcome::Delivered
    );
    assert_eq!(uploads(&endpoint)[0].header("x-databricks-org-id"), None);
}

#[test]
fn without_credentials_uploads_go_unauthenticated_and_stripped() {
    let endpoint = start_endpoint();
    let config = fast_builder().with_batch_size(4).build().unwrap();
    let exporter = exporter(endpoint.addr(), &config);
    assert!(
        exporter.upload_url(false).ends_with("/telemetry-unauth"),
        "{}",
        exporter.upload_url(false)
    );
    let client = Client::new(&config, exporter, false).unwrap();
    let sent = logs(10);
    assert!(sent.iter().any(|l| l
        .entry()
        .sql_driver_log
        .error_info
        .as_ref()
        .is_some_and(|e| e.stack_trace.is_some())));
    for log in sent.clone() {
        client.enqueue(log);
    }
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    let stats = client.stats();
    assert_eq!(stats.exported, 10, "{stats:?}");
    assert!(stats.is_balanced());

    // The endpoint's strict unauthenticated validation accepted every upload.
    let endpoint_stats = endpoint.stats();
    assert_eq!(endpoint_stats.logs_accepted, 10, "{endpoint_stats:?}");
    assert_eq!(endpoint_stats.uploads_rejected, 0);
    for upload in uploads(&endpoint) {
        assert_eq!(upload.path, "/telemetry-unauth");
        assert_eq!(upload.status, Some(200));
        assert_eq!(upload.header("authorization"), None);
        assert!(upload.log_count <= 4);
    }
    let stored: Vec<FrontendLog> = endpoint
        .logs()
        .iter()
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    assert_eq!(event_ids(&stored), event_ids(&sent));
    for log in &stored {
        let driver_log = &log.entry().sql_driver_log;
        assert_eq!(driver_log.session_id, None);
        assert_eq!(driver_log.system_configuration, None);
        assert_eq!(driver_log.driver_connection_params, None);
        if let Some(error) = &driver_log.error_info {
            assert_eq!(error.stack_trace, None);
            assert_eq!(error.error_name.as_deref(), Some("NetworkError"));
        }
        // What is allowed stays.
        assert_eq!(log.workspace_id(), Some(1234567890));
        assert!(driver_log.operation_latency_ms.is_some());
    }
}

#[test]
fn the_authenticated_route_keeps_what_the_unauthenticated_one_strips() {
    let endpoint = start_endpoint();
    let config = fast_config();
    assert_eq!(
        send_once(&exporter(endpoint.addr(), &config), &logs(2), true),
        ExportOutcome::Delivered
    );
    let stored: Vec<FrontendLog> = endpoint
        .logs()
        .iter()
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    let failed = &stored[1].entry().sql_driver_log;
    assert_eq!(failed.session_id.as_deref(), Some("01f0-session-id"));
    assert!(failed.system_configuration.is_some());
    assert!(failed.driver_connection_params.is_some());
    assert!(failed.error_info.as_ref().unwrap().stack_trace.is_some());
}

#[test]
fn a_wrong_token_is_a_credentials_failure() {
    let endpoint = start_endpoint();
    let config = fast_config();
    let wrong = AuthorizationValue::bearer("not-the-token");
    let outcome = exporter(endpoint.addr(), &config).export(&logs(2), Some(&wrong), soon());
    assert_eq!(outcome.failure().unwrap().kind, FailureKind::Credentials);
    assert_eq!(uploads(&endpoint).len(), 1);
    assert_eq!(endpoint.stats().uploads_unauthorized, 1);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_at_construction() {
    let insecure = fast_config();
    for url in [
        "http://example.com",
        "http://adb-123.azuredatabricks.net:8080",
        "http://10.0.0.1:8080",
        "HTTP://[2001:db8::1]:80",
    ] {
        let error = ServiceEndpoint::parse(url, insecure.allow_insecure_http()).unwrap_err();
        assert!(
            matches!(error, ServiceEndpointError::InsecureHttpNotLoopback { .. }),
            "{url}: {error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("only ever used for loopback hosts"),
            "{error}"
        );
        let host = HostKey::parse(url).unwrap();
        assert!(ServiceEndpoint::http_loopback(host, insecure.allow_insecure_http()).is_err());
    }
}

#[test]
fn plain_http_to_loopback_needs_allow_insecure_http() {
    let secure = TelemetryConfig::default();
    for url in [
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
    ] {
        let error = ServiceEndpoint::parse(url, secure.allow_insecure_http()).unwrap_err();
        assert!(
            matches!(error, ServiceEndpointError::InsecureHttpNotAllowed { .. }),
            "{url}: {error:?}"
        );
        assert!(
            error.to_string().contains("allow_insecure_http=true"),
            "{error}"
        );
        let endpoint = ServiceEndpoint::parse(url, fast_config().allow_insecure_http()).unwrap();
        assert_eq!(endpoint.scheme(), Scheme::Http);
        // An endpoint made under one configuration cannot be used under a stricter one.
        let error = DatabricksExporter::builder(
            endpoint,
            ExporterSettings::from_config(&secure),
            user_agent(),
        )
        .build()
        .unwrap_err();
        assert!(
            matches!(
                error,
                DatabricksExporterError::InsecureEndpoint(
                    ServiceEndpointError::InsecureHttpNotAllowed { .. }
                )
            ),
            "{error:?}"
        );
    }
}

#[test]
fn hosts_without_a_scheme_or_with_https_use_https() {
    let config = TelemetryConfig::default();
    for (input, url) in [
        (
            "adb-1.azuredatabricks.net",
            "https://adb-1.azuredatabricks.net/telemetry-unauth",
        ),
        (
            "HTTPS://Adb-1.Azuredatabricks.NET:443/",
            "https://adb-1.azuredatabricks.net/telemetry-unauth",
        ),
        (
            "https://127.0.0.1:8443",
            "https://127.0.0.1:8443/telemetry-unauth",
        ),
    ] {
        let endpoint = ServiceEndpoint::parse(input, config.allow_insecure_http()).unwrap();
        assert_eq!(endpoint.scheme(), Scheme::Https);
        let exporter = DatabricksExporter::builder(
            endpoint,
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .build()
        .unwrap();
        assert_eq!(exporter.upload_url(false), url);
    }
}

#[test]
fn an_https_exporter_never_speaks_plain_http_to_a_plain_server() {
    // The endpoint speaks plain http; an https exporter to it fails the TLS handshake and never
    // sends the token in clear.
    let endpoint = start_endpoint();
    let config = fast_config();
    let https = ServiceEndpoint::https(HostKey::parse(&endpoint.addr().to_string()).unwrap());
    let exporter =
        DatabricksExporter::builder(https, ExporterSettings::from_config(&config), user_agent())
            .build()
            .unwrap();
    let outcome = send_once(&exporter, &logs(1), true);
    assert!(matches!(outcome, ExportOutcome::Failed(_)), "{outcome:?}");
    assert!(uploads(&endpoint).is_empty());
}

#[test]
fn invalid_org_ids_and_user_agents_are_refused() {
    let config = fast_config();
    let endpoint =
        ServiceEndpoint::parse("adb-1.azuredatabricks.net", config.allow_insecure_http()).unwrap();
    for org_id in ["", "12a", "1 2", "123\r\nX: y"] {
        let error = DatabricksExporter::builder(
            endpoint.clone(),
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .with_org_id(org_id)
        .build()
        .unwrap_err();
        assert!(
            matches!(error, DatabricksExporterError::InvalidOrgId { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("expected a decimal number"),
            "{error}"
        );
    }
    assert!(UserAgent::new("", "1.0").is_err());
    assert!(UserAgent::new("Driver", "").is_err());
    assert!(UserAgent::new("Dri/ver", "1.0").is_err());
    assert!(UserAgent::new("Driver", "1.0 beta").is_err());
    assert!(UserAgent::new("Drivér", "1.0").is_err());
    let error = user_agent().with_entry("App\n1").unwrap_err();
    assert!(error.to_string().contains("user-agent entry"), "{error}");
    assert_eq!(user_agent().with_entry("   ").unwrap().entry(), None);
}

#[test]
fn an_export_returns_by_its_deadline_when_the_endpoint_hangs() {
    let endpoint = start_endpoint();
    endpoint.set_fault("hang".parse().unwrap());
    let config = fast_builder()
        .with_request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let exporter = exporter(endpoint.addr(), &config);
    let started = Instant::now();
    let outcome = exporter.export(
        &logs(1),
        Some(&token()),
        started + Duration::from_millis(300),
    );
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_millis(800), "{took:?}");
    assert_eq!(outcome.failure().unwrap().kind, FailureKind::Retryable);
}

/// The pipeline does not wait past a lane's close deadline for a `Retry-After`: the batch is
/// counted as closed before delivery, and the service is not asked again early.
#[test]
fn a_retry_after_longer_than_the_time_left_is_not_waited_for() {
    let endpoint = start_endpoint();
    endpoint.set_fault("503:retry-after=2".parse().unwrap());
    let config = fast_builder()
        .with_batch_size(1)
        .with_retry_max_delay(Duration::from_secs(10))
        .with_circuit_breaker_enabled(false)
        .build()
        .unwrap();
    let clocked = Clocked::start(exporter(endpoint.addr(), &config), &config);
    clocked.enqueue(logs(1));
    clocked.advance(Duration::from_millis(1_500));
    assert_eq!(
        uploads(&endpoint).len(),
        1,
        "the 2 s asked for are not over"
    );
    let _ = clocked.client.close(Duration::from_millis(200));
    let stats = clocked.client.stats();
    assert_eq!(stats.dropped.closed_before_delivery, 1, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(
        uploads(&endpoint).len(),
        1,
        "no retry fits before the deadline"
    );
}

#[test]
fn a_deadline_already_passed_sends_nothing() {
    let endpoint = start_endpoint();
    let config = fast_config();
    let exporter = exporter(endpoint.addr(), &config);
    let outcome = exporter.export(&logs(1), Some(&token()), Instant::now());
    assert_eq!(outcome.failure().unwrap().kind, FailureKind::Retryable);
    assert!(uploads(&endpoint).is_empty());
}

#[test]
fn close_with_a_hanging_endpoint_returns_by_its_deadline_and_counts_everything() {
    let endpoint = start_endpoint();
    endpoint.set_fault("hang".parse().unwrap());
    let config = fast_builder()
        .with_request_timeout(Duration::from_secs(30))
        .with_batch_size(5)
        .build()
        .unwrap();
    let client = Client::new(&config, exporter(endpoint.addr(), &config), true).unwrap();
    for log in logs(12) {
        client.enqueue(log);
    }
    let started = Instant::now();
    let _ = client.close(Duration::from_millis(400));
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let stats = client.stats();
    assert_eq!(stats.enqueued, 12);
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(stats.exported, 0);
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn connections_are_reused_between_uploads() {
    // A fake that answers every request on a kept-alive connection.
    let fake = FakeServer::start(FakeBehaviour::json(200, r#"{"numProtoSuccess":1}"#));
    let config = fast_config();
    let exporter = exporter(fake.addr(), &config);
    for _ in 0..5 {
        assert_eq!(
            send_once(&exporter, &logs(1), true),
            ExportOutcome::Delivered
        );
    }
    assert_eq!(fake.requests().len(), 5);
    assert_eq!(
        fake.connections(),
        1,
        "one pooled connection for five uploads"
    );
}
