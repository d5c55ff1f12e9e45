//! Golden tests: the wire model serialises to exactly the expected JSON text and parses back equal.

use std::sync::Arc;

use databricks_telemetry::model::*;
use databricks_telemetry::unstable::model::*;

fn full_log() -> FrontendLog {
    let host = |url: &str, port: i32, auth: DriverProxyAuth| HostDetails {
        host_url: Some(url.to_owned()),
        port: Some(port),
        proxy_auth_type: Some(auth),
    };
    let s = |v: &str| Some(v.to_owned());
    let params = DriverConnectionParameters {
        http_path: s("/sql/1.0/warehouses/abc"),
        mode: Some(DriverMode::Sea),
        host_info: Some(host(
            "https://adb-123.4.azuredatabricks.net",
            443,
            DriverProxyAuth::AuthUnspecified,
        )),
        use_proxy: Some(true),
        auth_mech: Some(DriverAuthMech::Oauth),
        auth_flow: Some(DriverAuthFlow::BrowserBasedAuthentication),
        auth_scope: s("sql offline_access"),
        use_system_proxy: Some(false),
        non_proxy_hosts: Some(vec!["localhost".into(), "*.internal".into()]),
        use_cf_proxy: Some(false),
        proxy_host_info: Some(host("proxy.example.com", 3128, DriverProxyAuth::Basic)),
        cf_proxy_host_info: Some(host("cf-proxy.example.com", 0, DriverProxyAuth::Spnego)),
        discovery_mode_enabled: Some(false),
        discovery_url: s(""),
        use_empty_metadata: Some(false),
        support_many_parameters: Some(true),
        ssl_trust_store_type: s("JKS"),
        check_certificate_revocation: Some(true),
        accept_undetermined_certificate_revocation: Some(false),
        google_service_account: s(""),
        google_credential_file_path: s(""),
        http_connection_pool_size: Some(100),
        enable_sea_hybrid_results: Some(true),
        enable_complex_datatype_support: Some(false),
        allow_self_signed_support: Some(false),
        use_system_trust_store: Some(true),
        rows_fetched_per_block: Some(2_000_000),
        azure_workspace_resource_id: s(""),
        azure_tenant_id: s(""),
        string_column_length: Some(255),
        enable_token_cache: Some(true),
        async_poll_interval_millis: Some(2000),
        token_endpoint: s("https://login.example.com/token"),
        auth_endpoint: s("https://login.example.com/authorize"),
        enable_arrow: Some(true),
        enable_direct_results: Some(true),
        enable_jwt_assertion: Some(false),
        jwt_key_file: s(""),
        jwt_algorithm: s("RS256"),
        socket_timeout: Some(900),
        allowed_volume_ingestion_paths: s(""),
        query_tags: s("team:etl"),
        enable_metric_view_metadata: Some(false),
        auto_commit: Some(true),
        fetch_auto_commit_from_server: Some(false),
        enable_geospatial_support: Some(false),
    };
    let system = DriverSystemConfiguration {
        driver_version: s("0.1.0"),
        runtime_name: s("Rust"),
        runtime_version: s("1.95.0"),
        runtime_vendor: s("The Rust Project"),
        os_name: s("linux"),
        os_version: s("6.1.0"),
        os_arch: s("x86_64"),
        driver_name: s("Databricks ADBC Rust"),
        client_app_name: s(""),
        locale_name: s("en_US"),
        char_set_encoding: s("UTF-8"),
        process_name: s("dbtel"),
    };
    frontend_log(
        "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d".into(),
        Some(1_234_567_890),
        FrontendLogContext {
            client_context: ClientContext {
                timestamp_millis: Some(1_764_160_000_123),
                user_agent: Some("DatabricksAdbcRust/0.1.0".into()),
            },
        },
        FrontendLogEntry {
            sql_driver_log: SqlDriverLog {
                session_id: Some("01f0-session".into()),
                sql_statement_id: s("01f0-statement"),
                system_configuration: Some(Arc::new(system)),
                driver_connection_params: Some(Arc::new(params)),
                auth_type: Some("oauth-client_credentials".into()),
                vol_operation: Some(VolumeOperationEvent {
                    volume_operation_type: Some(VolumeOperationType::Put),
                    volume_path: s("/Volumes/main/default/files/a.csv"),
                    local_file: s("a.csv"),
                }),
                sql_operation: Some(SqlExecutionEvent {
                    statement_type: Some(StatementType::Query),
                    is_compressed: Some(true),
                    execution_result: Some(ExecutionResultFormat::ExternalLinks),
                    chunk_id: Some(0),
                    retry_count: Some(1),
                    chunk_details: Some(ChunkDetails {
                        initial_chunk_latency_millis: Some(25),
                        slowest_chunk_latency_millis: Some(60),
                        total_chunks_present: Some(3),
                        total_chunks_iterated: Some(2),
                        sum_chunks_download_time_millis: Some(85),
                    }),
                    result_latency: Some(ResultLatency {
                        result_set_ready_latency_millis: Some(40),
                        result_set_consumption_latency_millis: Some(100),
                    }),
                    operation_detail: Some(OperationDetail {
                        n_operation_status_calls: Some(2),
                        operation_status_latency_millis: Some(30),
                        operation_type: Some(OperationType::ExecuteStatement),
                        is_internal_call: Some(false),
                    }),
                    java_uses_patched_arrow: Some(false),
                }),
                error_info: Some(DriverErrorInfo {
                    error_name: s("NetworkError"),
                    stack_trace: s(""),
                }),
                operation_latency_ms: Some(150),
            },
        },
    )
}

