//! The [`Transport`] contract, over both shipped transports and real loopback HTTP: the default
//! `UreqTransport` and the `ReqwestTransport` adapter (a driver's `reqwest::Client` on its tokio
//! runtime). Each test runs every case over each transport: redirects are never followed (and a
//! client that follows them is refused without the token travelling), bodies are bounded
//! (uploads and flag fetches), the deadline bounds every exchange, nothing secret reaches a
//! `log` logger or a `tracing` subscriber at TRACE (a server echoing the token back included); and the adapter fails cleanly when the
//! driver's runtime has shut down or is not driven.
//!
//! Needs the `reqwest` feature: `cargo test -p databricks-telemetry --all-features --test
//! transport -- transport_contract::`.

#![cfg(all(feature = "reqwest", feature = "ureq-transport"))]

use crate::http_support;
use crate::log_support;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{
    ExportOutcome, Exporter, FailureKind, ReqwestTransport, Transport, UreqTransport,
};
use databricks_telemetry::unstable::{
    DatabricksExporter, ExporterSettings, FeatureFlagCache, FlagSettings,
};
use databricks_telemetry::TelemetryConfig;
use http_support::*;
use log_support::leaks;
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

/// The two shipped transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ureq,
    Reqwest,
}

const KINDS: [Kind; 2] = [Kind::Ureq, Kind::Reqwest];

/// A transport of `kind`; the reqwest one runs on `runtime` with redirects off, as its docs ask.
fn transport(kind: Kind, runtime: &tokio::runtime::Runtime) -> Arc<dyn Transport> {
    match kind {
        Kind::Ureq => Arc::new(
            UreqTransport::builder()
                .with_user_agent(&user_agent())
                .build()
                .unwrap(),
        ),
        Kind::Reqwest => {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            Arc::new(ReqwestTransport::new(client, runtime.handle().clone()))
        }
    }
}

/// A driver's runtime: multi-thread, one worker.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// An exporter to `addr` sending through `transport`.
fn exporter_via(
    addr: SocketAddr,
    config: &TelemetryConfig,
    transport: &Arc<dyn Transport>,
) -> DatabricksExporter {
    DatabricksExporter::builder(
        endpoint_at(addr, config),
        ExporterSettings::from_config(config),
        user_agent(),
    )
    .with_transport(transport.clone())
    .build()
    .unwrap()
}

/// One upload with [`TOKEN`] by `deadline`, as the pipeline makes it.
fn upload(exporter: &DatabricksExporter, deadline: Instant) -> ExportOutcome {
    exporter.export(&logs(2), Some(&AuthorizationValue::bearer(TOKEN)), deadline)
}

fn assert_failed(outcome: &ExportOutcome, kind: FailureKind, reason: &str, transport: Kind) {
    let failure = outcome
        .failure()
        .unwrap_or_else(|| panic!("{transport:?}: {outcome:?}"));
    assert_eq!(failure.kind, kind, "{transport:?}: {outcome:?}");
    assert!(
        failure.reason.contains(reason),
        "{transport:?}: {outcome:?}"
    );
}

#[test]
fn both_transports_deliver_with_the_token_and_fetch_the_flag() {
    let runtime = runtime();
    let config = fast_config();
    for kind in KINDS {
        let endpoint = start_endpoint();
        let transport = transport(kind, &runtime);
        let exporter = exporter_via(endpoint.addr(), &config, &transport);
        assert_eq!(
            upload(&exporter, Instant::now() + WAIT),
            ExportOutcome::Delivered,
            "{kind:?}"
        );
        // The endpoint requires the token: delivered means it was sent.
        let sent = uploads(&endpoint);
        assert_eq!(sent.len(), 1, "{kind:?}");
        assert_eq!(
            sent[0].header("user-agent"),
            Some("DatabricksAdbcRust/0.1.0")
        );
        assert_eq!(sent[0].header("content-type"), Some("application/json"));
        let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
            .with_transport(transport.clone());
        let provider = StaticBearerToken::new(TOKEN);
        assert!(
            cache.is_enabled(
                &endpoint_at(endpoint.addr(), &config),
                Some(&provider),
                None
            ),
            "{kind:?}"
        );
        // A wrong token is refused by the service, not retried.
        let wrong = exporter_via(endpoint.addr(), &config, &transport);
        let outcome = wrong.export(
            &logs(1),
            Some(&AuthorizationValue::bearer("dapi-wrong")),
            Instant::now() + WAIT,
        );
        assert_failed(&outcome, FailureKind::Credentials, "HTTP 401", kind);
    }
}

