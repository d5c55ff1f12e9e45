//! Shared helpers for the HTTP tests: configurations with small timeouts, valid logs, the local
//! endpoint, and a tiny `TcpListener` fake for what the endpoint cannot do.

#![allow(dead_code)]

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::AcquireOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{ExportOutcome, Exporter, UserAgent};
use databricks_telemetry::model::{DriverConnectionParameters, DriverMode, FrontendLog};
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
use databricks_telemetry::{
    AcquireError, ClientIdentity, TelemetryClientHandle, TelemetryClientManager,
};
use databricks_telemetry::{CloseResult, FlushResult, TelemetryStats};
use databricks_telemetry::{
    ErrorInfo, TelemetryAuthType, TelemetryConfig, TelemetrySessionContext,
};
use telemetry_endpoint::{EndpointConfig, RecordedRequest, TelemetryEndpoint};

/// The token the endpoint expects.
pub(crate) const TOKEN: &str = "dapi-test-token-0123456789abcdef";
/// Bound on every wait in these tests.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// The request timeout of [`fast_config`].
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_millis(250);
/// The driver name and version used everywhere.
pub(crate) const DRIVER: (&str, &str) = ("DatabricksAdbcRust", "0.1.0");

/// Small timeouts and delays, plain http to loopback allowed, no periodic flush.
pub(crate) fn fast_config() -> TelemetryConfig {
    fast_builder().build().unwrap()
}

/// The builder behind [`fast_config`], for tests that change one more setting.
pub(crate) fn fast_builder() -> databricks_telemetry::TelemetryConfigBuilder {
    TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .with_request_timeout(REQUEST_TIMEOUT)
        .with_max_retries(2)
        .with_retry_base_delay(Duration::from_millis(1))
        .with_retry_max_delay(Duration::from_millis(5))
        .with_flush_interval(Duration::from_secs(3600))
        .with_feature_flag_timeout(Duration::from_millis(500))
}

pub(crate) fn user_agent() -> UserAgent {
    UserAgent::new(DRIVER.0, DRIVER.1).unwrap()
}

/// The endpoint at `addr` (plain http, loopback).
pub(crate) fn endpoint_at(addr: SocketAddr, config: &TelemetryConfig) -> ServiceEndpoint {
    ServiceEndpoint::parse(&format!("http://{addr}"), config.allow_insecure_http()).unwrap()
}

/// An exporter to `addr` (one request per call).
pub(crate) fn exporter(addr: SocketAddr, config: &TelemetryConfig) -> DatabricksExporter {
    DatabricksExporter::builder(
        endpoint_at(addr, config),
        ExporterSettings::from_config(config),
        user_agent(),
    )
    .build()
    .unwrap()
}

/// The `Authorization` value of [`TOKEN`].
pub(crate) fn token() -> AuthorizationValue {
    AuthorizationValue::bearer(TOKEN)
}

/// A deadline for one request that the request timeout always reaches first.
pub(crate) fn soon() -> Instant {
    Instant::now() + WAIT
}

/// One request of `exporter` with `logs`, with [`TOKEN`] when `authenticated`.
pub(crate) fn send_once(
    exporter: &DatabricksExporter,
    logs: &[FrontendLog],
    authenticated: bool,
) -> ExportOutcome {
    let token = token();
    exporter.export(logs, authenticated.then_some(&token), soon())
}

/// A local endpoint that requires [`TOKEN`].
pub(crate) fn start_endpoint() -> TelemetryEndpoint {
    TelemetryEndpoint::start(EndpointConfig::default().with_token(TOKEN)).unwrap()
}

/// A session with everything the unauthenticated route refuses.
pub(crate) fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0-session-id")
        .with_workspace_id(1234567890)
        .with_auth_type(TelemetryAuthType::Pat)
        .with_connection_parameters(DriverConnectionParameters {
            http_path: Some("/sql/1.0/warehouses/abc".into()),
            mode: Some(DriverMode::Sea),
            ..Default::default()
        })
        .build()
}

/// `n` valid logs: connection events, every third a failure with a stack trace.
pub(crate) fn logs(n: usize) -> Vec<FrontendLog> {
    let session = session();
    let error =
        ErrorInfo::new("NetworkError").with_stack_trace("at driver::connect (connect.rs:10)");
    (0..n)
        .map(|i| {
            let latency = Duration::from_millis(i as u64 + 1);
            match i % 3 {
                0 => session.connection_opened(latency),
                1 => session.connection_open_failed(latency, &error),
                _ => session.connection_closed(latency),
            }
        })
        .collect()
}

/// The upload requests the endpoint saw (either route).
pub(crate) fn uploads(endpoint: &TelemetryEndpoint) -> Vec<RecordedRequest> {
    endpoint
        .requests()
        .into_iter()
        .filter(|r| r.path == "/telemetry-ext" || r.path == "/telemetry-unauth")
        .collect()
}

