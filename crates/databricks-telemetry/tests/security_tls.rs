//! TLS: certificate verification is always on. Over real TLS on loopback, against a small
//! rustls server presenting certificates from a test certificate authority made with rcgen,
//! the exporter delivers to a correctly named, valid certificate from a root it trusts, and
//! refuses (without sending a byte of the request, so without the token) a certificate from an
//! untrusted root, for another host name, expired, or not yet valid; and the bundled Mozilla
//! roots do not trust a private CA.

mod http_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::export::{
    DatabricksExporter, ExportOutcome, Exporter, FailureKind, ServiceEndpoint,
};
use databricks_telemetry::TelemetryConfig;
use http_support::{logs, user_agent, TOKEN, WAIT};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A test certificate authority.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn root_der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid now unless `validity`
    /// says otherwise (years of not-before and not-after).
    fn leaf(&self, names: &[&str], validity: Option<(i32, i32)>) -> ServerIdentity {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test server");
        if let Some((from, until)) = validity {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(until, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerIdentity {
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
        }
    }
}

/// What a TLS server presents.
struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

/// A one-thread HTTPS server on 127.0.0.1 that answers every upload `200 {}` and counts the
/// handshakes completed and the requests read (with their `Authorization`).
struct TlsServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    handshakes: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    fn start(identity: ServerIdentity) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                identity.chain,
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key)),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (connections, handshakes, authorizations, stop) = (
                connections.clone(),
                handshakes.clone(),
                authorizations.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Acquire) && started.elapsed() < WAIT {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    connections.fetch_add(1, Ordering::AcqRel);
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    if serve_one(&mut tls, &handshakes, &authorizations).is_err() {
                        // A refused handshake ends here: the client sent an alert.
                        continue;
                    }
                }
            })
        };
        TlsServer {
            addr,
            connections,
            handshakes,
            authorizations,
            stop,
            thread: Some(thread),
        }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::Acquire)
    }

    fn authorizations(&self) -> Vec<Option<String>> {
        self.authorizations.lock().unwrap().clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Completes the handshake, reads one request and answers it.
fn serve_one(
    tls: &mut rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream>,
    handshakes: &AtomicUsize,
    authorizations: &Mutex<Vec<Option<String>>>,
) -> std::io::Result<()> {
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    handshakes.fetch_add(1, Ordering::AcqRel);
    let mut reader = BufReader::new(&mut *tls);
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_owned());
            }
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    authorizations.lock().unwrap().push(authorization);
    tls.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    Ok(())
}

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

/// An authenticated HTTPS exporter to `host:port`, trusting `roots` (the bundled roots when
/// `None`).
fn exporter(host: &str, port: u16, roots: Option<Vec<Vec<u8>>>) -> DatabricksExporter {
    let config = config();
    let endpoint = ServiceEndpoint::parse(&format!("{host}:{port}"), &config).unwrap();
    let builder = DatabricksExporter::builder(endpoint, &config, user_agent())
        .credentials(Arc::new(StaticBearerToken::new(TOKEN)));
    match roots {
        Some(roots) => builder.root_certificates(roots),
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
    let outcome =
        exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(&logs(2), None);
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
    let outcome =
        exporter("localhost", server.port(), Some(vec![trusted.root_der()])).export(&logs(1), None);
    assert_refused(&outcome, &server);
}

#[test]
fn the_bundled_roots_do_not_trust_a_private_ca() {
    let ca = TestCa::new("private CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], None));
    let outcome = exporter("localhost", server.port(), None).export(&logs(1), None);
    assert_refused(&outcome, &server);
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["adb-1.azuredatabricks.net"], None));
    let outcome =
        exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(&logs(1), None);
    assert_refused(&outcome, &server);
}

#[test]
fn an_expired_certificate_is_refused() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], Some((2015, 2020))));
    let outcome =
        exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(&logs(1), None);
    assert_refused(&outcome, &server);
}

#[test]
fn a_certificate_not_yet_valid_is_refused() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], Some((2090, 2095))));
    let outcome =
        exporter("localhost", server.port(), Some(vec![ca.root_der()])).export(&logs(1), None);
    assert_refused(&outcome, &server);
}

/// An IP literal is a host like any other: the certificate must name that address (an IP
/// subject alternative name); a certificate for a DNS name does not cover it.
#[test]
fn an_ip_literal_host_needs_a_certificate_for_that_address() {
    let ca = TestCa::new("telemetry test CA");
    let by_name = TlsServer::start(ca.leaf(&["localhost"], None));
    let outcome =
        exporter("127.0.0.1", by_name.port(), Some(vec![ca.root_der()])).export(&logs(1), None);
    assert_refused(&outcome, &by_name);

    let by_address = TlsServer::start(ca.leaf(&["127.0.0.1"], None));
    let outcome =
        exporter("127.0.0.1", by_address.port(), Some(vec![ca.root_der()])).export(&logs(1), None);
    assert_eq!(outcome, ExportOutcome::Delivered);
}

#[test]
fn unusable_root_certificates_trust_nothing() {
    let ca = TestCa::new("telemetry test CA");
    let server = TlsServer::start(ca.leaf(&["localhost"], None));
    let outcome = exporter(
        "localhost",
        server.port(),
        Some(vec![b"not a certificate".to_vec(), Vec::new()]),
    )
    .export(&logs(1), None);
    assert_refused(&outcome, &server);
}

#[test]
fn the_builder_debug_shows_how_many_roots_not_their_bytes() {
    let config = config();
    let endpoint = ServiceEndpoint::parse("localhost:1", &config).unwrap();
    let builder = DatabricksExporter::builder(endpoint, &config, user_agent())
        .root_certificates([vec![1u8, 2, 3]]);
    let text = format!("{builder:?}");
    assert!(text.contains("root_certificates: Some(1)"), "{text}");
}
