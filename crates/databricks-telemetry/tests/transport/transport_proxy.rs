//! The default client's explicit proxy, with a CA added in PEM, over real loopback traffic: a
//! small `CONNECT` proxy written here tunnels to a TLS server whose certificate comes from a
//! test CA. Uploads and flag fetches both go through the proxy (which sees the proxy
//! credentials it is owed, never the token); loopback hosts and bypass hosts go direct; the
//! proxy password never shows in `Debug` output or failure reasons.

#![cfg(feature = "ureq-transport")]

use crate::http_support;
use crate::tls_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::export::{
    ExportOutcome, Exporter, FailureKind, ProxyConfig, Transport, UreqTransport,
};
use databricks_telemetry::unstable::{
    DatabricksExporter, ExporterSettings, FeatureFlagCache, FlagSettings, ServiceEndpoint,
};
use databricks_telemetry::TelemetryConfig;
use http_support::*;
use tls_support::{TestCa, TlsServer};

const HOST: &str = "adb-proxy-test.example";
const PROXY_USER: &str = "proxy-user";
const PROXY_PASSWORD: &str = "proxy-pw-SECRET-41";

/// One `CONNECT` as the proxy saw it.
#[derive(Debug, Clone)]
struct Connect {
    target: String,
    proxy_authorization: Option<String>,
    user_agent: Option<String>,
}

/// A `CONNECT` proxy on 127.0.0.1 that tunnels every target to `route` (its "DNS"), after
/// checking `Proxy-Authorization` against `expected`.
struct ConnectProxy {
    addr: SocketAddr,
    connects: Arc<Mutex<Vec<Connect>>>,
    /// Every byte the client sent through a tunnel.
    relayed: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    fn start(route: SocketAddr, expected: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connects = Arc::new(Mutex::new(Vec::new()));
        let relayed = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (connects, relayed, stop) = (connects.clone(), relayed.clone(), stop.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut tunnels = Vec::new();
                while !stop.load(Ordering::Acquire) && started.elapsed() < WAIT {
                    let Ok((client, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    let (connects, relayed, stop, expected) = (
                        connects.clone(),
                        relayed.clone(),
                        stop.clone(),
                        expected.clone(),
                    );
                    tunnels.push(std::thread::spawn(move || {
                        let _ = tunnel(client, route, &expected, &connects, &relayed, &stop);
                    }));
                }
                for tunnel in tunnels {
                    let _ = tunnel.join();
                }
            })
        };
        ConnectProxy {
            addr,
            connects,
            relayed,
            stop,
            thread: Some(thread),
        }
    }

    fn connects(&self) -> Vec<Connect> {
        self.connects.lock().unwrap().clone()
    }

    fn relayed(&self) -> Vec<u8> {
        self.relayed.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads a `CONNECT`, records it, and relays bytes both ways until either side closes.
fn tunnel(
    client: TcpStream,
    route: SocketAddr,
    expected: &str,
    connects: &Mutex<Vec<Connect>>,
    relayed: &Mutex<Vec<u8>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut lines = Vec::new();
    let started = Instant::now();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) if line.trim_end().is_empty() => break,
            Ok(_) => lines.push(line.trim_end().to_owned()),
            Err(_) if started.elapsed() < WAIT && !stop.load(Ordering::Acquire) => {}
            Err(e) => return Err(e),
        }
    }
    let header = |name: &str| {
        lines[1..]
            .iter()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut parts = lines[0].split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let record = Connect {
        target,
        proxy_authorization: header("proxy-authorization"),
        user_agent: header("user-agent"),
    };
    connects.lock().unwrap().push(record.clone());
    let mut client = client;
    if method != "CONNECT" {
        return client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    }
    if record.proxy_authorization.as_deref() != Some(expected) {
        return client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    }
    let server = TcpStream::connect(route)?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    server.set_read_timeout(Some(Duration::from_millis(50)))?;
    let downstream = {
        let (mut from, mut to) = (server.try_clone()?, client.try_clone()?);
        std::thread::spawn(move || {
            let _ = pump(&mut from, &mut to, None);
        })
    };
    let mut upstream = server;
    // Bytes the client sent before the tunnel opened (none expected) go first.
    let buffered = reader.buffer().to_vec();
    upstream.write_all(&buffered)?;
    let _ = pump(&mut client, &mut upstream, Some(relayed));
    let _ = upstream.shutdown(Shutdown::Both);
    let _ = downstream.join();
    Ok(())
}

/// Copies `from` to `to` until `from` closes or breaks, or [`WAIT`] passes.
fn pump(
    from: &mut TcpStream,
    to: &mut TcpStream,
    record: Option<&Mutex<Vec<u8>>>,
) -> std::io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    let started = Instant::now();
    while started.elapsed() < WAIT {
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if let Some(record) = record {
                    record.lock().unwrap().extend_from_slice(&buffer[..n]);
                }
                to.write_all(&buffer[..n])?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    Ok(())
}

/// Standard base64, for the expected `Proxy-Authorization`.
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn expected_proxy_authorization() -> String {
    format!(
        "Basic {}",
        base64(format!("{PROXY_USER}:{PROXY_PASSWORD}").as_bytes())
    )
}

fn config() -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_request_timeout(Duration::from_secs(2))
        .with_max_retries(0)
        .with_feature_flag_timeout(Duration::from_secs(2))
        .with_allow_insecure_http(true)
        .build()
        .unwrap()
}

