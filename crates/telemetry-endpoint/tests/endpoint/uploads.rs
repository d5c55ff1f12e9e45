//! Valid uploads are accepted and stored; each kind of invalid upload is rejected whole, with
//! its exact message and location.

use serde_json::{json, Value};
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

use crate::client::{frontend_log, post, statement_upload, upload_of, upload_of_strings};

fn start() -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default()).expect("start the endpoint")
}

#[test]
fn valid_upload_is_accepted_and_stored_exactly() {
    let endpoint = start();
    let logs = vec![
        frontend_log(
            "a",
            json!({"session_id": "s1", "auth_type": "pat",
                   "system_configuration": {"driver_version": "0.1.0", "os_name": "Linux"},
                   "driver_connection_params": {"http_path": "/sql/1.0/warehouses/x", "mode": "SEA",
                       "host_info": {"host_url": "https://h:443", "port": 443, "proxy_auth_type": "NONE"},
                       "non_proxy_hosts": ["a", "b"], "socket_timeout": "900", "enable_arrow": true},
                   "operation_latency_ms": 42,
                   "sql_operation": {"operation_detail": {"operation_type": "CREATE_SESSION"}}}),
        ),
        frontend_log(
            "b",
            json!({"vol_operation": {"volume_operation_type": "PUT", "volume_path": "/Volumes/x"},
                   "error_info": {"error_name": "IoError", "stack_trace": ""}}),
        ),
    ];
    let response = post(endpoint.addr(), "/telemetry-ext", &upload_of(&logs));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        response.json(),
        json!({"errors": [], "numSuccess": 2, "numProtoSuccess": 2, "numRealtimeSuccess": 0})
    );
    let expected: Vec<String> = logs.iter().map(Value::to_string).collect();
    assert_eq!(endpoint.logs(), expected);
    let stats = endpoint.stats();
    assert_eq!(stats.uploads_accepted, 1);
    assert_eq!(stats.logs_accepted, 2);
    assert_eq!(stats.distinct_event_ids, 2);
    assert_eq!(stats.count("/telemetry-ext", 200), 1);
}

#[test]
fn valid_unauthenticated_upload_is_accepted() {
    let endpoint = start();
    let log = frontend_log(
        "u1",
        json!({"auth_type": "oauth-client_credentials", "error_info": {"error_name": "AuthError", "stack_trace": ""},
               "sql_operation": {"operation_detail": {"operation_type": "CREATE_SESSION"}}}),
    );
    let response = post(endpoint.addr(), "/telemetry-unauth", &upload_of(&[log]));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.json()["numProtoSuccess"], 1);
    assert_eq!(endpoint.logs().len(), 1);
    assert_eq!(endpoint.stats().count("/telemetry-unauth", 200), 1);
}

#[test]
fn empty_upload_is_accepted() {
    let endpoint = start();
    let response = post(endpoint.addr(), "/telemetry-ext", &upload_of(&[]));
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["numProtoSuccess"], 0);
}

/// A valid log whose `sql_driver_log` is `driver_log`, then mutated by `edit`.
fn log_with(edit: impl FnOnce(&mut Value)) -> String {
    let mut log = frontend_log(
        "e1",
        json!({"sql_operation": {"statement_type": "QUERY", "chunk_details": {"total_chunks_present": 1}}}),
    );
    edit(&mut log);
    log.to_string()
}

fn envelope(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut body = json!({"uploadTime": 1, "items": [], "protoLogs": [log_with(|_| {})]});
    edit(&mut body);
    body.to_string().into_bytes()
}