/// A port on 127.0.0.1 that nothing listens on.
pub(crate) fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// What a [`FakeServer`] does with each request.
#[derive(Debug, Clone)]
pub(crate) enum FakeBehaviour {
    /// Answer after `delay`.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
    },
    /// Read the request and never answer (until the server is dropped).
    Hang,
    /// Announce `declared` body bytes, send `sent`, then keep the connection open.
    PartialBody { declared: usize, sent: Vec<u8> },
    /// Answer `status` with every request header copied back: under its own name, as
    /// `x-echo-<name>`, in the headers `ureq` shows at DEBUG (`Server`) and TRACE (`Location`),
    /// and quoted in a JSON body (`echo`), sent in small writes so it arrives in pieces.
    Echo { status: u16 },
    /// Answer 200 one byte every `every` (a slowloris answer), until the server stops.
    Dribble { every: Duration },
}

impl FakeBehaviour {
    pub(crate) fn json(status: u16, body: &str) -> Self {
        FakeBehaviour::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }
}

/// One request as the fake saw it (header names lower case).
#[derive(Debug, Clone)]
pub(crate) struct FakeRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl FakeRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that records connections and requests.
pub(crate) struct FakeServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<FakeRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub(crate) fn start(behaviour: FakeBehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (connections, requests, stop) =
                (connections.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            connections.fetch_add(1, Ordering::AcqRel);
                            let (requests, stop, behaviour) =
                                (requests.clone(), stop.clone(), behaviour.clone());
                            std::thread::spawn(move || serve(stream, &requests, &stop, &behaviour));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        FakeServer {
            addr,
            connections,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TCP connections accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Requests read so far.
    pub(crate) fn requests(&self) -> Vec<FakeRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves requests on one connection until it closes or the server stops.
fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<FakeRequest>>,
    stop: &AtomicBool,
    behaviour: &FakeBehaviour,
) {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let started = Instant::now();
    while !stop.load(Ordering::Acquire) && started.elapsed() < WAIT {
        let Some(request) = read_request(&mut reader, stop) else {
            return;
        };
        requests.lock().unwrap().push(request);
        match behaviour {
            FakeBehaviour::Respond {
                status,
                headers,
                body,
                delay,
            } => {
                sleep_unless_stopped(*delay, stop);
                let mut head = format!(
                    "HTTP/1.1 {status} Fake\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body).is_err() {
                    return;
                }
            }
            FakeBehaviour::Echo { status } => {
                let request = requests.lock().unwrap().last().cloned().unwrap();
                if !write_echo(&mut writer, *status, &request) {
                    return;
                }
            }
            FakeBehaviour::Hang => {
                sleep_unless_stopped(WAIT, stop);
                return;
            }
            FakeBehaviour::Dribble { every } => {
                let answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{\"errors\":[],\"numProtoSuccess\":1}";
                for byte in answer {
                    sleep_unless_stopped(*every, stop);
                    if stop.load(Ordering::Acquire)
                        || writer.write_all(&[*byte]).is_err()
                        || writer.flush().is_err()
                    {
                        return;
                    }
                }
            }
            FakeBehaviour::PartialBody { declared, sent } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
                );
                let _ = writer.write_all(head.as_bytes());
                let _ = writer.write_all(sent);
                sleep_unless_stopped(WAIT, stop);
                return;
            }
        }
    }
}

/// Writes an answer that copies back every header of `request` (see [`FakeBehaviour::Echo`]);
/// whether it could.
fn write_echo(writer: &mut TcpStream, status: u16, request: &FakeRequest) -> bool {
    const FRAMING: [&str; 4] = ["content-length", "transfer-encoding", "connection", "host"];
    let copied: Vec<&(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| !FRAMING.contains(&name.as_str()))
        .collect();
    let quoted: Vec<String> = copied
        .iter()
        .map(|(name, value)| format!("{name}: {value}").replace(['"', '\\'], "_"))
        .collect();
    let body = format!(
        r#"{{"errors":[],"numProtoSuccess":0,"flags":[],"echo":"{}"}}"#,
        quoted.join("; ")
    );
    let mut head = format!(
        "HTTP/1.1 {status} Echo\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in &copied {
        head.push_str(&format!("{name}: {value}\r\nx-echo-{name}: {value}\r\n"));
        if name == "authorization" {
            head.push_str(&format!("Server: {value}\r\nLocation: /{value}\r\n"));
        }
    }
    head.push_str("\r\n");
    let answer = [head.into_bytes(), body.into_bytes()].concat();
    // Pieces of 5 bytes: a credential never arrives in one read.
    for piece in answer.chunks(5) {
        if writer.write_all(piece).is_err() || writer.flush().is_err() {
            return false;
        }
    }
    true
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let until = Instant::now() + duration;
    while !stop.load(Ordering::Acquire) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5).min(until - Instant::now()));
    }
}

