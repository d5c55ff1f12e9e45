//! Shared by the log-leak tests: a run that sends the credential over real loopback HTTP in
//! every way the library does, and a search of what was logged for the credential, whole, in
//! pieces, or in hex (the HTTP crate dumps bytes as 16-byte rows of hex and text).

#![allow(dead_code)]

use std::sync::Arc;

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{ExportOutcome, Exporter, FailureKind};
use databricks_telemetry::unstable::{
    DatabricksExporter, ExporterSettings, FeatureFlagCache, FlagSettings,
};
use telemetry_endpoint::{EndpointConfig, Fault, FaultScope, TelemetryEndpoint};

use crate::http_support::*;

/// The credential of these tests: long enough that any 16-byte row of a dump lies inside it.
pub(crate) const LOG_SECRET: &str = "dapi-LOGSECRET-7f3a9c2e1b5d40869e2c";

/// Sends `LOG_SECRET` through every request the library makes: uploads (delivered, failed with
/// a 500 and sent again, refused with a 401) and a feature-flag fetch, to a well-behaved local
/// endpoint.
pub(crate) fn send_the_secret_every_way() {
    let endpoint =
        TelemetryEndpoint::start(EndpointConfig::default().with_token(LOG_SECRET)).unwrap();
    let config = fast_config();
    let provider: Arc<dyn CredentialsProvider> = Arc::new(StaticBearerToken::new(LOG_SECRET));
    let secret = AuthorizationValue::bearer(LOG_SECRET);
    let exporter = DatabricksExporter::builder(
        endpoint_at(endpoint.addr(), &config),
        ExporterSettings::from_config(&config),
        user_agent(),
    )
    .build()
    .unwrap();
    assert_eq!(
        exporter.export(&logs(3), Some(&secret), soon()),
        ExportOutcome::Delivered
    );
    endpoint.set_fault(
        "500"
            .parse::<Fault>()
            .unwrap()
            .with_scope(FaultScope::Next(1)),
    );
    assert!(exporter
        .export(&logs(2), Some(&secret), soon())
        .failure()
        .is_some());
    assert_eq!(
        exporter.export(&logs(2), Some(&secret), soon()),
        ExportOutcome::Delivered
    );
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
    let _ = cache.is_enabled(
        &endpoint_at(endpoint.addr(), &config),
        Some(&*provider),
        None,
    );
    assert!(
        endpoint.stats().uploads_accepted >= 2,
        "the secret really went out"
    );
    let wrong = AuthorizationValue::bearer(&format!("{LOG_SECRET}-x"));
    assert!(exporter
        .export(&logs(1), Some(&wrong), soon())
        .failure()
        .is_some());
}

/// Sends `LOG_SECRET` on both routes (an upload and a feature-flag fetch) to servers that copy
/// every request header into their answer ([`FakeBehaviour::Echo`]), answering 200 and 401;
/// checks that the servers did get the credential (so their answers carried it back).
pub(crate) fn send_the_secret_to_an_echoing_server() {
    let config = fast_config();
    let provider: Arc<dyn CredentialsProvider> = Arc::new(StaticBearerToken::new(LOG_SECRET));
    let secret = AuthorizationValue::bearer(LOG_SECRET);
    for status in [200, 401] {
        let server = FakeServer::start(FakeBehaviour::Echo { status });
        let exporter = DatabricksExporter::builder(
            endpoint_at(server.addr(), &config),
            ExporterSettings::from_config(&config),
            user_agent(),
        )
        .build()
        .unwrap();
        let outcome = exporter.export(&logs(2), Some(&secret), soon());
        // The answer was read whole: a 401 refuses the credentials; a 200 (whose body counts
        // none of the logs) is taken as the service's word, not as a broken connection.
        let kind = outcome.failure().map(|failure| failure.kind);
        let expected = if status == 200 {
            FailureKind::NotRetryable
        } else {
            FailureKind::Credentials
        };
        assert_eq!(kind, Some(expected), "{outcome:?}");
        let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
        let _ = cache.is_enabled(&endpoint_at(server.addr(), &config), Some(&*provider), None);
        let requests = server.requests();
        assert!(
            requests.iter().any(|r| r.method == "POST")
                && requests.iter().any(|r| r.method == "GET"),
            "both routes reached the echoing server: {requests:?}"
        );
        let expected = format!("Bearer {LOG_SECRET}");
        assert!(
            requests
                .iter()
                .all(|r| r.header("authorization") == Some(expected.as_str())),
            "the server got the credential, so its answers echoed it"
        );
    }
}

/// Every way `secret` shows in `log`: whole, any 12 bytes of it as text, or any 8 bytes of it
/// as hex digits (whitespace between hex groups ignored).
pub(crate) fn leaks(log: &str, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    if log.contains(secret) {
        found.push("the whole secret".to_owned());
    }
    let bytes = secret.as_bytes();
    for window in bytes.windows(12) {
        let text = std::str::from_utf8(window).unwrap();
        if log.contains(text) {
            found.push(format!("text {text:?}"));
        }
    }
    let hex_log: String = log
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    for window in bytes.windows(8) {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        if hex_log.contains(&hex) {
            found.push(format!("hex {hex}"));
        }
    }
    found
}
