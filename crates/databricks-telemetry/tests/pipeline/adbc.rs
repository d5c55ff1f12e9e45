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
    telemetry.connection_opened(Ok("01f0-session"), Duration::from_millis(90));
    assert!(telemetry.session_context().is_some());

    let statement = telemetry.begin(OperationType::ExecuteStatement);
    let error = Error::with_message_and_status("SELECT secret FROM t failed", Status::IO);
    assert!(statement.failed(&error));
    assert!(!statement.failed(&error), "sent once");

    let outcome = telemetry.connection_closed(Ok(()), Duration::from_millis(5));
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
