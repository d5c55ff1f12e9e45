//! The pipeline's heap stays bounded through a long outage, measured with a counting global
//! allocator (this test binary's own).
//!
//! Events are offered much faster than they can drain (as fast as one thread can build them)
//! while the exporter hangs or fails every batch, so the lanes hold what they can: each at most
//! `max_queue_size` (a batch in flight counts against it), all of a manager's together at most
//! `max_pending_events`. For `N` lanes holding `P` events, the pipeline's live heap never
//! exceeds
//!
//! ```text
//! P = min(N × max_queue_size, max_pending_events)
//!
//! bound = P × (slot + event + event_heap)                   every held event: a queue slot, the
//!                                                           event in its box, its heap
//!       + N × (2 × block + 2 × batch_size × event + LANE)   per lane: the queue's current and next
//!                                                           block, a batch's Vec (capacity up to
//!                                                           twice the batch), the lane itself
//!       + FIXED_OVERHEAD                                    the manager, the host, its worker
//! ```
//!
//! where `event = size_of::<FrontendLog>()` (a lane queues each event in a box of its own),
//! `slot = size_of::<Box<FrontendLog>>() + size_of::<usize>()` (a slot of crossbeam's unbounded
//! channel is the box's pointer and a state word), `block = 31 × slot + 8` (the channel
//! allocates slots 31 at a time, frees a block once all of it has been read, and allocates the
//! next block a slot ahead), and `event_heap` is the heap one sample event owns (its strings; the
//! session-constant parts are `Arc`s shared with the session). Nothing is reserved per
//! `max_queue_size`: an idle lane costs `LANE` (about 1.2 KiB measured, by
//! `tests/alloc/identities.rs`), and a lane that has carried events keeps one block (504 bytes) while
//! it lives. `BENCHMARKS.md` states the same formula with figures.
//!
//! The live heap is `bytes_allocated - bytes_deallocated`: `stats_alloc` counts a realloc's
//! growth or shrinking in those two already (its `bytes_reallocated` is the same change again).
//!
//! The counters are process-wide, so a measurement starts only when no pipeline thread is alive
//! (the tests run one at a time, and a test's worker lingers after its shutdown, holding its
//! exporter and everything that exporter kept): otherwise a previous test's worker ending
//! mid-measurement frees megabytes under this test's baseline. What else runs meanwhile (the
//! test harness's main thread, a finished test's thread ending) allocates a few hundred bytes,
//! well inside the fixed overhead and the margin below the lower bounds.

use std::mem::size_of;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use databricks_telemetry::export::FailureKind;
use databricks_telemetry::model::{
    DriverConnectionParameters, DriverMode, ExecutionResultFormat, FrontendLog, OperationType,
    StatementType,
};
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::unstable::thread_stats;
use databricks_telemetry::{
    ClientIdentity, TelemetryAuthType, TelemetryClientHandle, TelemetryClientManager,
    TelemetryConfig, TelemetrySessionContext, TelemetryStats,
};

use crate::GLOBAL;
use databricks_telemetry::unstable::StatementTelemetryContext;

/// A lane's queue capacity (the default) and batch size (the default).
const MAX_QUEUE_SIZE: usize = 10_000;
const BATCH_SIZE: usize = 100;

/// Slots per block of crossbeam's unbounded channel.
const BLOCK_SLOTS: usize = 31;

/// What a lane costs besides its events and queue blocks (measured: about 1.2 KiB).
const LANE: usize = 4 * 1024;

/// Heap the pipeline owns whatever its lanes hold: the manager's registry, the host (breaker,
/// exporter box, state), the worker thread's bookkeeping.
const FIXED_OVERHEAD: usize = 64 * 1024;

const HOST: &str = "adb-1234567890123456.7.azuredatabricks.net";

/// The tests share one allocator's counters, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long the pipeline's threads may take to end after a shutdown (a worker lingers a second
/// after its last turn); far above that, so that only a thread that never ends fails the test.
const THREADS_END_WITHIN: Duration = Duration::from_secs(60);

