//! The shareable statement recorder: records from many tasks into one event, the same event the
//! single-owner context makes for the same recordings, and nothing after finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::model::*;
use databricks_telemetry::unstable::model::*;
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::{
    ErrorInfo, StatementRecorder, TelemetryAuthType, TelemetrySessionContext,
};
use proptest::prelude::*;

// Compile-time: a recorder goes into spawned tasks and threads, and is cheap to clone.
const _: () = {
    const fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<StatementRecorder>();
};

fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0-session")
        .with_workspace_id(42)
        .with_auth_type(TelemetryAuthType::Pat)
        .build()
}

fn operation(log: &FrontendLog) -> &SqlExecutionEvent {
    log.entry().sql_driver_log.sql_operation.as_ref().unwrap()
}

/// The event without what differs by construction: its random id and its wall-clock stamp.
fn comparable(mut log: FrontendLog) -> FrontendLog {
    *log.frontend_log_event_id_mut() = EventId::default();
    log.context_mut().client_context.timestamp_millis = None;
    log
}

/// One recording, applied to either kind of statement.
#[derive(Debug, Clone)]
enum Step {
    StatementId(String),
    Type(StatementType),
    Format(ExecutionResultFormat),
    Compressed(bool),
    Internal(bool),
    Retry,
    Poll(Duration),
    Ready(i64),
    Consumed(i64),
    TotalChunks(i32),
    Chunk(Duration),
    Error(String),
}

/// `offset` milliseconds from `start`, either side.
fn at(start: Instant, offset: i64) -> Instant {
    let d = Duration::from_millis(offset.unsigned_abs());
    if offset >= 0 {
        start + d
    } else {
        start - d
    }
}

fn apply_to_context(c: &mut StatementTelemetryContext, step: &Step, start: Instant) {
    match step {
        Step::StatementId(id) => c.set_statement_id(id.clone()),
        Step::Type(t) => c.set_statement_type(*t),
        Step::Format(f) => c.set_result_format(*f),
        Step::Compressed(b) => c.set_compressed(*b),
        Step::Internal(b) => c.set_internal_call(*b),
        Step::Retry => c.record_retry(),
        Step::Poll(d) => c.record_status_poll(*d),
        Step::Ready(ms) => c.mark_result_ready_at(at(start, *ms)),
        Step::Consumed(ms) => c.mark_results_consumed_at(at(start, *ms)),
        Step::TotalChunks(n) => c.set_total_chunks(*n),
        Step::Chunk(d) => c.record_chunk_download(*d),
        Step::Error(name) => c.record_error(ErrorInfo::new(name)),
    };
}

fn apply_to_recorder(r: &StatementRecorder, step: &Step, start: Instant) {
    match step {
        Step::StatementId(id) => r.set_statement_id(id.clone()),
        Step::Type(t) => r.set_statement_type(*t),
        Step::Format(f) => r.set_result_format(*f),
        Step::Compressed(b) => r.set_compressed(*b),
        Step::Internal(b) => r.set_internal_call(*b),
        Step::Retry => r.record_retry(),
        Step::Poll(d) => r.record_status_poll(*d),
        Step::Ready(ms) => r.mark_result_ready_at(at(start, *ms)),
        Step::Consumed(ms) => r.mark_results_consumed_at(at(start, *ms)),
        Step::TotalChunks(n) => r.set_total_chunks(*n),
        Step::Chunk(d) => r.record_chunk_download(*d),
        Step::Error(name) => r.record_error(ErrorInfo::new(name)),
    };
}

/// The same steps through both paths.
fn both(op: OperationType, steps: &[Step], end_ms: i64) -> (FrontendLog, FrontendLog) {
    let session = session();
    // Far enough from the process's start that instants before it exist.
    let start = Instant::now() + Duration::from_secs(3600);
    let mut context = StatementTelemetryContext::begin_at(&session, op, start);
    let recorder = session.begin_shared_at(op, start);
    for step in steps {
        apply_to_context(&mut context, step, start);
        apply_to_recorder(&recorder, step, start);
    }
    let end = at(start, end_ms);
    (
        context.finish_at(end),
        recorder.finish_at(end).expect("finished once"),
    )
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..10_000_000_000).prop_map(Duration::from_nanos),
        Just(Duration::ZERO),
        Just(Duration::from_millis(1) - Duration::from_nanos(1)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        "[a-f0-9-]{1,36}".prop_map(Step::StatementId),
        prop::sample::select(StatementType::ALL).prop_map(Step::Type),
        prop::sample::select(ExecutionResultFormat::ALL).prop_map(Step::Format),
        any::<bool>().prop_map(Step::Compressed),
        any::<bool>().prop_map(Step::Internal),
        Just(Step::Retry),
        duration().prop_map(Step::Poll),
        (-5_000i64..5_000).prop_map(Step::Ready),
        (-5_000i64..5_000).prop_map(Step::Consumed),
        any::<i32>().prop_map(Step::TotalChunks),
        duration().prop_map(Step::Chunk),
        "[A-Za-z]{1,12}Error".prop_map(Step::Error),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_same_recordings_make_the_same_event(
        op in prop::sample::select(OperationType::ALL),
        steps in prop::collection::vec(step(), 0..40),
        end_ms in -1_000i64..20_000,
    ) {
        let (context, recorder) = both(op, &steps, end_ms);
        prop_assert_eq!(comparable(context), comparable(recorder));
    }
}

