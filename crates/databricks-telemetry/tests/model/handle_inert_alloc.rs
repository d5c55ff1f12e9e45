//! An inert statement recorder (a handle that records nothing, or has no session yet) costs no
//! allocation: begun, cloned, recorded into, finished, submitted and dropped.
//!
//! Counted per thread (`allocation-counter` is this binary's global allocator and counts only
//! what the measuring thread allocates), so the test harness or any other thread allocating
//! meanwhile cannot move the count; every step measured runs on the test's thread.

use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::model::{ExecutionResultFormat, OperationType};
use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{TelemetryClientHandle, TelemetryConfig};

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
        let counted = allocation_counter::measure(|| {
            for _ in 0..1_000 {
                record_one(telemetry);
            }
        });
        // A reallocation counts as an allocation (and a deallocation).
        assert_eq!(counted.count_total, 0, "{counted:?}");
    }
    assert_eq!(no_session.stats().enqueued, 0);

    // The measure sees a live recorder's allocation.
    no_session.set_session(
        databricks_telemetry::TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
            .build(),
    );
    let counted = allocation_counter::measure(|| {
        drop(no_session.begin(OperationType::ExecuteStatement));
    });
    assert!(counted.count_total > 0, "{counted:?}");
    assert_eq!(no_session.stats().enqueued, 1);
}
