//! Lanes: one per (host, identity), one breaker per host; release, close, shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
use databricks_telemetry::export::{Exporter, FailureKind};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::HostKey;
use databricks_telemetry::{AcquireError, ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{CloseResult, FlushResult, TelemetryConfig};

const WAIT: Duration = Duration::from_secs(10);

fn config() -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_flush_interval(Duration::from_secs(3600))
        .with_circuit_breaker_threshold(2)
        .build()
        .unwrap()
}

fn log(id: &str) -> FrontendLog {
    let mut log = FrontendLog::default();
    *log.frontend_log_event_id_mut() = id.into();
    log
}

fn boxed(exporter: &InMemoryExporter) -> impl Fn(&HostKey) -> Box<dyn Exporter> + '_ {
    move |_| Box::new(exporter.clone())
}

#[test]
fn connections_with_one_identity_share_a_lane() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let alice = ClientIdentity::new("alice");
    let spellings = [
        "adb-1.azuredatabricks.net",
        "HTTPS://ADB-1.azuredatabricks.net/",
        "adb-1.azuredatabricks.net.",
        "adb-1.azuredatabricks.net:443",
    ];
    let handles: Vec<_> = spellings
        .iter()
        .map(|h| {
            manager
                .acquire(h, &alice, &config(), boxed(&exporter))
                .unwrap()
        })
        .collect();
    assert!(handles.iter().all(|h| h.shares_lane_with(&handles[0])));
    assert_eq!(manager.lane_count(), 1);
    assert_eq!(manager.host_count(), 1);
    assert_eq!(
        handles[0].host().map(|host| host.as_str()),
        Some("adb-1.azuredatabricks.net")
    );
    for (i, h) in handles.iter().enumerate() {
        h.enqueue(log(&format!("e{i}")));
    }
    let mut handles = handles.into_iter();
    for h in handles.by_ref().take(3) {
        h.release();
    }
    // Nothing was exported by the first three releases: the lane still has a connection.
    assert_eq!(exporter.exported_count(), 0);
    assert_eq!(manager.lane_count(), 1);
    let outcome = handles.next().unwrap().close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(outcome.stats.exported, 4);
    assert_eq!(exporter.exported_count(), 4);
    assert_eq!(manager.lane_count(), 0);
}

#[test]
fn another_identity_gets_its_own_lane_but_the_host_keeps_one_breaker() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let host = "adb-2.azuredatabricks.net";
    let token = |t: &str| Some(Arc::new(StaticBearerToken::new(t)) as Arc<dyn CredentialsProvider>);
    let acquire = |id: ClientIdentity, credentials| {
        manager
            .acquire_with_credentials(host, &id, credentials, &config(), boxed(&exporter))
            .unwrap()
    };
    let alice = acquire(ClientIdentity::new("alice"), token("alice-token"));
    let bob = acquire(ClientIdentity::new("bob"), token("bob-token"));
    let anonymous = acquire(ClientIdentity::anonymous(), None);
    assert!(!alice.shares_lane_with(&bob));
    assert!(!bob.shares_lane_with(&anonymous));
    assert_eq!(manager.lane_count(), 3);
    assert_eq!(manager.host_count(), 1);

    alice.enqueue(log("from-alice"));
    assert_eq!(alice.flush(WAIT), FlushResult::Completed);
    bob.enqueue(log("from-bob"));
    assert_eq!(bob.flush(WAIT), FlushResult::Completed);
    anonymous.enqueue(log("from-nobody"));
    assert_eq!(anonymous.flush(WAIT), FlushResult::Completed);
    // Each batch went with its own lane's credentials, through the host's one exporter.
    assert_eq!(
        exporter.authorizations(),
        [
            Some("Bearer alice-token".to_owned()),
            Some("Bearer bob-token".to_owned()),
            None
        ]
    );

    // Failures of alice's batches open the breaker bob's lane waits on too.
    exporter.set_behaviour(Behaviour::Fail(FailureKind::Retryable));
    alice.enqueue(log("a"));
    assert_eq!(
        alice.flush(Duration::from_millis(300)),
        FlushResult::TimedOut
    );
    assert_eq!(
        databricks_telemetry::unstable::breaker(&manager, host)
            .unwrap()
            .opened,
        1
    );
    exporter.set_behaviour(Behaviour::Deliver);
    bob.enqueue(log("held-back"));
    assert_eq!(bob.flush(Duration::from_millis(100)), FlushResult::TimedOut);
    let held = bob.stats();
    assert_eq!((held.pending, held.dropped.total()), (1, 0), "{held:?}");
    // Once the breaker lets a probe through (about a second), everything is delivered.
    assert_eq!(bob.flush(WAIT), FlushResult::Completed);
    assert_eq!(alice.flush(WAIT), FlushResult::Completed);
    assert_eq!(
        databricks_telemetry::unstable::breaker(&manager, host)
            .unwrap()
            .closed,
        1
    );
    let outcome = manager.shutdown(WAIT);
    assert_eq!(outcome.stats.exported, 5, "{:?}", outcome.stats);
    assert_eq!(outcome.stats.dropped.total(), 0);
}

