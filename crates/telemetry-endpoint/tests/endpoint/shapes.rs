//! Uploads in the shapes the official drivers send (C# ADBC, JDBC, Go, Node.js), built from the
//! facts in the wire-format document: accepted in tolerant mode with each departure counted as
//! a warning, named exactly in strict mode.

use serde_json::{json, Value};
use telemetry_endpoint::{EndpointConfig, Mode, TelemetryEndpoint};

use crate::client::{frontend_log, post, upload_of, upload_of_strings};

fn endpoint(mode: Mode) -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default().with_mode(mode)).unwrap()
}

/// The (kind, path) of every problem a strict 400 names.
fn problems(answer: &Value) -> Vec<(String, String)> {
    match answer.get("problems") {
        Some(problems) => problems
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["kind"].as_str().unwrap().to_owned(),
                    p["path"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
        None => vec![(
            "(one)".to_owned(),
            answer["path"].as_str().unwrap().to_owned(),
        )],
    }
}

/// Sends `body` to `route` in both modes: tolerant accepts every log and counts `warnings`
/// (kind, path with `[*]`); strict answers 400 naming `strict` (kind, path) exactly.
fn check_both_modes(
    route: &str,
    body: &[u8],
    logs: u64,
    warnings: &[(&str, &str)],
    strict: &[(&str, &str)],
) {
    let tolerant = endpoint(Mode::Tolerant);
    let response = post(tolerant.addr(), route, body);
    assert_eq!(response.status, 200, "{}", response.json());
    assert_eq!(response.json()["numProtoSuccess"], logs);
    assert_eq!(response.json()["errors"], json!([]));
    let stats = tolerant.stats();
    assert_eq!(stats.logs_accepted, logs);
    let mut counted: Vec<(String, String)> = stats
        .warnings
        .iter()
        .flat_map(|(kind, paths)| paths.keys().map(move |path| (kind.clone(), path.clone())))
        .collect();
    counted.sort();
    let mut expected: Vec<(String, String)> = warnings
        .iter()
        .map(|(kind, path)| ((*kind).to_owned(), (*path).to_owned()))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(counted, expected);
    assert_eq!(stats.warnings_total, warnings.len() as u64);

    let strict_endpoint = endpoint(Mode::Strict);
    let response = post(strict_endpoint.addr(), route, body);
    if strict.is_empty() {
        assert_eq!(response.status, 200, "{}", response.json());
        return;
    }
    assert_eq!(response.status, 400);
    let mut named = problems(&response.json());
    let mut expected: Vec<(String, String)> = strict
        .iter()
        .map(|(kind, path)| ((*kind).to_owned(), (*path).to_owned()))
        .collect();
    if expected.len() == 1 {
        assert_eq!(named[0].1, expected[0].1);
    } else {
        // Named in document order; `json!` writes keys sorted, so compare as sets.
        named.sort();
        expected.sort();
        assert_eq!(named, expected);
    }
    assert_eq!(strict_endpoint.stats().logs_accepted, 0);
}

const LOG: &str = "$.protoLogs[*]";
const DRIVER_LOG: &str = "$.protoLogs[*].entry.sql_driver_log";

#[test]
fn csharp_adbc_shape() {
    // Protobuf's JSON writer: int64 as decimal strings, timestamp_millis directly under
    // context, no items.
    let log = json!({
        "frontend_log_event_id": "c1",
        "workspace_id": "1234567890",
        "context": {"timestamp_millis": "1764160000123"},
        "entry": {"sql_driver_log": {
            "session_id": "s", "auth_type": "oauth-client_credentials",
            "driver_connection_params": {"http_path": "/sql/1.0/warehouses/a", "mode": "SEA",
                "auth_mech": "OAUTH", "auth_flow": "CLIENT_CREDENTIALS", "enable_arrow": true,
                "rows_fetched_per_block": "2000000", "socket_timeout": "900",
                "async_poll_interval_millis": "100", "discovery_mode_enabled": false,
                "enable_token_cache": true, "enable_complex_datatype_support": false,
                "auto_commit": true},
            "sql_operation": {"statement_type": "QUERY", "chunk_id": "0",
                "operation_detail": {"operation_type": "EXECUTE_STATEMENT", "n_operation_status_calls": "2"}},
            "operation_latency_ms": "150"
        }}
    });
    let body = json!({"uploadTime": 1764160000000_i64, "protoLogs": [log.to_string()]})
        .to_string()
        .into_bytes();
    let warnings = [
        ("missing_field", "$.items"),
        (
            "timestamp_under_context",
            "$.protoLogs[*].context.timestamp_millis",
        ),
        ("missing_field", "$.protoLogs[*].context.client_context"),
    ];
    let strict = [
        ("missing_field", "$.items"),
        (
            "timestamp_under_context",
            "$.protoLogs[0].context.timestamp_millis",
        ),
        ("missing_field", "$.protoLogs[0].context.client_context"),
    ];
    check_both_modes("/telemetry-ext", &body, 1, &warnings, &strict);
}

#[test]
fn jdbc_shape() {
    let connect = frontend_log(
        "j1",
        json!({"session_id": "s", "driver_connection_params": {
            "http_path": "/sql/1.0/warehouses/a", "mode": "UNKNOWN", "auth_mech": "OAUTH",
            "auth_flow": "AZURE_MANAGED_IDENTITIES", "async_poll_interval_millis": 200,
            "identity_federation_client_id": "x",
            "host_info": {"host_url": "h", "port": 443, "non_proxy_hosts": ["a"]}}}),
    );
    let statement = frontend_log(
        "j2",
        json!({"session_id": "s", "sql_operation": {"statement_type": "NONE",
            "java_uses_patched_arrow": false}, "operation_latency_ms": 3}),
    );
    let params = format!("{DRIVER_LOG}.driver_connection_params");
    let warnings = [
        ("unknown_enum_value", format!("{params}.mode")),
        ("unknown_enum_value", format!("{params}.auth_flow")),
        (
            "unknown_field",
            format!("{params}.identity_federation_client_id"),
        ),
        (
            "unknown_field",
            format!("{params}.host_info.non_proxy_hosts"),
        ),
        (
            "unknown_enum_value",
            format!("{DRIVER_LOG}.sql_operation.statement_type"),
        ),
    ];
    let warnings: Vec<(&str, &str)> = warnings.iter().map(|(k, p)| (*k, p.as_str())).collect();
    let strict_params = "$.protoLogs[0].entry.sql_driver_log.driver_connection_params";
    let strict = [
        ("unknown_enum_value", format!("{strict_params}.mode")),
        ("unknown_enum_value", format!("{strict_params}.auth_flow")),
        (
            "unknown_field",
            format!("{strict_params}.identity_federation_client_id"),
        ),
        (
            "unknown_field",
            format!("{strict_params}.host_info.non_proxy_hosts"),
        ),
        (
            "unknown_enum_value",
            "$.protoLogs[1].entry.sql_driver_log.sql_operation.statement_type".to_owned(),
        ),
    ];
    let strict: Vec<(&str, &str)> = strict.iter().map(|(k, p)| (*k, p.as_str())).collect();
    check_both_modes(
        "/telemetry-ext",
        &upload_of(&[connect, statement]),
        2,
        &warnings,
        &strict,
    );

    // JDBC (like Python) sends session fields on /telemetry-unauth.
    let failure = frontend_log(
        "j3",
        json!({"session_id": "s", "error_info": {"error_name": "AuthError", "stack_trace": ""}}),
    );
    check_both_modes(
        "/telemetry-unauth",
        &upload_of(&[failure]),
        1,
        &[("unauth_private_field", &format!("{DRIVER_LOG}.session_id"))],
        &[(
            "unauth_private_field",
            "$.protoLogs[0].entry.sql_driver_log.session_id",
        )],
    );
}

#[test]
fn go_shape() {
    let mut log = frontend_log(
        "g1",
        json!({"session_id": "s", "driver_connection_params": {"retry_max_attempts": 4},
            "sql_operation": {"statement_type": "QUERY"}, "operation_latency_ms": 9}),
    );
    log["context"]["client_context"]["client_type"] = json!("GOLANG");
    log["context"]["client_context"]["client_version"] = json!("1.7.0");
    let context = "$.protoLogs[*].context.client_context";
    let warnings = [
        (
            "unknown_field",
            format!("{DRIVER_LOG}.driver_connection_params.retry_max_attempts"),
        ),
        ("unknown_field", format!("{context}.client_type")),
        ("unknown_field", format!("{context}.client_version")),
    ];
    let warnings: Vec<(&str, &str)> = warnings.iter().map(|(k, p)| (*k, p.as_str())).collect();
    let strict = [
        (
            "unknown_field",
            "$.protoLogs[0].context.client_context.client_type",
        ),
        (
            "unknown_field",
            "$.protoLogs[0].context.client_context.client_version",
        ),
        (
            "unknown_field",
            "$.protoLogs[0].entry.sql_driver_log.driver_connection_params.retry_max_attempts",
        ),
    ];
    check_both_modes("/telemetry-ext", &upload_of(&[log]), 1, &warnings, &strict);
}

#[test]
fn node_shape() {
    // A string workspace id is a decimal string: the protobuf JSON mapping allows it.
    let mut log = frontend_log(
        "n1",
        json!({"session_id": "s", "auth_type": "oauth-m2m", "operation_latency_ms": 4}),
    );
    log["workspace_id"] = json!("1234567890");
    check_both_modes("/telemetry-ext", &upload_of(&[log]), 1, &[], &[]);
    // Node strips the session fields from unauthenticated uploads.
    let failure = frontend_log(
        "n2",
        json!({"error_info": {"error_name": "AuthenticationError", "stack_trace": ""}}),
    );
    check_both_modes("/telemetry-unauth", &upload_of(&[failure]), 1, &[], &[]);
}

#[test]
fn a_bad_log_is_rejected_alone_when_tolerant() {
    let good = |id: &str| frontend_log(id, json!({"operation_latency_ms": 1})).to_string();
    let wrong_type = frontend_log("b", json!({"operation_latency_ms": true})).to_string();
    let body = upload_of_strings(&[good("a"), wrong_type, "{not json".to_owned(), good("c")]);
    let tolerant = endpoint(Mode::Tolerant);
    let response = post(tolerant.addr(), "/telemetry-ext", &body);
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(answer["numProtoSuccess"], 2);
    assert_eq!(answer["numSuccess"], 2);
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(
        errors[0]["path"],
        "$.protoLogs[1].entry.sql_driver_log.operation_latency_ms"
    );
    assert_eq!(errors[1]["index"], 2);
    let stats = tolerant.stats();
    assert_eq!(stats.logs_accepted, 2);
    assert_eq!(stats.logs_rejected, 2);
    assert_eq!(stats.uploads_accepted, 1);
    assert_eq!(stats.warnings_of("wrong_type"), 1);
    assert_eq!(stats.warnings_of("invalid_log"), 1);
    let stored: Vec<Value> = tolerant
        .logs()
        .iter()
        .map(|log| serde_json::from_str(log).unwrap())
        .collect();
    let ids: Vec<&str> = stored
        .iter()
        .map(|log| log["frontend_log_event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "c"]);

    let strict = endpoint(Mode::Strict);
    assert_eq!(post(strict.addr(), "/telemetry-ext", &body).status, 400);
    assert_eq!(strict.stats().logs_accepted, 0);
}

#[test]
fn duplicate_keys_are_refused_when_strict_and_warned_about_when_tolerant() {
    let log = r#"{"frontend_log_event_id":"d","frontend_log_event_id":"d2","context":{"client_context":{"timestamp_millis":1,"user_agent":"x/1"}},"entry":{"sql_driver_log":{}}}"#;
    let body = upload_of_strings(&[log.to_owned()]);
    check_both_modes(
        "/telemetry-ext",
        &body,
        1,
        &[("duplicate_key", &format!("{LOG}.frontend_log_event_id"))],
        &[("duplicate_key", "$.protoLogs[0].frontend_log_event_id")],
    );
}

#[test]
fn an_envelope_that_cannot_be_read_is_refused_in_both_modes() {
    for mode in [Mode::Tolerant, Mode::Strict] {
        let endpoint = endpoint(mode);
        for body in [
            &b"{not json"[..],
            b"[]",
            br#"{"uploadTime": 1}"#,
            br#"{"protoLogs": {}}"#,
        ] {
            let response = post(endpoint.addr(), "/telemetry-ext", body);
            assert_eq!(
                response.status,
                400,
                "{mode:?} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