#[test]
fn each_kind_of_invalid_upload_is_rejected_with_its_message_and_path() {
    let endpoint = start();
    let driver_log = "$.protoLogs[1].entry.sql_driver_log";
    let cases: Vec<(&str, Vec<u8>, String, String)> = vec![
        (
            "missing items",
            envelope(|body| {
                body.as_object_mut().unwrap().remove("items");
            }),
            r#"missing required field "items" in the upload body"#.into(),
            "$.items".into(),
        ),
        (
            "items not an array",
            envelope(|body| body["items"] = json!({})),
            "expected an empty array, found an object".into(),
            "$.items".into(),
        ),
        (
            "missing uploadTime",
            envelope(|body| {
                body.as_object_mut().unwrap().remove("uploadTime");
            }),
            r#"missing required field "uploadTime" in the upload body"#.into(),
            "$.uploadTime".into(),
        ),
        (
            "uploadTime as a string",
            envelope(|body| body["uploadTime"] = json!("1")),
            r#"expected milliseconds since the Unix epoch as a non-negative JSON integer, found "1""#.into(),
            "$.uploadTime".into(),
        ),
        (
            "missing protoLogs",
            envelope(|body| {
                body.as_object_mut().unwrap().remove("protoLogs");
            }),
            r#"missing required field "protoLogs" in the upload body"#.into(),
            "$.protoLogs".into(),
        ),
        (
            "unknown envelope field",
            envelope(|body| body["extra"] = json!(1)),
            r#"unknown field "extra" in the upload body; expected only uploadTime, items and protoLogs"#.into(),
            "$.extra".into(),
        ),
        (
            "protoLogs element not a string",
            json!({"uploadTime": 1, "items": [], "protoLogs": [log_with(|_| {}), {"frontend_log_event_id": "x"}]})
                .to_string()
                .into_bytes(),
            "expected a string holding one frontend log as JSON, found an object".into(),
            "$.protoLogs[1]".into(),
        ),
        (
            "body not JSON",
            b"{not json".to_vec(),
            "the body is not valid JSON: key must be a string at line 1 column 2".into(),
            "$".into(),
        ),
    ];
    // Errors inside the second log of an otherwise valid upload.
    let log_cases: Vec<(&str, String, String, String)> = vec![
        (
            "log not JSON",
            "{".into(),
            "the frontend log string is not valid JSON: EOF while parsing an object at line 1 column 1".into(),
            "$.protoLogs[1]".into(),
        ),
        (
            "unknown enum name",
            log_with(|log| log["entry"]["sql_driver_log"]["sql_operation"]["statement_type"] = json!("SELECT")),
            r#"expected StatementType (one of TYPE_UNSPECIFIED, QUERY, SQL, UPDATE, METADATA, VOLUME), found "SELECT""#.into(),
            format!("{driver_log}.sql_operation.statement_type"),
        ),
        (
            "enum as a number",
            log_with(|log| log["entry"]["sql_driver_log"]["sql_operation"]["statement_type"] = json!(1)),
            "expected StatementType (one of TYPE_UNSPECIFIED, QUERY, SQL, UPDATE, METADATA, VOLUME), found 1".into(),
            format!("{driver_log}.sql_operation.statement_type"),
        ),
        (
            "unknown nested field",
            log_with(|log| log["entry"]["sql_driver_log"]["error_info"] = json!({"error_message": "boom"})),
            r#"unknown field "error_message" in DriverErrorInfo; expected one of: error_name, stack_trace"#.into(),
            format!("{driver_log}.error_info.error_message"),
        ),
        (
            "int32 out of range",
            log_with(|log| log["entry"]["sql_driver_log"]["sql_operation"]["chunk_details"]["total_chunks_present"] = json!(3_000_000_000_i64)),
            "expected an int32 (a JSON integer or decimal string from -2147483648 to 2147483647), found 3000000000".into(),
            format!("{driver_log}.sql_operation.chunk_details.total_chunks_present"),
        ),
        (
            "int64 as a fraction",
            log_with(|log| log["entry"]["sql_driver_log"]["operation_latency_ms"] = json!(1.5)),
            "expected an int64 (a JSON integer or decimal string), found 1.5".into(),
            format!("{driver_log}.operation_latency_ms"),
        ),
        (
            "int64 as a non-decimal string",
            log_with(|log| log["entry"]["sql_driver_log"]["operation_latency_ms"] = json!("12ms")),
            r#"expected an int64 (a JSON integer or decimal string), found "12ms""#.into(),
            format!("{driver_log}.operation_latency_ms"),
        ),
        (
            "string field as a number",
            log_with(|log| log["entry"]["sql_driver_log"]["session_id"] = json!(7)),
            "expected a string, found 7".into(),
            format!("{driver_log}.session_id"),
        ),
        (
            "bool field as a string",
            log_with(|log| log["entry"]["sql_driver_log"]["sql_operation"]["is_compressed"] = json!("true")),
            r#"expected a boolean, found "true""#.into(),
            format!("{driver_log}.sql_operation.is_compressed"),
        ),
        (
            "repeated string with a number",
            log_with(|log| log["entry"]["sql_driver_log"]["driver_connection_params"] = json!({"non_proxy_hosts": ["a", 2]})),
            "expected a string, found 2".into(),
            format!("{driver_log}.driver_connection_params.non_proxy_hosts[1]"),
        ),
        (
            "null instead of a message",
            log_with(|log| log["entry"]["sql_driver_log"]["sql_operation"] = Value::Null),
            "expected a SqlExecutionEvent object, found null".into(),
            format!("{driver_log}.sql_operation"),
        ),
        (
            "missing event id",
            log_with(|log| {
                log.as_object_mut().unwrap().remove("frontend_log_event_id");
            }),
            r#"missing required field "frontend_log_event_id" in FrontendLog"#.into(),
            "$.protoLogs[1].frontend_log_event_id".into(),
        ),
        (
            "missing user agent",
            log_with(|log| {
                log["context"]["client_context"].as_object_mut().unwrap().remove("user_agent");
            }),
            r#"missing required field "user_agent" in TelemetryClientContext"#.into(),
            "$.protoLogs[1].context.client_context.user_agent".into(),
        ),
        (
            "timestamp under context (the C# shape)",
            log_with(|log| log["context"] = json!({"timestamp_millis": 1})),
            "timestamp_millis belongs in context.client_context (the C# ADBC driver writes it directly under context)".into(),
            "$.protoLogs[1].context.timestamp_millis".into(),
        ),
        (
            "missing sql_driver_log",
            log_with(|log| log["entry"] = json!({})),
            r#"missing required field "sql_driver_log" in FrontendLogEntry"#.into(),
            "$.protoLogs[1].entry.sql_driver_log".into(),
        ),
        (
            "workspace id as a bool",
            log_with(|log| log["workspace_id"] = json!(true)),
            "expected an int64 (a JSON integer or decimal string), found true".into(),
            "$.protoLogs[1].workspace_id".into(),
        ),
    ];
    let mut all_cases = cases;
    for (name, bad_log, message, path) in log_cases {
        let body = upload_of_strings(&[log_with(|_| {}), bad_log]);
        all_cases.push((name, body, message, path));
    }
    let mut rejected_logs = 0;
    for (name, body, message, path) in &all_cases {
        let response = post(endpoint.addr(), "/telemetry-ext", body);
        assert_eq!(response.status, 400, "{name}");
        let answer = response.json();
        assert_eq!(
            json!({"error": answer["error"], "path": answer["path"]}),
            json!({"error": message, "path": path}),
            "{name}"
        );
        if *name == "timestamp under context (the C# shape)" {
            // Several problems: all are named, the first one first.
            let problems: Vec<(&str, &str)> = answer["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["kind"].as_str().unwrap(), p["path"].as_str().unwrap()))
                .collect();
            assert_eq!(
                problems,
                [
                    (
                        "timestamp_under_context",
                        "$.protoLogs[1].context.timestamp_millis"
                    ),
                    ("missing_field", "$.protoLogs[1].context.client_context")
                ]
            );
        } else {
            assert!(answer.get("problems").is_none(), "{name}: {answer}");
        }
        rejected_logs += serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|value| value["protoLogs"].as_array().map(Vec::len))
            .unwrap_or(0) as u64;
    }
    // Nothing of a rejected upload is kept, not even its valid first log.
    assert!(endpoint.logs().is_empty());
    let stats = endpoint.stats();
    assert_eq!(stats.uploads_rejected, all_cases.len() as u64);
    assert_eq!(stats.logs_rejected, rejected_logs);
    assert_eq!(stats.logs_accepted, 0);
    assert_eq!(stats.count("/telemetry-ext", 400), all_cases.len() as u64);
}