/// Waits until no thread the pipeline started is alive: a worker frees its host, its exporter
/// and what the exporter kept only when it ends. Bounded by [`THREADS_END_WITHIN`].
fn wait_for_pipeline_threads_to_end() {
    let give_up = Instant::now() + THREADS_END_WITHIN;
    loop {
        let live = thread_stats().live;
        if live == 0 {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "{live} pipeline threads still alive after {THREADS_END_WITHIN:?}"
        );
        // No notification exists for a thread's end; poll it.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Bytes live on the heap now, process wide.
fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0c3a2-5b1e-1d4c-9a7e-3f2b8c6d4e10")
        .with_workspace_id(1_234_567_890)
        .with_auth_type(TelemetryAuthType::Pat)
        .with_connection_parameters(DriverConnectionParameters {
            http_path: Some("/sql/1.0/warehouses/abc123def456".to_owned()),
            mode: Some(DriverMode::Sea),
            ..DriverConnectionParameters::default()
        })
        .build()
}

fn statement_event(session: &Arc<TelemetrySessionContext>) -> FrontendLog {
    let mut statement = StatementTelemetryContext::begin(session, OperationType::ExecuteStatement);
    statement
        .set_statement_id("01f0c3a2-6c2f-1e5d-8b9f-4a3c9d7e5f21")
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .record_status_poll(Duration::from_millis(12))
        .mark_result_ready();
    statement.finish()
}

/// The heap one sample event owns: the capacity of every string it owns (its event id is kept
/// inline; the session-constant parts, session id, auth type, user agent, system configuration
/// and connection parameters, are `Arc`s shared with the session). Counted from the event rather than measured with the
/// process-wide allocator counters, which other threads can move during a measurement.
fn event_heap(session: &Arc<TelemetrySessionContext>) -> usize {
    let event = statement_event(session);
    let capacity = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
    let log = &event.entry().sql_driver_log;
    let error = log.error_info.as_ref();
    capacity(&log.sql_statement_id)
        + error.map_or(0, |e| capacity(&e.error_name) + capacity(&e.stack_trace))
}

fn slot() -> usize {
    size_of::<Box<FrontendLog>>() + size_of::<usize>()
}

fn block() -> usize {
    BLOCK_SLOTS * slot() + size_of::<usize>()
}

/// Events `lanes` lanes can hold: each `MAX_QUEUE_SIZE`, all `max_pending_events`.
fn held(lanes: usize, max_pending_events: usize) -> usize {
    (lanes * MAX_QUEUE_SIZE).min(max_pending_events)
}

/// The bound from the module docs.
fn bound(lanes: usize, max_pending_events: usize, event_heap: usize) -> usize {
    let per_lane = 2 * block() + 2 * BATCH_SIZE * size_of::<FrontendLog>() + LANE;
    let event = size_of::<FrontendLog>();
    held(lanes, max_pending_events) * (slot() + event + event_heap)
        + lanes * per_lane
        + FIXED_OVERHEAD
}

/// What the outage left: the peak of the pipeline's live heap and the manager's accounting.
#[derive(Debug)]
struct Outage {
    peak: usize,
    stats: TelemetryStats,
}

/// Acquires `lanes` identities on one host exporting to `exporter`, offers `per_lane` events
/// to each, round-robin, as fast as one thread builds them, and samples the live heap after
/// every offer. The event being built is the test's, so at most one event's bytes are
/// attributed to the pipeline unfairly; the fixed overhead covers it. Starts and ends with no
/// pipeline thread alive (ends with `shutdown`, then waits for the worker to end).
fn run_outage(
    exporter: &InMemoryExporter,
    session: &Arc<TelemetrySessionContext>,
    lanes: usize,
    per_lane: usize,
    max_pending_events: usize,
) -> Outage {
    let config = TelemetryConfig::builder()
        .with_max_queue_size(MAX_QUEUE_SIZE)
        .with_batch_size(BATCH_SIZE)
        .with_max_pending_events(max_pending_events)
        // No timer: batches leave only when `BATCH_SIZE` events are queued.
        .with_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let identities: Vec<ClientIdentity> = (0..lanes)
        .map(|i| ClientIdentity::new(format!("user-{i}")))
        .collect();
    // The exporter's clone, the identities and the config are the test's, made before the
    // baseline; the manager, its host, lanes and worker are measured.
    let exporter_for_host = exporter.clone();
    let mut handles: Vec<TelemetryClientHandle> = Vec::with_capacity(lanes);
    // Nothing of an earlier test's pipeline may be freed (or allocate) during the measurement.
    wait_for_pipeline_threads_to_end();
    let baseline = live_bytes();
    let manager = TelemetryClientManager::new();
    let mut make = Some(exporter_for_host);
    for identity in &identities {
        let handle = manager
            .acquire(HOST, identity, &config, |_| {
                Box::new(make.take().expect("one host"))
            })
            .unwrap();
        handles.push(handle);
    }
    let mut peak = 0i64;
    for _ in 0..per_lane {
        for handle in &handles {
            handle.enqueue(statement_event(session));
            peak = peak.max(live_bytes() - baseline);
        }
    }
    let stats = manager.stats();
    exporter.release();
    drop(handles);
    // A hung exporter now delivers; a failing one is cut off at the deadline.
    let _ = manager.shutdown(Duration::from_millis(500));
    drop(manager);
    // Leaves nothing running for the next test (which waits for it as well).
    wait_for_pipeline_threads_to_end();
    Outage {
        peak: usize::try_from(peak).unwrap_or(0),
        stats,
    }
}

#[test]
fn one_lane_holds_its_queue_while_the_exporter_hangs() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "one_lane_holds_its_queue_while_the_exporter_hangs",
    ) {
        return;
    }
    let _serial = serial();
    let session = session();
    let event_heap = event_heap(&session);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Hang);
    let offered = 500_000;
    let max_pending = 100_000; // the default

    let outage = run_outage(&exporter, &session, 1, offered, max_pending);

    let bound = bound(1, max_pending, event_heap);
    eprintln!(
        "one lane, exporter hangs: peak {} bytes, bound {bound} bytes, event {} + heap {event_heap} bytes",
        outage.peak,
        size_of::<FrontendLog>()
    );
    assert!(
        outage.peak <= bound,
        "live heap peaked at {} bytes, over the bound of {bound} bytes",
        outage.peak
    );
    // The lane really filled with live events, and the rest was dropped and counted.
    let full = MAX_QUEUE_SIZE * (size_of::<FrontendLog>() + event_heap);
    assert!(
        outage.peak >= full,
        "the lane never filled: peak {} bytes < {full} bytes",
        outage.peak
    );
    let stats = outage.stats;
    assert_eq!(stats.enqueued, offered as u64);
    // The batch in flight counts against the lane's bound.
    assert_eq!(stats.pending, MAX_QUEUE_SIZE as u64, "{stats:?}");
    assert_eq!(stats.dropped.queue_full, offered as u64 - stats.pending);
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn many_lanes_are_held_within_max_pending_events_while_the_exporter_hangs() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "many_lanes_are_held_within_max_pending_events_while_the_exporter_hangs",
    ) {
        return;
    }
    let _serial = serial();
    let session = session();
    let event_heap = event_heap(&session);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Hang);
    let lanes = 20;
    let per_lane = 5_000;
    // 20 lanes could hold 200,000; the manager holds at most 50,000.
    let max_pending = 50_000;

    let outage = run_outage(&exporter, &session, lanes, per_lane, max_pending);

    let bound = bound(lanes, max_pending, event_heap);
    eprintln!(
        "{lanes} lanes, exporter hangs: peak {} bytes, bound {bound} bytes ({} events held)",
        outage.peak,
        held(lanes, max_pending)
    );
    assert!(
        outage.peak <= bound,
        "live heap peaked at {} bytes, over the bound of {bound} bytes",
        outage.peak
    );
    let full = max_pending * (size_of::<FrontendLog>() + event_heap);
    assert!(
        outage.peak >= full,
        "the manager never held max_pending_events: peak {} bytes < {full} bytes",
        outage.peak
    );
    let stats = outage.stats;
    let offered = (lanes * per_lane) as u64;
    assert_eq!(stats.enqueued, offered);
    assert_eq!(stats.pending, max_pending as u64, "{stats:?}");
    assert_eq!(stats.dropped.queue_full, offered - max_pending as u64);
    assert!(stats.is_balanced(), "{stats:?}");
}

