use std::time::Duration;

use databricks_telemetry::manager::{ClientIdentity, TelemetryClientManager};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::TelemetryConfig;

#[test]
fn smoke() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let config = TelemetryConfig::builder().with_batch_size(10).build().unwrap();
    let handle = manager
        .acquire("adb-1.azuredatabricks.net", &ClientIdentity::new("u"), &config, |_| {
            Box::new(exporter.clone())
        })
        .unwrap();
    for _ in 0..25 {
        handle.enqueue(FrontendLog::default());
    }
    assert!(exporter.wait_for_calls(2, Duration::from_secs(5)));
    handle.release();
    let outcome = manager.shutdown(Duration::from_secs(5));
    println!("{outcome:?}");
    assert_eq!(outcome.stats.exported, 25);
    assert_eq!(exporter.call_sizes(), vec![10, 10, 5]);
}
