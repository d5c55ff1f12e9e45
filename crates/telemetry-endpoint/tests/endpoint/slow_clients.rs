//! Slow and idle clients do not keep others out: bodies are read concurrently within a memory
//! budget, a body slower than the minimum rate is cut off, part of the budget is kept for
//! requests carrying the token, and idle connections make room for new ones.
//!
//! The slow and idle clients are loopback `TcpStream`s. Waits are bounded and generous
//! ([`ANSWERED_WITHIN`]): they hold far below the default body timeout, so a test fails if one
//! slow client can still hold up another request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint, BODY_READ_TIMEOUT};

use crate::client::{eventually, parse, read_all, statement_upload};

/// How long a real upload may take to be answered while slow clients are connected: generous
/// for a loaded machine, far below [`BODY_READ_TIMEOUT`].
const ANSWERED_WITHIN: Duration = Duration::from_secs(8);

/// Opens a connection that sends an upload's headers declaring `declared` bytes, then `sent`
/// of them, and nothing more.
fn slow_upload(addr: SocketAddr, path: &str, declared: usize, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![b' '; sent]).unwrap();
    stream
}

/// Uploads `body` on a new connection and returns the status, failing if no answer comes
/// within [`ANSWERED_WITHIN`].
fn timed_upload(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(ANSWERED_WITHIN)).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let (raw, error) = read_all(&mut stream);
    assert!(
        error.is_none() && !raw.is_empty(),
        "no answer within {ANSWERED_WITHIN:?} ({:?} after start): {error:?}",
        started.elapsed()
    );
    parse(&raw).status
}

fn real_upload_is_answered_while_slow_uploaders_wait(slow: usize) {
    assert!(ANSWERED_WITHIN < BODY_READ_TIMEOUT);
    // No minimum rate: the slow clients stay for the whole body timeout.
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default().with_min_body_rate(0, BODY_READ_TIMEOUT),
    )
    .unwrap();
    let slow_clients: Vec<TcpStream> = (0..slow)
        .map(|_| slow_upload(endpoint.addr(), "/telemetry-ext", 100_000, 1))
        .collect();
    // Every slow body is awaited before the real upload arrives.
    assert!(eventually(Duration::from_secs(10), || {
        endpoint.stats().bodies_being_read >= slow as u64
    }));
    let status = timed_upload(
        endpoint.addr(),
        "/telemetry-ext",
        &[],
        &statement_upload("real", 3),
    );
    assert_eq!(status, 200);
    assert_eq!(endpoint.stats().logs_accepted, 3);
    drop(slow_clients);
}

#[test]
fn a_real_upload_is_answered_while_3_slow_uploaders_dribble() {
    real_upload_is_answered_while_slow_uploaders_wait(3);
}

#[test]
fn a_real_upload_is_answered_while_30_slow_uploaders_dribble() {
    real_upload_is_answered_while_slow_uploaders_wait(30);
}

#[test]
fn a_real_upload_is_answered_while_300_slow_uploaders_dribble() {
    real_upload_is_answered_while_slow_uploaders_wait(300);
}

#[test]
fn a_body_slower_than_the_minimum_rate_gets_408_before_the_body_timeout() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default().with_min_body_rate(1_000, Duration::from_millis(200)),
    )
    .unwrap();
    let mut slow = slow_upload(endpoint.addr(), "/telemetry-ext", 100_000, 10);
    slow.set_read_timeout(Some(ANSWERED_WITHIN)).unwrap();
    let started = Instant::now();
    let (raw, _) = read_all(&mut slow);
    assert!(!raw.is_empty(), "no answer within {ANSWERED_WITHIN:?}");
    let response = parse(&raw);
    assert_eq!(response.status, 408, "{}", String::from_utf8_lossy(&raw));
    assert!(response.json()["error"]
        .as_str()
        .unwrap()
        .contains("slower than 1000 bytes"));
    assert!(started.elapsed() < BODY_READ_TIMEOUT);
    assert_eq!(endpoint.stats().uploads_rejected, 1);
}

#[test]
fn part_of_the_body_budget_is_kept_for_requests_carrying_the_token() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_token("sesame")
            .with_body_budget_bytes(64 * 1024)
            .with_min_body_rate(0, BODY_READ_TIMEOUT),
    )
    .unwrap();
    // Half the budget is reserved; an unauthenticated slow body takes most of the rest.
    let _slow = slow_upload(endpoint.addr(), "/telemetry-unauth", 30_000, 1);
    assert!(eventually(Duration::from_secs(10), || {
        endpoint.stats().bodies_being_read >= 1
    }));
    let body = statement_upload("r", 40);
    assert!(body.len() > 3_000 && body.len() < 30_000, "{}", body.len());
    let unauth = timed_upload(endpoint.addr(), "/telemetry-unauth", &[], &body);
    assert_eq!(unauth, 503, "the open part of the budget is full");
    let with_token = timed_upload(
        endpoint.addr(),
        "/telemetry-ext",
        &[("Authorization", "Bearer sesame")],
        &body,
    );
    assert_eq!(with_token, 200, "the reserve is there for the token");
}

#[test]
fn idle_connections_make_room_for_a_new_upload() {
    const LIMIT: usize = 16;
    let endpoint =
        TelemetryEndpoint::start(EndpointConfig::default().with_max_connections(LIMIT)).unwrap();
    let idle: Vec<TcpStream> = (0..LIMIT + 8)
        .map(|_| TcpStream::connect(endpoint.addr()).unwrap())
        .collect();
    let status = timed_upload(
        endpoint.addr(),
        "/telemetry-ext",
        &[],
        &statement_upload("n", 2),
    );
    assert_eq!(status, 200);
    let stats = endpoint.stats();
    assert!(stats.connections_evicted >= 9, "{stats:?}");
    assert_eq!(stats.connections_refused, 0);
    drop(idle);
}

#[test]
fn seven_hundred_idle_connections_do_not_keep_a_new_upload_out() {
    // The default limit (512) with 700 idle clients: about 1,400 descriptors in this process.
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let mut idle = Vec::new();
    for _ in 0..700 {
        match TcpStream::connect(endpoint.addr()) {
            Ok(stream) => idle.push(stream),
            // Out of file descriptors (`ulimit -n` below about 1,500): leave some room for the
            // upload and test with what is open.
            Err(_) => {
                idle.truncate(idle.len().saturating_sub(64));
                break;
            }
        }
    }
    let status = timed_upload(
        endpoint.addr(),
        "/telemetry-ext",
        &[],
        &statement_upload("n", 2),
    );
    assert_eq!(status, 200, "with {} idle connections", idle.len());
    drop(idle);
}

#[test]
fn when_every_connection_is_answering_a_request_a_new_one_is_refused_and_counted() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_max_connections(2)
            .with_min_body_rate(0, BODY_READ_TIMEOUT),
    )
    .unwrap();
    let _busy: Vec<TcpStream> = (0..2)
        .map(|_| slow_upload(endpoint.addr(), "/telemetry-ext", 1_000, 1))
        .collect();
    assert!(eventually(Duration::from_secs(10), || {
        endpoint.stats().bodies_being_read >= 2
    }));
    let mut extra = TcpStream::connect(endpoint.addr()).unwrap();
    extra.set_read_timeout(Some(ANSWERED_WITHIN)).unwrap();
    let _ = extra.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buffer = [0u8; 16];
    assert!(matches!(extra.read(&mut buffer), Ok(0) | Err(_)));
    assert!(eventually(Duration::from_secs(10), || {
        endpoint.stats().connections_refused >= 1
    }));
}
