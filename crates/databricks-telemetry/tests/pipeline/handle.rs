//! The handle as a driver shares it: clones in statements and tasks, one share of the lane,
//! `close(&self)` for every clone at once, the connection's session, and statement recorders
//! bound to the handle that send their own event exactly once.

use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::model::{FrontendLog, OperationType};
use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::unstable::model::SqlExecutionEvent;
use databricks_telemetry::HostKey;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

use databricks_telemetry::{
    AcquireOptions, CloseResult, DriverInfo, FlushResult, StatementRecorder, TelemetryAuthType,
    TelemetryClientHandle, TelemetryConfig, TelemetrySessionContext,
};

const WAIT: Duration = Duration::from_secs(10);
const HOST: &str = "adb-1.azuredatabricks.net";

// Compile-time: a handle goes into spawned tasks and threads.
const _: () = {
    const fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<TelemetryClientHandle>();
};

/// Nothing is sent until a close, a release or a flush.
fn config() -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn log(id: &str) -> FrontendLog {
    let mut log = FrontendLog::default();
    *log.frontend_log_event_id_mut() = id.into();
    log
}

fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0-session")
        .build()
}

fn operation(log: &FrontendLog) -> &SqlExecutionEvent {
    log.entry().sql_driver_log.sql_operation.as_ref().unwrap()
}

/// A manager on a clock that stands still (so `settle` is exact), its exporter, and a handle
/// on `identity`'s lane.
fn setup(
    identity: &str,
) -> (
    TelemetryClientManager,
    InMemoryExporter,
    TelemetryClientHandle,
) {
    let manager = TelemetryClientManager::with_clock(Arc::new(ManualClock::new()));
    let exporter = InMemoryExporter::new();
    let handle = acquire(&manager, &exporter, identity);
    (manager, exporter, handle)
}

fn acquire(
    manager: &TelemetryClientManager,
    exporter: &InMemoryExporter,
    identity: &str,
) -> TelemetryClientHandle {
    let exporter = exporter.clone();
    manager
        .acquire(
            HOST,
            &ClientIdentity::new(identity),
            &config(),
            move |_: &HostKey| Box::new(exporter) as Box<_>,
        )
        .unwrap()
}

#[test]
fn clones_share_one_share_and_close_by_reference_waits_for_every_clones_events() {
    let (manager, exporter, telemetry) = setup("alice");
    let statement_side = telemetry.clone();
    let task_side = telemetry.clone();
    assert!(statement_side.shares_lane_with(&telemetry));
    std::thread::spawn(move || task_side.enqueue(log("from a task")))
        .join()
        .unwrap();
    statement_side.enqueue(log("from a statement"));
    telemetry.enqueue(log("from the connection"));
    assert_eq!(exporter.exported_count(), 0, "nothing is due yet");

    let outcome = telemetry.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(outcome.stats.exported, 3);
    assert_eq!(exporter.exported_count(), 3);
    assert_eq!(manager.lane_count(), 0, "the lane's only share is gone");
    assert!(!telemetry.is_enabled() && !statement_side.is_enabled());

    // Later events, from any clone, are not recorded: counted as dropped after close.
    statement_side.enqueue(log("late"));
    telemetry.enqueue(log("late too"));
    let stats = statement_side.stats();
    assert_eq!(stats.dropped.after_close, 2);
    assert_eq!(stats.enqueued, 5);
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(exporter.exported_count(), 3);
    assert!(manager.settle(WAIT));
    assert_eq!(exporter.exported_count(), 3, "nothing is sent after close");

    // A second close, from another clone, gives nothing up again and waits for nothing.
    let again = statement_side.close(WAIT);
    assert_eq!(again.result, CloseResult::Completed);
    assert_eq!(again.stats.exported, 3);
    assert_eq!(telemetry.flush(WAIT), FlushResult::Completed);
    drop((telemetry, statement_side));
    assert_eq!(manager.lane_count(), 0);
}

