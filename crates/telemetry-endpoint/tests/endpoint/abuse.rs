//! The endpoint under abuse: uploads with a wrong token and a huge body, oversized bodies,
//! huge headers, connection floods, and admin routes without the token.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

use crate::client::{parse, read_all, request, statement_upload};

const TOKEN: &str = "dapi-abuse-secret-0123";

fn start() -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default().with_token(TOKEN)).unwrap()
}

/// Writes a request head (no body) declaring `length` body bytes.
fn head_only(endpoint: &TelemetryEndpoint, path: &str, token: &str, length: u64) -> TcpStream {
    let mut stream = TcpStream::connect(endpoint.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

#[test]
fn a_wrong_token_is_refused_before_the_body_is_read() {
    let endpoint = start();
    // 60 MB announced, none sent: only an answer that does not wait for the body comes back.
    let started = Instant::now();
    let mut stream = head_only(&endpoint, "/telemetry-ext", "wrong", 60_000_000);
    let (raw, error) = read_all(&mut stream);
    assert!(error.is_none(), "no answer without the body: {error:?}");
    assert_eq!(parse(&raw).status, 401);
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(endpoint.stats().uploads_unauthorized, 1);
}

#[test]
fn an_oversized_body_is_refused_unread_and_counted() {
    let endpoint = start();
    let mut stream = head_only(&endpoint, "/telemetry-ext", TOKEN, 1_000_000_000);
    let (raw, error) = read_all(&mut stream);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(parse(&raw).status, 413);
    let stats = endpoint.stats();
    assert_eq!(stats.uploads_rejected, 1, "a 413 is a refused upload");
    assert_eq!(stats.count("/telemetry-ext", 413), 1);
}

#[test]
fn admin_routes_need_the_token() {
    let endpoint = start();
    let bearer = format!("Bearer {TOKEN}");
    for token in [None, Some("Bearer wrong")] {
        let headers: Vec<(&str, &str)> = token.map(|t| ("Authorization", t)).into_iter().collect();
        let response = request(endpoint.addr(), "POST", "/admin/fault", &headers, b"hang");
        assert_eq!(response.status, 401, "{token:?}");
    }
    assert_eq!(endpoint.stats().active_fault, None);
    let response = request(
        endpoint.addr(),
        "POST",
        "/admin/fault",
        &[("Authorization", &bearer)],
        b"503*1",
    );
    assert_eq!(response.status, 200);
    assert_eq!(endpoint.stats().active_fault.as_deref(), Some("503*1"));
}

#[test]
fn the_request_log_keeps_a_bounded_part_of_huge_headers() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let big = "v".repeat(4_000);
    let headers: Vec<(String, String)> = (0..14)
        .map(|i| (format!("x-big-{i}"), big.clone()))
        .collect();
    let borrowed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let response = request(
        endpoint.addr(),
        "POST",
        "/telemetry-unauth",
        &borrowed,
        &statement_upload("h", 1),
    );
    assert_eq!(response.status, 200);
    let recorded = endpoint.requests();
    let kept: usize = recorded[0]
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    assert!(
        kept <= 2 * 1024,
        "{kept} header bytes kept of about 56,000 sent"
    );
    assert!(
        recorded[0].header("host").is_some(),
        "the first headers are kept"
    );
}

#[test]
fn a_long_unknown_field_name_is_cut_in_the_warning_counts() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default().with_mode(telemetry_endpoint::Mode::Tolerant),
    )
    .unwrap();
    let field = "f".repeat(100_000);
    let log = crate::client::frontend_log("e1", serde_json::json!({ field.as_str(): 1 }));
    let response = crate::client::post(
        endpoint.addr(),
        "/telemetry-ext",
        &crate::client::upload_of(&[log]),
    );
    assert_eq!(response.status, 200);
    let stats = endpoint.stats();
    assert_eq!(stats.warnings_total, 1);
    let paths: Vec<&String> = stats
        .warnings
        .values()
        .flat_map(|paths| paths.keys())
        .collect();
    assert_eq!(paths.len(), 1);
    assert!(
        paths[0].len() <= telemetry_endpoint::MAX_WARNING_PATH_BYTES && paths[0].ends_with('…'),
        "{} bytes",
        paths[0].len()
    );
}
