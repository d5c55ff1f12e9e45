//! `export_profile`: a fixed workload for profiling the export path, not a timing.
//!
//! Enqueues `EXPORT_PROFILE_EVENTS` (default 2,000) distinct statement events into a handle
//! (from `acquire_databricks`, `force_enabled`) that exports through the host's worker and the
//! HTTP exporter to the local endpoint in batches of 100, then closes it, and prints what it did.
//! The worker is the thread named `dbx-telemetry`. Run it under callgrind to count the worker thread's instructions (see
//! `BENCHMARKS.md`):
//!
//! ```text
//! cargo bench -p databricks-telemetry --bench export_profile --no-run
//! valgrind --tool=callgrind --separate-threads=yes target/release/deps/export_profile-<hash>
//! ```
//!
//! Under `cargo bench` it runs once, quickly, as a smoke test of the export path.

use std::time::{Duration, Instant};

use databricks_telemetry::{ClientIdentity, CloseResult, TelemetryClientManager, TelemetryConfig};

mod common;

/// Events exported when `EXPORT_PROFILE_EVENTS` is not set.
const DEFAULT_EVENTS: usize = 2_000;

fn main() {
    let events = std::env::var("EXPORT_PROFILE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_EVENTS);
    let session = common::session();
    let endpoint = common::start_endpoint();
    let batch_size = TelemetryConfig::default().batch_size();
    let config = common::export_config(batch_size, events.max(batch_size));
    let manager = TelemetryClientManager::new();
    let client = common::http_handle(
        &manager,
        endpoint.addr(),
        &ClientIdentity::new("profile-user"),
        &config,
    );
    let logs = common::distinct_events(&session, events);
    let start = Instant::now();
    for log in logs {
        client.enqueue(log);
    }
    let closed = client.close(Duration::from_secs(120));
    let elapsed = start.elapsed();
    let stats = closed.stats;
    assert_eq!(closed.result, CloseResult::Completed);
    assert_eq!(stats.exported, events as u64, "{stats:?}");
    println!(
        "export_profile: {events} events in {} batches of {batch_size} in {elapsed:?}",
        stats.batches_sent
    );
    let _ = manager.shutdown(Duration::from_secs(10));
    endpoint.shutdown();
}