#[test]
fn a_full_statement_is_the_same_event_through_both_paths() {
    let mut steps = vec![
        Step::StatementId("01f0-stmt".into()),
        Step::Type(StatementType::Query),
        Step::Format(ExecutionResultFormat::ExternalLinks),
        Step::Compressed(true),
        Step::Internal(false),
        Step::Retry,
        Step::Poll(Duration::from_millis(12)),
        Step::Poll(Duration::from_millis(15)),
        Step::Ready(40),
        Step::TotalChunks(20),
        Step::Consumed(140),
        Step::Error("NetworkError".into()),
    ];
    // More chunks than the recorder keeps one by one, slowest in the middle.
    steps.extend((0..20).map(|i| Step::Chunk(Duration::from_millis(10 + (i * 7) % 50))));
    let (context, recorder) = both(OperationType::ExecuteStatement, &steps, 150);
    assert_eq!(comparable(context.clone()), comparable(recorder));
    let chunks = operation(&context).chunk_details.as_ref().unwrap();
    assert_eq!(chunks.total_chunks_iterated, Some(20));
    assert_eq!(chunks.initial_chunk_latency_millis, Some(10));
    assert_eq!(chunks.slowest_chunk_latency_millis, Some(59));
}

#[test]
fn both_paths_stamp_the_event_with_the_same_wall_clock() {
    let session = session();
    let start = Instant::now();
    let end = start + Duration::from_millis(150);
    let context =
        StatementTelemetryContext::begin_at(&session, OperationType::ExecuteStatement, start)
            .finish_at(end);
    let recorder = session
        .begin_shared_at(OperationType::ExecuteStatement, start)
        .finish_at(end)
        .unwrap();
    let stamp = |log: &FrontendLog| log.context().client_context.timestamp_millis.unwrap();
    assert!((stamp(&context) - stamp(&recorder)).abs() <= 1);
    assert_ne!(
        context.frontend_log_event_id(),
        recorder.frontend_log_event_id()
    );
}

/// Latency of download `i` of task `t`: distinct, with a known sum, minimum and maximum.
fn chunk_latency(task: u64, i: u64) -> Duration {
    Duration::from_micros(1_000 + task * 1_000 + i * 37)
}

