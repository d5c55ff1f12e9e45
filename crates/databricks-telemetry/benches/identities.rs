//! `identities`: what 1,000 identities on one host cost (a multi-tenant service holding one
//! connection per user): threads, memory and the time to acquire and release them all.
//!
//! One local endpoint (`telemetry-endpoint`, in this process, plain HTTP on loopback, serving
//! the feature flag), the library's defaults except `allow_insecure_http`: each of `IDENTITIES`
//! (default 1,000; `IDENTITIES` in the environment) connections acquires its own identity on the
//! host with `acquire_databricks` and its credentials (the endpoint's token), enqueues
//! `EVENTS_PER_IDENTITY` statement events (built then, as a driver does), and all are released;
//! the manager then shuts down, delivering everything. It prints:
//!
//! - threads: the peak of `unstable::thread_stats()` (threads the library started; none before);
//! - memory: the process's RSS before the first acquire, and its peak (`VmHWM`, reset through
//!   `/proc/self/clear_refs` just before; the endpoint runs in this process too) up to the end of
//!   the shutdown;
//! - times: every acquire, every enqueue, every release (each phase timed as a whole), and the
//!   shutdown that waits for the deliveries.
//!
//! ```text
//! cargo bench -p databricks-telemetry --bench identities
//! ```

mod common;

use std::time::{Duration, Instant};

use databricks_telemetry::unstable::thread_stats;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager, TelemetryConfig};

const DEFAULT_IDENTITIES: usize = 1_000;
const EVENTS_PER_IDENTITY: usize = 10;

/// A `kB` line of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let identities = std::env::var("IDENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_IDENTITIES);
    let session = common::session();
    let endpoint = common::start_endpoint();
    let config = TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .build()
        .expect("a valid configuration");
    let ids: Vec<ClientIdentity> = (0..identities)
        .map(|i| ClientIdentity::new(format!("user-{i:04}")))
        .collect();
    let url = format!("http://{}", endpoint.addr());

    let manager = TelemetryClientManager::new();

    let threads_before = thread_stats();
    assert_eq!(threads_before.started, 0, "no pipeline thread before");
    // Resets VmHWM to the current RSS (Linux 4.0+), so the peak is this workload's.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_kib("VmRSS:").unwrap_or(0);

    let start = Instant::now();
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            manager
                .acquire_databricks(&common::acquire_options(
                    &url,
                    id,
                    Some(common::endpoint_credentials()),
                    &config,
                ))
                .expect("a handle")
        })
        .collect();
    let acquire = start.elapsed();
    let lanes = manager.lane_count();

    // Each lane's first event wakes the host's worker (the slow path of enqueue); the others
    // are the hot path. Timed apart, events built inside the timing as a driver builds them.
    let start = Instant::now();
    for handle in &handles {
        handle.enqueue(common::statement_event(&session));
    }
    let enqueue_first = start.elapsed();
    let start = Instant::now();
    for handle in &handles {
        for _ in 1..EVENTS_PER_IDENTITY {
            handle.enqueue(common::statement_event(&session));
        }
    }
    let enqueue_rest = start.elapsed();
    let rss_loaded = status_kib("VmRSS:").unwrap_or(0);

    let start = Instant::now();
    for handle in handles {
        handle.release();
    }
    let release = start.elapsed();

    let start = Instant::now();
    let outcome = manager.shutdown(Duration::from_secs(60));
    let drain = start.elapsed();
    let rss_after = status_kib("VmRSS:").unwrap_or(0);
    let rss_peak = if hwm_reset {
        status_kib("VmHWM:").unwrap_or(0)
    } else {
        rss_loaded.max(rss_after)
    };
    let threads = thread_stats();
    endpoint.shutdown();

    let stats = outcome.stats;
    let expected = (identities * EVENTS_PER_IDENTITY) as u64;
    println!("identities: {identities} identities on one host, {EVENTS_PER_IDENTITY} events each");
    println!("  lanes: {lanes}");
    println!(
        "  pipeline threads: peak {} (started {})",
        threads.peak - threads_before.peak,
        threads.started
    );
    println!(
        "  RSS: before {:.1} MiB, with every lane loaded {:.1} MiB, peak {:.1} MiB{}, after shutdown {:.1} MiB; growth to peak {:.1} MiB",
        mib(rss_before),
        mib(rss_loaded),
        mib(rss_peak),
        if hwm_reset { "" } else { " (sampled: VmHWM could not be reset)" },
        mib(rss_after),
        mib(rss_peak.saturating_sub(rss_before)),
    );
    println!(
        "  acquire all {:.2} ms, release all {:.2} ms; acquire + release {:.2} ms",
        ms(acquire),
        ms(release),
        ms(acquire + release)
    );
    let rest = identities * (EVENTS_PER_IDENTITY - 1);
    println!(
        "  build + enqueue: each lane's first event {:.2} ms ({:.2} µs each), the other {rest} {:.2} ms ({:.2} µs each)",
        ms(enqueue_first),
        ms(enqueue_first) * 1e3 / identities as f64,
        ms(enqueue_rest),
        ms(enqueue_rest) * 1e3 / rest.max(1) as f64
    );
    println!(
        "  shutdown (delivers everything) {:.1} ms: {:?}, exported {} of {expected}, dropped {}, batches {}",
        ms(drain),
        outcome.result,
        stats.exported,
        stats.dropped.total(),
        stats.batches_sent
    );
    assert_eq!(stats.exported, expected, "{stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
}
