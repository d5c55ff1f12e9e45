//! What every bench shares: a realistic session, the statement event a driver records for one
//! query (so every alternative carries the same payload), and the chunked timing method.

// Each bench uses only part of this module.
#![allow(dead_code)]

mod sink;

use databricks_telemetry::credentials::{AuthorizationValue, CredentialsProvider};
use databricks_telemetry::AcquireOptions;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::export::{ExportOutcome, Exporter, UserAgent};
use databricks_telemetry::model::{
    DriverAuthMech, DriverConnectionParameters, DriverMode, ExecutionResultFormat, FrontendLog,
    HostDetails, OperationType, StatementType,
};
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
use databricks_telemetry::{ClientIdentity, TelemetryClientHandle, TelemetryClientManager};
use databricks_telemetry::{TelemetryAuthType, TelemetryConfig, TelemetrySessionContext};
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

#[allow(unused_imports)] // Only some benches use the sinks.
pub(crate) use sink::{HangingHost, LoopbackSink};

/// A session as a driver builds it once per connection: ids, auth type, the detected system
/// configuration and a typical set of connection parameters.
pub(crate) fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0c3a2-5b1e-1d4c-9a7e-3f2b8c6d4e10")
        .with_workspace_id(1_234_567_890_123_456)
        .with_auth_type(TelemetryAuthType::Pat)
        .with_connection_parameters(DriverConnectionParameters {
            http_path: Some("/sql/1.0/warehouses/abc123def456".to_owned()),
            mode: Some(DriverMode::Sea),
            host_info: Some(HostDetails {
                host_url: Some("adb-1234567890123456.7.azuredatabricks.net".to_owned()),
                port: Some(443),
                proxy_auth_type: None,
            }),
            auth_mech: Some(DriverAuthMech::Pat),
            use_proxy: Some(false),
            enable_arrow: Some(true),
            enable_direct_results: Some(true),
            rows_fetched_per_block: Some(100_000),
            socket_timeout: Some(900),
            ..DriverConnectionParameters::default()
        })
        .build()
}

/// The statement id every sample statement gets (the server assigns one per statement).
pub(crate) const STATEMENT_ID: &str = "01f0c3a2-6c2f-1e5d-8b9f-4a3c9d7e5f21";

/// Records one query the way a driver does: begin, a few setters, finish.
pub(crate) fn statement_event(session: &Arc<TelemetrySessionContext>) -> FrontendLog {
    let mut statement = StatementTelemetryContext::begin(session, OperationType::ExecuteStatement);
    statement
        .set_statement_id(STATEMENT_ID)
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .set_compressed(true)
        .record_status_poll(Duration::from_millis(12))
        .mark_result_ready()
        .record_chunk_download(Duration::from_millis(25))
        .record_chunk_download(Duration::from_millis(40))
        .mark_results_consumed();
    statement.finish()
}

/// Events per timed chunk, shared between the producers; also every queue's capacity and every
/// pipeline's batch size, so the workers stay idle while a chunk is timed. A chunk of sample
/// events (456 bytes each in memory) and the queue holding them both fit in this machine's L2
/// cache, so what is timed is the send path rather than the memory bus.
pub(crate) const CHUNK: u64 = 1_000;

/// How long to wait for a worker to empty its queue between chunks.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `iters` sends on each of `producers` threads, in chunks, timing only the sends.
///
/// Before each chunk, every producer calls `prepare(n)` (untimed) for what it will send; then it
/// times `send(&mut prepared, n)`; what is left of `prepared` is dropped untimed, and `empty`
/// runs between chunks.
pub(crate) fn timed_chunks<P>(
    iters: u64,
    producers: u64,
    prepare: &(dyn Fn(u64) -> P + Sync),
    send: &(dyn Fn(&mut P, u64) + Sync),
    empty: &mut dyn FnMut(),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK / producers);
        left -= n;
        let barrier = Barrier::new(producers as usize);
        let elapsed = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..producers)
                .map(|_| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        let mut prepared = prepare(n);
                        barrier.wait();
                        let start = Instant::now();
                        send(&mut prepared, n);
                        let elapsed = start.elapsed();
                        drop(prepared);
                        elapsed
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap()
        });
        total += elapsed;
        empty();
    }
    total
}

/// A telemetry exporter that accepts everything.
#[derive(Debug)]
pub(crate) struct Discard;

impl Exporter for Discard {
    fn export(
        &self,
        _: &[FrontendLog],
        _: Option<&AuthorizationValue>,
        _: Instant,
    ) -> ExportOutcome {
        ExportOutcome::Delivered
    }
}