/// Reads one request (head and `Content-Length` body); `None` when the connection closes.
fn read_request(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<FakeRequest> {
    let mut lines = Vec::new();
    let started = Instant::now();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {
                let line = line.trim_end().to_owned();
                if line.is_empty() && !lines.is_empty() {
                    break;
                }
                if !line.is_empty() {
                    lines.push(line);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::Acquire) || started.elapsed() > WAIT {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    let mut parts = lines[0].split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let headers: Vec<(String, String)> = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let mut read = 0;
    while read < length {
        match reader.read(&mut body[read..]) {
            Ok(0) => return None,
            Ok(n) => read += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::Acquire) || started.elapsed() > WAIT {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    Some(FakeRequest {
        method,
        path,
        headers,
    })
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
pub(crate) fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One lane of its own manager around a given exporter: the pipeline as a single client, for
/// the HTTP tests. An authenticated lane brings [`TOKEN`] as its connection's
/// credentials (the pipeline sends each batch with the lane's authorization); `close` shuts the
/// manager down, so what it could not deliver by then is counted.
pub(crate) struct Client {
    manager: TelemetryClientManager,
    handle: Mutex<Option<TelemetryClientHandle>>,
}

impl Client {
    /// With [`TOKEN`] as the connection's credentials when `authenticated`.
    pub(crate) fn new(
        config: &TelemetryConfig,
        exporter: DatabricksExporter,
        authenticated: bool,
    ) -> Result<Self, AcquireError> {
        let manager = TelemetryClientManager::new();
        let credentials = authenticated
            .then(|| Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>);
        Self::with(manager, config, Box::new(exporter), credentials)
    }

    pub(crate) fn with(
        manager: TelemetryClientManager,
        config: &TelemetryConfig,
        exporter: Box<dyn Exporter>,
        credentials: Option<Arc<dyn CredentialsProvider>>,
    ) -> Result<Self, AcquireError> {
        let handle = manager.acquire_with_credentials(
            "127.0.0.1",
            &ClientIdentity::new("test-user"),
            credentials,
            config,
            move |_| exporter,
        )?;
        Ok(Client {
            manager,
            handle: Mutex::new(Some(handle)),
        })
    }

    pub(crate) fn enqueue(&self, log: FrontendLog) {
        if let Some(handle) = &*self.handle.lock().unwrap() {
            handle.enqueue(log);
        }
    }

    pub(crate) fn flush(&self, timeout: Duration) -> FlushResult {
        match &*self.handle.lock().unwrap() {
            Some(handle) => handle.flush(timeout),
            None => FlushResult::Completed,
        }
    }

    /// Releases the handle (its lane drains in the background within its close timeout).
    #[allow(dead_code)]
    pub(crate) fn release(&self) {
        if let Some(handle) = self.handle.lock().unwrap().take() {
            handle.release();
        }
    }

    pub(crate) fn close(&self, timeout: Duration) -> CloseResult {
        if let Some(handle) = self.handle.lock().unwrap().take() {
            handle.release();
        }
        self.manager.shutdown(timeout).result
    }

    pub(crate) fn stats(&self) -> TelemetryStats {
        self.manager.stats()
    }

    pub(crate) fn manager(&self) -> &TelemetryClientManager {
        &self.manager
    }
}

/// The pipeline on a [`ManualClock`] around an exporter: one lane with [`TOKEN`] as its
/// credentials, on a manager with a fixed jitter seed. Time moves only when a test says so, and
/// every step waits until the host's worker has caught up ([`TelemetryClientManager::settle`]).
pub(crate) struct Clocked {
    pub(crate) clock: ManualClock,
    pub(crate) client: Client,
}

impl Clocked {
    pub(crate) fn start(exporter: DatabricksExporter, config: &TelemetryConfig) -> Self {
        Self::start_with(
            exporter,
            config,
            Some(Arc::new(StaticBearerToken::new(TOKEN))),
        )
    }

    /// With `credentials` as the lane's connection credentials instead.
    pub(crate) fn start_with(
        exporter: DatabricksExporter,
        config: &TelemetryConfig,
        credentials: Option<Arc<dyn CredentialsProvider>>,
    ) -> Self {
        let clock = ManualClock::new();
        let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), 7);
        let client = Client::with(manager, config, Box::new(exporter), credentials).unwrap();
        Clocked { clock, client }
    }

    /// Enqueues `logs`, then lets the worker catch up.
    pub(crate) fn enqueue(&self, logs: Vec<FrontendLog>) {
        for log in logs {
            self.client.enqueue(log);
        }
        self.settle();
    }

    /// Moves the clock `by`, then lets the worker catch up.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.settle();
    }

    pub(crate) fn settle(&self) {
        assert!(
            self.client.manager().settle(WAIT),
            "the worker did not settle"
        );
    }

    pub(crate) fn stats(&self) -> TelemetryStats {
        self.client.stats()
    }
}

/// What a connection acquires its handle with: `identity` with `credentials` (anonymous and
/// unauthenticated without), `config`, and the test driver.
pub(crate) fn acquire_options(
    endpoint: &str,
    identity: &ClientIdentity,
    credentials: Option<Arc<dyn CredentialsProvider>>,
    config: &TelemetryConfig,
) -> AcquireOptions {
    let options = AcquireOptions::new(
        endpoint,
        databricks_telemetry::DriverInfo::new(DRIVER.0, DRIVER.1).unwrap(),
    )
    .with_config(config.clone());
    match credentials {
        Some(credentials) => options.with_credentials(identity.clone(), credentials),
        None => options,
    }
}
