//! `release`: how long `TelemetryClientHandle::release` takes for the last handle of a lane that
//! holds events, on a healthy host and on hosts that hang. Release never waits for the lane: it
//! withdraws the handle's credentials, marks the lane draining and wakes the host's worker, which
//! delivers (or, at the lane's close timeout, counts) the events in the background.
//!
//! - `healthy_host`: the HTTP exporter into the loopback sink (`benches/common/sink.rs`); the
//!   lane holds `QUEUED` events below a batch, unsent. One manager for every round, as a driver
//!   uses the global one; between rounds (untimed) the lane drains and is removed.
//! - `hanging_host_tcp`: the HTTP exporter into a loopback listener that accepts, reads the
//!   request and never answers; the worker is inside that request (a whole batch of
//!   `BATCH_SIZE`, seen arriving at the listener) and `QUEUED` more wait in the lane.
//! - `hanging_host_in_memory`: `testing::InMemoryExporter` in `Behaviour::Hang`, the worker
//!   inside its export (one batch) and `QUEUED` more waiting.
//!
//! The hanging rounds use a new manager each (a hung export cannot be taken back), cleaned up
//! untimed after the release: `shutdown(0)` counts what the lane held as
//! `closed_before_delivery`, then the hang ends (the listener hangs up, the exporter is
//! released). Only the `release()` call is timed, one `Instant` pair per round; the figures are
//! the distribution over `RELEASE_ROUNDS` rounds (default 200). Not a criterion bench: every
//! round needs a fresh hung lane, whose set-up costs a thousand times the call it prepares.
//!
//! ```text
//! cargo bench -p databricks-telemetry --bench release
//! ```

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
use databricks_telemetry::{
    ClientIdentity, TelemetryClientHandle, TelemetryClientManager, TelemetryConfig,
    TelemetrySessionContext,
};

/// Rounds per scenario when `RELEASE_ROUNDS` is not set.
const DEFAULT_ROUNDS: usize = 200;

/// The batch size: a hung export holds one whole batch.
const BATCH_SIZE: usize = 100;

/// Events waiting in the lane (besides a hung batch) when it is released.
const QUEUED: usize = 50;

/// How long a set-up step may wait for the worker.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

fn config() -> TelemetryConfig {
    // Batches of BATCH_SIZE, no periodic flush, the default close timeout (2 s).
    common::export_config(BATCH_SIZE, 10_000)
}

fn identity() -> ClientIdentity {
    ClientIdentity::new("bench-user")
}

fn enqueue(handle: &TelemetryClientHandle, events: Vec<FrontendLog>) {
    for event in events {
        handle.enqueue(event);
    }
}

/// Polls `done` until it holds, or panics after [`SETUP_TIMEOUT`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Times one release.
fn timed_release(handle: TelemetryClientHandle) -> Duration {
    let start = Instant::now();
    handle.release();
    start.elapsed()
}

fn healthy_host(session: &Arc<TelemetrySessionContext>, rounds: usize) -> Vec<Duration> {
    let sink = common::LoopbackSink::start();
    let manager = TelemetryClientManager::new();
    let config = config();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let handle = common::http_handle(&manager, sink.addr(), &identity(), &config);
        enqueue(&handle, common::distinct_events(session, QUEUED));
        times.push(timed_release(handle));
        wait_until("the released lane drains", || manager.lane_count() == 0);
    }
    let stats = manager.shutdown(SETUP_TIMEOUT).stats;
    assert_eq!(stats.exported, (rounds * QUEUED) as u64, "{stats:?}");
    times
}

fn hanging_host_tcp(session: &Arc<TelemetrySessionContext>, rounds: usize) -> Vec<Duration> {
    let host = common::HangingHost::start();
    let config = config();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let manager = TelemetryClientManager::new();
        let handle = common::http_handle(&manager, host.addr(), &identity(), &config);
        let begun = host.requests();
        enqueue(&handle, common::distinct_events(session, BATCH_SIZE));
        wait_until("the worker's request reaches the hanging host", || {
            host.requests() > begun
        });
        enqueue(&handle, common::distinct_events(session, QUEUED));
        times.push(timed_release(handle));
        let stats = manager.shutdown(Duration::ZERO).stats;
        assert_eq!(stats.exported, 0, "{stats:?}");
        assert_eq!(
            stats.dropped.closed_before_delivery,
            (BATCH_SIZE + QUEUED) as u64,
            "{stats:?}"
        );
        host.hang_up();
    }
    times
}

fn hanging_host_in_memory(session: &Arc<TelemetrySessionContext>, rounds: usize) -> Vec<Duration> {
    let config = config();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let manager = TelemetryClientManager::new();
        let exporter = InMemoryExporter::new();
        exporter.set_behaviour(Behaviour::Hang);
        let handle = {
            let exporter = exporter.clone();
            manager
                .acquire(common::BENCH_HOST, &identity(), &config, move |_| {
                    Box::new(exporter)
                })
                .expect("the handle is acquired")
        };
        enqueue(&handle, common::distinct_events(session, BATCH_SIZE));
        assert!(
            exporter.wait_for_calls(1, SETUP_TIMEOUT),
            "the worker never called the exporter"
        );
        enqueue(&handle, common::distinct_events(session, QUEUED));
        times.push(timed_release(handle));
        let stats = manager.shutdown(Duration::ZERO).stats;
        assert_eq!(
            stats.dropped.closed_before_delivery,
            (BATCH_SIZE + QUEUED) as u64,
            "{stats:?}"
        );
        exporter.release();
    }
    times
}

/// The `q` quantile of sorted `times`.
fn quantile(times: &[Duration], q: f64) -> Duration {
    let index = ((times.len() - 1) as f64 * q).round() as usize;
    times[index]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "release/{name}: {} rounds: min {}, median {}, p90 {}, p99 {}, max {}",
        times.len(),
        micros(times[0]),
        micros(quantile(&times, 0.5)),
        micros(quantile(&times, 0.9)),
        micros(quantile(&times, 0.99)),
        micros(times[times.len() - 1]),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a further argument selects scenarios by substring.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let rounds = std::env::var("RELEASE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
        .max(1);
    let session = common::session();
    type Scenario = fn(&Arc<TelemetrySessionContext>, usize) -> Vec<Duration>;
    let scenarios: [(&str, Scenario); 3] = [
        ("healthy_host", healthy_host),
        ("hanging_host_tcp", hanging_host_tcp),
        ("hanging_host_in_memory", hanging_host_in_memory),
    ];
    for (name, run) in scenarios {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        report(name, run(&session, rounds));
    }
}