/// A transport through `proxy` with the proxy credentials and `ca` added, bypassing `bypass`.
fn proxied_transport(proxy: &ConnectProxy, ca: &TestCa, bypass: &[&str]) -> Arc<dyn Transport> {
    Arc::new(
        UreqTransport::builder()
            .with_user_agent(&user_agent())
            .with_proxy(
                ProxyConfig::new(&format!("http://{}", proxy.addr))
                    .unwrap()
                    .with_credentials(PROXY_USER, PROXY_PASSWORD)
                    .with_bypass_hosts(bypass),
            )
            .with_root_certificates_pem(ca.root_pem().as_bytes())
            .unwrap()
            .build()
            .unwrap(),
    )
}

fn exporter(endpoint: ServiceEndpoint, transport: &Arc<dyn Transport>) -> DatabricksExporter {
    DatabricksExporter::builder(
        endpoint,
        ExporterSettings::from_config(&config()),
        user_agent(),
    )
    .with_transport(transport.clone())
    .build()
    .unwrap()
}

#[test]
fn uploads_and_flag_fetches_go_through_the_explicit_proxy() {
    let ca = TestCa::new("corporate CA");
    let server = TlsServer::start(ca.leaf(&[HOST], None));
    let proxy = ConnectProxy::start(
        format!("127.0.0.1:{}", server.port()).parse().unwrap(),
        expected_proxy_authorization(),
    );
    let transport = proxied_transport(&proxy, &ca, &[]);
    let config = config();
    let remote = ServiceEndpoint::parse(HOST, config.allow_insecure_http()).unwrap();

    // The upload: through the tunnel, TLS verified against the added CA, with the token.
    let upload = exporter(remote.clone(), &transport);
    assert_eq!(
        upload.export(&logs(2), Some(&token()), soon()),
        ExportOutcome::Delivered
    );
    assert_eq!(
        server.authorizations(),
        vec![Some(format!("Bearer {TOKEN}"))]
    );

    // The flag fetch: the same proxy and CA.
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
        .with_transport(transport.clone());
    let provider = StaticBearerToken::new(TOKEN);
    assert!(cache.is_enabled(&remote, Some(&provider), None));
    assert_eq!(server.handshakes(), 2);

    let connects = proxy.connects();
    assert_eq!(connects.len(), 2, "{connects:?}");
    for connect in &connects {
        assert_eq!(connect.target, format!("{HOST}:443"));
        assert_eq!(
            connect.proxy_authorization.as_deref(),
            Some(expected_proxy_authorization().as_str())
        );
        assert_eq!(
            connect.user_agent.as_deref(),
            Some("DatabricksAdbcRust/0.1.0")
        );
    }
    let relayed = proxy.relayed();
    assert!(relayed.len() > 100, "TLS went through the tunnel");
    assert!(
        !String::from_utf8_lossy(&relayed).contains(TOKEN),
        "the proxy sees only TLS records"
    );

    // Loopback goes direct, never to the proxy.
    let local = start_endpoint();
    let direct = exporter(endpoint_at(local.addr(), &config), &transport);
    assert_eq!(
        direct.export(&logs(1), Some(&token()), soon()),
        ExportOutcome::Delivered
    );
    assert_eq!(proxy.connects().len(), 2);

    // Nothing shows the proxy password.
    let shown = format!("{transport:?} {upload:?} {cache:?}");
    assert!(!shown.contains(PROXY_PASSWORD), "{shown}");
    assert!(shown.contains("***@127.0.0.1"), "{shown}");
}

#[test]
fn a_bypass_host_goes_direct() {
    let ca = TestCa::new("corporate CA");
    let server = TlsServer::start(ca.leaf(&[HOST], None));
    let proxy = ConnectProxy::start(
        format!("127.0.0.1:{}", server.port()).parse().unwrap(),
        expected_proxy_authorization(),
    );
    let config = config();
    let remote = ServiceEndpoint::parse(HOST, config.allow_insecure_http()).unwrap();
    // Bypass entries match whole labels: `.proxy-test.example` is not a suffix of
    // `adb-proxy-test.example`, so that still goes through the proxy.
    let transport = proxied_transport(&proxy, &ca, &[".proxy-test.example"]);
    assert_eq!(
        exporter(remote.clone(), &transport).export(&logs(1), Some(&token()), soon()),
        ExportOutcome::Delivered
    );
    assert_eq!(proxy.connects().len(), 1);
    // Bypassed, the request goes direct, where the reserved name does not resolve (or the
    // lookup times out): the upload fails, and the proxy never hears of it.
    let transport = proxied_transport(&proxy, &ca, &["example"]);
    let outcome = exporter(remote, &transport).export(&logs(1), Some(&token()), soon());
    assert_eq!(
        outcome.failure().map(|f| f.kind),
        Some(FailureKind::Retryable),
        "{outcome:?}"
    );
    assert_eq!(proxy.connects().len(), 1);
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_proxy_that_refuses_fails_retryably_without_showing_the_password() {
    let ca = TestCa::new("corporate CA");
    let server = TlsServer::start(ca.leaf(&[HOST], None));
    let proxy = ConnectProxy::start(
        format!("127.0.0.1:{}", server.port()).parse().unwrap(),
        "Basic other-credentials".to_owned(),
    );
    let transport = proxied_transport(&proxy, &ca, &[]);
    let config = config();
    let remote = ServiceEndpoint::parse(HOST, config.allow_insecure_http()).unwrap();
    let outcome = exporter(remote.clone(), &transport).export(&logs(1), Some(&token()), soon());
    let failure = outcome.failure().expect("refused");
    assert_eq!(failure.kind, FailureKind::Retryable, "{outcome:?}");
    assert_eq!(failure.reason, "the proxy refused to connect");
    assert!(!format!("{outcome:?} {failure}").contains(PROXY_PASSWORD));
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
        .with_transport(transport);
    assert!(!cache.is_enabled(&remote, Some(&StaticBearerToken::new(TOKEN)), None));
    assert_eq!(proxy.connects().len(), 2);
    assert_eq!(server.handshakes(), 0);
}
