//! TLS: certificate verification is always on. Over real TLS on loopback, against a small
//! rustls server presenting certificates from a test certificate authority made with rcgen,
//! the exporter delivers to a correctly named, valid certificate from a root it trusts, and
//! refuses (without sending a byte of the request, so without the token) a certificate from an
//! untrusted root, for another host name, expired, or not yet valid; and the bundled Mozilla
//! roots do not trust a private CA.

use crate::http_support;
use crate::tls_support;

use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::export::{
    ExportOutcome, Exporter, FailureKind, TransportSetupError, UreqTransport,
};
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
use databricks_telemetry::TelemetryConfig;
use http_support::{logs, soon, token, user_agent, TOKEN};
use tls_support::{TestCa, TlsServer};

/// Three retries allowed, to show that a refused certificate is not retried.
fn config() -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_request_timeout(Duration::from_secs(3))
        .with_max_retries(3)
        .with_retry_base_delay(Duration::from_millis(1))
        .with_retry_max_delay(Duration::from_millis(5))
        .build()
        .unwrap()
}

/// An authenticated HTTPS exporter to `host:port`, trusting the bundled roots plus the CA
/// certificates `roots` (DER) when given (the default transport when `None`).
fn exporter(host: &str, port: u16, roots: Option<Vec<Vec<u8>>>) -> DatabricksExporter {
    let config = config();
    let endpoint =
        ServiceEndpoint::parse(&format!("{host}:{port}"), config.allow_insecure_http()).unwrap();
    let builder = DatabricksExporter::builder(
        endpoint,
        ExporterSettings::from_config(&config),
        user_agent(),
    );
    match roots {
        Some(roots) => {
            let transport = roots
                .into_iter()
                .fold(UreqTransport::builder(), |builder, der| {
                    builder.with_root_certificate_der(der)
                })
                .build()
                .unwrap();
            builder.with_transport(Arc::new(transport))
        }
        None => builder,
    }
    .build()
    .unwrap()
}

/// The outcome of a refused certificate: a TLS failure, not retried (one connection, though
/// three retries are allowed), without the token.
fn assert_refused(outcome: &ExportOutcome, server: &TlsServer) {
    let failure = outcome.failure().expect("refused");
    assert_eq!(failure.kind, FailureKind::NotRetryable, "{outcome:?}");
    assert_eq!(failure.reason, "TLS failed", "{outcome:?}");
    assert_eq!(server.handshakes(), 0, "the handshake must not complete");
    assert!(
        eventually_equals(|| server.connections(), 1),
        "a refused certificate is not retried: {} connections",
        server.connections()
    );
    assert!(server.authorizations().is_empty(), "nothing may be sent");
}

/// Whether `value()` equals `expected` now and still does a little later (connections are
/// counted by the server thread).
fn eventually_equals(value: impl Fn() -> usize, expected: usize) -> bool {
    http_support::eventually(Duration::from_secs(2), || value() == expected) && {
        std::thread::sleep(Duration::from_millis(50));
        value() == expected
    }
}

#[test]
fn a_valid_certificate_from_a_trusted_root_is_accepted_and_carries_the_token() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], None));
    let outcome = exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(
        &logs(2),
        Some(&token()),
        soon(),
    );
    assert_eq!(outcome, ExportOutcome::Delivered);
    assert_eq!(server.handshakes(), 1);
    assert_eq!(
        server.authorizations(),
        vec![Some(format!("Bearer {TOKEN}"))]
    );
}

#[test]
fn a_certificate_from_an_untrusted_root_is_refused() {
    let trusted = TestCa::new("trusted CA");
    let other = TestCa::new("attacker CA");
    let server = TlsServer::start(other.leaf(&["localhost"], None));
    let outcome = exporter("localhost", server.port(), Some(vec![trusted.root_der()])).export(
        &logs(1),
        Some(&token()),
        soon(),
    );
    assert_refused(&outcome, &server);
}

#[test]
fn the_bundled_roots_do_not_trust_a_private_ca() {
    let ca = TestCa::new("private CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], None));
    let outcome =
        exporter("localhost", server.port(), None).export(&logs(1), Some(&token()), soon());
    assert_refused(&outcome, &server);
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["adb-1.azuredatabricks.net"], None));
    let outcome = exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(
        &logs(1),
        Some(&token()),
        soon(),
    );
    assert_refused(&outcome, &server);
}

#[test]
fn an_expired_certificate_is_refused() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], Some((2015, 2020))));
    let outcome = exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(
        &logs(1),
        Some(&token()),
        soon(),
    );
    assert_refused(&outcome, &server);
}

