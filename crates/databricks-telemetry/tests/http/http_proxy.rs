//! Proxies come from the environment. A process of its own, because it sets process-wide
//! environment variables.

use crate::http_support;

use databricks_telemetry::export::{ExportOutcome, Exporter, FailureKind};
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
use databricks_telemetry::TelemetryConfig;
use http_support::*;

#[test]
fn the_proxy_comes_from_the_environment_and_never_sees_the_token() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "the_proxy_comes_from_the_environment_and_never_sees_the_token",
    ) {
        return;
    }
    // A "proxy" that refuses every CONNECT.
    let proxy = FakeServer::start(FakeBehaviour::json(403, "{}"));
    for name in [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTPS_PROXY", format!("http://{}", proxy.addr()));

    let config = TelemetryConfig::builder()
        .with_request_timeout(REQUEST_TIMEOUT)
        .with_max_retries(0)
        .build()
        .unwrap();
    let endpoint =
        ServiceEndpoint::parse("adb-1.example.invalid", config.allow_insecure_http()).unwrap();
    let remote = DatabricksExporter::builder(
        endpoint,
        ExporterSettings::from_config(&config),
        user_agent(),
    )
    .build()
    .unwrap();
    let outcome = remote.export(&logs(1), Some(&token()), soon());
    assert_eq!(
        outcome.failure().unwrap().kind,
        FailureKind::Retryable,
        "{outcome:?}"
    );

    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "CONNECT");
    assert_eq!(requests[0].path, "adb-1.example.invalid:443");
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(
        requests[0].header("user-agent"),
        Some("DatabricksAdbcRust/0.1.0")
    );

    // Loopback hosts are never proxied.
    let local = start_endpoint();
    let insecure = fast_config();
    assert_eq!(
        send_once(&exporter(local.addr(), &insecure), &logs(1), true),
        ExportOutcome::Delivered
    );
    assert_eq!(proxy.requests().len(), 1);
    std::env::remove_var("HTTPS_PROXY");
}
