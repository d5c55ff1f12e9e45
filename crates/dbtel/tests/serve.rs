//! `dbtel serve` as a user runs it: the built binary, a real HTTP request, and a signal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The bound on every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(20);

struct Served {
    child: Child,
    addr: SocketAddr,
    /// The rest of stdout, read on a thread, delivered when the process closes it.
    rest_of_stdout: mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        // Only if a test failed before the process exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dbtel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dbtel"))
}

/// Starts `dbtel serve ARGS` and reads its first line, the address.
fn serve(args: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut command = dbtel();
    command
        .arg("serve")
        .args(args)
        .env_remove("DBTEL_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("spawn dbtel");
    let stdout = child.stdout.take().unwrap();
    let (first_line_tx, first_line_rx) = mpsc::channel();
    let (rest_tx, rest_of_stdout) = mpsc::channel();
    std::thread::spawn(move || read_stdout(stdout, first_line_tx, rest_tx));
    let first_line: String = first_line_rx
        .recv_timeout(DEADLINE)
        .expect("dbtel serve printed no address line in time");
    let addr = first_line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
        .parse()
        .unwrap();
    Served {
        child,
        addr,
        rest_of_stdout,
    }
}

fn read_stdout(stdout: ChildStdout, first: mpsc::Sender<String>, rest: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let _ = first.send(line);
    let mut remaining = String::new();
    let _ = reader.read_to_string(&mut remaining);
    let _ = rest.send(remaining);
}

/// One request with `Connection: close`; returns the status and body.
fn http(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn signal(served: &Served, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for_exit(served: &mut Served) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "dbtel serve did not exit in time"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn upload_body(event_id: &str) -> String {
    let log = json!({
        "frontend_log_event_id": event_id,
        "context": {"client_context": {"timestamp_millis": 1, "user_agent": "test/1"}},
        "entry": {"sql_driver_log": {"operation_latency_ms": 5}}
    });
    json!({"uploadTime": 1, "items": [], "protoLogs": [log.to_string()]}).to_string()
}

#[test]
fn serves_http_and_stops_cleanly_on_sigint_writing_the_capture() {
    let capture: PathBuf =
        std::env::temp_dir().join(format!("dbtel-serve-capture-{}.jsonl", std::process::id()));
    let mut served = serve(&["--capture", capture.to_str().unwrap()], &[]);
    assert!(served.addr.ip().is_loopback());

    let (status, body) = http(served.addr, "GET", "/stats", "", "");
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["requests_total"], 0);
    let (status, _) = http(
        served.addr,
        "POST",
        "/telemetry-ext",
        "",
        &upload_body("e-1"),
    );
    assert_eq!(status, 200);

    signal(&served, "INT");
    let exit = wait_for_exit(&mut served);
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    let rest = served.rest_of_stdout.recv_timeout(DEADLINE).unwrap();
    assert!(
        rest.contains(&format!("wrote 1 logs to {}", capture.display())),
        "{rest}"
    );
    assert!(rest.contains("stopped: requests 2 |"), "{rest}");
    let captured = std::fs::read_to_string(&capture).unwrap();
    std::fs::remove_file(&capture).unwrap();
    let lines: Vec<&str> = captured.lines().collect();
    assert_eq!(lines.len(), 1);
    let log: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(log["frontend_log_event_id"], "e-1");
}

#[test]
fn stops_cleanly_on_sigterm_even_with_a_hung_request() {
    let mut served = serve(&["--fault", "hang"], &[]);
    let mut hung = TcpStream::connect(served.addr).unwrap();
    let body = upload_body("h");
    write!(
        hung,
        "POST /telemetry-ext HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{body}",
        served.addr,
        body.len()
    )
    .unwrap();
    // Wait until the hung request has been read, so the signal meets an open hang.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (_, stats) = http(served.addr, "GET", "/stats", "", "");
        let stats: Value = serde_json::from_str(&stats).unwrap();
        if stats["faults_injected"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the hung request never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&served, "TERM");
    assert_eq!(wait_for_exit(&mut served).code(), Some(0));
}

#[test]
fn token_from_the_environment_and_flag_options_apply() {
    let mut served = serve(
        &["--flags", "off", "--flag-ttl", "60"],
        &[("DBTEL_TOKEN", "env-token")],
    );
    let flags = "/api/2.0/connector-service/feature-flags/ADBC/0.1.0";
    assert_eq!(http(served.addr, "GET", flags, "", "").0, 401);
    let (status, body) = http(
        served.addr,
        "GET",
        flags,
        "Authorization: Bearer env-token\r\n",
        "",
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["flags"][0]["value"], "false");
    assert_eq!(answer["ttl_seconds"], 60);
    signal(&served, "INT");
    assert_eq!(wait_for_exit(&mut served).code(), Some(0));
}

#[test]
fn bad_flags_exit_with_code_2_and_a_clear_message() {
    for (args, mention) in [
        (
            &["serve", "--fault", "bogus"][..],
            "unknown fault \"bogus\"",
        ),
        (
            &["serve", "--flags", "maybe"][..],
            "expected on, off, missing, error",
        ),
        (&["serve", "--port", "http"][..], "--port"),
        (&["serve", "--bind", "localhost:1"][..], "--bind"),
    ] {
        let output = dbtel()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run dbtel");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(mention), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

/// The two requests the Python driver 4.9.0 sent (method, path, headers, body), captured.
fn python_requests() -> Vec<Value> {
    include_str!("fixtures/python-4.9.0-uploads.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Replays one captured request: its method, path, headers (but Host and Content-Length,
/// which `http` writes) and body.
fn replay(addr: SocketAddr, request: &Value) -> (u16, Value) {
    let headers: String = request["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.to_ascii_lowercase().as_str(),
                "host" | "content-length"
            )
        })
        .map(|(name, value)| format!("{name}: {}\r\n", value.as_str().unwrap()))
        .collect();
    let (status, body) = http(
        addr,
        request["method"].as_str().unwrap(),
        request["path"].as_str().unwrap(),
        &headers,
        request["body"].as_str().unwrap(),
    );
    (status, serde_json::from_str(&body).unwrap())
}

#[test]
fn the_real_python_uploads_are_accepted_and_the_unauth_one_warned_about() {
    let requests = python_requests();
    assert_eq!(requests.len(), 2);
    let mut served = serve(&[], &[]);
    let (status, answer) = replay(served.addr, &requests[0]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["numProtoSuccess"], 5);
    assert_eq!(answer["errors"], json!([]));
    let (status, answer) = replay(served.addr, &requests[1]);
    assert_eq!(requests[1]["path"], "/telemetry-unauth");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["numProtoSuccess"], 1);

    let (_, stats) = http(served.addr, "GET", "/stats", "", "");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["logs_accepted"], 6);
    assert_eq!(stats["logs_rejected"], 0);
    let driver_log = "$.protoLogs[*].entry.sql_driver_log";
    assert_eq!(
        stats["warnings"],
        json!({
            "unauth_private_field": {
                format!("{driver_log}.driver_connection_params"): 1,
                format!("{driver_log}.session_id"): 1,
                format!("{driver_log}.system_configuration"): 1,
            },
            "unauth_stack_trace": {format!("{driver_log}.error_info.stack_trace"): 1},
        })
    );
    assert_eq!(stats["warnings_total"], 4);

    signal(&served, "INT");
    assert_eq!(wait_for_exit(&mut served).code(), Some(0));
    let rest = served.rest_of_stdout.recv_timeout(DEADLINE).unwrap();
    assert!(rest.contains("| warnings 4 |"), "{rest}");
    assert!(
        rest.contains(&format!(
            "unauth_stack_trace       {driver_log}.error_info.stack_trace"
        )),
        "{rest}"
    );
}

#[test]
fn strict_names_exactly_what_the_real_python_uploads_depart_from() {
    let requests = python_requests();
    let mut served = serve(&["--strict"], &[]);
    let (status, answer) = replay(served.addr, &requests[0]);
    assert_eq!(
        status, 200,
        "the authenticated upload keeps the contract: {answer}"
    );
    assert_eq!(answer["numProtoSuccess"], 5);

    let (status, answer) = replay(served.addr, &requests[1]);
    assert_eq!(status, 400);
    let driver_log = "$.protoLogs[0].entry.sql_driver_log";
    let problems: Vec<(&str, &str)> = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["path"].as_str().unwrap()))
        .collect();
    let expected = [
        (
            "unauth_private_field",
            format!("{driver_log}.system_configuration"),
        ),
        (
            "unauth_private_field",
            format!("{driver_log}.driver_connection_params"),
        ),
        ("unauth_private_field", format!("{driver_log}.session_id")),
        (
            "unauth_stack_trace",
            format!("{driver_log}.error_info.stack_trace"),
        ),
    ];
    let expected: Vec<(&str, &str)> = expected.iter().map(|(k, p)| (*k, p.as_str())).collect();
    assert_eq!(problems, expected);
    assert_eq!(answer["path"], expected[0].1);

    let (_, stats) = http(served.addr, "GET", "/stats", "", "");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["logs_accepted"], 5);
    assert_eq!(stats["uploads_rejected"], 1);
    assert_eq!(stats["warnings_total"], 0);
    signal(&served, "INT");
    assert_eq!(wait_for_exit(&mut served).code(), Some(0));
}
