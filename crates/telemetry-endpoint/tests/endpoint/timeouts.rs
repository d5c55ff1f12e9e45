//! The endpoint's read timeouts against slow and silent clients: a header that never ends, a
//! body that never ends, and a kept-alive connection left idle. The timeouts are set short
//! ([`SHORT`]); every wait is bounded by [`BOUND`], far below the default timeouts, so each test
//! fails if its timeout is not applied.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use telemetry_endpoint::{
    EndpointConfig, TelemetryEndpoint, BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT,
};

use crate::client::{get, parse, statement_upload};

/// The timeout under test.
const SHORT: Duration = Duration::from_millis(300);

/// How long the server may take to act on [`SHORT`]: the tests fail beyond it.
const BOUND: Duration = Duration::from_secs(3);

/// Less than [`SHORT`]: the server must not act before this (it is the timeout that acts, not
/// something else), with room for timer rounding.
const NOT_BEFORE: Duration = Duration::from_millis(250);

/// How a connection ended, as the client saw it.
#[derive(Debug)]
enum Ending {
    /// The server closed it (end of stream or reset), after sending these bytes.
    Closed(Vec<u8>),
    /// Still open after the bound, having sent these bytes.
    StillOpen(Vec<u8>),
}

/// Reads until the server closes `stream` or `deadline` passes.
fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> Ending {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ending::StillOpen(received);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return Ending::Closed(received),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if is_reset(&error) => return Ending::Closed(received),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ending::StillOpen(received)
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!("unexpected read error: {error}"),
        }
    }
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// Reads one response with a `Content-Length` body from a kept-alive connection, by
/// `deadline`.
fn read_one_response(stream: &mut TcpStream, deadline: Instant) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|value| value.trim().parse().unwrap())
                .expect("a response with a Content-Length");
            if received.len() >= end + 4 + length {
                return received;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no whole response by the deadline: {:?}",
            String::from_utf8_lossy(&received)
        );
        stream.set_read_timeout(Some(left)).unwrap();
        let n = stream.read(&mut buffer).expect("the response");
        assert!(n > 0, "closed before the whole response");
        received.extend_from_slice(&buffer[..n]);
    }
}

#[test]
fn the_read_timeouts_default_to_the_documented_constants() {
    let config = EndpointConfig::default();
    assert_eq!(config.header_read_timeout, HEADER_READ_TIMEOUT);
    assert_eq!(config.body_read_timeout, BODY_READ_TIMEOUT);
    assert!(
        BOUND < HEADER_READ_TIMEOUT && BOUND < BODY_READ_TIMEOUT,
        "the tests below would pass with the defaults"
    );
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected_after_the_header_timeout() {
    let endpoint =
        TelemetryEndpoint::start(EndpointConfig::default().with_header_read_timeout(SHORT))
            .unwrap();
    let started = Instant::now();
    // One sends nothing at all, the other half a header line.
    let mut silent = TcpStream::connect(endpoint.addr()).unwrap();
    let mut halfway = TcpStream::connect(endpoint.addr()).unwrap();
    halfway
        .write_all(b"POST /telemetry-unauth HTTP/1.1\r\nHost: x\r\nContent-Le")
        .unwrap();
    let deadline = started + BOUND;
    for (name, stream) in [("silent", &mut silent), ("halfway", &mut halfway)] {
        match read_until_closed(stream, deadline) {
            Ending::Closed(received) => assert!(
                received.is_empty(),
                "{name}: closed without an answer, got {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ending::StillOpen(_) => panic!("{name}: still open after {BOUND:?}"),
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= NOT_BEFORE,
        "closed after {elapsed:?}, before the timeout"
    );
    // Neither counts as a request, and the endpoint still answers.
    assert_eq!(endpoint.stats().requests_total, 0);
    let stats = get(endpoint.addr(), "/stats");
    assert_eq!(stats.status, 200);
    // The answer is taken before the request is counted.
    assert_eq!(stats.json()["requests_total"], 0);
    assert_eq!(endpoint.stats().requests_total, 1);
}

#[test]
fn a_body_that_never_finishes_gets_408_after_the_body_timeout_and_is_counted() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_token("dapi-timeouts-secret")
            .with_body_read_timeout(SHORT),
    )
    .unwrap();
    let body = statement_upload("slow", 1);
    assert!(body.len() > 100);
    let mut stream = TcpStream::connect(endpoint.addr()).unwrap();
    let started = Instant::now();
    // No `Connection: close`: the server closes the connection itself, since the rest of the
    // body would otherwise be read as the next request.
    let head = "POST /telemetry-ext HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Authorization: Bearer dapi-timeouts-secret\r\nContent-Length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..100]).unwrap();
    let received = match read_until_closed(&mut stream, started + BOUND) {
        Ending::Closed(received) => received,
        Ending::StillOpen(received) => panic!(
            "still open after {BOUND:?}, having sent {:?}",
            String::from_utf8_lossy(&received)
        ),
    };
    let elapsed = started.elapsed();
    let response = parse(&received);
    assert_eq!(response.status, 408);
    assert!(
        response.json()["error"]
            .as_str()
            .is_some_and(|error| error.contains("300ms")),
        "{:?}",
        response.json()
    );
    assert!(
        elapsed >= NOT_BEFORE,
        "answered after {elapsed:?}, before the timeout"
    );
    let stats = endpoint.stats();
    assert_eq!(stats.uploads_rejected, 1, "a 408 is a refused upload");
    assert_eq!(stats.count("/telemetry-ext", 408), 1);
    assert_eq!(stats.logs_accepted, 0);
    assert_eq!(stats.uploads_unauthorized, 0);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let endpoint =
        TelemetryEndpoint::start(EndpointConfig::default().with_header_read_timeout(SHORT))
            .unwrap();
    let mut stream = TcpStream::connect(endpoint.addr()).unwrap();
    // The server's wait for the next request starts after it answers, so after this.
    let sent = Instant::now();
    // HTTP/1.1 without `Connection: close`: kept alive.
    stream
        .write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = parse(&read_one_response(&mut stream, Instant::now() + BOUND));
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("connection")
            .is_none_or(|value| !value.eq_ignore_ascii_case("close")),
        "the connection is kept alive"
    );
    // Then silence.
    match read_until_closed(&mut stream, Instant::now() + BOUND) {
        Ending::Closed(received) => assert!(
            received.is_empty(),
            "closed without another answer, got {:?}",
            String::from_utf8_lossy(&received)
        ),
        Ending::StillOpen(_) => panic!("an idle connection still open after {BOUND:?}"),
    }
    let elapsed = sent.elapsed();
    assert!(
        elapsed >= NOT_BEFORE,
        "closed {elapsed:?} after the request, before the timeout"
    );
    assert_eq!(endpoint.stats().requests_total, 1);
}
