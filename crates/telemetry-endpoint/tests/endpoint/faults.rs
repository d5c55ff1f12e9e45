//! Each fault kind and scope behaves as configured, over real connections.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use serde_json::json;
use telemetry_endpoint::{EndpointConfig, Fault, FaultKind, FaultScope, TelemetryEndpoint};

use crate::client::{
    eventually, get, parse, post, read_all, request, send, statement_upload, READ_TIMEOUT,
};

fn start_with(fault: Fault) -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default().with_fault(fault)).unwrap()
}

fn status(code: u16, retry_after: Option<&str>) -> FaultKind {
    FaultKind::Status {
        code,
        retry_after: retry_after.map(str::to_owned),
    }
}

#[test]
fn status_for_the_next_n_uploads_then_normal() {
    let endpoint = start_with(Fault::new(status(503, Some("2"))).with_scope(FaultScope::Next(2)));
    let body = statement_upload("s", 1);
    for _ in 0..2 {
        let response = post(endpoint.addr(), "/telemetry-ext", &body);
        assert_eq!(response.status, 503);
        assert_eq!(response.header("retry-after"), Some("2"));
    }
    let response = post(endpoint.addr(), "/telemetry-ext", &body);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("retry-after"), None);
    let stats = endpoint.stats();
    assert_eq!(stats.faults_injected, 2);
    assert_eq!(stats.count("/telemetry-ext", 503), 2);
    assert_eq!(stats.logs_accepted, 1);
    assert_eq!(stats.active_fault, None);
    let faults: Vec<Option<String>> = endpoint.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            Some("503:retry-after=2".to_owned()),
            Some("503:retry-after=2".to_owned()),
            None
        ]
    );
}

#[test]
fn retry_after_is_sent_raw_even_when_junk() {
    let endpoint = start_with(Fault::new(status(429, Some("soon, maybe"))));
    let response = post(
        endpoint.addr(),
        "/telemetry-unauth",
        &statement_upload("j", 1),
    );
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("soon, maybe"));
}

#[test]
fn faults_apply_to_upload_routes_only() {
    let endpoint = start_with(Fault::new(status(500, None)));
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", b"{}").status, 500);
    assert_eq!(
        post(endpoint.addr(), "/telemetry-unauth", b"{}").status,
        500
    );
    assert_eq!(get(endpoint.addr(), "/stats").status, 200);
    assert_eq!(
        get(
            endpoint.addr(),
            "/api/2.0/connector-service/feature-flags/ADBC/0.1.0"
        )
        .status,
        200
    );
    assert_eq!(endpoint.stats().faults_injected, 2);
}

#[test]
fn window_scope_ends_after_its_duration() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let window = Duration::from_millis(300);
    let set_at = Instant::now();
    endpoint.set_fault(Fault::new(status(503, None)).with_scope(FaultScope::Window(window)));
    let body = statement_upload("w", 1);
    let first = post(endpoint.addr(), "/telemetry-ext", &body);
    if set_at.elapsed() < window {
        assert_eq!(first.status, 503);
    }
    let mut recovered_after = None;
    assert!(
        eventually(Duration::from_secs(10), || {
            let status = post(endpoint.addr(), "/telemetry-ext", &body).status;
            if status == 200 {
                recovered_after = Some(set_at.elapsed());
            }
            status == 200
        }),
        "the window fault never ended"
    );
    assert!(recovered_after.unwrap() >= window);
    assert_eq!(endpoint.stats().active_fault, None);
}

#[test]
fn delay_then_normal_answer() {
    let delay = Duration::from_millis(150);
    let endpoint = start_with(Fault::new(FaultKind::Delay(delay)).with_scope(FaultScope::Next(1)));
    let started = Instant::now();
    let response = post(endpoint.addr(), "/telemetry-ext", &statement_upload("d", 2));
    assert!(started.elapsed() >= delay);
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["numProtoSuccess"], 2);
    assert_eq!(endpoint.logs().len(), 2);
}

