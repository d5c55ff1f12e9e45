//! The client pipeline: triggers, batch limits, flush, bounded close, and exact accounting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use databricks_telemetry::export::FailureKind;
use databricks_telemetry::model::{FrontendLog, OperationType};
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
use databricks_telemetry::{
    CloseResult, FlushResult, TelemetryClient, TelemetryConfig, TelemetrySessionContext,
    TelemetryStats,
};

const WAIT: Duration = Duration::from_secs(10);
const HOUR: Duration = Duration::from_secs(3600);

fn config(batch_size: usize, max_queue_size: usize, flush_interval: Duration) -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_batch_size(batch_size)
        .with_max_queue_size(max_queue_size)
        .with_flush_interval(flush_interval)
        .build()
        .unwrap()
}

fn client(config: &TelemetryConfig) -> (TelemetryClient, InMemoryExporter) {
    let exporter = InMemoryExporter::new();
    (
        TelemetryClient::new(config, exporter.clone()).unwrap(),
        exporter,
    )
}

fn log(n: u64) -> FrontendLog {
    FrontendLog {
        frontend_log_event_id: format!("event-{n}"),
        ..FrontendLog::default()
    }
}

fn assert_closed_and_balanced(stats: &TelemetryStats, offered: u64) {
    assert_eq!(stats.enqueued, offered, "{stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn batch_size_triggers_an_export() {
    let (client, exporter) = client(&config(10, 1000, HOUR));
    for i in 0..10 {
        client.enqueue(log(i));
    }
    assert!(
        exporter.wait_for_calls(1, WAIT),
        "no export after batch_size events"
    );
    assert_eq!(exporter.call_sizes(), vec![10]);
    assert_eq!(client.close(WAIT), CloseResult::Completed);
}

#[test]
fn the_timer_triggers_an_export() {
    let (client, exporter) = client(&config(100, 1000, Duration::from_millis(20)));
    for i in 0..3 {
        client.enqueue(log(i));
    }
    // Nothing but the timer can export here (the batch size is never reached, nothing
    // flushes); a tick may land between two enqueues, so the three may leave in two batches.
    let deadline = Instant::now() + WAIT;
    while exporter.exported_count() < 3 && Instant::now() < deadline {
        exporter.wait_for_calls(exporter.call_sizes().len() + 1, Duration::from_millis(50));
    }
    assert_eq!(exporter.exported_count(), 3, "no export on the timer");
    assert_eq!(exporter.call_sizes().iter().sum::<usize>(), 3);
}

#[test]
fn flush_exports_everything_enqueued_before_it() {
    let (client, exporter) = client(&config(100, 1000, HOUR));
    for i in 0..5 {
        client.enqueue(log(i));
    }
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    assert_eq!(exporter.exported_count(), 5);
    let ids: Vec<String> = exporter
        .logs()
        .into_iter()
        .map(|l| l.frontend_log_event_id)
        .collect();
    assert_eq!(
        ids,
        (0..5).map(|i| format!("event-{i}")).collect::<Vec<_>>()
    );
    assert_eq!(client.stats().pending, 0);
}

#[test]
fn close_exports_what_is_queued_in_batches_no_larger_than_batch_size() {
    let (client, exporter) = client(&config(7, 10_000, HOUR));
    for i in 0..1000 {
        client.enqueue(log(i));
    }
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    assert_eq!(exporter.exported_count(), 1000);
    let sizes = exporter.call_sizes();
    assert!(sizes.iter().all(|&n| (1..=7).contains(&n)), "{sizes:?}");
    let stats = client.stats();
    assert_closed_and_balanced(&stats, 1000);
    assert_eq!(stats.exported, 1000);
    assert_eq!(stats.batches_sent, sizes.len() as u64);
}

#[test]
fn a_full_queue_drops_and_counts() {
    let (client, exporter) = client(&config(5, 10, HOUR));
    exporter.set_behaviour(Behaviour::Hang);
    for i in 0..5 {
        client.enqueue(log(i));
    }
    // The worker takes the first five and hangs exporting them; the queue then holds ten.
    assert!(exporter.wait_for_calls(1, WAIT));
    for i in 5..100 {
        client.enqueue(log(i));
    }
    let stats = client.stats();
    assert_eq!(stats.dropped.queue_full, 85, "{stats:?}");
    assert_eq!(stats.pending, 15, "{stats:?}");
    assert!(stats.is_balanced());
    exporter.release();
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    let stats = client.stats();
    assert_closed_and_balanced(&stats, 100);
    assert_eq!(stats.exported, 15);
}

#[test]
fn close_with_a_hanging_exporter_returns_by_its_deadline_and_counts_the_rest() {
    let (client, exporter) = client(&config(10, 1000, HOUR));
    exporter.set_behaviour(Behaviour::Hang);
    for i in 0..35 {
        client.enqueue(log(i));
    }
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert_eq!(client.close(timeout), CloseResult::TimedOut);
    let took = started.elapsed();
    assert!(
        took < timeout + Duration::from_millis(100),
        "close took {took:?}"
    );
    let stats = client.stats();
    assert_closed_and_balanced(&stats, 35);
    assert_eq!(stats.exported, 0);
    assert_eq!(stats.dropped.closed_before_delivery, 35, "{stats:?}");
    // When the exporter finally returns, nothing is counted twice.
    exporter.release();
    assert_eq!(client.close(WAIT), CloseResult::TimedOut);
    assert_eq!(client.stats(), stats);
}

#[test]
fn exports_during_close_are_handed_the_close_deadline() {
    let (client, exporter) = client(&config(10, 1000, HOUR));
    client.enqueue(log(0));
    let before = Instant::now();
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    let deadlines = exporter.deadlines();
    assert_eq!(deadlines.len(), 1);
    let deadline = deadlines[0].expect("no deadline during close");
    assert!(
        deadline > before && deadline <= Instant::now() + WAIT,
        "{deadline:?}"
    );
}

#[test]
fn a_panicking_exporter_fails_its_batch_and_the_worker_goes_on() {
    let (client, exporter) = client(&config(3, 100, HOUR));
    exporter.script([Behaviour::Panic]);
    for i in 0..6 {
        client.enqueue(log(i));
    }
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    let stats = client.stats();
    assert_eq!(stats.dropped.export_failed, 3, "{stats:?}");
    assert_eq!(stats.exported, 3, "{stats:?}");
    assert_eq!(stats.batches_failed, 1);
    client.enqueue(log(6));
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    assert_eq!(client.stats().exported, 4);
}

#[test]
fn failures_partial_deliveries_and_open_circuits_are_counted_by_reason() {
    let (client, exporter) = client(&config(4, 100, HOUR));
    exporter.script([
        Behaviour::Fail(FailureKind::NotRetryable),
        Behaviour::Partial(1),
        Behaviour::CircuitOpen,
        Behaviour::Disabled,
        Behaviour::Deliver,
    ]);
    for round in 0..5 {
        for i in 0..4 {
            client.enqueue(log(round * 4 + i));
        }
        assert_eq!(client.flush(WAIT), FlushResult::Completed);
    }
    let stats = client.stats();
    assert_eq!(stats.exported, 5, "{stats:?}");
    assert_eq!(stats.dropped.export_failed, 7, "{stats:?}");
    assert_eq!(stats.dropped.circuit_open, 4, "{stats:?}");
    assert_eq!(stats.dropped.disabled_by_server, 4, "{stats:?}");
    assert_eq!(stats.batches_sent, 3, "{stats:?}");
    assert_eq!(stats.batches_failed, 2, "{stats:?}");
    assert!(stats.is_balanced());
}

#[test]
fn a_flush_while_another_is_running_waits_for_its_turn() {
    // Neither the batch size nor the timer can export: the first export is the first flush's.
    let (client, exporter) = client(&config(100, 1000, HOUR));
    exporter.set_behaviour(Behaviour::Slow(Duration::from_millis(30)));
    let client = Arc::new(client);
    for i in 0..10 {
        client.enqueue(log(i));
    }
    let first = {
        let client = Arc::clone(&client);
        std::thread::spawn(move || client.flush(WAIT))
    };
    assert!(exporter.wait_for_calls(1, WAIT));
    for i in 10..15 {
        client.enqueue(log(i));
    }
    // Enqueued while the first flush exports: the second flush must cover them.
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    assert_eq!(first.join().unwrap(), FlushResult::Completed);
    assert_eq!(exporter.exported_count(), 15);
}

#[test]
fn flush_times_out_when_the_exporter_hangs() {
    let (client, exporter) = client(&config(10, 1000, HOUR));
    exporter.set_behaviour(Behaviour::Hang);
    client.enqueue(log(0));
    assert_eq!(
        client.flush(Duration::from_millis(50)),
        FlushResult::TimedOut
    );
    exporter.release();
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    assert_eq!(exporter.exported_count(), 1);
}

#[test]
fn events_after_close_are_counted_and_close_is_idempotent() {
    let (client, exporter) = client(&config(10, 1000, HOUR));
    client.enqueue(log(0));
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    assert!(client.is_closed());
    client.enqueue(log(1));
    client.enqueue(log(2));
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    let stats = client.stats();
    assert_closed_and_balanced(&stats, 3);
    assert_eq!(stats.dropped.after_close, 2);
    assert_eq!(exporter.exported_count(), 1);
}

#[test]
fn many_threads_may_close_at_once() {
    let (client, exporter) = client(&config(10, 1000, HOUR));
    for i in 0..50 {
        client.enqueue(log(i));
    }
    let client = Arc::new(client);
    let barrier = Arc::new(Barrier::new(4));
    let closers: Vec<_> = (0..4)
        .map(|_| {
            let (client, barrier) = (Arc::clone(&client), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                client.close(WAIT)
            })
        })
        .collect();
    for closer in closers {
        assert_eq!(closer.join().unwrap(), CloseResult::Completed);
    }
    assert_eq!(exporter.exported_count(), 50);
    assert_closed_and_balanced(&client.stats(), 50);
}

