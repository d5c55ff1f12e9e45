//! Secrets stay secret: no token in any `Debug` or `Display` output, error, outcome or log line,
//! whatever goes wrong.

use crate::http_support;

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, OnceLock};

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsError, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{ExportOutcome, Exporter, FailureKind};
use databricks_telemetry::unstable::{
    DatabricksExporter, ExporterSettings, FeatureFlagCache, FlagSettings, HostCircuitBreaker,
    ServiceEndpoint,
};
use databricks_telemetry::CloseResult;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use http_support::*;
use tracing::field::{Field, Visit};
use tracing::span;

const SECRET: &str = "dapi-SECRET-5f2b9c0e7a41";

/// Everything logged by any thread of this process, at every level.
fn captured() -> &'static Mutex<String> {
    static LOG: OnceLock<&'static Mutex<String>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log: &'static Mutex<String> = Box::leak(Box::new(Mutex::new(String::new())));
        tracing::subscriber::set_global_default(Capture(log)).unwrap();
        log
    })
}

fn assert_no_secret_logged() {
    let log = captured().lock().unwrap();
    assert!(!log.contains(SECRET), "a secret was logged");
    assert!(!log.contains("SECRET"), "a part of a secret was logged");
}

/// Formats every field of every span and event.
struct Capture(&'static Mutex<String>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &span::Attributes<'_>) -> span::Id {
        span.record(&mut Fields(&mut self.0.lock().unwrap()));
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, values: &span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut log = self.0.lock().unwrap();
        let _ = write!(
            log,
            "\n{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut log));
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

/// A provider that fails, and puts the secret in its own message.
#[derive(Debug)]
struct LeakyFailingProvider;

impl CredentialsProvider for LeakyFailingProvider {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        Err(CredentialsError::new(format!("refresh of {SECRET} failed")))
    }
}

/// A provider whose value cannot be a header.
#[derive(Debug)]
struct BrokenHeaderProvider;

impl CredentialsProvider for BrokenHeaderProvider {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        Ok(AuthorizationValue::bearer(&format!(
            "{SECRET}\r\nX-Evil: 1"
        )))
    }
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    assert!(
        !text.contains("SECRET"),
        "{what} shows part of the secret: {text}"
    );
}

fn assert_outcome_clean(outcome: &ExportOutcome) {
    assert_clean("the outcome", &format!("{outcome:?}"));
    if let Some(failure) = outcome.failure() {
        assert_clean("the failure", &failure.to_string());
    }
}

/// An exporter to `addr` with an org id.
fn exporter_with(addr: std::net::SocketAddr) -> DatabricksExporter {
    let config = fast_config();
    DatabricksExporter::builder(
        endpoint_at(addr, &config),
        ExporterSettings::from_config(&config),
        user_agent(),
    )
    .with_org_id("42")
    .build()
    .unwrap()
}

#[test]
fn no_public_type_shows_the_token_in_debug_or_display() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "no_public_type_shows_the_token_in_debug_or_display",
    ) {
        return;
    }
    captured();
    let token = StaticBearerToken::new(SECRET);
    let value = token.authorization().unwrap();
    assert_eq!(value.expose(), format!("Bearer {SECRET}"));
    assert_clean("StaticBearerToken", &format!("{token:?} {token:#?}"));
    assert_clean(
        "AuthorizationValue",
        &format!("{value:?} {value} {value:#?}"),
    );
    let provider: Arc<dyn CredentialsProvider> = Arc::new(token);
    assert_clean("Arc<dyn CredentialsProvider>", &format!("{provider:?}"));

    let config = fast_config();
    let endpoint =
        ServiceEndpoint::parse("adb-1.azuredatabricks.net", config.allow_insecure_http()).unwrap();
    let builder = DatabricksExporter::builder(
        endpoint.clone(),
        ExporterSettings::from_config(&config),
        user_agent(),
    );
    assert_clean("DatabricksExporterBuilder", &format!("{builder:?}"));
    let exporter = builder.build().unwrap();
    assert_clean("DatabricksExporter", &format!("{exporter:?} {exporter:#?}"));

    let cache = Arc::new(FeatureFlagCache::new(
        FlagSettings::from_config(&config),
        &user_agent(),
    ));
    assert_clean("FeatureFlagCache", &format!("{cache:?}"));
    let breaker = Arc::new(HostCircuitBreaker::new(
        Default::default(),
        Arc::new(databricks_telemetry::unstable::SystemClock),
    ));
    assert_clean("HostCircuitBreaker", &format!("{breaker:?}"));
    let manager = TelemetryClientManager::new();
    let handle = manager
        .acquire_with_credentials(
            "adb-1.azuredatabricks.net",
            &ClientIdentity::new("user"),
            Some(provider),
            &config,
            |_| Box::new(exporter),
        )
        .unwrap();
    assert_clean("TelemetryClientHandle", &format!("{handle:?} {handle:#?}"));
    assert_clean(
        "TelemetryClientManager",
        &format!("{manager:?} {manager:#?}"),
    );
    assert_no_secret_logged();
}

