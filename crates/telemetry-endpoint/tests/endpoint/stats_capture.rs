//! `GET /stats`, unknown routes, and the capture file.

use std::path::PathBuf;

use serde_json::json;
use telemetry_endpoint::{
    EndpointConfig, EndpointStats, TelemetryEndpoint, MAX_DISTINCT_PATHS, OTHER_PATHS,
};

use crate::client::{get, post, request, statement_upload};

#[test]
fn stats_route_serves_the_same_counters() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    post(endpoint.addr(), "/telemetry-ext", &statement_upload("s", 3));
    post(endpoint.addr(), "/telemetry-ext", b"[]");
    get(
        endpoint.addr(),
        "/api/2.0/connector-service/feature-flags/ADBC/0.1.0",
    );
    let served: EndpointStats =
        serde_json::from_slice(&get(endpoint.addr(), "/stats").body).unwrap();
    // The /stats request itself is recorded after its answer was built.
    let local = endpoint.stats();
    assert_eq!(local.requests_total, served.requests_total + 1);
    assert_eq!(served.requests_total, 3);
    assert_eq!(served.count("/telemetry-ext", 200), 1);
    assert_eq!(served.count("/telemetry-ext", 400), 1);
    assert_eq!(served.total("/telemetry-ext"), 2);
    assert_eq!(served.logs_accepted, 3);
    assert_eq!(served.uploads_rejected, 1);
    assert_eq!(served.feature_flag_requests, 1);
    assert_eq!(served.distinct_event_ids, 3);
    assert_eq!(local.count("/stats", 200), 1);
}

#[test]
fn random_paths_cannot_grow_the_stats_without_bound() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let extra = 10;
    for i in 0..MAX_DISTINCT_PATHS + extra {
        assert_eq!(get(endpoint.addr(), &format!("/random-{i}")).status, 404);
    }
    let stats = endpoint.stats();
    assert_eq!(stats.requests.len(), MAX_DISTINCT_PATHS + 1);
    assert_eq!(stats.total(OTHER_PATHS), extra as u64);
    // A path already counted keeps its own entry.
    get(endpoint.addr(), "/random-0");
    assert_eq!(endpoint.stats().total("/random-0"), 2);
}

#[test]
fn unknown_routes_and_methods_are_not_found() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let response = get(endpoint.addr(), "/telemetry-ext");
    assert_eq!(response.status, 404);
    assert_eq!(
        response.json(),
        json!({"error": "no route for GET /telemetry-ext"})
    );
    assert_eq!(get(endpoint.addr(), "/nothing").status, 404);
    assert_eq!(
        request(endpoint.addr(), "PUT", "/admin/fault", &[], b"503").status,
        404
    );
    assert_eq!(endpoint.stats().count("/nothing", 404), 1);
}

#[test]
fn capture_file_holds_one_accepted_log_per_line() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    post(endpoint.addr(), "/telemetry-ext", &statement_upload("c", 2));
    post(
        endpoint.addr(),
        "/telemetry-unauth",
        &statement_upload("u", 1),
    );
    let path: PathBuf = std::env::temp_dir().join(format!(
        "telemetry-endpoint-capture-{}.jsonl",
        std::process::id()
    ));
    let written = endpoint.write_capture(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(written, 3);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, endpoint.logs());
    assert!(text.ends_with('\n'));
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["frontend_log_event_id"], "c-0");
}
