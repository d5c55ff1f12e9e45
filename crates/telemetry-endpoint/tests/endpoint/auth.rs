//! The bearer-token check, and that tokens never show in `Debug` output.

use serde_json::json;
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

use crate::client::{get, request, statement_upload};

const TOKEN: &str = "dapi-test-secret-0123";
/// Headers sent, status expected, and the expected error for a 401.
type AuthCase<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);

const FLAGS: &str = "/api/2.0/connector-service/feature-flags/ADBC/0.1.0";

fn start() -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default().with_token(TOKEN)).unwrap()
}

#[test]
fn upload_needs_the_right_bearer_token() {
    let endpoint = start();
    let body = statement_upload("t", 1);
    let bearer = format!("Bearer {TOKEN}");
    let cases: [AuthCase<'_>; 4] = [
        (
            &[],
            401,
            "missing Authorization header; expected Authorization: Bearer <token>",
        ),
        (
            &[("Authorization", "Bearer wrong")],
            401,
            "the bearer token is not the one this endpoint expects",
        ),
        (
            &[("Authorization", "Basic dXNlcjpwYXNz")],
            401,
            "the Authorization scheme is not Bearer; expected Bearer <token>",
        ),
        (&[("Authorization", bearer.as_str())], 200, ""),
    ];
    for (headers, status, error) in cases {
        let response = request(endpoint.addr(), "POST", "/telemetry-ext", headers, &body);
        assert_eq!(response.status, status, "{headers:?}");
        if status == 401 {
            assert_eq!(response.json(), json!({ "error": error }));
        }
    }
    let stats = endpoint.stats();
    assert_eq!(stats.uploads_unauthorized, 3);
    assert_eq!(stats.logs_accepted, 1);
    assert_eq!(stats.count("/telemetry-ext", 401), 3);
}

#[test]
fn feature_flags_and_admin_need_the_token_but_unauth_and_stats_do_not() {
    let endpoint = start();
    assert_eq!(get(endpoint.addr(), FLAGS).status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let response = request(
        endpoint.addr(),
        "GET",
        FLAGS,
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(response.status, 200);
    let response = request(
        endpoint.addr(),
        "POST",
        "/telemetry-unauth",
        &[],
        &statement_upload("u", 1),
    );
    assert_eq!(response.status, 200);
    assert_eq!(get(endpoint.addr(), "/stats").status, 200);
    assert_eq!(
        request(endpoint.addr(), "DELETE", "/admin/fault", &[], b"").status,
        401
    );
    assert_eq!(
        request(endpoint.addr(), "POST", "/admin/fault", &[], b"hang").status,
        401
    );
    assert_eq!(
        endpoint.stats().active_fault,
        None,
        "no fault set without the token"
    );
    assert_eq!(
        request(
            endpoint.addr(),
            "DELETE",
            "/admin/fault",
            &[("Authorization", &bearer)],
            b""
        )
        .status,
        200
    );
}

#[test]
fn debug_output_never_shows_the_token() {
    let endpoint = start();
    let bearer = format!("Bearer {TOKEN}");
    request(
        endpoint.addr(),
        "POST",
        "/telemetry-ext",
        &[("Authorization", &bearer)],
        &statement_upload("d", 1),
    );
    let recorded = endpoint.requests().pop().unwrap();
    // Kept in memory for tests that check what was sent...
    assert_eq!(recorded.header("authorization"), Some(bearer.as_str()));
    // ...but never printed.
    for shown in [
        format!("{recorded:?}"),
        format!("{:?}", EndpointConfig::default().with_token(TOKEN)),
        format!("{endpoint:?}"),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
    assert!(format!("{recorded:?}").contains("<redacted>"));
}

#[test]
fn an_empty_token_is_an_error_at_start() {
    for token in ["", "  "] {
        let error = TelemetryEndpoint::start(EndpointConfig::default().with_token(token))
            .expect_err("an empty token is refused");
        assert!(
            matches!(error, telemetry_endpoint::EndpointError::EmptyToken),
            "{error}"
        );
    }
}