#[test]
fn a_late_event_on_a_lane_another_connection_keeps_is_counted_in_the_lanes_accounting() {
    let (manager, exporter, first) = setup("alice");
    let second = acquire(&manager, &exporter, "alice");
    let first_clone = first.clone();
    first.enqueue(log("a"));
    second.enqueue(log("b"));
    let outcome = first.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(
        exporter.exported_count(),
        2,
        "what was enqueued before the close"
    );
    assert_eq!(
        manager.lane_count(),
        1,
        "the other connection keeps the lane"
    );

    first_clone.enqueue(log("late"));
    second.enqueue(log("c"));
    let stats = second.stats();
    assert_eq!(stats.dropped.after_close, 1);
    assert_eq!(manager.stats().dropped.after_close, 1);
    assert_eq!(second.close(WAIT).result, CloseResult::Completed);
    let totals = manager.stats();
    assert_eq!(totals.enqueued, 4);
    assert_eq!(totals.exported, 3);
    assert_eq!(totals.dropped.after_close, 1);
    assert!(totals.is_balanced(), "{totals:?}");
}

#[test]
fn dropping_every_clone_releases_the_share_and_never_blocks() {
    let (manager, exporter, telemetry) = setup("alice");
    let clones: Vec<_> = (0..4).map(|_| telemetry.clone()).collect();
    telemetry.enqueue(log("e"));
    telemetry.release();
    assert_eq!(manager.lane_count(), 1, "clones still hold the share");
    assert_eq!(exporter.exported_count(), 0);
    let threads: Vec<_> = clones
        .into_iter()
        .map(|clone| std::thread::spawn(move || drop(clone)))
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(manager.settle(WAIT));
    assert_eq!(manager.lane_count(), 0);
    assert_eq!(
        exporter.exported_count(),
        1,
        "the lane drained when the share went"
    );
}

#[test]
fn close_async_by_reference_gives_the_share_up_before_it_is_polled() {
    let (manager, exporter, telemetry) = setup("alice");
    let clone = telemetry.clone();
    telemetry.enqueue(log("e"));
    let closing = telemetry.close_async(WAIT);
    clone.enqueue(log("late"));
    let outcome = futures_executor::block_on(closing);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(exporter.exported_count(), 1);
    assert_eq!(clone.stats().dropped.after_close, 1);
    assert_eq!(manager.lane_count(), 0);
    let again = futures_executor::block_on(clone.close_async(WAIT));
    assert_eq!(again.result, CloseResult::Completed);
}

#[test]
fn a_disabled_handle_records_nothing_and_every_call_is_a_no_op() {
    let telemetry = TelemetryClientHandle::disabled();
    let clone = telemetry.clone();
    assert!(!telemetry.is_enabled());
    assert!(telemetry.host().is_none());
    assert!(telemetry.session().is_none());
    assert!(telemetry.open_session(|s| s).is_none());
    clone.enqueue(log("e"));
    assert_eq!(telemetry.stats(), Default::default());
    assert_eq!(telemetry.flush(WAIT), FlushResult::Completed);
    assert!(telemetry.settings_conflicts().is_empty());
    assert!(!telemetry.shares_lane_with(&clone));
    telemetry.set_session(session());
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    assert!(statement.is_inert());
    assert_eq!(telemetry.close(WAIT).result, CloseResult::Completed);
    assert_eq!(
        futures_executor::block_on(clone.close_async(WAIT)).result,
        CloseResult::Completed
    );
    assert!(!format!("{telemetry:?}").is_empty());
}

