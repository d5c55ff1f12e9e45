//! Soak: the whole pipeline under rotating faults, with exact accounting, no thread left
//! behind, and bounded memory.
//!
//! Two soaks, run one after the other (they share the process):
//!
//! - **library**: in this process, three threads open and close connections through one
//!   [`TelemetryClientManager`] with the real [`DatabricksExporter`], against local endpoints
//!   whose faults rotate (healthy, 503, 429 with `Retry-After`, hang, reset, redirect); every few
//!   rotations a host is retired and a new one takes its place, so lanes, workers and breakers
//!   come and go. At the end, after the manager's shutdown: every event is accounted for
//!   (`generated = enqueued = exported + dropped`, nothing pending, `exported` <= what the
//!   endpoints accepted <= `exported + closed_before_delivery`, no duplicates), no lane and no `dbx-telemetry` thread is left, and
//!   resident memory grew by at most [`RSS_GROWTH_BOUND`] from the warmed-up start.
//! - **simulate**: `dbtel simulate` as a child process against endpoints in this process whose
//!   faults rotate the same way. At the end: exit code 0, the report's accounting balances, what
//!   it says was exported is exactly what the endpoints accepted, the child never ran more
//!   `dbx-telemetry` threads than one worker and one short-lived name lookup (ureq's resolver
//!   thread, which inherits the worker's name) per host, its own count of the library's threads
//!   (`telemetry_threads_peak`) stays within one worker per host, and its resident memory grew
//!   by at most [`RSS_GROWTH_BOUND`] from its warmed-up start.
//!
//! The short versions run in CI (`cargo test --workspace`); the long ones, about a minute each:
//!
//! ```sh
//! cargo test -p dbtel --release --test soak -- --ignored --nocapture
//! ```

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::export::{Exporter, UserAgent};
use databricks_telemetry::model::OperationType;
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{
    TelemetryAuthType, TelemetryConfig, TelemetrySessionContext, TelemetryStats,
};
use telemetry_endpoint::{EndpointConfig, EndpointStats, Fault, TelemetryEndpoint};

/// The token the endpoints require.
const TOKEN: &str = "dapi-soak-token-0123456789";

/// The faults the endpoints rotate through; `healthy` clears the fault.
const FAULTS: [&str; 6] = [
    "healthy",
    "503",
    "429:retry-after=1",
    "hang",
    "reset",
    "redirect=http://127.0.0.1:9/telemetry-ext",
];

/// How much resident memory may grow from the warmed-up start to the end of a soak: the
/// allocator's slack and the endpoints' records, with room to spare; a leak of even one batch
/// per export would blow through it within the long soak.
const RSS_GROWTH_BOUND: u64 = 48 * 1024 * 1024;

/// The soaks share this process's memory and threads: one at a time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn short_library_soak() {
    let _guard = one_at_a_time();
    library_soak(Duration::from_secs(4), Duration::from_millis(400));
}

#[test]
fn short_simulate_soak() {
    let _guard = one_at_a_time();
    simulate_soak(Duration::from_secs(4), Duration::from_millis(400));
}

#[test]
#[ignore = "a one-minute soak; run with --ignored (see the file's docs)"]
fn library_soak_one_minute() {
    let _guard = one_at_a_time();
    library_soak(Duration::from_secs(60), Duration::from_secs(2));
}

#[test]
#[ignore = "a one-minute soak; run with --ignored (see the file's docs)"]
fn simulate_soak_one_minute() {
    let _guard = one_at_a_time();
    simulate_soak(Duration::from_secs(60), Duration::from_secs(2));
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// A local endpoint requiring [`TOKEN`], keeping few logs (its counters still count them all).
fn start_endpoint() -> TelemetryEndpoint {
    TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_token(TOKEN)
            .with_max_stored_logs(1_000),
    )
    .expect("a local endpoint starts")
}

