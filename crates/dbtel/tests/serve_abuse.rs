//! `dbtel serve` under abuse: bounded live tallies, Host and Origin checks without a token,
//! driver strings escaped on the terminal, an empty token refused at start.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The bound on every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(20);

struct Served {
    child: Child,
    addr: SocketAddr,
    rest_of_stdout: mpsc::Receiver<Vec<u8>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dbtel() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbtel"));
    command.env_remove("DBTEL_TOKEN");
    command
}

fn serve(args: &[&str]) -> Served {
    let mut child = dbtel()
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn dbtel");
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = mpsc::channel();
    let (rest_tx, rest_of_stdout) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = first_tx.send(line);
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        let _ = rest_tx.send(rest);
    });
    let first: String = first_rx.recv_timeout(DEADLINE).expect("an address line");
    let addr = first
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    Served {
        child,
        addr,
        rest_of_stdout,
    }
}

/// Stops `served` with SIGINT and returns the rest of its stdout.
fn stop(mut served: Served) -> Vec<u8> {
    let status = Command::new("kill")
        .args(["-INT", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dbtel serve did not exit in time"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    served.rest_of_stdout.recv_timeout(DEADLINE).unwrap()
}

/// One request with `Connection: close` and exactly `head` as its headers (Host included);
/// returns the status and body.
fn raw(addr: SocketAddr, method: &str, path: &str, head: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nConnection: close\r\n{head}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn host(addr: SocketAddr) -> String {
    format!("Host: {addr}\r\n")
}

fn upload(addr: SocketAddr, logs: &[Value]) -> u16 {
    let proto_logs: Vec<String> = logs.iter().map(Value::to_string).collect();
    let body = json!({"uploadTime": 1, "items": [], "protoLogs": proto_logs}).to_string();
    let head = format!("{}Content-Type: application/json\r\n", host(addr));
    raw(addr, "POST", "/telemetry-ext", &head, &body).0
}

fn log(event_id: &str, driver_log: Value) -> Value {
    json!({
        "frontend_log_event_id": event_id,
        "context": {"client_context": {"timestamp_millis": 1, "user_agent": "test/1"}},
        "entry": {"sql_driver_log": driver_log}
    })
}

#[test]
fn an_empty_token_is_a_clear_error_at_start() {
    for token in ["", " "] {
        let mut child = dbtel()
            .args(["serve", "--token", token])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + DEADLINE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("dbtel serve --token {token:?} started instead of failing");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("the token is empty"), "{stderr}");
    }
}

#[test]
fn help_says_what_is_exposed_off_loopback() {
    let output = dbtel().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("other than loopback"), "{help}");
    assert!(help.contains("/summary (session ids"), "{help}");
    assert!(
        help.contains("Host is not this address or localhost"),
        "{help}"
    );
}

#[test]
fn without_a_token_a_foreign_host_and_a_cross_site_admin_request_are_refused() {
    let served = serve(&[]);
    let addr = served.addr;
    // DNS rebinding: the browser sends the attacker's name as Host.
    let rebound = format!("Host: rebind.example:{}\r\n", addr.port());
    assert_eq!(raw(addr, "GET", "/summary", &rebound, "").0, 403);
    let local = format!("Host: localhost:{}\r\n", addr.port());
    assert_eq!(raw(addr, "GET", "/summary", &local, "").0, 200);
    // A cross-site form post: text/plain, a foreign Origin.
    let plain = format!("{}Content-Type: text/plain\r\n", host(addr));
    assert_eq!(raw(addr, "POST", "/admin/fault", &plain, "503").0, 415);
    let foreign = format!(
        "{}Content-Type: application/json\r\nOrigin: http://evil.example\r\n",
        host(addr)
    );
    assert_eq!(
        raw(addr, "POST", "/admin/fault", &foreign, "\"503\"").0,
        403
    );
    // Nothing was installed: the next upload is accepted.
    assert_eq!(upload(addr, &[log("e1", json!({}))]), 200);
    let json = format!("{}Content-Type: application/json\r\n", host(addr));
    assert_eq!(raw(addr, "POST", "/admin/fault", &json, "\"503*1\"").0, 200);
    assert_eq!(upload(addr, &[log("e2", json!({}))]), 503);
    stop(served);
}

#[test]
fn with_a_token_any_host_may_use_it() {
    let served = serve(&["--token", "sesame"]);
    let addr = served.addr;
    let head = "Host: rebind.example\r\nAuthorization: Bearer sesame\r\n";
    assert_eq!(raw(addr, "GET", "/summary", head, "").0, 200);
    stop(served);
}

#[test]
fn driver_strings_reach_the_terminal_escaped() {
    let served = serve(&[]);
    let evil = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";
    let mut driver_log = json!({"operation_latency_ms": 5});
    driver_log[evil] = json!(1);
    assert_eq!(upload(served.addr, &[log("e1", driver_log)]), 200);
    let out = stop(served);
    let text = String::from_utf8_lossy(&out);
    assert!(
        !out.contains(&0x1b) && !text.contains('\u{9b}') && !out.contains(&0x07),
        "raw control characters on the terminal: {text:?}"
    );
    assert!(
        text.contains("x\\x1b]0;pwned\\x07\\x1b[2J\\u{9b}31m"),
        "{text}"
    );
}

#[test]
fn the_live_tallies_cut_long_strings_and_the_page_data_says_so() {
    let served = serve(&[]);
    let logs: Vec<Value> = (0..3)
        .map(|i| {
            log(
                &format!("e{i}"),
                json!({
                    "session_id": format!("{i}{}", "s".repeat(4096)),
                    "error_info": {"error_name": format!("{i}{}", "E".repeat(4096)), "stack_trace": ""}
                }),
            )
        })
        .collect();
    assert_eq!(upload(served.addr, &logs), 200);
    let (status, summary) = raw(served.addr, "GET", "/summary", &host(served.addr), "");
    assert_eq!(status, 200);
    let summary: Value = serde_json::from_str(&summary).unwrap();
    let sessions = summary["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    for session in sessions {
        let id = session["session_id"].as_str().unwrap();
        assert!(id.len() <= 256 && id.ends_with('…'), "{}", id.len());
    }
    for error in summary["errors"].as_array().unwrap() {
        assert!(error["error_name"].as_str().unwrap().len() <= 256);
    }
    assert_eq!(summary["folded"]["strings_cut"], 6, "{}", summary["folded"]);
    stop(served);
}