#[test]
fn a_finished_lane_is_never_resurrected() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let id = ClientIdentity::new("alice");
    let host = "adb-3.azuredatabricks.net";
    let a = manager
        .acquire(host, &id, &config(), boxed(&exporter))
        .unwrap();
    a.enqueue(log("before"));
    let first = a.close(WAIT);
    assert_eq!(first.stats.exported, 1);
    let b = manager
        .acquire(host, &id, &config(), boxed(&exporter))
        .unwrap();
    b.enqueue(log("after"));
    let second = b.close(WAIT);
    // A new lane with its own accounting: the closed one was not brought back.
    assert_eq!(second.stats.enqueued, 1);
    assert_eq!(first.stats.enqueued, 1);
    let ids: Vec<String> = exporter
        .logs()
        .into_iter()
        .map(|l| l.frontend_log_event_id().to_string())
        .collect();
    assert_eq!(ids, ["before", "after"]);
}

#[test]
fn a_draining_lane_is_taken_back_by_a_new_acquire() {
    let clock = ManualClock::new();
    let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), 5);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Fail(FailureKind::Retryable));
    let id = ClientIdentity::new("alice");
    let host = "adb-5.azuredatabricks.net";
    let a = manager
        .acquire(host, &id, &config(), boxed(&exporter))
        .unwrap();
    a.enqueue(log("waiting"));
    a.release();
    assert!(manager.settle(WAIT));
    assert_eq!(
        manager.lane_count(),
        1,
        "draining, within its close timeout"
    );
    let b = manager
        .acquire(host, &id, &config(), boxed(&exporter))
        .unwrap();
    exporter.set_behaviour(Behaviour::Deliver);
    clock.advance(Duration::from_secs(60));
    assert!(manager.settle(WAIT));
    // Long past the first release's close timeout: the lane lived on with the new handle.
    assert_eq!(b.stats().exported, 1, "{:?}", b.stats());
    b.enqueue(log("more"));
    assert_eq!(b.close(WAIT).stats.exported, 2);
}

#[test]
fn release_returns_at_once_and_the_lane_counts_everything_at_its_close_deadline() {
    let clock = ManualClock::new();
    let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), 9);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Hang);
    let config = TelemetryConfig::builder()
        // Longer than the test's waits: a release that waited for it could not return in time.
        .with_close_timeout(Duration::from_secs(600))
        .with_batch_size(1)
        .build()
        .unwrap();
    let handle = manager
        .acquire(
            "adb-4.azuredatabricks.net",
            &ClientIdentity::anonymous(),
            &config,
            boxed(&exporter),
        )
        .unwrap();
    handle.enqueue(log("stuck"));
    handle.enqueue(log("queued"));
    assert!(exporter.wait_for_calls(1, WAIT));
    // The export is blocked in the exporter until the test lets it go (below); release waits
    // neither for it nor for the close timeout: it returns while the export still hangs. (On a
    // thread of its own, so that a release that did wait fails the test instead of hanging it.)
    let lane = manager.clone();
    let (released_tx, released) = std::sync::mpsc::channel();
    let releasing = std::thread::spawn(move || {
        handle.release();
        let _ = released_tx.send(());
    });
    assert!(
        released.recv_timeout(WAIT).is_ok(),
        "release waited for the hanging export"
    );
    releasing.join().unwrap();
    assert_eq!(lane.lane_count(), 1);
    // The shutdown deadline counts what a hanging exporter holds, and returns by it.
    let started = Instant::now();
    let outcome = manager.shutdown(Duration::from_millis(200));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.result, CloseResult::TimedOut);
    assert_eq!(
        outcome.stats.dropped.closed_before_delivery, 2,
        "{:?}",
        outcome.stats
    );
    assert_eq!(outcome.stats.pending, 0);
    // The export returns late, delivered: it is not counted again.
    exporter.release();
    assert!(exporter.wait_for_calls(1, WAIT));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(manager.stats(), outcome.stats);
    assert_eq!(manager.lane_count(), 0);
}