#[test]
fn no_redirect_is_followed_by_either_transport() {
    let runtime = runtime();
    let config = fast_config();
    for kind in KINDS {
        let transport = transport(kind, &runtime);
        for code in [301, 302, 303, 307, 308] {
            let target = FakeServer::start(FakeBehaviour::json(200, "{}"));
            let endpoint = start_endpoint();
            endpoint.set_fault(
                format!(
                    "redirect:{code}=http://127.0.0.1:{}/telemetry-ext",
                    target.addr().port()
                )
                .parse()
                .unwrap(),
            );
            let exporter = exporter_via(endpoint.addr(), &config, &transport);
            let outcome = upload(&exporter, Instant::now() + WAIT);
            assert_failed(
                &outcome,
                FailureKind::NotRetryable,
                "redirect not followed",
                kind,
            );
            assert_eq!(uploads(&endpoint).len(), 1, "{kind:?} {code}");
            // Give a wrongly followed redirect every chance to show up.
            assert!(
                !eventually(Duration::from_millis(100), || target.connections() > 0),
                "{kind:?} {code}: the redirect target was contacted"
            );
        }
    }
}

/// A driver whose client follows redirects (reqwest's default): the adapter refuses the answer
/// (not retried), and the credential never reaches the other host.
#[test]
fn a_client_that_follows_redirects_is_refused_and_the_token_stays_home() {
    let runtime = runtime();
    let config = fast_config();
    let transport: Arc<dyn Transport> = Arc::new(ReqwestTransport::new(
        reqwest::Client::new(),
        runtime.handle().clone(),
    ));
    for code in [302, 307] {
        let target = FakeServer::start(FakeBehaviour::json(200, "{}"));
        let endpoint = start_endpoint();
        endpoint.set_fault(
            format!(
                "redirect:{code}=http://127.0.0.1:{}/telemetry-ext",
                target.addr().port()
            )
            .parse()
            .unwrap(),
        );
        let exporter = exporter_via(endpoint.addr(), &config, &transport);
        let outcome = upload(&exporter, Instant::now() + WAIT);
        assert_failed(
            &outcome,
            FailureKind::NotRetryable,
            "redirect",
            Kind::Reqwest,
        );
        let followed = target.requests();
        assert_eq!(
            followed.len(),
            1,
            "{code}: reqwest's default policy follows"
        );
        assert_eq!(followed[0].header("authorization"), None, "{code}");
    }
}

#[test]
fn bodies_are_bounded_over_both_transports() {
    let runtime = runtime();
    for kind in KINDS {
        let transport = transport(kind, &runtime);
        // 10 MB announced and sent: a success, not read.
        let endpoint = start_endpoint();
        endpoint.set_fault("huge=10mb".parse().unwrap());
        let config = fast_builder()
            .with_request_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let started = Instant::now();
        let exporter = exporter_via(endpoint.addr(), &config, &transport);
        assert_eq!(
            upload(&exporter, Instant::now() + WAIT),
            ExportOutcome::Delivered,
            "{kind:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{kind:?}");

        // 10 MB announced, 100 KiB sent, then silence: reading stops at once.
        let fake = FakeServer::start(FakeBehaviour::PartialBody {
            declared: 10 * 1024 * 1024,
            sent: vec![b' '; 100 * 1024],
        });
        let started = Instant::now();
        let exporter = exporter_via(fake.addr(), &config, &transport);
        assert_eq!(
            upload(&exporter, Instant::now() + WAIT),
            ExportOutcome::Delivered,
            "{kind:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{kind:?}");

        // An endless body without a length: read up to the limit, then dropped.
        let endless = EndlessServer::start();
        let started = Instant::now();
        let exporter = exporter_via(endless.addr, &config, &transport);
        assert_eq!(
            upload(&exporter, Instant::now() + WAIT),
            ExportOutcome::Delivered,
            "{kind:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{kind:?}");
        let written = endless.stop();
        assert!(written < 64 << 20, "{kind:?}: {written} bytes written");

        // A flag answer over the flag limit (4 MiB) is a failed fetch, not a parse of part of it.
        let flags = FakeServer::start(FakeBehaviour::json(200, &" ".repeat(5 << 20)));
        let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
            .with_transport(transport.clone());
        let provider = StaticBearerToken::new(TOKEN);
        assert!(
            !cache.is_enabled(&endpoint_at(flags.addr(), &config), Some(&provider), None),
            "{kind:?}"
        );
        assert_eq!(flags.requests().len(), 1, "{kind:?}");
    }
}