#[test]
fn a_certificate_not_yet_valid_is_refused() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], Some((2090, 2095))));
    let outcome = exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(
        &logs(1),
        Some(&token()),
        soon(),
    );
    assert_refused(&outcome, &server);
}

/// An IP literal is a host like any other: the certificate must name that address (an IP
/// subject alternative name); a certificate for a DNS name does not cover it.
#[test]
fn an_ip_literal_host_needs_a_certificate_for_that_address() {
    let ca = TestCa::new("telemetry test CA");
    let by_name = TlsServer::start(ca.leaf(&["localhost"], None));
    let outcome = exporter("127.0.0.1", by_name.port(), Some(vec![ca.root_der()])).export(
        &logs(1),
        Some(&token()),
        soon(),
    );
    assert_refused(&outcome, &by_name);

    let by_address = TlsServer::start(ca.leaf(&["127.0.0.1"], None));
    let outcome = exporter("127.0.0.1", by_address.port(), Some(vec![ca.root_der()])).export(
        &logs(1),
        Some(&token()),
        soon(),
    );
    assert_eq!(outcome, ExportOutcome::Delivered);
}

/// A certificate that cannot be a root is refused when the transport is built, never
/// silently ignored (so nothing is trusted by mistake, and a driver's bad CA file is an error
/// it sees at once).
#[test]
fn unusable_root_certificates_are_refused_when_building() {
    assert_eq!(
        UreqTransport::builder()
            .with_root_certificates_pem(b"not a certificate")
            .unwrap_err(),
        TransportSetupError::NoCertificate
    );
    assert_eq!(
        UreqTransport::builder()
            .with_root_certificates_pem(
                b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n"
            )
            .unwrap_err(),
        TransportSetupError::MalformedCertificate
    );
    for junk in [b"not a certificate".to_vec(), Vec::new()] {
        let error = UreqTransport::builder()
            .with_root_certificate_der(junk)
            .build()
            .unwrap_err();
        assert_eq!(error, TransportSetupError::UnusableCertificate);
    }
}

/// Extra CA certificates (PEM) are added to the bundled roots, not substituted for them: two
/// private CAs added, servers signed by each are trusted, and the bundled roots are all still
/// there.
#[test]
fn pem_roots_are_added_to_the_bundled_roots() {
    let first = TestCa::new("first private CA");
    let second = TestCa::new("second private CA");
    let bundled = UreqTransport::new().trusted_root_count();
    assert!(bundled > 100, "{bundled} bundled roots");
    let pem = format!("{}{}", first.root_pem(), second.root_pem());
    let transport = Arc::new(
        UreqTransport::builder()
            .with_root_certificates_pem(pem.as_bytes())
            .unwrap()
            .build()
            .unwrap(),
    );
    assert_eq!(transport.trusted_root_count(), bundled + 2);
    for ca in [&first, &second] {
        let server = TlsServer::start(ca.leaf(&["localhost"], None));
        let config = config();
        let endpoint = ServiceEndpoint::parse(
            &format!("localhost:{}", server.port()),
            config.allow_insecure_http(),
        )
        .unwrap();
        let exporter = DatabricksExporter::builder(
            endpoint,
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .with_transport(transport.clone())
        .build()
        .unwrap();
        assert_eq!(
            exporter.export(&logs(1), Some(&token()), soon()),
            ExportOutcome::Delivered
        );
        assert_eq!(server.handshakes(), 1);
    }
    // A third CA, not added, is still refused.
    let third = TestCa::new("third CA");
    let server = TlsServer::start(third.leaf(&["localhost"], None));
    let config = config();
    let endpoint = ServiceEndpoint::parse(
        &format!("localhost:{}", server.port()),
        config.allow_insecure_http(),
    )
    .unwrap();
    let exporter = DatabricksExporter::builder(
        endpoint,
        ExporterSettings::from_config(&config),
        user_agent(),
    )
    .with_transport(transport)
    .build()
    .unwrap();
    assert_refused(&exporter.export(&logs(1), Some(&token()), soon()), &server);
}

#[test]
fn the_builder_debug_shows_how_many_roots_not_their_bytes() {
    let ca = TestCa::new("debug CA");
    let builder = UreqTransport::builder()
        .with_root_certificates_pem(ca.root_pem().as_bytes())
        .unwrap();
    let text = format!("{builder:?}");
    assert!(text.contains("added_roots: 1"), "{text}");
    assert!(!text.contains("BEGIN"), "{text}");
}
