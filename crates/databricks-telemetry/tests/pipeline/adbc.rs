//! The `adbc` feature's helpers: ADBC option values into the option store and back, and one
//! call per connection and statement outcome, exported to the real local endpoint.

#![cfg(feature = "adbc")]

use crate::http_support;

use std::sync::Arc;
use std::time::Duration;

use adbc_core::error::{Error, Status};
use adbc_core::options::OptionValue;
use databricks_telemetry::config::TelemetryOptions;
use databricks_telemetry::credentials::StaticBearerToken;
use databricks_telemetry::model::OperationType;
use databricks_telemetry::{
    AcquireOptions, ClientIdentity, CloseResult, DriverInfo, TelemetryAuthType,
    TelemetryClientManager,
};
use http_support::{fast_builder, start_endpoint, TOKEN};

#[test]
fn option_values_go_into_the_store_and_the_value_in_effect_comes_back() {
    let mut options = TelemetryOptions::new()
        .with_default("databricks.telemetry.enabled", false)
        .unwrap();
    assert!(TelemetryOptions::is_telemetry_key(
        "adbc.databricks.telemetry.batch_size"
    ));
    assert!(!TelemetryOptions::is_telemetry_key("databricks.http_path"));

    let set = |options: &mut TelemetryOptions, key: &str, value: OptionValue| {
        options.set_adbc(key, &value)
    };
    assert_eq!(
        set(
            &mut options,
            "adbc.databricks.telemetry.batch_size",
            OptionValue::Int(50)
        ),
        Ok(true)
    );
    assert_eq!(
        set(
            &mut options,
            "databricks.telemetry.flush_interval_ms",
            OptionValue::Bytes(b"250".to_vec())
        ),
        Ok(true)
    );
    assert_eq!(
        set(
            &mut options,
            "databricks.telemetry.close_timeout_ms",
            OptionValue::Double(1500.0)
        ),
        Ok(true)
    );
    assert_eq!(
        set(
            &mut options,
            "databricks.http_path",
            OptionValue::String("/sql/1.0/warehouses/abc".into())
        ),
        Ok(false),
        "the driver's own key"
    );
    let refused = set(
        &mut options,
        "databricks.telemetry.batch_size",
        OptionValue::Bytes(vec![0xff, 0xfe]),
    )
    .unwrap_err();
    assert!(refused
        .to_string()
        .contains("databricks.telemetry.batch_size"));
    assert!(set(
        &mut options,
        "databricks.telemetry.batch_size",
        OptionValue::Int(0)
    )
    .is_err());

    // get_option, under either prefix: what a connection opened now would use.
    assert!(matches!(
        options.value_in_effect("databricks.telemetry.batch_size"),
        Some(OptionValue::Int(50))
    ));
    assert!(matches!(
        options.value_in_effect("adbc.databricks.telemetry.flush_interval_ms"),
        Some(OptionValue::String(text)) if text == "250"
    ));
    // Not set: the driver's default (unless the environment sets it).
    if std::env::var_os("DATABRICKS_TELEMETRY_ENABLED").is_none() {
        assert!(matches!(
            options.value_in_effect("databricks.telemetry.enabled"),
            Some(OptionValue::String(text)) if text == "false"
        ));
    }
    assert!(options.value_in_effect("databricks.http_path").is_none());

    let config = options.config_with_env(|_| None).unwrap();
    assert_eq!(config.batch_size(), 50);
    assert_eq!(config.flush_interval(), Duration::from_millis(250));
    assert_eq!(config.close_timeout(), Duration::from_millis(1500));
}

#[test]
fn one_call_per_outcome_sends_each_event_and_the_close_completes() {
    let endpoint = start_endpoint();
    let manager = TelemetryClientManager::new();
    let config = fast_builder().with_force_enabled(true).build().unwrap();
    let options = AcquireOptions::new(
        endpoint.base_url(),
        DriverInfo::new_lossy("Databricks ADBC Rust", env!("CARGO_PKG_VERSION")),
    )
    .with_credentials(
        ClientIdentity::from_credential("pat", TOKEN),
        Arc::new(StaticBearerToken::new(TOKEN)),
    )
    .with_auth_type(TelemetryAuthType::Pat)
    .with_config(config);

    // A connection whose open failed, and one that opened.
    let failed = manager.acquire_databricks(&options).unwrap();
    let refused = Error::with_message_and_status("token expired", Status::Unauthenticated);
    failed.connection_opened(Err(&refused), Duration::from_millis(40));
    let telemetry = manager.acquire_databricks(&options).unwrap();
    telemetry.connection_opened(Ok::<_, &Error>("01f0-session"), Duration::from_millis(90));
    assert!(telemetry.session_context().is_some());

    let statement = telemetry.begin(OperationType::ExecuteStatement);
    let error = Error::with_message_and_status("SELECT secret FROM t failed", Status::IO);
    assert!(statement.failed(&error));
    assert!(!statement.failed(&error), "sent once");

    let outcome = telemetry.connection_closed(Ok::<_, &Error>(()), Duration::from_millis(5));
    assert_eq!(
        outcome.result,
        CloseResult::Completed,
        "{:?}",
        outcome.stats
    );
    let stats = manager.shutdown(Duration::from_secs(10)).stats;
    assert_eq!(stats.exported, 4, "{stats:?}");
    assert!(stats.is_balanced());

    let logs = endpoint.logs().join("\n");
    assert!(logs.contains("Unauthenticated"), "{logs}");
    assert!(logs.contains("\"IO\""), "{logs}");
    assert!(!logs.contains("secret"), "no message is sent");
    assert!(logs.contains("01f0-session"));
}

