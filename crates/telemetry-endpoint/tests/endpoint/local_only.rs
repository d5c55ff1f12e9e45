//! `local_requests_only`: what a page on another site could send through a browser (DNS
//! rebinding, a cross-site POST) is refused.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

use crate::client::{parse, read_all, READ_TIMEOUT};

/// Sends one request with exactly these headers (no Host added) and returns the status.
fn raw_status(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    let (raw, _) = read_all(&mut stream);
    parse(&raw).status
}

fn local_endpoint() -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default().with_local_requests_only(true)).unwrap()
}

#[test]
fn a_host_that_does_not_name_the_endpoint_is_refused() {
    let endpoint = local_endpoint();
    let addr = endpoint.addr();
    let port = addr.port();
    let rebound = format!("Host: rebind.example:{port}");
    assert_eq!(raw_status(addr, "GET", "/stats", &[&rebound], ""), 403);
    assert_eq!(raw_status(addr, "GET", "/stats", &[], ""), 403, "no Host");
    let local = format!("Host: localhost:{port}");
    assert_eq!(raw_status(addr, "GET", "/stats", &[&local], ""), 200);
    let served = format!("Host: {addr}");
    assert_eq!(raw_status(addr, "GET", "/stats", &[&served], ""), 200);
}

#[test]
fn a_cross_site_admin_request_cannot_set_a_fault() {
    let endpoint = local_endpoint();
    let addr = endpoint.addr();
    let host = format!("Host: {addr}");
    // What a form or `fetch` without a preflight can send from another site.
    let plain = raw_status(
        addr,
        "POST",
        "/admin/fault",
        &[&host, "Content-Type: text/plain"],
        "503",
    );
    assert_eq!(plain, 415);
    let foreign = raw_status(
        addr,
        "POST",
        "/admin/fault",
        &[
            &host,
            "Content-Type: application/json",
            "Origin: http://evil.example",
        ],
        "\"503\"",
    );
    assert_eq!(foreign, 403);
    assert_eq!(endpoint.stats().active_fault, None);
    let local = raw_status(
        addr,
        "POST",
        "/admin/fault",
        &[&host, "Content-Type: application/json"],
        "\"503*1\"",
    );
    assert_eq!(local, 200);
    assert_eq!(endpoint.stats().active_fault.as_deref(), Some("503*1"));
    let clear = raw_status(
        addr,
        "DELETE",
        "/admin/fault",
        &[&host, "Origin: http://evil.example"],
        "",
    );
    assert_eq!(clear, 403);
}

#[test]
fn without_the_option_any_host_is_served() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let addr = endpoint.addr();
    assert_eq!(
        raw_status(addr, "GET", "/stats", &["Host: rebind.example"], ""),
        200
    );
}
