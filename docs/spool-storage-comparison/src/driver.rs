//! A driver-shaped program: one handle, a few events, a shutdown; with `--features sqlite`,
//! SQLite is linked in too (one statement on an in-memory database), to measure what it adds.

use std::time::Duration;

use databricks_telemetry::{AcquireOptions, DriverInfo, TelemetryClientManager, TelemetryConfig};

fn main() {
    let mut config = TelemetryConfig::builder().with_allow_insecure_http(true);
    if let Some(dir) = std::env::args().nth(1) {
        config = config.with_spool_dir(dir);
    }
    let options = AcquireOptions::new(
        "http://127.0.0.1:9",
        DriverInfo::new("SizeProbe", "0.1.0").unwrap(),
    )
    .with_config(config.build().unwrap());
    let manager = TelemetryClientManager::new();
    let handle = manager.acquire_or_disabled(&options);
    drop(handle);
    let outcome = manager.shutdown(Duration::from_millis(100));
    println!("{:?}", outcome.stats);
    #[cfg(feature = "sqlite")]
    {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
    }
}
