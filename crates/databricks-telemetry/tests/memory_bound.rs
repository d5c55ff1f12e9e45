//! The library's heap stays bounded through a long outage, measured with a counting global
//! allocator (this test binary's own).
//!
//! Events are offered much faster than they can drain (500,000 of them, as fast as one thread can
//! build them) while the exporter hangs or fails every batch. The client's live heap never
//! exceeds
//!
//! ```text
//! bound = max_queue_size × (slot + event_heap)      the queue: preallocated slots, each event's heap
//!       + batch_size     × (event + event_heap)     the batch the worker holds (in flight)
//!       + FIXED_OVERHEAD                            channels, shared state, thread, ledger
//! ```
//!
//! where `event = size_of::<FrontendLog>()`, `slot = event + size_of::<usize>()` (a queue slot is the
//! event and a sequence stamp), and `event_heap` is the heap one sample event owns (its strings),
//! counted from the capacities of the strings it owns. The session-constant parts are `Arc`s shared with the
//! session, so they add nothing per event. `BENCHMARKS.md` states the same formula with figures.

use std::alloc::System;
use std::mem::size_of;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use databricks_telemetry::export::FailureKind;
use databricks_telemetry::model::{
    DriverConnectionParameters, DriverMode, ExecutionResultFormat, FrontendLog, OperationType,
    StatementType,
};
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
use databricks_telemetry::{
    AuthType, TelemetryClient, TelemetryConfig, TelemetrySessionContext, TelemetryStats,
};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Events offered during the outage.
const OFFERED: u64 = 500_000;

/// Queue capacity (the default) and batch size (the default).
const MAX_QUEUE_SIZE: usize = 10_000;
const BATCH_SIZE: usize = 100;

/// Heap the client owns whatever its queue holds: the control channel, the shared state and
/// ledger, the worker's `Arc`s and thread bookkeeping, the exporter box.
const FIXED_OVERHEAD: usize = 64 * 1024;

/// The tests share one allocator's counters, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Bytes live on the heap now, process wide.
fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64
}

fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .session_id("01f0c3a2-5b1e-1d4c-9a7e-3f2b8c6d4e10")
        .workspace_id(1_234_567_890)
        .auth_type(AuthType::Pat)
        .connection_parameters(DriverConnectionParameters {
            http_path: Some("/sql/1.0/warehouses/abc123def456".to_owned()),
            mode: Some(DriverMode::Sea),
            ..DriverConnectionParameters::default()
        })
        .build()
}

fn statement_event(session: &Arc<TelemetrySessionContext>) -> FrontendLog {
    let mut statement = session.begin(OperationType::ExecuteStatement);
    statement
        .set_statement_id("01f0c3a2-6c2f-1e5d-8b9f-4a3c9d7e5f21")
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .record_status_poll(Duration::from_millis(12))
        .mark_result_ready();
    statement.finish()
}

/// The heap one sample event owns: the capacity of every string it owns (the session-constant
/// parts, session id, auth type, user agent, system configuration and connection parameters,
/// are `Arc`s shared with the session). Counted from the event rather than measured with the
/// process-wide allocator counters, which other threads can move during a measurement.
fn event_heap(session: &Arc<TelemetrySessionContext>) -> usize {
    let event = statement_event(session);
    let capacity = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
    let log = &event.entry.sql_driver_log;
    let error = log.error_info.as_ref();
    event.frontend_log_event_id.capacity()
        + capacity(&log.sql_statement_id)
        + error.map_or(0, |e| capacity(&e.error_name) + capacity(&e.stack_trace))
}

/// The bound from the module docs.
fn bound(event_heap: usize) -> usize {
    let event = size_of::<FrontendLog>();
    let slot = event + size_of::<usize>();
    MAX_QUEUE_SIZE * (slot + event_heap) + BATCH_SIZE * (event + event_heap) + FIXED_OVERHEAD
}

