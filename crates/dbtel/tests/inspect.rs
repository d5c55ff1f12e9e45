//! `dbtel inspect` on captures written by the endpoint (with known contents) and by `simulate`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use databricks_telemetry::model::{ExecutionResultFormat, FrontendLog, OperationType};
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::{ErrorInfo, TelemetrySessionContext};
use serde_json::Value;
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

fn dbtel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dbtel")
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dbtel-inspect-{}-{name}", std::process::id()))
}

/// Removes the file when the test ends, however it ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Uploads `logs` to the endpoint in one request and expects 200.
fn upload(endpoint: &TelemetryEndpoint, logs: &[FrontendLog]) {
    let body = serde_json::to_string(
        &databricks_telemetry::unstable::model::TelemetryRequest::from_logs(
            1_764_160_000_000,
            logs,
        )
        .unwrap(),
    )
    .unwrap();
    let mut stream = TcpStream::connect(endpoint.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /telemetry-ext HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Two sessions with known latencies, errors and chunks.
fn known_logs() -> Vec<FrontendLog> {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut logs = Vec::new();
    let a = TelemetrySessionContext::builder("Test Driver", "1.0")
        .with_session_id("session-a")
        .build();
    let b = TelemetrySessionContext::builder("Test Driver", "1.0")
        .with_session_id("session-b")
        .build();
    logs.push(a.connection_opened(ms(100)));
    logs.push(b.connection_opened(ms(300)));
    // Ten queries on session a with latencies 10, 20, ..., 100 ms; the last three use CloudFetch.
    for i in 1..=10u64 {
        let mut statement =
            StatementTelemetryContext::begin_at(&a, OperationType::ExecuteStatement, t0);
        statement.set_statement_id(format!("a-{i}"));
        if i > 7 {
            statement
                .set_result_format(ExecutionResultFormat::ExternalLinks)
                .set_total_chunks(i as i32);
            for chunk in 0..i {
                statement.record_chunk_download(ms(10 * (chunk + 1)));
            }
        } else {
            statement.set_result_format(ExecutionResultFormat::InlineArrow);
        }
        logs.push(statement.finish_at(t0 + ms(10 * i)));
    }
    // Two failures on session b.
    for name in ["NetworkError", "NetworkError", "OperationTimeout"] {
        let mut statement =
            StatementTelemetryContext::begin_at(&b, OperationType::ExecuteStatement, t0);
        statement
            .set_statement_id(format!("b-{name}"))
            .record_error(ErrorInfo::new(name));
        logs.push(statement.finish_at(t0 + ms(1_000)));
    }
    let catalogs = StatementTelemetryContext::begin_at(&b, OperationType::ListCatalogs, t0);
    logs.push(catalogs.finish_at(t0 + ms(7)));
    logs.push(a.connection_closed(ms(5)));
    logs
}

#[test]
fn summarises_a_capture_the_endpoint_wrote() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let logs = known_logs();
    upload(&endpoint, &logs[..5]);
    upload(&endpoint, &logs[5..]);
    let capture = TempFile(temp_path("known.jsonl"));
    assert_eq!(endpoint.write_capture(&capture.0).unwrap(), logs.len());

    let output = dbtel(&["inspect", "--json", capture.0.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["events"], 17);
    assert_eq!(report["skipped_lines"], 0);

    let operations = report["operations"].as_array().unwrap();
    let execute = &operations[0];
    assert_eq!(execute["operation_type"], "EXECUTE_STATEMENT");
    assert_eq!(execute["events"], 13);
    assert_eq!(execute["errors"], 3);
    // Latencies 10..=100 (ten) and 1000 (three): nearest-rank p50 is the 7th of 13 = 70.
    assert_eq!(execute["latency_ms"]["samples"], 13);
    assert_eq!(execute["latency_ms"]["p50"], 70);
    assert_eq!(execute["latency_ms"]["p90"], 1000);
    assert_eq!(execute["latency_ms"]["max"], 1000);
    let by_name = |name: &str| {
        operations
            .iter()
            .find(|o| o["operation_type"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(by_name("CREATE_SESSION")["events"], 2);
    assert_eq!(by_name("CREATE_SESSION")["latency_ms"]["p50"], 100);
    assert_eq!(by_name("CREATE_SESSION")["latency_ms"]["p99"], 300);
    assert_eq!(by_name("LIST_CATALOGS")["latency_ms"]["max"], 7);
    assert_eq!(by_name("DELETE_SESSION")["events"], 1);

    assert_eq!(
        report["errors"],
        serde_json::json!([
            {"error_name": "NetworkError", "count": 2},
            {"error_name": "OperationTimeout", "count": 1}
        ])
    );
    assert_eq!(report["result_formats"]["EXTERNAL_LINKS"], 3);
    assert_eq!(report["result_formats"]["INLINE_ARROW"], 7);

    let cloudfetch = &report["cloudfetch"];
    assert_eq!(cloudfetch["statements"], 3);
    assert_eq!(cloudfetch["chunks_present"], 8 + 9 + 10);
    assert_eq!(cloudfetch["chunks_iterated"], 8 + 9 + 10);
    // Chunk k takes 10k ms: 8 chunks sum to 360, 9 to 450, 10 to 550.
    assert_eq!(cloudfetch["download_ms_total"], 360 + 450 + 550);
    assert_eq!(cloudfetch["initial_chunk_latency_ms"]["max"], 10);
    assert_eq!(cloudfetch["slowest_chunk_latency_ms"]["p50"], 90);
    assert_eq!(cloudfetch["chunks_per_statement"]["max"], 10);

    assert_eq!(report["session_count"], 2);
    assert_eq!(report["events_without_session"], 0);
    assert_eq!(
        report["sessions"],
        serde_json::json!([
            {"session_id": "session-a", "events": 12, "statements": 10, "errors": 0},
            {"session_id": "session-b", "events": 5, "statements": 2, "errors": 3}
        ])
    );
    // Every event has a timestamp: the timeline counts them all.
    let per_second: i64 = report["events_per_second"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_i64().unwrap())
        .sum();
    assert_eq!(per_second, 17);
    let histograms = report["latency_histograms"].as_array().unwrap();
    let names: Vec<&str> = histograms
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "operation_latency",
            "result_ready",
            "result_consumption",
            "chunk_download"
        ]
    );
    // Every event's operation latency; the buckets hold them all.
    assert_eq!(histograms[0]["percentiles"]["samples"], 17);
    let bucketed: u64 = histograms[0]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(bucketed, 17);
    // The chunk downloads of the three CloudFetch statements: 360, 450, 550 ms.
    assert_eq!(histograms[3]["percentiles"]["samples"], 3);
    assert_eq!(histograms[3]["percentiles"]["p50"], 450);
    assert_eq!(histograms[3]["percentiles"]["max"], 550);

    // "b-NetworkError" twice is one statement id: 2 distinct ids (b-NetworkError,
    // b-OperationTimeout); the metadata call carries none.
    assert_eq!(report["sessions"][1]["statements"], 2);

    let text = dbtel(&["inspect", capture.0.to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8(text.stdout).unwrap();
    for expected in [
        "events: 17",
        "EXECUTE_STATEMENT",
        "errors by name (3 in all)",
        "NetworkError",
        "CloudFetch: 3 statements, 27 chunks iterated of 27 present",
        "session-a",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
}

#[test]
fn a_bad_line_is_an_error_naming_it_unless_skipped() {
    let capture = TempFile(temp_path("bad.jsonl"));
    let good = serde_json::to_string(&known_logs()[0]).unwrap();
    std::fs::write(&capture.0, format!("{good}\n\n{good}\nnot json\n{good}\n")).unwrap();
    let path = capture.0.to_str().unwrap();

    let output = dbtel(&["inspect", path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("{path}:4: not a frontend log")),
        "{stderr}"
    );
    assert!(stderr.contains("--skip-invalid"), "{stderr}");

    let output = dbtel(&["inspect", "--json", "--skip-invalid", path]);
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["events"], 3);
    assert_eq!(report["skipped_lines"], 1);
    assert_eq!(report["first_skipped_line"]["line"], 4);
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let path = temp_path("missing.jsonl");
    let output = dbtel(&["inspect", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot read the capture {}", path.display())),
        "{stderr}"
    );
}

#[test]
fn summarises_a_capture_simulate_wrote() {
    let capture = TempFile(temp_path("simulated.jsonl"));
    let path = capture.0.to_str().unwrap();
    let simulated = dbtel(&[
        "simulate",
        "--json",
        "--connections",
        "5",
        "--statements",
        "60",
        "--rate",
        "0",
        "--capture",
        path,
    ]);
    assert_eq!(simulated.status.code(), Some(0), "{simulated:?}");
    let simulation: Value = serde_json::from_slice(&simulated.stdout).unwrap();

    let output = dbtel(&["inspect", "--json", path]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["events"], simulation["exported"]);
    assert_eq!(report["session_count"], 5);
    assert_eq!(report["events_without_session"], 0);
    let operations = report["operations"].as_array().unwrap();
    let count = |name: &str| {
        operations
            .iter()
            .find(|o| o["operation_type"] == name)
            .map_or(0, |o| o["events"].as_u64().unwrap())
    };
    assert_eq!(count("DELETE_SESSION"), 5, "one close per connection");
    assert!(count("CREATE_SESSION") >= 5);
    for name in [
        "EXECUTE_STATEMENT",
        "CLOSE_STATEMENT",
        "EXECUTE_STATEMENT_ASYNC",
        "CANCEL_STATEMENT",
    ] {
        assert!(count(name) > 0, "no {name} in {report}");
    }
    assert!(operations
        .iter()
        .any(|o| o["operation_type"].as_str().unwrap().starts_with("LIST_")));
    assert_eq!(count("EXECUTE_STATEMENT_ASYNC"), count("CANCEL_STATEMENT"));
    for operation in operations {
        let latency = &operation["latency_ms"];
        let (p50, p90, p99, max) = (
            latency["p50"].as_i64().unwrap(),
            latency["p90"].as_i64().unwrap(),
            latency["p99"].as_i64().unwrap(),
            latency["max"].as_i64().unwrap(),
        );
        assert!(p50 <= p90 && p90 <= p99 && p99 <= max, "{operation}");
    }
    let errors: u64 = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert!(errors > 0);
    let cloudfetch = &report["cloudfetch"];
    assert!(cloudfetch["statements"].as_u64().unwrap() > 0);
    assert!(
        cloudfetch["chunks_iterated"].as_u64().unwrap()
            >= cloudfetch["statements"].as_u64().unwrap()
    );
    let session_events: u64 = report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["events"].as_u64().unwrap())
        .sum();
    assert_eq!(session_events, report["events"].as_u64().unwrap());
}