#[test]
fn unauthenticated_uploads_must_not_carry_private_fields() {
    let endpoint = start();
    let driver_log = "$.protoLogs[0].entry.sql_driver_log";
    let private = "is not allowed on /telemetry-unauth: unauthenticated uploads must carry no session ids, system configuration, connection parameters or stack traces";
    let cases = [
        (
            json!({"session_id": "s"}),
            format!("session_id {private}"),
            format!("{driver_log}.session_id"),
        ),
        (
            json!({"system_configuration": {"os_name": "Linux"}}),
            format!("system_configuration {private}"),
            format!("{driver_log}.system_configuration"),
        ),
        (
            json!({"driver_connection_params": {"http_path": "/p"}}),
            format!("driver_connection_params {private}"),
            format!("{driver_log}.driver_connection_params"),
        ),
        (
            json!({"error_info": {"error_name": "E", "stack_trace": "at x()"}}),
            "stack_trace must be empty on /telemetry-unauth, found 6 characters".to_owned(),
            format!("{driver_log}.error_info.stack_trace"),
        ),
    ];
    for (driver_log_value, message, path) in cases {
        let body = upload_of(&[frontend_log("u", driver_log_value.clone())]);
        let response = post(endpoint.addr(), "/telemetry-unauth", &body);
        assert_eq!(response.status, 400, "{driver_log_value}");
        assert_eq!(response.json(), json!({"error": message, "path": path}));
        // The same log is fine on the authenticated route.
        let response = post(endpoint.addr(), "/telemetry-ext", &body);
        assert_eq!(response.status, 200, "{driver_log_value}");
    }
    assert_eq!(endpoint.stats().count("/telemetry-unauth", 400), 4);
}

#[test]
fn duplicates_are_counted_and_old_logs_evicted() {
    let endpoint =
        TelemetryEndpoint::start(EndpointConfig::default().with_max_stored_logs(3)).unwrap();
    assert_eq!(
        post(endpoint.addr(), "/telemetry-ext", &statement_upload("d", 2)).status,
        200
    );
    // d-0 and d-1 again, plus d-2 and d-3.
    assert_eq!(
        post(endpoint.addr(), "/telemetry-ext", &statement_upload("d", 4)).status,
        200
    );
    let stats = endpoint.stats();
    assert_eq!(stats.logs_accepted, 6);
    assert_eq!(stats.distinct_event_ids, 4);
    assert_eq!(stats.duplicate_event_ids, 2);
    assert_eq!(stats.logs_stored, 3);
    assert_eq!(stats.logs_evicted, 3);
    let ids: Vec<String> = endpoint
        .logs()
        .iter()
        .map(|log| {
            let value: Value = serde_json::from_str(log).unwrap();
            value["frontend_log_event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids, ["d-1", "d-2", "d-3"]);
}