#[test]
fn credentials_errors_never_carry_the_providers_text() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "credentials_errors_never_carry_the_providers_text",
    ) {
        return;
    }
    captured();
    let endpoint = start_endpoint();
    // The pipeline asks the provider; after its attempts the batch is dropped.
    let config = fast_builder()
        .with_batch_size(2)
        .with_max_export_attempts(2)
        .build()
        .unwrap();
    let clocked = Clocked::start_with(
        exporter_with(endpoint.addr()),
        &config,
        Some(Arc::new(LeakyFailingProvider)),
    );
    clocked.enqueue(logs(2));
    clocked.advance(std::time::Duration::from_millis(10)); // past the retry's backoff
    let stats = clocked.stats();
    assert_eq!(stats.dropped.credentials_failed, 2, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
    assert!(
        uploads(&endpoint).is_empty(),
        "nothing is sent without credentials"
    );
    // The provider's own error shows what the provider wrote; ours never repeats it.
    let provider_error = LeakyFailingProvider.authorization().unwrap_err();
    assert!(provider_error.reason().contains(SECRET));
    assert_no_secret_logged();
}

#[test]
fn an_authorization_value_that_is_not_a_header_fails_without_showing_it() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "an_authorization_value_that_is_not_a_header_fails_without_showing_it",
    ) {
        return;
    }
    captured();
    let endpoint = start_endpoint();
    let value = BrokenHeaderProvider.authorization().unwrap();
    let outcome = exporter_with(endpoint.addr()).export(&logs(1), Some(&value), soon());
    assert_outcome_clean(&outcome);
    assert_eq!(outcome.failure().unwrap().kind, FailureKind::Credentials);
    assert!(uploads(&endpoint).is_empty());
    assert_no_secret_logged();
}

#[test]
fn no_failure_shows_the_token() {
    if crate::own_process::run_elsewhere(module_path!(), "no_failure_shows_the_token") {
        return;
    }
    captured();
    let secret = StaticBearerToken::new(SECRET).authorization().unwrap();
    for fault in [
        "401",
        "403",
        "400",
        "500",
        "429:retry-after=1",
        "503:retry-after=junk",
        "reset",
        "malformed",
        "redirect=http://127.0.0.1:9/",
        "hang",
    ] {
        let endpoint = start_endpoint();
        endpoint.set_fault(fault.parse().unwrap());
        let outcome = exporter_with(endpoint.addr()).export(&logs(1), Some(&secret), soon());
        assert_outcome_clean(&outcome);
        // The request did carry the token: the redaction is in the output, not the request.
        assert_eq!(
            uploads(&endpoint)[0].header("authorization"),
            Some(format!("Bearer {SECRET}").as_str()),
            "{fault}"
        );
    }
    let refused = exporter_with(closed_port()).export(&logs(1), Some(&secret), soon());
    assert_outcome_clean(&refused);
    assert_no_secret_logged();
}

#[test]
fn the_worker_and_the_flag_fetch_log_no_token() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "the_worker_and_the_flag_fetch_log_no_token",
    ) {
        return;
    }
    captured();
    let endpoint = telemetry_endpoint::TelemetryEndpoint::start(
        telemetry_endpoint::EndpointConfig::default().with_token(SECRET),
    )
    .unwrap();
    endpoint.set_fault("500*2".parse().unwrap());
    endpoint.set_feature_flags(telemetry_endpoint::FeatureFlagAnswer::Error(500));
    let config = fast_config();
    let provider: Arc<dyn CredentialsProvider> = Arc::new(StaticBearerToken::new(SECRET));
    let client = Client::with(
        TelemetryClientManager::new(),
        &config,
        Box::new(exporter_with(endpoint.addr())),
        Some(provider.clone()),
    )
    .unwrap();
    for log in logs(5) {
        client.enqueue(log);
    }
    assert_eq!(client.close(WAIT), CloseResult::Completed);
    assert_eq!(client.stats().exported, 5, "{:?}", client.stats());

    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
    let service = endpoint_at(endpoint.addr(), &config);
    assert!(!cache.is_enabled(&service, Some(provider.as_ref()), None));
    assert!(!cache.is_enabled(
        &endpoint_at(closed_port(), &config),
        Some(&LeakyFailingProvider),
        None
    ));
    // The capture is global: the worker's lines and the flag checks' are in it.
    let log = captured().lock().unwrap().clone();
    assert!(
        log.contains("telemetry upload"),
        "logs were captured: {log}"
    );
    assert!(
        log.contains("feature-flag"),
        "flag logs were captured: {log}"
    );
    assert_no_secret_logged();
}

#[test]
fn endpoint_errors_hide_credentials_in_the_host() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "endpoint_errors_hide_credentials_in_the_host",
    ) {
        return;
    }
    let config = fast_config();
    let error = ServiceEndpoint::parse(
        &format!("https://token:{SECRET}@adb-1.net"),
        config.allow_insecure_http(),
    )
    .unwrap_err();
    assert_clean("ServiceEndpointError", &format!("{error} {error:?}"));
}