#[test]
fn hang_never_answers_and_is_released_at_shutdown() {
    let endpoint = start_with(Fault::new(FaultKind::Hang));
    let mut stream = send(
        endpoint.addr(),
        "POST",
        "/telemetry-ext",
        &[],
        &statement_upload("h", 3),
    );
    assert!(
        eventually(READ_TIMEOUT, || endpoint
            .requests()
            .iter()
            .any(|r| r.path == "/telemetry-ext")),
        "the hung request was never read"
    );
    let recorded = endpoint.requests().pop().unwrap();
    assert_eq!(recorded.status, None);
    assert_eq!(recorded.log_count, 3);
    assert_eq!(recorded.fault.as_deref(), Some("hang"));
    // Read completely, and nothing answered.
    stream.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 16];
    assert_eq!(
        stream.read(&mut buffer).map_err(|e| e.kind()).unwrap_err(),
        ErrorKind::WouldBlock
    );
    assert_eq!(endpoint.stats().requests["/telemetry-ext"].unanswered, 1);
    assert!(endpoint.logs().is_empty());

    let started = Instant::now();
    endpoint.shutdown();
    assert!(started.elapsed() < Duration::from_secs(5));
    stream.set_nonblocking(false).unwrap();
    let (received, _closed_or_reset) = read_all(&mut stream);
    assert!(received.is_empty(), "a hung request got an answer");
}

#[test]
fn reset_aborts_the_connection_mid_response() {
    let endpoint = start_with(Fault::new(FaultKind::Reset));
    let mut stream = send(
        endpoint.addr(),
        "POST",
        "/telemetry-ext",
        &[],
        &statement_upload("r", 1),
    );
    let (received, error) = read_all(&mut stream);
    let error = error.expect("the connection should end with an error, not a clean close");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(text.contains("content-length: 1024"), "{text:?}");
    assert!(text.ends_with(r#"{"errors":[],"numSuccess":"#), "{text:?}");
    assert_eq!(
        endpoint.logs().len(),
        1,
        "a 200 status line means accepted: the endpoint keeps what it acknowledged"
    );
    assert_eq!(endpoint.stats().requests["/telemetry-ext"].unanswered, 1);
}

#[test]
fn redirect_answers_with_location() {
    let endpoint = start_with(Fault::new(FaultKind::Redirect {
        location: "http://127.0.0.1:9/elsewhere".into(),
        code: 307,
    }));
    let response = post(endpoint.addr(), "/telemetry-ext", &statement_upload("x", 1));
    assert_eq!(response.status, 307);
    assert_eq!(
        response.header("location"),
        Some("http://127.0.0.1:9/elsewhere")
    );
    endpoint.set_fault("redirect:308=http://127.0.0.1:9/".parse().unwrap());
    let response = post(endpoint.addr(), "/telemetry-ext", &statement_upload("x", 1));
    assert_eq!(response.status, 308);
    assert!(endpoint.logs().is_empty());
}

#[test]
fn malformed_body_is_a_200_that_is_not_json() {
    let endpoint = start_with(Fault::new(FaultKind::MalformedBody));
    let response = post(endpoint.addr(), "/telemetry-ext", &statement_upload("m", 1));
    assert_eq!(response.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&response.body).is_err());
    assert!(endpoint.logs().is_empty());
}

#[test]
fn huge_body_streams_exactly_that_many_bytes() {
    let bytes = 3 * 1024 * 1024 + 17;
    let endpoint = start_with(Fault::new(FaultKind::HugeBody { bytes }));
    let response = post(endpoint.addr(), "/telemetry-ext", &statement_upload("g", 1));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-length"),
        Some(bytes.to_string().as_str())
    );
    assert_eq!(response.body.len(), bytes);
}

#[test]
fn admin_route_sets_and_clears_faults() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let response = post(endpoint.addr(), "/admin/fault", b"503*1");
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"fault": "503*1"}));
    let body = statement_upload("a", 1);
    // A new fault replaces the installed one.
    assert_eq!(post(endpoint.addr(), "/admin/fault", b"503*2").status, 200);
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", &body).status, 503);
    assert_eq!(endpoint.stats().active_fault.as_deref(), Some("503*1"));
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", &body).status, 503);
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", &body).status, 200);

    assert_eq!(post(endpoint.addr(), "/admin/fault", b"429").status, 200);
    assert_eq!(endpoint.stats().active_fault.as_deref(), Some("429"));
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", &body).status, 429);
    let response = request(endpoint.addr(), "DELETE", "/admin/fault", &[], b"");
    assert_eq!(response.status, 200);
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", &body).status, 200);
    assert_eq!(endpoint.stats().active_fault, None);

    let response = post(endpoint.addr(), "/admin/fault", b"delay=soon");
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error"],
        "invalid fault spec \"delay=soon\": duration \"soon\" does not start with a whole number"
    );
}

#[test]
fn raw_response_parser_is_used_on_complete_answers_only() {
    // Guards the helper the other tests rely on.
    let parsed = parse(b"HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n");
    assert_eq!(parsed.status, 204);
    assert_eq!(parsed.header("X-A"), Some("1"));
    assert!(parsed.body.is_empty());
}