fn poll_latency(task: u64, i: u64) -> Duration {
    Duration::from_micros(500 + task * 10 + i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_record_into_one_event() {
    const TASKS: u64 = 8;
    const CHUNKS: u64 = 250;
    const POLLS: u64 = 100;
    let session = session();
    let start = Instant::now();
    let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
    statement
        .set_statement_id("01f0-stmt")
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .set_total_chunks((TASKS * CHUNKS) as i32);

    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let statement = statement.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                for i in 0..CHUNKS {
                    statement.record_chunk_download(chunk_latency(task, i));
                    if i < POLLS {
                        statement.record_status_poll(poll_latency(task, i));
                    }
                    if i % 50 == 0 {
                        statement.record_retry();
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let log = statement
        .mark_result_ready_at(start + Duration::from_millis(5))
        .finish_at(start + Duration::from_secs(2))
        .expect("finished once");

    let all_chunks = || (0..TASKS).flat_map(|t| (0..CHUNKS).map(move |i| chunk_latency(t, i)));
    let sum: Duration = all_chunks().sum();
    let slowest = all_chunks().max().unwrap();
    let poll_sum: Duration = (0..TASKS)
        .flat_map(|t| (0..POLLS).map(move |i| poll_latency(t, i)))
        .sum();

    let event = operation(&log);
    let chunks = event.chunk_details.as_ref().unwrap();
    assert_eq!(chunks.total_chunks_iterated, Some((TASKS * CHUNKS) as i32));
    assert_eq!(chunks.total_chunks_present, Some((TASKS * CHUNKS) as i32));
    assert_eq!(
        chunks.sum_chunks_download_time_millis,
        Some(sum.as_millis() as i64)
    );
    assert_eq!(
        chunks.slowest_chunk_latency_millis,
        Some(slowest.as_millis() as i64)
    );
    // The initial chunk is whichever task recorded first: the first download of some task.
    let initial = chunks.initial_chunk_latency_millis.unwrap();
    assert!(
        (0..TASKS).any(|t| chunk_latency(t, 0).as_millis() as i64 == initial),
        "{initial}"
    );
    let detail = event.operation_detail.as_ref().unwrap();
    assert_eq!(
        detail.n_operation_status_calls,
        Some((TASKS * POLLS) as i32)
    );
    assert_eq!(
        detail.operation_status_latency_millis,
        Some(poll_sum.as_millis() as i64)
    );
    assert_eq!(event.retry_count, Some((TASKS * CHUNKS / 50) as i64));
    assert_eq!(
        log.entry().sql_driver_log.sql_statement_id.as_deref(),
        Some("01f0-stmt")
    );
    assert_eq!(log.entry().sql_driver_log.operation_latency_ms, Some(2_000));
}

#[test]
fn the_initial_chunk_is_the_first_recorded_not_the_fastest() {
    let session = session();
    let statement = session.begin_shared(OperationType::ExecuteStatement);
    for ms in [30, 10, 50] {
        statement.record_chunk_download(Duration::from_millis(ms));
    }
    let log = statement.finish().unwrap();
    let chunks = operation(&log).chunk_details.as_ref().unwrap();
    assert_eq!(chunks.initial_chunk_latency_millis, Some(30));
    assert_eq!(chunks.slowest_chunk_latency_millis, Some(50));
    assert_eq!(chunks.sum_chunks_download_time_millis, Some(90));
}

#[test]
fn recordings_after_finish_are_ignored_and_counted_nowhere() {
    let session = session();
    let start = Instant::now();
    let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
    let downloader = statement.clone();
    statement.record_status_poll(Duration::from_millis(10));
    downloader.record_chunk_download(Duration::from_millis(20));
    let log = statement
        .finish_at(start + Duration::from_millis(100))
        .expect("the first finish makes the event");
    let before = comparable(log);

    // Every kind of recording, from every clone, after finish; past the slots too.
    for _ in 0..20 {
        downloader.record_chunk_download(Duration::from_secs(9));
        statement.record_status_poll(Duration::from_secs(9));
    }
    downloader
        .set_statement_id("late")
        .set_statement_type(StatementType::Update)
        .set_result_format(ExecutionResultFormat::InlineArrow)
        .set_compressed(true)
        .set_internal_call(true)
        .record_retry()
        .mark_result_ready_at(start)
        .mark_results_consumed()
        .set_total_chunks(7)
        .record_error(ErrorInfo::new("LateError"));
    assert!(statement.is_finished() && downloader.is_finished());

    // Finishing again, from either clone, is harmless and makes nothing.
    assert!(statement.finish().is_none());
    assert!(downloader.finish_at(start).is_none());
    let event = operation(&before);
    let chunks = event.chunk_details.as_ref().unwrap();
    assert_eq!(chunks.total_chunks_iterated, Some(1));
    assert_eq!(chunks.sum_chunks_download_time_millis, Some(20));
    let detail = event.operation_detail.as_ref().unwrap();
    assert_eq!(detail.n_operation_status_calls, Some(1));
    assert_eq!(detail.operation_status_latency_millis, Some(10));
    assert!(before.entry().sql_driver_log.sql_statement_id.is_none());
    assert!(before.entry().sql_driver_log.error_info.is_none());
    assert!(event.result_latency.is_none());
    assert_eq!(event.retry_count, None);
}

#[test]
fn a_recording_racing_finish_is_in_the_event_entirely_or_not_at_all() {
    // Each round: 4 threads record chunks of 1 ms and polls of 1 ms while the main thread
    // finishes; whatever got in, counts and sums agree exactly.
    for _ in 0..50 {
        let session = session();
        let start = Instant::now();
        let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let statement = statement.clone();
                std::thread::spawn(move || {
                    while !statement.is_finished() {
                        statement.record_chunk_download(Duration::from_millis(1));
                        statement.record_status_poll(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_micros(200));
        let log = statement.finish_at(start).unwrap();
        for thread in threads {
            thread.join().unwrap();
        }
        let event = operation(&log);
        if let Some(chunks) = &event.chunk_details {
            let n = i64::from(chunks.total_chunks_iterated.unwrap());
            assert_eq!(chunks.sum_chunks_download_time_millis, Some(n));
        }
        let detail = event.operation_detail.as_ref().unwrap();
        assert_eq!(
            detail.operation_status_latency_millis,
            detail.n_operation_status_calls.map(i64::from)
        );
    }
}

#[test]
fn metadata_calls_start_as_metadata_statements() {
    let session = session();
    for &op in OperationType::ALL {
        let log = session.begin_shared(op).finish().unwrap();
        let expected = op.is_metadata().then_some(StatementType::Metadata);
        assert_eq!(operation(&log).statement_type, expected, "{op}");
    }
}

#[test]
fn dropping_every_clone_without_finishing_makes_nothing() {
    let session = session();
    let statement = session.begin_shared(OperationType::ExecuteStatement);
    let clone = statement.clone();
    clone.record_chunk_download(Duration::from_millis(1));
    drop(statement);
    drop(clone);
    // Only the session's own reference is left: nothing was kept alive or sent.
    assert_eq!(Arc::strong_count(&session), 1);
}