/// A handle that discards what it exports and whose lane stays idle while a chunk is timed:
/// batch size and queue capacity are one chunk, and there is no periodic flush (the bench
/// flushes between chunks). `manager` is the bench's own, so nothing else shares its host.
pub(crate) fn idle_handle(manager: &TelemetryClientManager) -> TelemetryClientHandle {
    let chunk = CHUNK as usize;
    manager
        .acquire(
            BENCH_HOST,
            &ClientIdentity::new("bench-user"),
            &export_config(chunk, chunk),
            |_| Box::new(Discard),
        )
        .expect("the handle is acquired")
}

/// A handle whose configuration disables telemetry: it records nothing and touches no lane.
pub(crate) fn disabled_handle(manager: &TelemetryClientManager) -> TelemetryClientHandle {
    let off = TelemetryConfig::builder()
        .with_enabled(false)
        .build()
        .expect("a valid configuration");
    manager
        .acquire(BENCH_HOST, &ClientIdentity::new("bench-user"), &off, |_| {
            Box::new(Discard)
        })
        .expect("the handle is acquired")
}

/// The host of the benches that export nowhere.
pub(crate) const BENCH_HOST: &str = "adb-1234567890123456.7.azuredatabricks.net";

/// The user agent every HTTP bench sends.
pub(crate) fn user_agent() -> UserAgent {
    UserAgent::new("DatabricksAdbcRust", "0.1.0").expect("a valid user agent")
}

/// A handle exporting through the Databricks HTTP exporter to `addr` (plain HTTP on loopback),
/// with the endpoint's token as the connection's credentials. `force_enabled` skips the
/// server's feature flag, so every request is an upload.
pub(crate) fn http_handle(
    manager: &TelemetryClientManager,
    addr: SocketAddr,
    identity: &ClientIdentity,
    config: &TelemetryConfig,
) -> TelemetryClientHandle {
    manager
        .acquire_databricks(&acquire_options(
            &format!("http://{addr}"),
            identity,
            Some(Arc::new(StaticBearerToken::new(ENDPOINT_TOKEN))),
            config,
        ))
        .expect("a handle on the loopback endpoint")
}

/// A local telemetry endpoint (loopback, plain HTTP) that requires [`ENDPOINT_TOKEN`] and keeps
/// few logs, so long benches do not grow it.
pub(crate) fn start_endpoint() -> TelemetryEndpoint {
    TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_token(ENDPOINT_TOKEN)
            .with_max_stored_logs(1_000),
    )
    .expect("the local telemetry endpoint starts")
}

/// The bearer token the local endpoint requires.
pub(crate) const ENDPOINT_TOKEN: &str = "dapi-bench-token-0123456789abcdef";

/// A configuration for exporting to the local endpoint: plain HTTP to loopback allowed,
/// `batch_size` and `max_queue_size` as given, no periodic flush (batches leave when full, on
/// flush and on close), and no feature flag (`force_enabled`: every request is an upload).
pub(crate) fn export_config(batch_size: usize, max_queue_size: usize) -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .with_force_enabled(true)
        .with_batch_size(batch_size)
        .with_max_queue_size(max_queue_size)
        .with_flush_interval(Duration::from_secs(3600))
        .build()
        .expect("a valid bench configuration")
}

/// The HTTP exporter to a loopback address (the local endpoint or a sink), without credentials
/// of its own: the pipeline passes each request the lane's authorization.
pub(crate) fn http_exporter(addr: SocketAddr, config: &TelemetryConfig) -> DatabricksExporter {
    let service = ServiceEndpoint::parse(&format!("http://{addr}"), config.allow_insecure_http())
        .expect("the loopback endpoint is a valid service endpoint");
    DatabricksExporter::builder(service, ExporterSettings::from_config(config), user_agent())
        .build()
        .expect("an exporter to the loopback endpoint")
}

/// The endpoint's token, as a connection's credentials provider.
pub(crate) fn endpoint_credentials(
) -> Arc<dyn databricks_telemetry::credentials::CredentialsProvider> {
    Arc::new(StaticBearerToken::new(ENDPOINT_TOKEN))
}

/// `n` distinct statement events (each with its own event id), built before timing.
pub(crate) fn distinct_events(
    session: &Arc<TelemetrySessionContext>,
    n: usize,
) -> Vec<FrontendLog> {
    (0..n).map(|_| statement_event(session)).collect()
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
        databricks_telemetry::DriverInfo::new("DatabricksAdbcRust", "0.1.0")
            .expect("a valid driver"),
    )
    .with_config(config.clone());
    match credentials {
        Some(credentials) => options.with_credentials(identity.clone(), credentials),
        None => options,
    }
}