#[test]
fn a_mistyped_key_is_telemetrys_and_the_adapters_answer_in_adbc_errors() {
    let mut options = TelemetryOptions::new();
    let typo = "databricks.telemetry.batch_sise";
    assert!(TelemetryOptions::is_telemetry_key(typo));
    assert!(TelemetryOptions::is_telemetry_key(
        "adbc.databricks.telemetry.no_such_setting"
    ));
    assert!(!TelemetryOptions::is_telemetry_key(
        "databricks.cloudfetch.enabled"
    ));

    let error = options.set_option(typo, &OptionValue::Int(5)).unwrap_err();
    assert_eq!(error.status, Status::InvalidArguments);
    assert!(
        error
            .message
            .contains("did you mean databricks.telemetry.batch_size?"),
        "{}",
        error.message
    );
    let bad = options.set_option(
        "databricks.telemetry.batch_size",
        &OptionValue::String("many".into()),
    );
    assert_eq!(bad.unwrap_err().status, Status::InvalidArguments);
    let http_path = OptionValue::String("/sql/1.0".into());
    assert_eq!(
        options.set_option("databricks.http_path", &http_path),
        Ok(false)
    );
    assert!(options.is_empty(), "nothing rejected or foreign is kept");

    let batch = "adbc.databricks.telemetry.batch_size";
    assert_eq!(options.set_option(batch, &OptionValue::Int(40)), Ok(true));
    let interval = "databricks.telemetry.close_timeout_ms";
    assert_eq!(
        options.set_option(interval, &OptionValue::Double(750.0)),
        Ok(true)
    );
    let endpoint = "databricks.telemetry.endpoint";
    let url = OptionValue::String("http://127.0.0.1:9".into());
    assert_eq!(options.set_option(endpoint, &url), Ok(true));

    assert_eq!(
        options.get_option_int("databricks.telemetry.batch_size"),
        Ok(40)
    );
    assert_eq!(options.get_option_string(batch).as_deref(), Ok("40"));
    assert_eq!(options.get_option_double(batch), Ok(40.0));
    assert_eq!(options.get_option_double(interval), Ok(750.0));
    assert_eq!(
        options.get_option_string(endpoint).as_deref(),
        Ok("http://127.0.0.1:9")
    );
    let status = |result: Result<i64, Error>| result.map_err(|error| error.status);
    assert_eq!(
        status(options.get_option_int(endpoint)),
        Err(Status::NotFound)
    );
    assert_eq!(status(options.get_option_int(typo)), Err(Status::NotFound));
    let foreign = options.get_option_string("databricks.http_path");
    assert_eq!(foreign.map_err(|error| error.status), Err(Status::NotFound));
}

/// A driver's own error type: converts into an ADBC error, as driverbase's does.
#[derive(Clone, Debug)]
struct DriverError(Status);

impl From<DriverError> for Error {
    fn from(error: DriverError) -> Self {
        Error::with_message_and_status("SELECT secret FROM t failed", error.0)
    }
}

/// Telemetry options as a driver's `set_option` collects them, aimed at `endpoint`.
fn options_for(endpoint: &telemetry_endpoint::TelemetryEndpoint) -> TelemetryOptions {
    let mut options = TelemetryOptions::new();
    for (key, value) in [
        ("databricks.telemetry.force_enabled", OptionValue::Int(1)),
        ("databricks.telemetry.allow_insecure_http", "true".into()),
        (
            "databricks.telemetry.flush_interval_ms",
            OptionValue::Int(3_600_000),
        ),
        ("databricks.telemetry.endpoint", endpoint.base_url().into()),
    ] {
        assert_eq!(options.set_option(key, &value), Ok(true), "{key}");
    }
    options
}

fn pat_options(host: &str) -> AcquireOptions {
    AcquireOptions::new(
        host,
        DriverInfo::new_lossy("Databricks ADBC Rust", env!("CARGO_PKG_VERSION")),
    )
    .with_credentials(
        ClientIdentity::from_credential("pat", TOKEN),
        Arc::new(StaticBearerToken::new(TOKEN)),
    )
    .with_auth_type(TelemetryAuthType::Pat)
}

