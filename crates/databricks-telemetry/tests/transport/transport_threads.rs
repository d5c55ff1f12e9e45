//! Every thread the default HTTP client starts is counted: IP literals and `localhost` are
//! resolved without a thread, and a name lookup runs on a counted `dbx-telemetry-dns` thread
//! (ureq's own resolver starts an uncounted one per lookup). A process of its own, because
//! the counts are process-wide.

#![cfg(feature = "ureq-transport")]

use crate::http_support;

use std::time::Duration;

use databricks_telemetry::export::{ExportOutcome, Exporter};
use databricks_telemetry::unstable::thread_stats;
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings, ServiceEndpoint};
use databricks_telemetry::TelemetryConfig;
use http_support::*;

#[test]
fn name_lookups_run_on_counted_threads_and_literals_need_none() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "name_lookups_run_on_counted_threads_and_literals_need_none",
    ) {
        return;
    }
    let endpoint = start_endpoint();
    let config = fast_config();
    let before = thread_stats();
    for host in [
        format!("http://127.0.0.1:{}", endpoint.addr().port()),
        format!("http://localhost:{}", endpoint.addr().port()),
    ] {
        let exporter = DatabricksExporter::builder(
            ServiceEndpoint::parse(&host, config.allow_insecure_http()).unwrap(),
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .build()
        .unwrap();
        assert_eq!(
            exporter.export(&logs(1), Some(&token()), soon()),
            ExportOutcome::Delivered,
            "{host}"
        );
    }
    assert_eq!(
        thread_stats().started,
        before.started,
        "IP literals and localhost are resolved without a thread"
    );

    // A name that must be looked up (`.invalid` never resolves): one counted thread, which
    // ends once the lookup does.
    let config = TelemetryConfig::builder()
        .with_request_timeout(Duration::from_secs(1))
        .with_max_retries(0)
        .build()
        .unwrap();
    let exporter = DatabricksExporter::builder(
        ServiceEndpoint::parse("dns-count.invalid", config.allow_insecure_http()).unwrap(),
        ExporterSettings::from_config(&config),
        user_agent(),
    )
    .build()
    .unwrap();
    assert!(exporter
        .export(&logs(1), Some(&token()), soon())
        .failure()
        .is_some());
    let after = thread_stats();
    assert_eq!(after.started, before.started + 1, "{after:?}");
    assert!(after.peak > before.live, "{after:?}");
    assert!(
        eventually(Duration::from_secs(30), || thread_stats().live
            == before.live),
        "the lookup thread ends: {:?}",
        thread_stats()
    );
}
