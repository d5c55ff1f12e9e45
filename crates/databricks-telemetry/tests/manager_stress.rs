//! Sixteen threads acquire, enqueue and release at random over three hosts and two identities.
//! Afterwards the manager is empty, no breaker and no worker thread is left, and the accounting
//! sums exactly. (Its own test binary, so the worker-thread count sees only its threads.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use databricks_telemetry::manager::{ClientIdentity, Released, TelemetryClientManager};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::InMemoryExporter;
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
    let finals: Mutex<Vec<TelemetryStats>> = Mutex::new(Vec::new());

    std::thread::scope(|scope| {
        for t in 0..16u64 {
            let (manager, exporter, config, hosts, identities, offered, finals) = (
                &manager,
                &exporter,
                &config,
                &hosts,
                &identities,
                &offered,
                &finals,
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
                            if let Released::Closed { stats, .. } = handle.release() {
                                finals.lock().unwrap().push(stats);
                            }
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
                    if let Released::Closed { stats, .. } = handle.release() {
                        finals.lock().unwrap().push(stats);
                    }
                }
            });
        }
    });

    assert_eq!(manager.client_count(), 0);
    assert_eq!(manager.breaker_count(), 0);
    let finals = finals.into_inner().unwrap();
    assert!(
        finals.len() >= 6,
        "clients were created and released: {}",
        finals.len()
    );
    let sum = |f: fn(&TelemetryStats) -> u64| finals.iter().map(f).sum::<u64>();
    let offered = offered.load(Ordering::Relaxed);
    assert!(
        finals.iter().all(|s| s.is_balanced() && s.pending == 0),
        "{finals:?}"
    );
    assert_eq!(sum(|s| s.enqueued), offered);
    assert_eq!(sum(|s| s.exported), exporter.exported_count() as u64);
    assert_eq!(
        sum(|s| s.exported),
        offered,
        "a healthy exporter loses nothing"
    );

    // Closed clients joined their workers; allow a moment for the OS to reap them.
    let deadline = Instant::now() + Duration::from_secs(5);
    while worker_threads() > 0 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(worker_threads(), 0);
}