#[test]
fn the_deadline_bounds_every_exchange_over_both_transports() {
    let runtime = runtime();
    let config = fast_builder()
        .with_request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let limit = Duration::from_millis(300);
    for kind in KINDS {
        let transport = transport(kind, &runtime);
        for behaviour in [
            FakeBehaviour::Hang,
            FakeBehaviour::Respond {
                status: 200,
                headers: Vec::new(),
                body: b"{}".to_vec(),
                delay: Duration::from_secs(5),
            },
        ] {
            let fake = FakeServer::start(behaviour.clone());
            let exporter = exporter_via(fake.addr(), &config, &transport);
            let started = Instant::now();
            let outcome = upload(&exporter, started + limit);
            let took = started.elapsed();
            assert_failed(&outcome, FailureKind::Retryable, "timed out", kind);
            assert!(
                took >= limit - Duration::from_millis(20) && took < limit * 3,
                "{kind:?} {behaviour:?}: {took:?}"
            );
        }
        // A 2xx whose body stalls: delivered by the deadline.
        let fake = FakeServer::start(FakeBehaviour::PartialBody {
            declared: 100,
            sent: b"{\"num".to_vec(),
        });
        let exporter = exporter_via(fake.addr(), &config, &transport);
        let started = Instant::now();
        assert_eq!(
            upload(&exporter, started + limit),
            ExportOutcome::Delivered,
            "{kind:?}"
        );
        assert!(started.elapsed() < limit * 3, "{kind:?}");
        // A flag fetch against a hanging service is bounded by its deadline too.
        let hang = FakeServer::start(FakeBehaviour::Hang);
        let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
            .with_transport(transport.clone());
        let provider = StaticBearerToken::new(TOKEN);
        let started = Instant::now();
        assert!(!cache.is_enabled(
            &endpoint_at(hang.addr(), &config),
            Some(&provider),
            Some(started + limit)
        ));
        assert!(started.elapsed() < limit * 3, "{kind:?}");
    }
}

/// Every `log` record and every `tracing` event, as text.
static CAPTURED: Mutex<String> = Mutex::new(String::new());

struct LogCapture;

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let mut captured = CAPTURED.lock().unwrap();
        let _ = writeln!(
            captured,
            "{} {} {}",
            record.level(),
            record.target(),
            record.args()
        );
    }
    fn flush(&self) {}
}

struct TracingWriter;

impl Write for TracingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_everything() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&LogCapture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| TracingWriter)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