#[test]
fn a_bound_recorder_dropped_last_by_eight_threads_enqueues_exactly_one_event() {
    let (manager, exporter, telemetry) = setup("alice");
    telemetry.set_session(session());
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    assert!(!statement.is_inert());
    statement.set_statement_id("01f0-stmt").set_total_chunks(8);
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let downloads: Vec<_> = (0..8u64)
        .map(|chunk| {
            let recorder = statement.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                recorder.record_chunk_download(Duration::from_millis(10 + chunk));
                barrier.wait();
                // Every thread drops its clone at about the same time; one of them is last.
                drop(recorder);
            })
        })
        .collect();
    drop(statement);
    for download in downloads {
        download.join().unwrap();
    }
    assert_eq!(telemetry.stats().enqueued, 1);
    assert_eq!(telemetry.close(WAIT).stats.exported, 1);
    let logs = exporter.logs();
    assert_eq!(logs.len(), 1);
    let chunks = operation(&logs[0]).chunk_details.as_ref().unwrap();
    assert_eq!(chunks.total_chunks_iterated, Some(8));
    assert_eq!(chunks.total_chunks_present, Some(8));
    assert_eq!(
        logs[0].entry().sql_driver_log.sql_statement_id.as_deref(),
        Some("01f0-stmt")
    );
    assert_eq!(
        logs[0].entry().sql_driver_log.session_id.as_deref(),
        Some("01f0-session")
    );
    assert_eq!(manager.lane_count(), 0);
}

#[test]
fn submit_enqueues_once_and_a_later_drop_enqueues_nothing() {
    let (_manager, exporter, telemetry) = setup("alice");
    telemetry.set_session(session());
    let statement = telemetry.begin(OperationType::ListTables);
    let poller = statement.clone();
    assert!(poller.submit());
    assert!(statement.is_finished());
    assert!(!statement.submit(), "already sent");
    assert!(statement.finish().is_none(), "and not the caller's to take");
    drop((statement, poller));
    assert_eq!(telemetry.stats().enqueued, 1);
    assert_eq!(telemetry.close(WAIT).stats.exported, 1);
    assert_eq!(exporter.exported_count(), 1);
}

#[test]
fn finish_hands_the_event_to_the_caller_and_then_nothing_is_enqueued_on_drop() {
    let (_manager, _exporter, telemetry) = setup("alice");
    telemetry.set_session(session());
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    let download = statement.clone();
    let log = statement.finish().expect("the first finish");
    assert!(!download.submit());
    drop((statement, download));
    assert_eq!(telemetry.stats().enqueued, 0);
    // The caller decides what happens to it.
    telemetry.enqueue(log);
    assert_eq!(telemetry.stats().enqueued, 1);
}

#[test]
fn a_recorder_begun_from_a_session_has_no_handle_to_submit_to() {
    let statement = session().begin_shared(OperationType::ExecuteStatement);
    assert!(!statement.submit(), "nowhere to send it");
    assert!(!statement.is_finished(), "and it is left unfinished");
    assert!(statement.finish().is_some());
}

#[test]
fn begin_is_inert_before_a_session_on_a_disabled_handle_and_after_close() {
    let (_manager, exporter, telemetry) = setup("alice");
    let inert = [
        telemetry.begin(OperationType::ExecuteStatement),
        TelemetryClientHandle::disabled().begin(OperationType::ListCatalogs),
    ];
    telemetry.set_session(session());
    let closed = telemetry.clone();
    assert_eq!(closed.close(WAIT).result, CloseResult::Completed);
    let after_close = telemetry.begin(OperationType::ListSchemas);
    for statement in inert.iter().chain([&after_close]) {
        assert!(statement.is_inert());
        assert!(statement.session().is_none());
        statement
            .set_statement_id("ignored")
            .record_chunk_download(Duration::from_millis(5))
            .record_status_poll(Duration::from_millis(5))
            .mark_result_ready();
        assert!(!statement.is_finished());
        assert!(statement.finish().is_none());
        assert!(!statement.submit());
        assert!(!format!("{statement:?}").is_empty());
    }
    assert_eq!(inert[1].operation(), OperationType::ListCatalogs);
    drop((inert, after_close));
    let stats = telemetry.stats();
    assert_eq!(stats.enqueued, 0, "{stats:?}");
    assert_eq!(exporter.exported_count(), 0);
}

