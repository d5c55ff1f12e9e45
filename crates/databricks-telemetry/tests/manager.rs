//! Shared clients: one per (host, identity), one breaker per host, released by the last handle.

use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::export::{Exporter, FailureKind};
use databricks_telemetry::host::HostKey;
use databricks_telemetry::manager::{
    AcquireError, ClientIdentity, Released, TelemetryClientManager,
};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
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
    FrontendLog {
        frontend_log_event_id: id.to_owned(),
        ..FrontendLog::default()
    }
}

fn boxed(exporter: &InMemoryExporter) -> impl Fn(&HostKey) -> Box<dyn Exporter> + '_ {
    move |_| Box::new(exporter.clone())
}

#[test]
fn connections_with_one_identity_share_a_client() {
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
    assert!(handles.iter().all(|h| h.shares_client_with(&handles[0])));
    assert_eq!(manager.client_count(), 1);
    assert_eq!(handles[0].host().as_str(), "adb-1.azuredatabricks.net");
    for (i, h) in handles.iter().enumerate() {
        h.enqueue(log(&format!("e{i}")));
    }
    let mut handles = handles.into_iter();
    for h in handles.by_ref().take(3) {
        assert_eq!(h.release(), Released::Shared);
    }
    // Nothing was closed or exported by the first three releases.
    assert_eq!(exporter.exported_count(), 0);
    match handles.next().unwrap().release() {
        Released::Closed {
            close,
            stats,
            breaker,
        } => {
            assert_eq!(close, CloseResult::Completed);
            assert_eq!(stats.exported, 4);
            assert!(breaker.is_some());
        }
        other => panic!("last release did not close: {other:?}"),
    }
    assert_eq!(exporter.exported_count(), 4);
    assert_eq!(manager.client_count(), 0);
    assert_eq!(manager.breaker_count(), 0);
}

#[test]
fn another_identity_gets_its_own_client_but_the_host_keeps_one_breaker() {
    let manager = TelemetryClientManager::new();
    let (for_alice, for_bob) = (InMemoryExporter::new(), InMemoryExporter::new());
    let host = "adb-2.azuredatabricks.net";
    let alice = manager
        .acquire(
            host,
            &ClientIdentity::new("alice"),
            &config(),
            boxed(&for_alice),
        )
        .unwrap();
    let bob = manager
        .acquire(
            host,
            &ClientIdentity::new("bob"),
            &config(),
            boxed(&for_bob),
        )
        .unwrap();
    let anonymous = manager
        .acquire(
            host,
            &ClientIdentity::anonymous(),
            &config(),
            boxed(&for_bob),
        )
        .unwrap();
    assert!(!alice.shares_client_with(&bob));
    assert!(!bob.shares_client_with(&anonymous));
    assert_eq!(manager.client_count(), 3);
    assert_eq!(manager.breaker_count(), 1);

    alice.enqueue(log("from-alice"));
    bob.enqueue(log("from-bob"));
    assert_eq!(alice.flush(WAIT), FlushResult::Completed);
    assert_eq!(bob.flush(WAIT), FlushResult::Completed);
    // Each event went only through its own identity's exporter (its own credentials).
    let ids = |e: &InMemoryExporter| -> Vec<String> {
        e.logs()
            .into_iter()
            .map(|l| l.frontend_log_event_id)
            .collect()
    };
    assert_eq!(ids(&for_alice), ["from-alice"]);
    assert_eq!(ids(&for_bob), ["from-bob"]);

    // Failures through alice's client open the breaker bob's client uses too.
    for_alice.set_behaviour(Behaviour::Fail(FailureKind::Retryable));
    for i in 0..2 {
        alice.enqueue(log(&format!("a{i}")));
        assert_eq!(alice.flush(WAIT), FlushResult::Completed);
    }
    assert_eq!(manager.breaker(host).unwrap().opened, 1);
    bob.enqueue(log("held-back"));
    assert_eq!(bob.flush(WAIT), FlushResult::Completed);
    assert_eq!(bob.stats().dropped.circuit_open, 1);
    assert_eq!(ids(&for_bob), ["from-bob"]);

    drop(alice);
    drop(bob);
    assert_eq!(
        manager.breaker_count(),
        1,
        "the anonymous client still uses the host"
    );
    drop(anonymous);
    assert_eq!(manager.breaker_count(), 0);
    assert!(manager.breaker(host).is_none());
}

#[test]
fn a_released_client_is_never_resurrected() {
    let manager = TelemetryClientManager::new();
    let (first, second) = (InMemoryExporter::new(), InMemoryExporter::new());
    let id = ClientIdentity::new("alice");
    let host = "adb-3.azuredatabricks.net";
    let a = manager
        .acquire(host, &id, &config(), boxed(&first))
        .unwrap();
    a.enqueue(log("before"));
    drop(a);
    let b = manager
        .acquire(host, &id, &config(), boxed(&second))
        .unwrap();
    b.enqueue(log("after"));
    drop(b);
    assert_eq!(first.logs().len(), 1);
    assert_eq!(second.logs()[0].frontend_log_event_id, "after");
    // A new breaker, too: the old one went with the host's last client.
    assert_eq!(manager.breaker_count(), 0);
}

#[test]
fn the_breaker_is_removed_even_when_close_times_out() {
    let manager = TelemetryClientManager::with_clock(Arc::new(ManualClock::new()));
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Hang);
    let config = TelemetryConfig::builder()
        .with_close_timeout(Duration::from_millis(50))
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
    assert!(exporter.wait_for_calls(1, WAIT));
    match handle.release() {
        Released::Closed { close, stats, .. } => {
            assert_eq!(close, CloseResult::TimedOut);
            assert_eq!(stats.dropped.closed_before_delivery, 1);
            assert_eq!(stats.pending, 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(manager.client_count(), 0);
    assert_eq!(manager.breaker_count(), 0);
    exporter.release();
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
    assert_eq!(manager.client_count(), 0);
}

#[test]
fn identities_do_not_print() {
    let id = ClientIdentity::new("alice@example.com");
    assert!(!format!("{id:?}").contains("alice"));
}