/// What the outage left: the peak of the client's live heap and its accounting.
#[derive(Debug)]
struct Outage {
    peak: usize,
    stats: TelemetryStats,
}

/// Starts a client on `exporter`, offers `OFFERED` events as fast as one thread builds them, and
/// samples the live heap after every offer. The event being built is the test's, so at most one
/// event's bytes are attributed to the client unfairly; the bound's fixed overhead covers it.
fn run_outage(exporter: &InMemoryExporter, session: &Arc<TelemetrySessionContext>) -> Outage {
    let config = TelemetryConfig::builder()
        .with_max_queue_size(MAX_QUEUE_SIZE)
        .with_batch_size(BATCH_SIZE)
        // No timer: batches leave only when `BATCH_SIZE` events are queued, so the hung batch
        // holds exactly `BATCH_SIZE`.
        .with_flush_interval(Duration::from_secs(3600))
        .with_close_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // The exporter's clone and the config are the test's, made before the baseline.
    let exporter_for_client = exporter.clone();
    let baseline = live_bytes();
    let client = TelemetryClient::new(&config, exporter_for_client).unwrap();
    let mut peak = 0i64;
    for _ in 0..OFFERED {
        client.enqueue(statement_event(session));
        peak = peak.max(live_bytes() - baseline);
    }
    let stats = client.stats();
    exporter.release();
    assert_eq!(
        client.close(Duration::from_secs(5)),
        databricks_telemetry::CloseResult::Completed
    );
    Outage {
        peak: usize::try_from(peak).unwrap_or(0),
        stats,
    }
}

#[test]
fn heap_stays_bounded_while_the_exporter_hangs() {
    let _serial = serial();
    let session = session();
    let event_heap = event_heap(&session);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Hang);

    let outage = run_outage(&exporter, &session);

    let bound = bound(event_heap);
    eprintln!(
        "exporter hangs: peak {} bytes, bound {bound} bytes, event heap {event_heap} bytes",
        outage.peak
    );
    assert!(
        outage.peak <= bound,
        "live heap peaked at {} bytes, over the bound of {bound} bytes (event heap {event_heap})",
        outage.peak
    );
    // The queue really filled with live events, and the rest was dropped and counted.
    let full_queue = MAX_QUEUE_SIZE * (size_of::<FrontendLog>() + event_heap);
    assert!(
        outage.peak >= full_queue,
        "the queue never filled: peak {} bytes < {full_queue} bytes",
        outage.peak
    );
    let stats = outage.stats;
    assert_eq!(stats.enqueued, OFFERED);
    assert_eq!(stats.pending, (MAX_QUEUE_SIZE + BATCH_SIZE) as u64);
    assert_eq!(stats.dropped.queue_full, OFFERED - stats.pending);
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn heap_stays_bounded_while_every_export_fails() {
    let _serial = serial();
    let session = session();
    let event_heap = event_heap(&session);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Fail(FailureKind::Retryable));

    let outage = run_outage(&exporter, &session);

    // The in-memory exporter records each call's size and deadline: test bookkeeping, not the
    // client's, growing by doubling.
    let calls = exporter.call_sizes().len();
    let bookkeeping = 2 * calls * (size_of::<usize>() + size_of::<Option<std::time::Instant>>());
    let bound = bound(event_heap) + bookkeeping;
    eprintln!(
        "exports fail: peak {} bytes, bound {bound} bytes, event heap {event_heap} bytes",
        outage.peak
    );
    assert!(
        outage.peak <= bound,
        "live heap peaked at {} bytes, over the bound of {bound} bytes (event heap {event_heap}, \
         {calls} export calls)",
        outage.peak
    );
    let stats = outage.stats;
    assert_eq!(stats.enqueued, OFFERED);
    assert!(
        stats.dropped.export_failed > 0,
        "no export failed: {stats:?}"
    );
    assert!(stats.is_balanced(), "{stats:?}");
}
