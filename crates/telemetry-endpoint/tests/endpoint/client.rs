//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`, with bounded waits, and helpers
//! to build uploads.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The longest any single read in these tests may block.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A complete response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Opens a connection and writes one request with `Connection: close`.
pub(crate) fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect to the endpoint");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream
}

/// Reads until the server closes the connection (or an error), returning what arrived.
pub(crate) fn read_all(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (received, None),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) => return (received, Some(error)),
        }
    }
}

/// Parses a complete response (status line, headers, body to the end).
pub(crate) fn parse(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Sends one request and reads the whole response.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = send(addr, method, path, headers, body);
    let (raw, error) = read_all(&mut stream);
    if let Some(error) = error {
        panic!("reading the answer to {method} {path} failed: {error}");
    }
    parse(&raw)
}

pub(crate) fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    request(addr, "GET", path, &[], b"")
}

pub(crate) fn post(addr: SocketAddr, path: &str, body: &[u8]) -> HttpResponse {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body,
    )
}

/// A valid frontend log with this event id and `sql_driver_log`.
pub(crate) fn frontend_log(event_id: &str, driver_log: Value) -> Value {
    json!({
        "frontend_log_event_id": event_id,
        "workspace_id": 1234567890_i64,
        "context": {"client_context": {"timestamp_millis": 1764160000123_i64, "user_agent": "DatabricksAdbcRust/0.1.0"}},
        "entry": {"sql_driver_log": driver_log}
    })
}

/// An upload body whose `protoLogs` are these logs, each serialised as a string.
pub(crate) fn upload_of(logs: &[Value]) -> Vec<u8> {
    let proto_logs: Vec<String> = logs.iter().map(Value::to_string).collect();
    upload_of_strings(&proto_logs)
}

pub(crate) fn upload_of_strings(proto_logs: &[String]) -> Vec<u8> {
    json!({"uploadTime": 1764160000000_i64, "items": [], "protoLogs": proto_logs})
        .to_string()
        .into_bytes()
}

/// A small valid upload of `count` statement logs with ids `{prefix}-{i}`.
pub(crate) fn statement_upload(prefix: &str, count: usize) -> Vec<u8> {
    let logs: Vec<Value> = (0..count)
        .map(|i| {
            frontend_log(
                &format!("{prefix}-{i}"),
                json!({"sql_statement_id": "st", "operation_latency_ms": 12,
                       "sql_operation": {"statement_type": "QUERY"}}),
            )
        })
        .collect();
    upload_of(&logs)
}

/// Polls `condition` until it holds or `within` passes; returns whether it held.
pub(crate) fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