#[test]
fn the_drivers_own_errors_are_recorded_and_observe_passes_results_through() {
    let endpoint = start_endpoint();
    let manager = TelemetryClientManager::new();
    let options = pat_options("adb-1.azuredatabricks.net").with_options(&options_for(&endpoint));

    let failed = manager.acquire_or_disabled(&options);
    assert!(
        failed.is_enabled(),
        "the options' endpoint and force_enabled apply"
    );
    let refused: Result<String, DriverError> = Err(DriverError(Status::Unauthenticated));
    failed.connection_opened(refused.as_deref(), Duration::from_millis(40));

    let telemetry = manager.acquire_or_disabled(&options);
    let opened: Result<String, DriverError> = Ok("01f0-session".to_owned());
    telemetry.connection_opened(opened.as_deref(), Duration::from_millis(90));

    let ok = telemetry.begin(OperationType::ExecuteStatement);
    assert_eq!(ok.observe(Ok::<_, DriverError>(7)).unwrap(), 7);
    assert!(!ok.is_finished(), "a success records nothing");
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    let polled = statement.observe(Err::<u32, _>(DriverError(Status::Timeout)));
    assert!(
        matches!(polled, Err(DriverError(Status::Timeout))),
        "returned unchanged"
    );
    assert!(statement.is_finished(), "the failure was sent");
    assert!(!statement.failed(&DriverError(Status::IO)), "sent once");
    drop(ok);

    let closed: Result<(), DriverError> = Err(DriverError(Status::IO));
    let outcome = telemetry.connection_closed(closed.as_ref().copied(), Duration::from_millis(5));
    assert_eq!(
        outcome.result,
        CloseResult::Completed,
        "{:?}",
        outcome.stats
    );
    let stats = manager.shutdown(Duration::from_secs(10)).stats;
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");

    let logs = endpoint.logs().join("\n");
    assert!(logs.contains("Unauthenticated"), "{logs}");
    assert!(logs.contains("Timeout"), "{logs}");
    assert!(logs.contains("\"IO\""), "the close's failure: {logs}");
    assert!(!logs.contains("secret"), "no message is sent");
}

#[test]
fn invalid_options_or_an_unusable_host_give_a_disabled_handle() {
    let manager = TelemetryClientManager::new();
    let mut options = TelemetryOptions::new();
    options
        .set_option("databricks.telemetry.batch_size", &OptionValue::Int(500))
        .unwrap();
    options
        .set_option(
            "databricks.telemetry.max_queue_size",
            &OptionValue::Int(100),
        )
        .unwrap();
    options
        .set_option("databricks.telemetry.force_enabled", &OptionValue::Int(1))
        .unwrap();
    let acquire = pat_options("adb-1.azuredatabricks.net").with_options(&options);
    assert!(matches!(
        manager.acquire_databricks(&acquire),
        Err(databricks_telemetry::AcquireError::Config(_))
    ));
    assert!(!manager.acquire_or_disabled(&acquire).is_enabled());

    let mut enabled = TelemetryOptions::new();
    enabled
        .set_option("databricks.telemetry.force_enabled", &OptionValue::Int(1))
        .unwrap();
    let acquire = pat_options("http://adb-1.azuredatabricks.net").with_options(&enabled);
    assert!(
        manager.acquire_databricks(&acquire).is_err(),
        "plain http is refused"
    );
    let handle = manager.acquire_or_disabled(&acquire);
    assert!(!handle.is_enabled());
    assert_eq!(manager.shutdown(Duration::from_secs(1)).stats.enqueued, 0);
}

/// `with_reqwest_client`: the driver's own client, on the transport's own runtime, built once
/// for the host; the events reach the real endpoint through it.
#[cfg(feature = "reqwest")]
#[test]
fn a_drivers_reqwest_client_carries_the_uploads() {
    let endpoint = start_endpoint();
    let manager = TelemetryClientManager::new();
    let options = pat_options("adb-1.azuredatabricks.net")
        .with_options(&options_for(&endpoint))
        .with_reqwest_client(reqwest::Client::new(), "proxy=none");
    let telemetry = manager.acquire_or_disabled(&options);
    assert!(telemetry.is_enabled());
    telemetry.connection_opened(Ok::<_, &Error>("01f0-reqwest"), Duration::from_millis(3));
    let same = manager.acquire_or_disabled(&options);
    assert!(
        same.settings_conflicts().is_empty(),
        "{:?}",
        same.settings_conflicts()
    );
    let other = pat_options("adb-1.azuredatabricks.net")
        .with_options(&options_for(&endpoint))
        .with_reqwest_client(reqwest::Client::new(), "proxy=http://p:3128");
    let conflicting = manager.acquire_or_disabled(&other);
    assert!(
        format!("{:?}", conflicting.settings_conflicts()).contains("transport"),
        "{:?}",
        conflicting.settings_conflicts()
    );
    let outcome = telemetry.connection_closed(Ok::<(), &Error>(()), Duration::from_millis(1));
    assert_eq!(
        outcome.result,
        CloseResult::Completed,
        "{:?}",
        outcome.stats
    );
    let stats = manager.shutdown(Duration::from_secs(10)).stats;
    assert_eq!(stats.exported, 2, "{stats:?}");
    let logs = endpoint.logs().join("\n");
    assert!(logs.contains("01f0-reqwest"), "{logs}");
}