/// Puts fault number `index` (modulo the rotation) on `endpoint`.
fn set_fault(endpoint: &TelemetryEndpoint, index: usize) {
    match FAULTS[index % FAULTS.len()] {
        "healthy" => endpoint.clear_fault(),
        spec => endpoint.set_fault(spec.parse::<Fault>().expect("a valid fault")),
    }
}

/// `VmRSS` of `/proc/<pid>/status` in bytes (`self` for this process).
fn resident_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Threads of process `pid` named `dbx-telemetry` (the library's workers).
fn worker_threads(pid: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "dbx-telemetry")
        .count()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Sums what the endpoints saw.
fn accepted_and_duplicates(stats: &[EndpointStats]) -> (u64, u64) {
    stats.iter().fold((0, 0), |(accepted, duplicates), s| {
        (
            accepted + s.logs_accepted,
            duplicates + s.duplicate_event_ids,
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The library soak

/// Small timeouts so that every fault costs little, a short flush interval, a breaker that
/// opens and recovers within a rotation.
fn library_config() -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .with_batch_size(50)
        .with_flush_interval(Duration::from_millis(100))
        // Long enough that a healthy upload on a loaded machine never times out after the
        // endpoint stored it (which would be retried and delivered twice).
        .with_request_timeout(Duration::from_millis(1000))
        .with_close_timeout(Duration::from_secs(1))
        .with_max_retries(1)
        .with_retry_base_delay(Duration::from_millis(10))
        .with_retry_max_delay(Duration::from_millis(200))
        .with_circuit_breaker_threshold(3)
        .with_circuit_breaker_timeout(Duration::from_millis(300))
        .build()
        .expect("a valid configuration")
}

/// The hosts connections are opened to; retired hosts stay up (healthy) until the end so late
/// connections can finish, and so their counts can be read.
#[derive(Default)]
struct Hosts {
    active: Vec<Arc<TelemetryEndpoint>>,
    retired: Vec<Arc<TelemetryEndpoint>>,
}

/// What the workers did.
#[derive(Default)]
struct Tally {
    generated: AtomicU64,
    connections: AtomicU64,
}

/// How long the library soak's final shutdown may take: the lanes' close timeout (1 s) and a
/// request cut short at it, with room to spare.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

fn library_soak(duration: Duration, rotation: Duration) {
    let pid = "self";
    let threads_before = worker_threads(pid);
    let config = library_config();
    let manager = TelemetryClientManager::new();
    let hosts = Mutex::new(Hosts {
        active: (0..3).map(|_| Arc::new(start_endpoint())).collect(),
        retired: Vec::new(),
    });
    let tally = Tally::default();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let mut warm_rss = None;
    let mut peak_rss = 0;
    let mut rotations = 0usize;

    std::thread::scope(|scope| {
        for worker in 0..3u64 {
            let (hosts, tally, stop, config, manager) = (&hosts, &tally, &stop, &config, &manager);
            std::thread::Builder::new()
                .name(format!("soak-connections-{worker}"))
                .spawn_scoped(scope, move || {
                    connections(worker, hosts, tally, stop, config, manager);
                })
                .expect("a worker thread starts");
        }
        while started.elapsed() < duration {
            std::thread::sleep(rotation);
            rotations += 1;
            let mut hosts = hosts.lock().unwrap();
            if rotations % 4 == 0 {
                // A host goes away (its connections finish on it) and a new one comes.
                let gone = hosts.active.remove(0);
                gone.clear_fault();
                hosts.retired.push(gone);
                hosts.active.push(Arc::new(start_endpoint()));
            }
            for (slot, endpoint) in hosts.active.iter().enumerate() {
                set_fault(endpoint, rotations + slot * 2);
            }
            drop(hosts);
            let rss = resident_bytes(pid).unwrap_or(0);
            peak_rss = peak_rss.max(rss);
            if rotations == 2 {
                warm_rss = Some(rss);
            }
        }
        stop.store(true, Ordering::Release);
    });

    // Every connection has released its handle; the shutdown waits for the lanes to drain and
    // gives the final accounting.
    let outcome = manager.shutdown(SHUTDOWN_TIMEOUT);
    let stats: TelemetryStats = outcome.stats;
    assert_eq!(
        manager.lane_count(),
        0,
        "no lane is left after the shutdown"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while worker_threads(pid) > threads_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let threads_left = worker_threads(pid) - threads_before.min(worker_threads(pid));

    let hosts = hosts.into_inner().unwrap();
    let endpoints: Vec<Arc<TelemetryEndpoint>> =
        hosts.active.into_iter().chain(hosts.retired).collect();
    let host_count = endpoints.len();
    let endpoint_stats: Vec<EndpointStats> = endpoints.iter().map(|e| e.stats()).collect();
    for endpoint in endpoints {
        Arc::try_unwrap(endpoint)
            .unwrap_or_else(|_| panic!("no one else holds an endpoint"))
            .shutdown();
    }
    let end_rss = resident_bytes(pid).unwrap_or(0);

    let generated = tally.generated.load(Ordering::Acquire);
    let (enqueued, exported, pending) = (stats.enqueued, stats.exported, stats.pending);
    let dropped = stats.dropped.total();
    let (accepted, duplicates) = accepted_and_duplicates(&endpoint_stats);
    let faults: u64 = endpoint_stats.iter().map(|s| s.faults_injected).sum();
    let warm_rss = warm_rss.unwrap_or(end_rss);
    println!(
        "library soak: {:.1} s, {rotations} rotations, {host_count} hosts, {} connections, \
         shutdown {:?}; events generated {generated}, enqueued {enqueued}, exported {exported}, \
         dropped {dropped} {:?}, pending {pending}; endpoints accepted {accepted} \
         ({duplicates} duplicates), {faults} faults injected; dbx-telemetry threads left \
         {threads_left}; RSS warm {:.1} MiB, peak {:.1} MiB, end {:.1} MiB",
        started.elapsed().as_secs_f64(),
        tally.connections.load(Ordering::Acquire),
        outcome.result,
        stats.dropped.by_reason(),
        mib(warm_rss),
        mib(peak_rss),
        mib(end_rss),
    );

    assert!(generated > 0 && faults > 0, "the soak did something");
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(enqueued, generated, "every event reached a client");
    assert_eq!(pending, 0, "nothing pending after close");
    assert_eq!(
        exported + dropped,
        enqueued,
        "every event exported or dropped"
    );
    // Every event the library counts as exported, the endpoints accepted. The endpoints may
    // have accepted a few more: a batch whose answer was cut off (a reset after the upload was
    // taken) waits for its retry, and when its lane's close deadline comes first it is counted
    // as closed before delivery (the accounting keeps what it said at the deadline).
    assert!(
        exported <= accepted && accepted <= exported + stats.dropped.closed_before_delivery,
        "exported {exported}, accepted {accepted}, closed before delivery {}",
        stats.dropped.closed_before_delivery
    );
    assert_eq!(duplicates, 0, "no event was delivered twice");
    assert_eq!(threads_left, 0, "no worker thread is left");
    assert!(
        end_rss <= warm_rss + RSS_GROWTH_BOUND,
        "resident memory grew from {:.1} MiB to {:.1} MiB",
        mib(warm_rss),
        mib(end_rss)
    );
}

/// One worker: opens a connection to a random host, runs a few statements, closes it; again
/// and again until `stop`.
fn connections(
    worker: u64,
    hosts: &Mutex<Hosts>,
    tally: &Tally,
    stop: &AtomicBool,
    config: &TelemetryConfig,
    manager: &TelemetryClientManager,
) {
    let identities = [
        ClientIdentity::new("soak-user-a"),
        ClientIdentity::new("soak-user-b"),
    ];
    let user_agent = UserAgent::new("DatabricksSoak", "0.1.0").expect("a valid user agent");
    let mut state = worker.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |bound: u64| {
        // xorshift64: deterministic per worker, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let mut iteration = 0u64;
    while !stop.load(Ordering::Acquire) {
        iteration += 1;
        let url = {
            let hosts = hosts.lock().unwrap();
            hosts.active[next(hosts.active.len() as u64) as usize].base_url()
        };
        let identity = &identities[next(2) as usize];
        // Each connection brings its own credentials provider; the exporter has none.
        let credentials = Arc::new(StaticBearerToken::new(TOKEN));
        let handle = manager
            .acquire_with_credentials(&url, identity, Some(credentials), config, |_| {
                let endpoint = ServiceEndpoint::parse(&url, config.allow_insecure_http())
                    .expect("a loopback endpoint");
                Box::new(
                    DatabricksExporter::builder(
                        endpoint,
                        ExporterSettings::from_config(config),
                        user_agent.clone(),
                    )
                    .build()
                    .expect("an exporter"),
                ) as Box<dyn Exporter>
            })
            .expect("a handle");
        tally.connections.fetch_add(1, Ordering::AcqRel);
        let session = TelemetrySessionContext::builder("Databricks Soak", "0.1.0")
            .with_session_id(format!("soak-{worker}-{iteration}"))
            .with_workspace_id(1_000 + worker as i64)
            .with_auth_type(TelemetryAuthType::Pat)
            .build();
        let mut events = 1;
        handle.enqueue(session.connection_opened(Duration::from_millis(next(50))));
        for statement in 0..next(12) {
            let mut context =
                StatementTelemetryContext::begin(&session, OperationType::ExecuteStatement);
            context.set_statement_id(format!("stmt-{worker}-{iteration}-{statement}"));
            context.record_status_poll(Duration::from_millis(next(20)));
            handle.enqueue(context.finish());
            events += 1;
            if next(4) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        handle.enqueue(session.connection_closed(Duration::from_millis(next(10))));
        events += 1;
        tally.generated.fetch_add(events, Ordering::AcqRel);
        // Returns at once; the lane drains in the background.
        handle.release();
        std::thread::sleep(Duration::from_millis(next(5)));
    }
}

// ---------------------------------------------------------------------------------------------
// The `dbtel simulate` soak

fn simulate_soak(duration: Duration, rotation: Duration) {
    let endpoints: Vec<TelemetryEndpoint> = (0..3).map(|_| start_endpoint()).collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbtel"));
    command.args([
        "simulate",
        "--json",
        "--allow-insecure-http",
        "--token",
        TOKEN,
        "--duration",
        &format!("{}ms", duration.as_millis()),
        "--connections",
        "12",
        "--threads",
        "3",
        "--rate",
        "1500",
        "--batch-size",
        "50",
        "--flush-interval-ms",
        "100",
        "--request-timeout-ms",
        "1000",
        "--close-timeout-ms",
        "2000",
        "--retry-max-delay-ms",
        "200",
        "--circuit-breaker-timeout-ms",
        "300",
    ]);
    for endpoint in &endpoints {
        command.args(["--endpoint", &endpoint.base_url()]);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dbtel starts");
    let pid = child.id().to_string();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let started = Instant::now();
    let limit = duration + Duration::from_secs(60);
    let mut rotations = 0usize;
    let mut last_rotation = Instant::now();
    let mut samples: Vec<u64> = Vec::new();
    let mut max_workers = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("dbtel simulate did not finish within {limit:?}");
        }
        if started.elapsed() < duration && last_rotation.elapsed() >= rotation {
            rotations += 1;
            last_rotation = Instant::now();
            for (slot, endpoint) in endpoints.iter().enumerate() {
                set_fault(endpoint, rotations + slot * 2);
            }
        }
        if let Some(rss) = resident_bytes(&pid) {
            samples.push(rss);
        }
        max_workers = max_workers.max(worker_threads(&pid));
        std::thread::sleep(Duration::from_millis(50));
    };
    for endpoint in &endpoints {
        endpoint.clear_fault();
    }
    let stdout = out.join().expect("stdout read");
    let stderr = err.join().expect("stderr read");
    let endpoint_stats: Vec<EndpointStats> = endpoints.iter().map(|e| e.stats()).collect();
    for endpoint in endpoints {
        endpoint.shutdown();
    }

    assert!(
        status.success(),
        "dbtel simulate failed ({status}): {stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON report");
    let number = |key: &str| {
        report[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key}: {report}"))
    };
    let dropped: u64 = report["dropped"]
        .as_object()
        .expect("dropped by reason")
        .values()
        .map(|v| v.as_u64().expect("a count"))
        .sum();
    let (generated, enqueued, exported, pending) = (
        number("generated"),
        number("enqueued"),
        number("exported"),
        number("pending"),
    );
    let (accepted, duplicates) = accepted_and_duplicates(&endpoint_stats);
    let faults: u64 = endpoint_stats.iter().map(|s| s.faults_injected).sum();
    // The first quarter of the samples is the warm-up.
    let warm_rss = samples
        .get(samples.len() / 4)
        .copied()
        .expect("resident memory was sampled");
    let peak_rss = samples.iter().copied().max().unwrap_or(0);
    let end_rss = samples.last().copied().unwrap_or(0);
    println!(
        "simulate soak: {:.1} s, {rotations} rotations; events generated {generated}, enqueued \
         {enqueued}, exported {exported}, dropped {dropped}, pending {pending}; endpoints \
         accepted {accepted} ({duplicates} duplicates), {faults} faults injected; at most \
         {max_workers} dbx-telemetry threads; child RSS warm {:.1} MiB, peak {:.1} MiB, \
         end {:.1} MiB",
        started.elapsed().as_secs_f64(),
        mib(warm_rss),
        mib(peak_rss),
        mib(end_rss),
    );

    assert_eq!(
        report["accounted"],
        serde_json::Value::Bool(true),
        "{report}"
    );
    assert!(generated > 0 && faults > 0, "the soak did something");
    assert_eq!(enqueued, generated);
    assert_eq!(pending, 0);
    assert_eq!(exported + dropped, enqueued);
    let closed_before_delivery = report["dropped"]["closed_before_delivery"]
        .as_u64()
        .expect("the report counts closed_before_delivery");
    // Every event the library counts as exported, the endpoints accepted. The endpoints may
    // have accepted a few more: a batch whose answer was cut off (a reset after the upload was
    // taken) waits for its retry, and when its lane's close deadline comes first it is counted
    // as closed before delivery (the accounting keeps what it said at the deadline).
    assert!(
        exported <= accepted && accepted <= exported + closed_before_delivery,
        "exported {exported}, accepted {accepted}, closed before delivery {closed_before_delivery}"
    );
    assert_eq!(duplicates, 0, "no event was delivered twice");
    // One worker per host; while it resolves a host name, ureq runs the lookup on a
    // short-lived unnamed thread, which inherits the name `dbx-telemetry`.
    assert!(
        max_workers <= 2 * 3,
        "one worker (and at most one name lookup) per host: {max_workers}"
    );
    // The library's own count (taken as it starts each thread; a static token needs no
    // credentials helper): never more than one worker per host at once.
    let threads_peak = number("telemetry_threads_peak");
    assert!(
        (1..=3).contains(&threads_peak),
        "one worker per host: {threads_peak}"
    );
    assert!(
        peak_rss <= warm_rss + RSS_GROWTH_BOUND,
        "the child's resident memory grew from {:.1} MiB to {:.1} MiB",
        mib(warm_rss),
        mib(peak_rss)
    );
}