#[test]
fn one_lane_holds_its_queue_while_every_export_fails() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "one_lane_holds_its_queue_while_every_export_fails",
    ) {
        return;
    }
    let _serial = serial();
    let session = session();
    let event_heap = event_heap(&session);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Fail(FailureKind::Retryable));
    let offered = 500_000;
    let max_pending = 100_000;

    let outage = run_outage(&exporter, &session, 1, offered, max_pending);

    // The in-memory exporter records each call's size, deadline and authorization: test
    // bookkeeping, not the pipeline's, growing by doubling.
    let calls = exporter.call_sizes().len();
    let per_call =
        size_of::<usize>() + size_of::<Option<std::time::Instant>>() + size_of::<Option<String>>();
    let bookkeeping = 2 * calls * per_call;
    let bound = bound(1, max_pending, event_heap) + bookkeeping;
    eprintln!(
        "one lane, exports fail: peak {} bytes, bound {bound} bytes ({calls} export calls)",
        outage.peak
    );
    assert!(
        outage.peak <= bound,
        "live heap peaked at {} bytes, over the bound of {bound} bytes ({calls} export calls)",
        outage.peak
    );
    let stats = outage.stats;
    assert_eq!(stats.enqueued, offered as u64);
    assert!(
        calls > 0 && stats.batches_failed > 0,
        "no export failed: {stats:?}"
    );
    // Held, not dropped: the failed batch waits at the lane's front, the lane stays full.
    assert_eq!(stats.pending, MAX_QUEUE_SIZE as u64, "{stats:?}");
    assert_eq!(stats.dropped.export_failed, 0, "{stats:?}");
    assert_eq!(stats.dropped.queue_full, offered as u64 - stats.pending);
    assert!(stats.is_balanced(), "{stats:?}");
}