#[test]
fn dropping_the_client_closes_and_delivers() {
    let (client, exporter) = client(&config(100, 1000, HOUR));
    for i in 0..42 {
        client.enqueue(log(i));
    }
    drop(client);
    assert_eq!(exporter.exported_count(), 42);
}

#[test]
fn a_disabled_client_does_nothing() {
    let disabled = TelemetryConfig::builder()
        .with_enabled(false)
        .build()
        .unwrap();
    let (client, exporter) = client(&disabled);
    assert!(!client.is_enabled());
    client.enqueue(log(0));
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    assert_eq!(client.stats(), TelemetryStats::default());
    assert_eq!(exporter.call_sizes(), Vec::<usize>::new());
}

/// Eight producers race a closer: every event is accounted for exactly, and none that was
/// accepted before close is lost.
#[test]
fn producers_racing_a_closer_balance_exactly() {
    for round in 0..5 {
        let (client, exporter) = client(&config(64, 1_000_000, Duration::from_millis(10)));
        let client = Arc::new(client);
        let offered = Arc::new(AtomicU64::new(0));
        let start = Arc::new(Barrier::new(9));
        let producers: Vec<_> = (0..8)
            .map(|p| {
                let (client, offered, start) = (
                    Arc::clone(&client),
                    Arc::clone(&offered),
                    Arc::clone(&start),
                );
                std::thread::spawn(move || {
                    start.wait();
                    for i in 0..20_000 {
                        client.enqueue(log(p * 1_000_000 + i));
                        offered.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        start.wait();
        // Let the producers get going, then close under them.
        let deadline = Instant::now() + WAIT;
        while offered.load(Ordering::Relaxed) < 10_000 * (round + 1) && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(client.close(WAIT), CloseResult::Completed);
        for producer in producers {
            producer.join().unwrap();
        }
        let stats = client.stats();
        let offered = offered.load(Ordering::Relaxed);
        assert_closed_and_balanced(&stats, offered);
        assert_eq!(stats.dropped.queue_full, 0, "{stats:?}");
        assert_eq!(stats.dropped.closed_before_delivery, 0, "{stats:?}");
        assert_eq!(stats.exported as usize, exporter.exported_count());
        // Zero loss: everything not refused for arriving after close was exported.
        assert_eq!(
            stats.exported + stats.dropped.after_close,
            offered,
            "{stats:?}"
        );
        let mut ids: Vec<String> = exporter
            .logs()
            .into_iter()
            .map(|l| l.frontend_log_event_id)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len() as u64,
            stats.exported,
            "an event was exported twice"
        );
    }
}

fn exercise_inside_async_code() {
    let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
    let (client, exporter) = client(&config(10, 1000, HOUR));
    for _ in 0..25 {
        client.enqueue(session.begin(OperationType::ExecuteStatement).finish());
    }
    assert_eq!(client.flush(WAIT), FlushResult::Completed);
    assert_eq!(exporter.exported_count(), 25);
    client.enqueue(session.connection_closed(Duration::from_millis(1)));
    drop(client);
    assert_eq!(exporter.exported_count(), 26);
    let (closing, _exporter) = self::client(&config(10, 1000, HOUR));
    assert_eq!(closing.close(WAIT), CloseResult::Completed);
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_current_thread_runtime() {
    exercise_inside_async_code();
    tokio::spawn(async { exercise_inside_async_code() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_a_multi_thread_runtime() {
    exercise_inside_async_code();
    tokio::spawn(async { exercise_inside_async_code() })
        .await
        .unwrap();
}
