//! `ReqwestTransport::with_own_runtime`: a driver with one tokio runtime per connection hands
//! the library a transport that outlives them. Over loopback plain HTTP (`telemetry-endpoint`).
//! A process of its own with one test, because the thread counts are process-wide.
//!
//! Needs the `reqwest` feature: `cargo test -p databricks-telemetry --all-features --test
//! transport -- transport_own_runtime::`.

#![cfg(feature = "reqwest")]

use crate::http_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::AuthorizationValue;
use databricks_telemetry::export::{ExportOutcome, Exporter, ReqwestTransport, Transport};
use databricks_telemetry::unstable::thread_stats;
use databricks_telemetry::unstable::{DatabricksExporter, ExporterSettings};
use http_support::*;

#[test]
fn an_owned_runtime_delivers_after_the_clients_runtime_is_gone_and_its_thread_is_counted() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "an_owned_runtime_delivers_after_the_clients_runtime_is_gone_and_its_thread_is_counted",
    ) {
        return;
    }
    // The first connection's runtime: the client is built on it, then it is dropped.
    let connection_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = connection_runtime.block_on(async {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    });
    drop(connection_runtime);

    let before = thread_stats();
    let transport: Arc<dyn Transport> =
        Arc::new(ReqwestTransport::with_own_runtime(client).unwrap());
    let after_start = thread_stats();
    assert_eq!(after_start.started, before.started + 1, "{after_start:?}");
    assert_eq!(after_start.live, before.live + 1, "{after_start:?}");

    let endpoint = start_endpoint();
    let config = fast_config();
    let exporter = DatabricksExporter::builder(
        endpoint_at(endpoint.addr(), &config),
        ExporterSettings::from_config(&config),
        user_agent(),
    )
    .with_transport(Arc::clone(&transport))
    .build()
    .unwrap();
    for round in 0..2 {
        let outcome = exporter.export(
            &logs(2),
            Some(&AuthorizationValue::bearer(TOKEN)),
            Instant::now() + WAIT,
        );
        assert_eq!(outcome, ExportOutcome::Delivered, "round {round}");
    }
    // The endpoint requires the token: delivered means it was sent.
    assert_eq!(uploads(&endpoint).len(), 2);
    // A clone shares the runtime: still one thread.
    assert_eq!(thread_stats().started, after_start.started);

    // The exporter holds the transport too: the thread ends when the last of them goes.
    drop(exporter);
    assert_eq!(thread_stats().live, before.live + 1);
    drop(transport);
    assert!(
        eventually(Duration::from_secs(5), || thread_stats().live
            == before.live),
        "the runtime's thread did not end: {:?}",
        thread_stats()
    );
}