#[test]
fn fully_populated_log_serialises_to_the_golden_text_and_back() {
    let log = full_log();
    let text = serde_json::to_string_pretty(&log).unwrap();
    let golden = include_str!("../golden/full_log.json");
    assert_eq!(text, golden.trim_end());
    let parsed: FrontendLog = serde_json::from_str(golden).unwrap();
    assert_eq!(parsed, log);
}

#[test]
fn minimal_log_omits_every_unset_field() {
    let mut log = FrontendLog::default();
    *log.frontend_log_event_id_mut() = "e".into();
    let text = serde_json::to_string(&log).unwrap();
    assert_eq!(
        text,
        r#"{"frontend_log_event_id":"e","context":{"client_context":{}},"entry":{"sql_driver_log":{}}}"#
    );
    assert_eq!(serde_json::from_str::<FrontendLog>(&text).unwrap(), log);

    // Every message, empty, is `{}`.
    assert_eq!(
        serde_json::to_string(&DriverSystemConfiguration::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&DriverConnectionParameters::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&HostDetails::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&SqlExecutionEvent::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&ChunkDetails::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&ResultLatency::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&OperationDetail::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&VolumeOperationEvent::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&DriverErrorInfo::default()).unwrap(),
        "{}"
    );
}

#[test]
fn explicitly_set_defaults_are_written() {
    let detail = OperationDetail {
        n_operation_status_calls: Some(0),
        operation_status_latency_millis: Some(0),
        operation_type: Some(OperationType::TypeUnspecified),
        is_internal_call: Some(false),
    };
    assert_eq!(
        serde_json::to_string(&detail).unwrap(),
        r#"{"n_operation_status_calls":0,"operation_status_latency_millis":0,"operation_type":"TYPE_UNSPECIFIED","is_internal_call":false}"#
    );
}

