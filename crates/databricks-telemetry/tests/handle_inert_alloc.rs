//! An inert statement recorder (a handle that records nothing, or has no session yet) costs no
//! allocation: begun, cloned, recorded into, finished, submitted and dropped. Alone in its
//! binary, because the allocation counts are process-wide.

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::model::{ExecutionResultFormat, OperationType};
use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{TelemetryClientHandle, TelemetryConfig};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// What a driver does with a statement's recorder, start to end.
fn record_one(telemetry: &TelemetryClientHandle) {
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    let download = statement.clone();
    statement
        .set_statement_id("01f0-stmt")
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .record_status_poll(Duration::from_millis(3))
        .mark_result_ready();
    download.record_chunk_download(Duration::from_millis(20));
    drop(download);
    statement.mark_results_consumed();
    assert!(!statement.submit());
    assert!(statement.finish().is_none());
}

#[test]
fn an_inert_recorder_allocates_nothing() {
    let manager = TelemetryClientManager::with_clock(Arc::new(ManualClock::new()));
    let exporter = InMemoryExporter::new();
    let config = TelemetryConfig::builder()
        .with_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let no_session = manager
        .acquire(
            "adb-1.azuredatabricks.net",
            &ClientIdentity::new("alice"),
            &config,
            move |_: &_| Box::new(exporter) as Box<_>,
        )
        .unwrap();
    let disabled = TelemetryClientHandle::disabled();
    for telemetry in [&no_session, &disabled] {
        record_one(telemetry); // anything done once (lazy statics) is done
        let region = Region::new(GLOBAL);
        for _ in 0..1_000 {
            record_one(telemetry);
        }
        let change = region.change();
        assert_eq!(change.allocations, 0, "{change:?}");
        assert_eq!(change.reallocations, 0, "{change:?}");
    }
    assert_eq!(no_session.stats().enqueued, 0);

    // The measure sees a live recorder's allocation.
    no_session.set_session(
        databricks_telemetry::TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
            .build(),
    );
    let region = Region::new(GLOBAL);
    drop(no_session.begin(OperationType::ExecuteStatement));
    assert!(region.change().allocations > 0);
    assert_eq!(no_session.stats().enqueued, 1);
}
