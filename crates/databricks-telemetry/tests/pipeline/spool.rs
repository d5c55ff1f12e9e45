//! The spool (`spool_dir`, cargo feature `spool`), end to end: real files in a temporary
//! directory, the real endpoint, and a real child process killed with SIGKILL mid-outage.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
use databricks_telemetry::unstable::spool::inspect;
use databricks_telemetry::{
    ClientIdentity, TelemetryClientManager, TelemetryConfig, TelemetryStats,
};
use telemetry_endpoint::{Fault, FaultKind, TelemetryEndpoint};

use crate::http_support::{
    eventually, exporter, fast_builder, logs, start_endpoint, Client, Clocked, TOKEN, WAIT,
};

/// A fresh directory under the system's temporary one (the spool makes it, 0700).
fn temp_spool(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dbx-telemetry-spool-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fail_with_503(endpoint: &TelemetryEndpoint) {
    endpoint.set_fault(Fault::new(FaultKind::Status {
        code: 503,
        retry_after: None,
    }));
}

/// Records the spool still holds (not yet delivered).
fn on_disk(dir: &Path) -> u64 {
    inspect(dir, false)
        .map(|segments| segments.iter().map(|s| s.records).sum())
        .unwrap_or(0)
}

fn spool_config(dir: &Path) -> TelemetryConfig {
    fast_builder()
        .with_batch_size(10)
        .with_max_queue_size(40)
        .with_spool_dir(dir.to_str().unwrap())
        .build()
        .unwrap()
}

#[test]
fn an_outage_longer_than_the_queue_holds_loses_nothing_and_replays_after() {
    let dir = temp_spool("outage");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = spool_config(&dir);
    let pipeline = Clocked::start(exporter(endpoint.addr(), &config), &config);
    // Five times what the lane may hold, a second of clock time apart.
    for _ in 0..10 {
        pipeline.enqueue(logs(20));
        pipeline.advance(Duration::from_secs(1));
    }
    let during = pipeline.stats();
    assert!(during.is_balanced(), "{during:?}");
    assert_eq!(during.dropped.total(), 0, "{during:?}");
    assert!(during.spooled >= 160, "{during:?}");
    assert_eq!(during.exported, 0);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    for segment in inspect(&dir, false).unwrap() {
        let mode = std::fs::metadata(&segment.path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{}", segment.path.display());
    }

    endpoint.clear_fault();
    for _ in 0..200 {
        if pipeline.stats().exported >= 200 {
            break;
        }
        pipeline.advance(Duration::from_secs(1));
    }
    let after = pipeline.stats();
    assert!(after.is_balanced(), "{after:?}");
    assert_eq!(after.dropped.total(), 0, "{after:?}");
    assert_eq!(after.pending, 0, "{after:?}");
    assert!(after.replayed > 0, "{after:?}");
    let received = endpoint.stats();
    assert_eq!(received.distinct_event_ids, 200, "{received:?}");
    assert_eq!(on_disk(&dir), 0);
    // Everything written was read back (no other process shares the directory).
    assert_eq!(after.spooled, after.replayed + on_disk(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_spool_the_same_outage_drops_what_the_queue_cannot_hold() {
    // The comparison for the test above: the same workload, no spool_dir.
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = fast_builder()
        .with_batch_size(10)
        .with_max_queue_size(40)
        .build()
        .unwrap();
    let pipeline = Clocked::start(exporter(endpoint.addr(), &config), &config);
    for _ in 0..10 {
        pipeline.enqueue(logs(20));
        pipeline.advance(Duration::from_secs(1));
    }
    let during = pipeline.stats();
    assert!(during.dropped.queue_full >= 150, "{during:?}");
    assert_eq!(during.spooled, 0);
}

/// A client that enqueues `events` while the endpoint fails and then closes, within 300 ms:
/// what it could not deliver waits in the spool (the caller has made the endpoint fail).
fn spool_in_an_outage(
    endpoint: &TelemetryEndpoint,
    config: &TelemetryConfig,
    events: usize,
) -> Client {
    let first = client(endpoint, config);
    for log in logs(events) {
        first.enqueue(log);
    }
    let _ = first.close(Duration::from_millis(300));
    first
}

/// A manager with one handle (identity `test-user`, [`TOKEN`]) on host 127.0.0.1, exporting to
/// `endpoint`.
fn client(endpoint: &TelemetryEndpoint, config: &TelemetryConfig) -> Client {
    let credentials = Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>;
    Client::with(
        TelemetryClientManager::new(),
        config,
        Box::new(exporter(endpoint.addr(), config)),
        Some(credentials),
    )
    .unwrap()
}

#[test]
fn a_run_that_exits_mid_outage_leaves_a_spool_the_next_run_delivers() {
    let dir = temp_spool("exit");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = spool_config(&dir);
    let first = spool_in_an_outage(&endpoint, &config, 35);
    let one = first.stats();
    assert!(one.is_balanced(), "{one:?}");
    assert_eq!(one.dropped.total(), 0, "{one:?}");
    assert_eq!(one.pending, 0, "{one:?}");
    assert_eq!(one.spooled - one.replayed, on_disk(&dir), "{one:?}");
    assert!(on_disk(&dir) > 0);
    assert_no_secret_in(&dir);

    endpoint.clear_fault();
    let second = client(&endpoint, &config);
    assert!(
        eventually(WAIT, || endpoint.stats().distinct_event_ids >= 35),
        "{:?}",
        endpoint.stats()
    );
    let _ = second.close(WAIT);
    let two = second.stats();
    assert!(two.is_balanced(), "{two:?}");
    assert_eq!(two.enqueued, 0);
    // Summed over both runs: all 35 delivered, nothing left on disk.
    let mut sum = TelemetryStats::default();
    sum.add(&one);
    sum.add(&two);
    assert_eq!(on_disk(&dir), 0);
    assert_eq!(sum.spooled, sum.replayed);
    assert_eq!(sum.enqueued, 35);
    assert!(sum.exported >= 35, "{sum:?}");
    let received = endpoint.stats();
    assert_eq!(received.distinct_event_ids, 35);
    // At least once: duplicates of one batch at most.
    assert!(received.duplicate_event_ids <= 10, "{received:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// No file in `dir`, nor any name, holds the token, the identity or the host.
fn assert_no_secret_in(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        for secret in [TOKEN, "test-user", "127.0.0.1"] {
            assert!(!name.contains(secret), "{name} names {secret}");
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{name} holds {secret}"
            );
        }
    }
}

#[test]
fn another_identity_does_not_replay_the_spool() {
    let dir = temp_spool("identity");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = spool_config(&dir);
    let _first = spool_in_an_outage(&endpoint, &config, 15);
    assert_eq!(on_disk(&dir), 15);
    endpoint.clear_fault();
    let manager = TelemetryClientManager::new();
    let exporter = exporter(endpoint.addr(), &config);
    let other = manager
        .acquire_with_credentials(
            "127.0.0.1",
            &ClientIdentity::new("someone-else"),
            Some(Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>),
            &config,
            move |_| Box::new(exporter) as Box<dyn databricks_telemetry::export::Exporter>,
        )
        .unwrap();
    assert_eq!(
        other.flush(WAIT),
        databricks_telemetry::FlushResult::Completed
    );
    // The worker has done all it would do with the other identity's lane (had it replayed
    // the spool, it has by now).
    assert!(manager.settle(WAIT), "the worker did not settle");
    drop(other);
    let stats = manager.shutdown(WAIT).stats;
    assert_eq!(stats.replayed, 0, "{stats:?}");
    assert_eq!(endpoint.stats().logs_accepted, 0);
    assert_eq!(on_disk(&dir), 15);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_others_may_write_is_refused_and_events_stay_in_memory() {
    let dir = temp_spool("refused");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = spool_config(&dir);
    let pipeline = Clocked::start(exporter(endpoint.addr(), &config), &config);
    pipeline.enqueue(logs(20));
    pipeline.advance(Duration::from_secs(2));
    let stats = pipeline.stats();
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.spooled, 0, "{stats:?}");
    assert_eq!(stats.dropped.spool_full, 0, "{stats:?}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn torn_and_corrupt_records_are_skipped_and_counted() {
    let dir = temp_spool("torn");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = spool_config(&dir);
    let _first = spool_in_an_outage(&endpoint, &config, 10);
    let segments = inspect(&dir, false).unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].records, 10);
    // The close wrote one block of 10 records after the 24-byte header. After it: a copy of
    // that block with a byte of its compressed payload flipped (its 10 records skipped and
    // counted), then a copy cut short (a torn write: one counted, nothing after it read).
    let path = &segments[0].path;
    let bytes = std::fs::read(path).unwrap();
    let block = bytes[24..].to_vec();
    let mut flipped = block.clone();
    flipped[28 + 5] ^= 0x40;
    let mut out = bytes.clone();
    out.extend_from_slice(&flipped);
    out.extend_from_slice(&block[..block.len() - 7]);
    std::fs::write(path, &out).unwrap();
    let segments = inspect(&dir, false).unwrap();
    assert_eq!((segments[0].records, segments[0].corrupt), (10, 11));

    endpoint.clear_fault();
    let second = client(&endpoint, &config);
    // The good block is sent first; the damaged ones after it are met by the worker's next
    // read. A close does not wait for a spool's backlog (it is no longer the lane's pending),
    // so wait for that read before closing.
    assert!(eventually(WAIT, || {
        endpoint.stats().logs_accepted >= 10 && second.stats().dropped.spool_corrupt == 11
    }));
    let _ = second.close(WAIT);
    let two = second.stats();
    assert!(two.is_balanced(), "{two:?}");
    assert_eq!(two.dropped.spool_corrupt, 11, "{two:?}");
    assert_eq!(two.replayed, 21, "{two:?}");
    assert_eq!(two.exported, 10, "{two:?}");
    assert_eq!(endpoint.stats().duplicate_event_ids, 0);
    assert_eq!(on_disk(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child's environment: where its spool is, where the endpoint listens.
const CHILD_DIR: &str = "DBX_TELEMETRY_TEST_SPOOL_DIR";
const CHILD_ADDR: &str = "DBX_TELEMETRY_TEST_SPOOL_ADDR";
/// The child's rate: one event each this long.
const CHILD_GAP: Duration = Duration::from_millis(2);

/// Run only as a child of the test below: enqueues one event every [`CHILD_GAP`] until killed,
/// printing the count after each.
#[test]
#[ignore = "a child process of kill_9_mid_outage_loses_at_most_the_last_second"]
fn spool_child_enqueues_until_killed() {
    let (Some(dir), Some(addr)) = (std::env::var_os(CHILD_DIR), std::env::var_os(CHILD_ADDR))
    else {
        return;
    };
    let addr = addr.to_str().unwrap().parse().unwrap();
    let config = spool_config(Path::new(&dir));
    let config = TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .with_spool_dir(config.spool_dir().unwrap())
        .build()
        .unwrap();
    let credentials = Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>;
    let exporter = exporter(addr, &config);
    let client = Client::with(
        TelemetryClientManager::new(),
        &config,
        Box::new(exporter),
        Some(credentials),
    )
    .unwrap();
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for count in 1..=1_000_000u64 {
        client.enqueue(logs(1).remove(0));
        writeln!(out, "enqueued {count}").unwrap();
        out.flush().unwrap();
        std::thread::sleep(CHILD_GAP);
    }
}

#[test]
fn kill_9_mid_outage_loses_at_most_the_last_second() {
    let dir = temp_spool("kill");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "spool::spool_child_enqueues_until_killed",
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_DIR, &dir)
        .env(CHILD_ADDR, endpoint.addr().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let started = Instant::now();
    let mut enqueued = 0u64;
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        if let Some(count) = line.strip_prefix("enqueued ") {
            enqueued = count.trim().parse().unwrap();
        }
        // Long enough for several spills (one a second) and the breaker to open.
        if started.elapsed() >= Duration::from_secs(4) || enqueued >= 100_000 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(enqueued > 0, "the child never enqueued");
    // The child printed after each enqueue: it enqueued `enqueued` or one more.
    let rate = 1.0 / CHILD_GAP.as_secs_f64();

    endpoint.clear_fault();
    let replayer = client(&endpoint, &spool_config(&dir));
    assert!(
        eventually(WAIT, || on_disk(&dir) == 0),
        "the spool still holds {} records",
        on_disk(&dir)
    );
    let _ = replayer.close(WAIT);
    let stats = replayer.stats();
    assert!(stats.is_balanced(), "{stats:?}");
    let received = endpoint.stats();
    let lost = enqueued.saturating_sub(received.distinct_event_ids);
    // The sync policy: what reached a spill (once a second while the host is down) is synced;
    // what was in memory then (at most the last second, and the batch being sent) is lost.
    let allowed = (rate * 1.5) as u64 + 100;
    println!(
        "kill -9: enqueued {enqueued}, delivered {}, lost {lost} (allowed {allowed}); {stats:?}",
        received.distinct_event_ids
    );
    assert!(
        received.distinct_event_ids > 0 && stats.replayed > 0,
        "nothing came from the spool: {received:?} {stats:?}"
    );
    assert!(
        lost <= allowed,
        "lost {lost} of {enqueued} (allowed {allowed}): {received:?} {stats:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn past_spool_max_bytes_the_oldest_records_go_and_are_counted() {
    let dir = temp_spool("full");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = fast_builder()
        .with_batch_size(10)
        .with_max_queue_size(40)
        .with_spool_dir(dir.to_str().unwrap())
        .with_spool_max_bytes(65_536)
        .build()
        .unwrap();
    let pipeline = Clocked::start(exporter(endpoint.addr(), &config), &config);
    // 1,200 events: compressed, more than 64 KiB (300 of these fit).
    for _ in 0..60 {
        pipeline.enqueue(logs(20));
        pipeline.advance(Duration::from_secs(1));
    }
    let during = pipeline.stats();
    assert!(during.is_balanced(), "{during:?}");
    assert!(during.dropped.spool_full > 0, "{during:?}");
    assert_eq!(during.dropped.queue_full, 0, "{during:?}");
    let bytes: u64 = inspect(&dir, false).unwrap().iter().map(|s| s.bytes).sum();
    assert!(bytes <= 65_536, "{bytes} bytes on disk");

    endpoint.clear_fault();
    for _ in 0..200 {
        if on_disk(&dir) == 0 && pipeline.stats().pending == 0 {
            break;
        }
        pipeline.advance(Duration::from_secs(1));
    }
    let after = pipeline.stats();
    assert!(after.is_balanced(), "{after:?}");
    assert_eq!(
        after.exported + after.dropped.spool_full,
        1_200,
        "{after:?}"
    );
    assert_eq!(endpoint.stats().distinct_event_ids, after.exported);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn records_past_spool_max_age_are_dropped_as_expired() {
    let dir = temp_spool("expired");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = fast_builder()
        .with_batch_size(10)
        .with_max_queue_size(40)
        .with_spool_dir(dir.to_str().unwrap())
        .with_spool_max_age(Duration::from_secs(3600))
        .build()
        .unwrap();
    let _first = spool_in_an_outage(&endpoint, &config, 12);
    assert_eq!(on_disk(&dir), 12);
    // Last written two hours ago, by the file's own clock.
    for segment in inspect(&dir, false).unwrap() {
        let file = std::fs::File::options()
            .write(true)
            .open(&segment.path)
            .unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
    }
    endpoint.clear_fault();
    let second = client(&endpoint, &config);
    assert!(eventually(WAIT, || on_disk(&dir) == 0));
    let _ = second.close(WAIT);
    let two = second.stats();
    assert!(two.is_balanced(), "{two:?}");
    assert_eq!(two.dropped.spool_expired, 12, "{two:?}");
    assert_eq!(two.replayed, 12, "{two:?}");
    assert_eq!(endpoint.stats().logs_accepted, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child's spool directory for the credential-identity test.
const CREDENTIAL_CHILD_DIR: &str = "DBX_TELEMETRY_TEST_SPOOL_CREDENTIAL_DIR";

/// A lane of `from_credential("pat", TOKEN)` on host 127.0.0.1, exporting to `addr`.
fn credential_lane(
    manager: &TelemetryClientManager,
    addr: std::net::SocketAddr,
    config: &TelemetryConfig,
) -> databricks_telemetry::TelemetryClientHandle {
    let exporter = exporter(addr, config);
    manager
        .acquire_with_credentials(
            "127.0.0.1",
            &ClientIdentity::from_credential("pat", TOKEN),
            Some(Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>),
            config,
            move |_| Box::new(exporter) as Box<dyn databricks_telemetry::export::Exporter>,
        )
        .unwrap()
}

/// Run only as a child of the test below: 25 events with a `from_credential` identity against
/// a failing endpoint, then a shutdown that spools them, and exit.
#[test]
#[ignore = "a child process of a_credential_identity_is_replayed_by_a_later_process"]
fn spool_child_leaves_a_credential_identitys_spool() {
    let (Some(dir), Some(addr)) = (
        std::env::var_os(CREDENTIAL_CHILD_DIR),
        std::env::var_os(CHILD_ADDR),
    ) else {
        return;
    };
    let addr = addr.to_str().unwrap().parse().unwrap();
    let config = spool_config(Path::new(&dir));
    let manager = TelemetryClientManager::new();
    let handle = credential_lane(&manager, addr, &config);
    for log in logs(25) {
        handle.enqueue(log);
    }
    drop(handle);
    let stats = manager.shutdown(Duration::from_millis(300)).stats;
    assert_eq!(stats.spooled, 25, "{stats:?}");
}

#[test]
fn a_credential_identity_is_replayed_by_a_later_process() {
    let dir = temp_spool("credential");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "spool::spool_child_leaves_a_credential_identitys_spool",
            "--include-ignored",
            "--test-threads",
            "1",
        ])
        .env(CREDENTIAL_CHILD_DIR, &dir)
        .env(CHILD_ADDR, endpoint.addr().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(on_disk(&dir), 25);
    assert_no_secret_in(&dir);

    // This process's per-process keys differ from the child's; the spool still knows it.
    endpoint.clear_fault();
    let config = spool_config(&dir);
    let manager = TelemetryClientManager::new();
    let handle = credential_lane(&manager, endpoint.addr(), &config);
    assert!(
        eventually(WAIT, || endpoint.stats().distinct_event_ids == 25),
        "{:?}",
        endpoint.stats()
    );
    drop(handle);
    let stats = manager.shutdown(WAIT).stats;
    assert_eq!(stats.replayed, 25, "{stats:?}");
    assert_eq!(on_disk(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A manager with a spool in `dir` and `lanes` lanes (named identities) on the endpoint at
/// `addr`, each holding `events` events (less than a batch: nothing is sent before the
/// shutdown).
fn lanes_holding(
    dir: &Path,
    addr: std::net::SocketAddr,
    lanes: usize,
    events: usize,
) -> (
    TelemetryClientManager,
    Vec<databricks_telemetry::TelemetryClientHandle>,
) {
    let config = spool_config(dir);
    let manager = TelemetryClientManager::new();
    let handles = (0..lanes)
        .map(|i| {
            let exporter = exporter(addr, &config);
            let handle = manager
                .acquire_with_credentials(
                    "127.0.0.1",
                    &ClientIdentity::new(format!("user-{i}")),
                    Some(Arc::new(StaticBearerToken::new(TOKEN)) as Arc<dyn CredentialsProvider>),
                    &config,
                    move |_| Box::new(exporter) as Box<dyn databricks_telemetry::export::Exporter>,
                )
                .unwrap();
            for log in logs(events) {
                handle.enqueue(log);
            }
            handle
        })
        .collect();
    (manager, handles)
}

#[test]
fn a_shutdown_with_no_time_left_writes_no_lane_to_the_spool_past_its_deadline() {
    // Each lane alone may write for half a second past its deadline; a shutdown's deadline
    // bounds them all together: with none left, nothing is written, whatever the lanes hold.
    let dir = temp_spool("shutdown-bound");
    let endpoint = start_endpoint();
    endpoint.set_fault(Fault::new(FaultKind::Hang));
    let (manager, handles) = lanes_holding(&dir, endpoint.addr(), 4, 5);
    let stats = manager.shutdown(Duration::ZERO).stats;
    drop(handles);
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.enqueued, 20, "{stats:?}");
    assert_eq!(stats.spooled, 0, "{stats:?}");
    assert_eq!(stats.dropped.closed_before_delivery, 20, "{stats:?}");
    assert_eq!(on_disk(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shutdown_leaves_its_lanes_time_to_write_before_its_deadline() {
    // Lanes with a spool stop draining early enough for their writes to end by the shutdown's
    // deadline: a hanging host, four lanes, everything they hold is spooled.
    let dir = temp_spool("shutdown-reserve");
    let endpoint = start_endpoint();
    endpoint.set_fault(Fault::new(FaultKind::Hang));
    let (manager, handles) = lanes_holding(&dir, endpoint.addr(), 4, 5);
    let stats = manager.shutdown(Duration::from_secs(2)).stats;
    drop(handles);
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.spooled, 20, "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert_eq!(on_disk(&dir), 20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_acquire_without_credentials_never_replays_a_named_identitys_spool() {
    let dir = temp_spool("no-credentials");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = spool_config(&dir);
    let _first = spool_in_an_outage(&endpoint, &config, 15);
    assert_eq!(on_disk(&dir), 15);
    endpoint.clear_fault();
    // The same identity, acquired without credentials: its own events go unauthenticated, the
    // spool (written with the identity's credentials) waits.
    let manager = TelemetryClientManager::new();
    let exporter = exporter(endpoint.addr(), &config);
    let bare = manager
        .acquire_with_credentials(
            "127.0.0.1",
            &ClientIdentity::new("test-user"),
            None,
            &config,
            move |_| Box::new(exporter) as Box<dyn databricks_telemetry::export::Exporter>,
        )
        .unwrap();
    // The worker has done all it would do with the new lane (had it replayed, it has now).
    assert!(manager.settle(WAIT));
    bare.enqueue(logs(1).remove(0));
    assert_eq!(
        bare.flush(WAIT),
        databricks_telemetry::FlushResult::Completed
    );
    drop(bare);
    // A shutdown drains the lane: had it replayed the spool, it would have sent it by now.
    let stats = manager.shutdown(WAIT).stats;
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.replayed, 0, "{stats:?}");
    assert_eq!(endpoint.stats().logs_accepted, 1, "{:?}", endpoint.stats());
    assert_eq!(on_disk(&dir), 15);
    // A later acquire with the identity's credentials does replay it.
    let second = client(&endpoint, &config);
    assert!(eventually(WAIT, || on_disk(&dir) == 0));
    let _ = second.close(WAIT);
    assert_eq!(endpoint.stats().distinct_event_ids, 15 + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_lane_with_a_spool_stops_draining_early_enough_to_write_within_its_close_timeout() {
    // close_timeout 800 ms: the lane drains for 400 ms (half, as the write's reserve is the
    // shorter of its budget and half the timeout) and then writes what it holds to the spool,
    // so the write ends within the close timeout, not up to the write budget after it.
    let dir = temp_spool("close-reserve");
    let endpoint = start_endpoint();
    fail_with_503(&endpoint);
    let config = fast_builder()
        .with_batch_size(10)
        .with_max_queue_size(40)
        .with_close_timeout(Duration::from_millis(800))
        .with_spool_dir(dir.to_str().unwrap())
        .build()
        .unwrap();
    let pipeline = Clocked::start(exporter(endpoint.addr(), &config), &config);
    pipeline.enqueue(logs(5));
    let before = pipeline.stats();
    assert_eq!((before.pending, before.spooled), (5, 0), "{before:?}");
    pipeline.client.release();
    pipeline.settle();
    // Less than the spill interval (1 s), more than the drain's 400 ms.
    pipeline.advance(Duration::from_millis(500));
    let after = pipeline.stats();
    assert!(after.is_balanced(), "{after:?}");
    assert_eq!((after.pending, after.spooled), (0, 5), "{after:?}");
    assert_eq!(on_disk(&dir), 5);
    let _ = std::fs::remove_dir_all(&dir);
}