/// Every value of every enum, as the wire format lists them.
#[test]
fn every_enum_value_is_written_by_its_name() {
    fn check<
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Copy,
    >(
        values: &[T],
        names: &[&str],
    ) {
        assert_eq!(values.len(), names.len());
        for (value, name) in values.iter().zip(names) {
            assert_eq!(serde_json::to_string(value).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<T>(&format!("\"{name}\"")).unwrap(),
                *value
            );
        }
    }
    check(DriverMode::ALL, &["TYPE_UNSPECIFIED", "THRIFT", "SEA"]);
    check(
        StatementType::ALL,
        &[
            "TYPE_UNSPECIFIED",
            "QUERY",
            "SQL",
            "UPDATE",
            "METADATA",
            "VOLUME",
        ],
    );
    check(
        OperationType::ALL,
        &[
            "TYPE_UNSPECIFIED",
            "CREATE_SESSION",
            "DELETE_SESSION",
            "EXECUTE_STATEMENT",
            "EXECUTE_STATEMENT_ASYNC",
            "CLOSE_STATEMENT",
            "CANCEL_STATEMENT",
            "LIST_TYPE_INFO",
            "LIST_CATALOGS",
            "LIST_SCHEMAS",
            "LIST_TABLES",
            "LIST_TABLE_TYPES",
            "LIST_COLUMNS",
            "LIST_FUNCTIONS",
            "LIST_PRIMARY_KEYS",
            "LIST_IMPORTED_KEYS",
            "LIST_EXPORTED_KEYS",
            "LIST_CROSS_REFERENCES",
        ],
    );
    check(
        ExecutionResultFormat::ALL,
        &[
            "FORMAT_UNSPECIFIED",
            "INLINE_ARROW",
            "INLINE_JSON",
            "EXTERNAL_LINKS",
            "COLUMNAR_INLINE",
        ],
    );
    check(
        VolumeOperationType::ALL,
        &["TYPE_UNSPECIFIED", "PUT", "GET", "DELETE", "LIST", "QUERY"],
    );
    check(
        DriverProxyAuth::ALL,
        &["AUTH_UNSPECIFIED", "NONE", "BASIC", "SPNEGO"],
    );
    check(
        DriverAuthMech::ALL,
        &["TYPE_UNSPECIFIED", "OTHER", "PAT", "OAUTH"],
    );
    check(
        DriverAuthFlow::ALL,
        &[
            "TYPE_UNSPECIFIED",
            "TOKEN_PASSTHROUGH",
            "CLIENT_CREDENTIALS",
            "BROWSER_BASED_AUTHENTICATION",
        ],
    );
}

