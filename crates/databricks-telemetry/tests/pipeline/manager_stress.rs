//! Sixteen threads acquire, enqueue and release at random over three hosts and two identities.
//! Afterwards no lane and no worker thread is left, and the accounting sums exactly. (Its own
//! process, so the worker-thread count sees only its threads.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{TelemetryConfig, TelemetryStats};

/// Threads of this process whose name is the worker's.
fn worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|name| name.trim() == "dbx-telemetry")
                })
                .count()
        })
        .unwrap_or(0)
}

/// A tiny deterministic generator, one per thread.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_acquire_enqueue_release_leaves_nothing_behind() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "random_acquire_enqueue_release_leaves_nothing_behind",
    ) {
        return;
    }
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let config = TelemetryConfig::builder()
        .with_batch_size(16)
        .with_flush_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let hosts = ["adb-1.example.net", "adb-2.example.net", "127.0.0.1:8443"];
    let identities = [ClientIdentity::new("alice"), ClientIdentity::new("bob")];
    let offered = AtomicU64::new(0);
    let released = AtomicU64::new(0);

    std::thread::scope(|scope| {
        for t in 0..16u64 {
            let (manager, exporter, config, hosts, identities, offered, released) = (
                &manager,
                &exporter,
                &config,
                &hosts,
                &identities,
                &offered,
                &released,
            );
            scope.spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (t + 1);
                let mut held = Vec::new();
                for _ in 0..400 {
                    match next(&mut rng) % 4 {
                        0 | 1 if held.len() < 4 => {
                            let host = hosts[(next(&mut rng) % 3) as usize];
                            let id = &identities[(next(&mut rng) % 2) as usize];
                            let make = |_: &_| Box::new(exporter.clone()) as Box<_>;
                            held.push(manager.acquire(host, id, config, make).unwrap());
                        }
                        2 if !held.is_empty() => {
                            let handle = held.swap_remove((next(&mut rng) as usize) % held.len());
                            handle.release();
                            released.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            if let Some(handle) = held.first() {
                                for _ in 0..(next(&mut rng) % 8) {
                                    handle.enqueue(FrontendLog::default());
                                    offered.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                }
                for handle in held {
                    handle.release();
                    released.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });

    assert!(released.load(Ordering::Relaxed) >= 6);
    // Released lanes drain in the background; shutdown waits for them.
    let outcome = manager.shutdown(Duration::from_secs(10));
    let stats: TelemetryStats = outcome.stats;
    let offered = offered.load(Ordering::Relaxed);
    assert_eq!(manager.lane_count(), 0);
    assert!(stats.is_balanced() && stats.pending == 0, "{stats:?}");
    assert_eq!(stats.enqueued, offered);
    assert_eq!(stats.exported, exporter.exported_count() as u64);
    assert_eq!(
        stats.exported, offered,
        "a healthy exporter loses nothing: {stats:?}"
    );

    // Idle workers end (a second after they had nothing to do). The bound only catches a
    // worker that never ends: a loaded machine may take far longer than the second.
    let deadline = Instant::now() + Duration::from_secs(60);
    while worker_threads() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(worker_threads(), 0);
}