#[test]
fn acquiring_after_shutdown_is_an_error() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let handle = manager
        .acquire(
            "adb-6.azuredatabricks.net",
            &ClientIdentity::anonymous(),
            &config(),
            boxed(&exporter),
        )
        .unwrap();
    let _ = manager.shutdown(WAIT);
    let error = manager
        .acquire(
            "adb-6.azuredatabricks.net",
            &ClientIdentity::anonymous(),
            &config(),
            boxed(&exporter),
        )
        .unwrap_err();
    assert!(matches!(error, AcquireError::ShutDown), "{error}");
    // A disabled handle is still handed out: a driver can always fall back to one.
    let off = TelemetryConfig::builder()
        .with_enabled(false)
        .build()
        .unwrap();
    let disabled = manager
        .acquire(
            "adb-6.azuredatabricks.net",
            &ClientIdentity::anonymous(),
            &off,
            boxed(&exporter),
        )
        .unwrap();
    assert!(!disabled.is_enabled());
    // A handle still held counts what it is given as dropped after close.
    handle.enqueue(log("late"));
    assert_eq!(handle.stats().dropped.after_close, 1);
    assert_eq!(
        manager.stats().dropped.after_close,
        0,
        "counted on the lane it was given to"
    );
}

#[test]
fn a_bad_host_is_a_clear_error() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let err = manager
        .acquire(
            "user:hunter2@host/path",
            &ClientIdentity::anonymous(),
            &config(),
            boxed(&exporter),
        )
        .unwrap_err();
    assert!(matches!(err, AcquireError::Host(_)));
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(manager.lane_count(), 0);
}

#[test]
fn identities_do_not_print() {
    let id = ClientIdentity::new("alice@example.com");
    assert!(!format!("{id:?}").contains("alice"));
}

#[test]
fn unique_identities_never_share_a_lane_and_each_lane_goes_with_its_connection() {
    let manager = TelemetryClientManager::with_clock(Arc::new(ManualClock::new()));
    let exporter = InMemoryExporter::new();
    let host = "adb-9.azuredatabricks.net";
    // Two connections of one OAuth U2M client: the users behind their tokens are unknown.
    let first = ClientIdentity::unique();
    let second = ClientIdentity::unique();
    assert_ne!(first, second);
    assert_ne!(first, ClientIdentity::new(format!("{first:?}")));
    assert!(!format!("{first:?}").is_empty());
    let a = manager
        .acquire(host, &first, &config(), boxed(&exporter))
        .unwrap();
    let b = manager
        .acquire(host, &second, &config(), boxed(&exporter))
        .unwrap();
    assert!(!a.shares_lane_with(&b));
    // Equal only to its clones: a second acquire with the same identity shares.
    let a2 = manager
        .acquire(host, &first.clone(), &config(), boxed(&exporter))
        .unwrap();
    assert!(a.shares_lane_with(&a2));
    assert_eq!(manager.lane_count(), 2);
    a.enqueue(log("a"));
    b.enqueue(log("b"));
    drop((a, a2));
    b.release();
    assert!(manager.settle(WAIT));
    assert_eq!(
        manager.lane_count(),
        0,
        "each lane finished with its connection"
    );
    assert_eq!(manager.stats().exported, 2);
}