#[test]
fn unknown_enum_names_are_rejected_with_the_accepted_names() {
    let err = serde_json::from_str::<SqlExecutionEvent>(r#"{"statement_type":"SELECT"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `SELECT`"), "{err}");
    assert!(err.contains("QUERY"), "{err}");
}

#[test]
fn int64_fields_accept_decimal_strings() {
    let parsed: FrontendLog = serde_json::from_str(
        r#"{"frontend_log_event_id":"e","workspace_id":"1234567890123",
            "entry":{"sql_driver_log":{"operation_latency_ms":"42",
            "sql_operation":{"chunk_details":{"total_chunks_present":"3"}}}}}"#,
    )
    .unwrap();
    assert_eq!(parsed.workspace_id(), Some(1_234_567_890_123));
    let log = &parsed.entry().sql_driver_log;
    assert_eq!(log.operation_latency_ms, Some(42));
    // Written back as numbers.
    let text = serde_json::to_string(&parsed).unwrap();
    assert!(text.contains(r#""workspace_id":1234567890123"#), "{text}");
    assert!(text.contains(r#""operation_latency_ms":42"#), "{text}");
}

#[test]
fn request_body_double_encodes_logs_and_always_sends_items() {
    let log = full_log();
    let request =
        TelemetryRequest::from_logs(1_764_160_000_000, std::slice::from_ref(&log)).unwrap();
    let body = serde_json::to_string(&request).unwrap();
    assert!(
        body.starts_with(
            r#"{"uploadTime":1764160000000,"items":[],"protoLogs":["{\"frontend_log_event_id\":"#
        ),
        "{body}"
    );
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(value["protoLogs"][0].is_string());
    let back: TelemetryRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(back.decode_logs().unwrap(), vec![log]);

    let empty = TelemetryRequest::new(1, Vec::new());
    assert_eq!(
        serde_json::to_string(&empty).unwrap(),
        r#"{"uploadTime":1,"items":[],"protoLogs":[]}"#
    );
}

#[test]
fn response_fields_are_all_optional() {
    let full: TelemetryResponse = serde_json::from_str(
        r#"{"errors":[],"numSuccess":2,"numProtoSuccess":1,"numRealtimeSuccess":0}"#,
    )
    .unwrap();
    assert_eq!(full.num_proto_success, Some(1));
    let empty: TelemetryResponse = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, TelemetryResponse::default());
}

/// The checked-in field and enum lists of the wire contract (see the file's `sources`).
fn proto_fields() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/proto_fields.json")).unwrap()
}

/// Walks `value` (one instance of `message`) against the field list: every listed field is
/// present with a value of its type (the full log sets every field), and nothing else is.
fn check_message(
    lists: &serde_json::Value,
    message: &str,
    value: &serde_json::Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let Some(fields) = lists["messages"][message].as_array() else {
        problems.push(format!("{path}: no message {message} in the field list"));
        return;
    };
    let object = value.as_object().unwrap();
    let listed: Vec<&str> = fields.iter().map(|f| f[0].as_str().unwrap()).collect();
    for key in object.keys() {
        if !listed.contains(&key.as_str()) {
            problems.push(format!("{path}.{key}: in the model, not in the field list"));
        }
    }
    for field in fields {
        let (name, ty) = (field[0].as_str().unwrap(), field[1].as_str().unwrap());
        let ty = ty.trim_start_matches('!');
        let field_path = format!("{path}.{name}");
        let Some(value) = object.get(name) else {
            problems.push(format!(
                "{field_path}: in the field list ({ty}), not in the model"
            ));
            continue;
        };
        let ok = match ty {
            "string" => value.is_string(),
            "bool" => value.is_boolean(),
            "int32" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            "int64" => value.is_i64() || value.is_u64(),
            "repeated string" => value
                .as_array()
                .is_some_and(|items| items.iter().all(serde_json::Value::is_string)),
            _ => match ty.split_once(' ') {
                Some(("enum", name)) => lists["enums"][name]
                    .as_array()
                    .is_some_and(|values| values.contains(value)),
                Some(("message", name)) => {
                    check_message(lists, name, value, &field_path, problems);
                    true
                }
                _ => false,
            },
        };
        if !ok {
            problems.push(format!("{field_path}: {value} is not a {ty}"));
        }
    }
}

/// The model against the proto's full field list: the fully populated log (every field of
/// every message set, a struct literal without `..`) has exactly the listed fields, with the
/// listed types, and every enum has exactly the listed values in order.
#[test]
fn the_model_has_exactly_the_proto_field_list() {
    let lists = proto_fields();
    let log = serde_json::to_value(full_log()).unwrap();
    let mut problems = Vec::new();
    check_message(&lists, "FrontendLog", &log, "$", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");

    let proto_fields: usize = [
        "OssSqlDriverTelemetryLog",
        "DriverSystemConfiguration",
        "DriverConnectionParameters",
        "HostDetails",
        "SqlExecutionEvent",
        "ChunkDetails",
        "ResultLatency",
        "OperationDetail",
        "VolumeOperationEvent",
        "DriverErrorInfo",
    ]
    .iter()
    .map(|name| lists["messages"][name].as_array().unwrap().len())
    .sum();
    assert_eq!(proto_fields, 95, "the C# ADBC proto's field count");

    let enum_names = |names: Vec<&str>| serde_json::json!(names);
    let model_enums = [
        (
            "DriverMode",
            enum_names(DriverMode::ALL.iter().map(|v| v.as_str()).collect()),
        ),
        (
            "StatementType",
            enum_names(StatementType::ALL.iter().map(|v| v.as_str()).collect()),
        ),
        (
            "OperationType",
            enum_names(OperationType::ALL.iter().map(|v| v.as_str()).collect()),
        ),
        (
            "ExecutionResultFormat",
            enum_names(
                ExecutionResultFormat::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect(),
            ),
        ),
        (
            "VolumeOperationType",
            enum_names(
                VolumeOperationType::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect(),
            ),
        ),
        (
            "DriverProxyAuth",
            enum_names(DriverProxyAuth::ALL.iter().map(|v| v.as_str()).collect()),
        ),
        (
            "DriverAuthMech",
            enum_names(DriverAuthMech::ALL.iter().map(|v| v.as_str()).collect()),
        ),
        (
            "DriverAuthFlow",
            enum_names(DriverAuthFlow::ALL.iter().map(|v| v.as_str()).collect()),
        ),
    ];
    let listed = lists["enums"].as_object().unwrap();
    assert_eq!(listed.len(), model_enums.len(), "enums in the list");
    for (name, values) in model_enums {
        assert_eq!(listed[name], values, "{name}");
    }
}