#[test]
fn a_bound_recorder_keeps_the_share_until_its_event_is_sent() {
    let (manager, exporter, telemetry) = setup("alice");
    telemetry.set_session(session());
    // A result reader the application still holds after the connection is gone.
    let reader = telemetry.begin(OperationType::ExecuteStatement);
    drop(telemetry);
    assert!(manager.settle(WAIT));
    assert_eq!(
        manager.lane_count(),
        1,
        "the statement still holds the share"
    );
    reader.mark_results_consumed();
    drop(reader);
    assert!(manager.settle(WAIT));
    assert_eq!(manager.lane_count(), 0);
    assert_eq!(exporter.exported_count(), 1, "its event was delivered");
}

#[test]
fn a_statement_still_open_at_close_is_counted_after_close_when_it_ends() {
    let (manager, exporter, telemetry) = setup("alice");
    telemetry.set_session(session());
    let reader = telemetry.begin(OperationType::ExecuteStatement);
    let outcome = telemetry.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(
        manager.lane_count(),
        0,
        "close gave the share up for the recorder too"
    );
    drop(reader);
    let stats = telemetry.stats();
    assert_eq!(stats.dropped.after_close, 1);
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(exporter.exported_count(), 0);
}

#[test]
fn open_session_builds_keeps_and_returns_the_connections_session() {
    let token = "dapi-handle-test";
    let service = TelemetryEndpoint::start(EndpointConfig::default().with_token(token)).unwrap();
    let manager = TelemetryClientManager::with_clock(Arc::new(ManualClock::new()));
    let driver = DriverInfo::new("Databricks ADBC Rust", "0.1.0").unwrap();
    let options = AcquireOptions::new(service.base_url(), driver.clone())
        .with_credentials(
            ClientIdentity::from_credential("pat", token),
            Arc::new(StaticBearerToken::new(token)),
        )
        .with_auth_type(TelemetryAuthType::Pat)
        .with_config(
            TelemetryConfig::builder()
                .with_flush_interval(Duration::from_secs(3600))
                .with_allow_insecure_http(true)
                .with_force_enabled(true)
                .with_org_id("42")
                .build()
                .unwrap(),
        );
    let telemetry = manager.acquire_databricks(&options).unwrap();
    assert!(telemetry.session_context().is_none());
    let opened = telemetry
        .open_session(|s| s.with_session_id("01f0-abc"))
        .expect("an enabled Databricks handle");
    assert_eq!(opened.session_id(), Some("01f0-abc"));
    assert_eq!(opened.workspace_id(), Some(42), "from the org id");
    assert_eq!(
        opened.auth_type(),
        Some(TelemetryAuthType::Pat),
        "from the acquire options"
    );
    let kept = telemetry.clone().session_context().unwrap();
    assert!(Arc::ptr_eq(&kept, &opened), "every clone sees it");
    telemetry.enqueue(opened.connection_opened(Duration::from_millis(5)));
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    assert!(Arc::ptr_eq(statement.session().unwrap(), &opened));
    drop(statement);
    let outcome = telemetry.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(outcome.stats.exported, 2);
    assert_eq!(service.stats().logs_accepted, 2, "over loopback HTTP");

    // Without a DriverInfo there is no builder to start from: set_session instead.
    let (_manager, _exporter, plain) = setup("bob");
    assert!(plain.open_session(|s| s).is_none());
    assert!(plain.session_context().is_none());
    plain.set_session(session());
    assert_eq!(
        plain.session_context().unwrap().session_id(),
        Some("01f0-session")
    );

    // A handle that records nothing keeps nothing.
    let off = AcquireOptions::new(HOST, driver).with_config(
        TelemetryConfig::builder()
            .with_enabled(false)
            .build()
            .unwrap(),
    );
    let disabled = manager.acquire_databricks(&off).unwrap();
    assert!(disabled.session().is_some());
    assert!(disabled.open_session(|s| s).is_none());
    assert!(disabled.session_context().is_none());
}

#[test]
fn a_recorder_is_small_and_cheap_to_clone() {
    assert!(std::mem::size_of::<StatementRecorder>() <= 2 * std::mem::size_of::<usize>());
    assert_eq!(
        std::mem::size_of::<TelemetryClientHandle>(),
        std::mem::size_of::<usize>()
    );
}
