//! `TelemetryRequest::encode_logs` (one pass, session-constant parts serialised once per batch)
//! writes exactly the bytes of the plain path: each log through `serde_json::to_string`, then
//! the request through `serde_json::to_vec`.

use std::sync::Arc;

use databricks_telemetry::model::*;
use databricks_telemetry::unstable::model::*;
use proptest::prelude::*;

/// The plain path, independent of the encoder.
fn reference(upload_time: i64, logs: &[FrontendLog]) -> Vec<u8> {
    let proto_logs = logs
        .iter()
        .map(|log| serde_json::to_string(log).unwrap())
        .collect();
    serde_json::to_vec(&TelemetryRequest::new(upload_time, proto_logs)).unwrap()
}

fn assert_same_as_reference(upload_time: i64, logs: &[FrontendLog]) {
    let ours = TelemetryRequest::encode_logs(upload_time, logs).unwrap();
    let expected = reference(upload_time, logs);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&expected)
    );
    let strings = TelemetryRequest::from_logs(upload_time, logs).unwrap();
    assert_eq!(serde_json::to_vec(&strings).unwrap(), expected);
}

/// Text with everything JSON escapes: quotes, backslashes, every kind of control character,
/// and non-ASCII.
const AWKWARD: &str =
    "a \"quoted\" C:\\path\\ \u{8}\u{c}\n\r\t\u{0}\u{1f} é € 😀 \u{2028} \u{7f} /";

fn system(name: &str) -> Arc<DriverSystemConfiguration> {
    Arc::new(DriverSystemConfiguration {
        driver_version: Some("0.1.0".into()),
        driver_name: Some(name.into()),
        runtime_name: Some("Rust".into()),
        os_name: Some("linux".into()),
        process_name: Some(AWKWARD.into()),
        ..DriverSystemConfiguration::default()
    })
}

fn params(http_path: &str) -> Arc<DriverConnectionParameters> {
    Arc::new(DriverConnectionParameters {
        http_path: Some(http_path.into()),
        mode: Some(DriverMode::Sea),
        host_info: Some(HostDetails {
            host_url: Some("adb-1.2.azuredatabricks.net".into()),
            port: Some(443),
            proxy_auth_type: Some(DriverProxyAuth::None),
        }),
        non_proxy_hosts: Some(vec!["localhost".into(), AWKWARD.into()]),
        socket_timeout: Some(-1),
        enable_arrow: Some(false),
        ..DriverConnectionParameters::default()
    })
}

fn log(
    id: &str,
    system: Option<&Arc<DriverSystemConfiguration>>,
    params: Option<&Arc<DriverConnectionParameters>>,
) -> FrontendLog {
    frontend_log(
        id.into(),
        Some(i64::MAX),
        FrontendLogContext {
            client_context: ClientContext {
                timestamp_millis: Some(1_764_160_000_123),
                user_agent: Some("DatabricksAdbcRust/0.1.0".into()),
            },
        },
        FrontendLogEntry {
            sql_driver_log: SqlDriverLog {
                session_id: Some("01f0-session".into()),
                sql_statement_id: None,
                system_configuration: system.cloned(),
                driver_connection_params: params.cloned(),
                auth_type: Some("pat".into()),
                vol_operation: Some(VolumeOperationEvent {
                    volume_operation_type: Some(VolumeOperationType::Put),
                    volume_path: Some(AWKWARD.into()),
                    local_file: None,
                }),
                sql_operation: Some(SqlExecutionEvent {
                    statement_type: Some(StatementType::Query),
                    chunk_details: Some(ChunkDetails {
                        total_chunks_iterated: Some(0),
                        ..ChunkDetails::default()
                    }),
                    ..SqlExecutionEvent::default()
                }),
                error_info: Some(DriverErrorInfo {
                    error_name: Some("NetworkError".into()),
                    stack_trace: Some(AWKWARD.into()),
                }),
                operation_latency_ms: Some(0),
            },
        },
    )
}

#[test]
fn empty_batch_and_empty_log() {
    assert_same_as_reference(0, &[]);
    assert_same_as_reference(-1, &[FrontendLog::default()]);
}

#[test]
fn one_session_shares_its_parts_across_the_batch() {
    let (system, params) = (
        system("Databricks ADBC Rust"),
        params("/sql/1.0/warehouses/a"),
    );
    let logs: Vec<FrontendLog> = (0..5)
        .map(|i| log(&format!("id-{i}"), Some(&system), Some(&params)))
        .collect();
    assert_same_as_reference(1_764_160_000_000, &logs);
}

#[test]
fn sessions_interleaved_with_equal_and_missing_parts() {
    let (system_a, params_a) = (system("driver a"), params("/sql/a"));
    let (system_b, params_b) = (system("driver b"), params("/sql/b"));
    // Equal contents in a different allocation: must be written on its own, and the same.
    let system_a_copy = Arc::new((*system_a).clone());
    let logs = vec![
        log("1", Some(&system_a), Some(&params_a)),
        log("2", Some(&system_b), Some(&params_b)),
        log("3", None, Some(&params_a)),
        log("4", Some(&system_a_copy), None),
        log("5", Some(&system_b), Some(&params_a)),
        log("6", None, None),
        log("7", Some(&system_a), Some(&params_b)),
    ];
    assert_same_as_reference(42, &logs);
}

#[test]
fn the_body_decodes_back_to_the_logs() {
    let (system, params) = (system("d"), params("/p"));
    let logs = vec![
        log("x", Some(&system), Some(&params)),
        log("y", Some(&system), None),
    ];
    let body = TelemetryRequest::encode_logs(7, &logs).unwrap();
    let request: TelemetryRequest = serde_json::from_slice(&body).unwrap();
    assert_eq!(request.upload_time, 7);
    assert_eq!(request.decode_logs().unwrap(), logs);
}

proptest! {
    #[test]
    fn any_text_anywhere_encodes_as_the_plain_path(
        id in any::<String>(),
        session in proptest::option::of(any::<String>()),
        trace in proptest::option::of(any::<String>()),
        process in proptest::option::of(any::<String>()),
        path in proptest::option::of(any::<String>()),
        hosts in proptest::option::of(proptest::collection::vec(any::<String>(), 0..3)),
        workspace in proptest::option::of(any::<i64>()),
        shared in any::<bool>(),
    ) {
        let system = Arc::new(DriverSystemConfiguration {
            process_name: process,
            ..DriverSystemConfiguration::default()
        });
        let params = Arc::new(DriverConnectionParameters {
            http_path: path,
            non_proxy_hosts: hosts,
            ..DriverConnectionParameters::default()
        });
        let mut first = log(&id, Some(&system), Some(&params));
        *first.workspace_id_mut() = workspace;
        first.entry_mut().sql_driver_log.session_id = session.map(Into::into);
        first.entry_mut().sql_driver_log.error_info = trace.map(|t| DriverErrorInfo {
            error_name: None,
            stack_trace: Some(t),
        });
        let second = if shared {
            first.clone()
        } else {
            log(&id, Some(&Arc::new((*system).clone())), None)
        };
        assert_same_as_reference(1, &[first, second]);
    }
}