#[test]
fn no_secret_reaches_a_log_or_a_subscriber_over_either_transport() {
    capture_everything();
    let secret = log_support::LOG_SECRET;
    let runtime = runtime();
    let config = fast_config();
    for kind in KINDS {
        let endpoint =
            TelemetryEndpoint::start(EndpointConfig::default().with_token(secret)).unwrap();
        let transport = transport(kind, &runtime);
        let provider: Arc<dyn CredentialsProvider> = Arc::new(StaticBearerToken::new(secret));
        let exporter = DatabricksExporter::builder(
            endpoint_at(endpoint.addr(), &config),
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .with_transport(transport.clone())
        .build()
        .unwrap();
        // Delivered, failed with a 500 and sent again, refused with a wrong token, and a flag
        // fetch.
        let value = provider.authorization().unwrap();
        let send = |n: usize| exporter.export(&logs(n), Some(&value), Instant::now() + WAIT);
        assert_eq!(send(3), ExportOutcome::Delivered);
        endpoint.set_fault("500*1".parse().unwrap());
        assert!(send(2).failure().is_some());
        assert_eq!(send(2), ExportOutcome::Delivered);
        let wrong = format!("{secret}-x");
        let outcome = exporter.export(
            &logs(1),
            Some(&AuthorizationValue::bearer(&wrong)),
            Instant::now() + WAIT,
        );
        assert!(outcome.failure().is_some());
        // A server that copies every request header back into its answer (issue 23): the
        // credential comes back in headers, `Server`, `Location` and the body.
        let echo = FakeServer::start(FakeBehaviour::Echo { status: 401 });
        let echoed = DatabricksExporter::builder(
            endpoint_at(echo.addr(), &config),
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .with_transport(transport.clone())
        .build()
        .unwrap();
        let refused = echoed.export(&logs(1), Some(&value), Instant::now() + WAIT);
        assert_eq!(
            refused.failure().map(|failure| failure.kind),
            Some(FailureKind::Credentials),
            "{kind:?}: the echoing answer was read"
        );
        let echo_flags = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
            .with_transport(transport.clone());
        let _ = echo_flags.is_enabled(&endpoint_at(echo.addr(), &config), Some(&*provider), None);
        let sent = format!("Bearer {secret}");
        let requests = echo.requests();
        assert!(
            requests.len() >= 2
                && requests
                    .iter()
                    .all(|r| r.header("authorization") == Some(sent.as_str())),
            "{kind:?}: both routes sent the credential to the echoing server"
        );
        let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent())
            .with_transport(transport);
        assert!(cache.is_enabled(
            &endpoint_at(endpoint.addr(), &config),
            Some(&*provider),
            None
        ));
        assert!(endpoint.stats().uploads_accepted >= 2, "{kind:?}");
        let shown = format!("{exporter:?} {cache:?} {outcome:?}");
        assert!(leaks(&shown, secret).is_empty(), "{kind:?}: {shown}");
    }
    let captured = CAPTURED.lock().unwrap();
    for sign in ["ureq_proto", "reqwest", "telemetry upload"] {
        assert!(
            captured.contains(sign),
            "{sign} was captured, so the search below means something"
        );
    }
    let found = leaks(&captured, secret);
    assert!(found.is_empty(), "the token reached a log: {found:?}");
}

#[test]
fn a_shut_down_runtime_fails_the_request_cleanly() {
    let runtime = runtime();
    let handle = runtime.handle().clone();
    runtime.shutdown_timeout(Duration::from_secs(1));
    let endpoint = start_endpoint();
    let transport: Arc<dyn Transport> = Arc::new(ReqwestTransport::new(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        handle,
    ));
    let config = fast_config();
    let exporter = exporter_via(endpoint.addr(), &config, &transport);
    let started = Instant::now();
    let outcome = upload(&exporter, started + WAIT);
    assert_failed(
        &outcome,
        FailureKind::Retryable,
        "the driver's runtime has shut down",
        Kind::Reqwest,
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(uploads(&endpoint).is_empty());
    // Through the pipeline: counted, nothing panics, close returns.
    let client = Client::new(&config, exporter, true).unwrap();
    client.enqueue(logs(1).remove(0));
    let _ = client.flush(Duration::from_millis(300));
    let _ = client.close(Duration::from_millis(300));
    let stats = client.stats();
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.exported, 0, "{stats:?}");
}

/// A current-thread runtime that nobody drives (its thread blocked elsewhere) never runs the
/// request: it fails as timed out by its deadline.
#[test]
fn an_undriven_current_thread_runtime_fails_by_the_deadline() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let endpoint = start_endpoint();
    let transport: Arc<dyn Transport> = Arc::new(ReqwestTransport::new(
        reqwest::Client::new(),
        runtime.handle().clone(),
    ));
    let exporter = exporter_via(endpoint.addr(), &fast_config(), &transport);
    let started = Instant::now();
    let outcome = upload(&exporter, started + Duration::from_millis(200));
    assert_failed(&outcome, FailureKind::Retryable, "timed out", Kind::Reqwest);
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(runtime);
}

/// Answers every request `200` with a body that never ends (no length: read to the close).
struct EndlessServer {
    addr: SocketAddr,
    written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EndlessServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (written, stop) = (written.clone(), stop.clone());
            std::thread::spawn(move || {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                stream
                    .set_write_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let chunk = [b' '; 8192];
                let started = Instant::now();
                while !stop.load(Ordering::Acquire) && started.elapsed() < WAIT {
                    match stream.write(&chunk) {
                        Ok(n) => {
                            written.fetch_add(n as u64, Ordering::AcqRel);
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => return,
                    }
                }
            })
        };
        EndlessServer {
            addr,
            written,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the server; the bytes it managed to write.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.written.load(Ordering::Acquire)
    }
}
