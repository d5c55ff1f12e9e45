//! `TelemetryOptions`: options set one at a time (ADBC's `set_option` / `get_option`), checked
//! as they come, read at connect with the documented precedence. The environment is always
//! injected; these tests never read or change the process environment.

use std::time::Duration;

use databricks_telemetry::config::{ConfigValue, TelemetryOptions};
use databricks_telemetry::{ConfigError, TelemetryConfig};

/// An environment holding exactly `vars`.
fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| {
        vars.iter()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn set_checks_with_check_options_exact_error_and_keeps_nothing_rejected() {
    let cases: [(&str, ConfigValue); 5] = [
        ("databricks.telemetry.batch_size", 0.into()),
        ("adbc.databricks.telemetry.batch_sise", 50.into()),
        ("databricks.telemetri.enabled", true.into()),
        ("databricks.telemetry.enabled", "yes".into()),
        ("databricks.telemetry.flush_interval_ms", 2.5.into()),
    ];
    for (key, value) in cases {
        let mut options = TelemetryOptions::new();
        let expected = TelemetryConfig::check_option(key, value.clone()).unwrap_err();
        assert_eq!(options.set(key, value), Err(expected), "{key}");
        assert!(options.is_empty(), "{key}: a rejected option is not kept");
        assert_eq!(options.get(key), None);
    }
}

#[test]
fn a_key_of_the_drivers_own_is_not_ours_and_kept_nowhere() {
    let mut options = TelemetryOptions::new();
    for key in [
        "databricks.http_path",
        "adbc.connection.autocommit",
        "uri",
        "databricks.cloudfetch.enabled",
    ] {
        assert_eq!(options.set(key, "x"), Ok(false), "{key}");
        assert_eq!(options.get(key), None, "{key}");
    }
    assert!(options.is_empty());
    assert_eq!(options.iter().count(), 0);
}

#[test]
fn get_gives_the_last_value_set_under_either_prefix_as_given() {
    let mut options = TelemetryOptions::new();
    assert_eq!(options.get("databricks.telemetry.batch_size"), None);
    options
        .set("databricks.telemetry.batch_size", "50")
        .unwrap();
    options
        .set("adbc.databricks.telemetry.batch_size", 200)
        .unwrap();
    for key in [
        "databricks.telemetry.batch_size",
        "adbc.databricks.telemetry.batch_size",
    ] {
        assert_eq!(options.get(key), Some(&ConfigValue::Int(200)), "{key}");
    }
    options
        .set("databricks.telemetry.batch_size", "75")
        .unwrap();
    assert_eq!(
        options.get("adbc.databricks.telemetry.batch_size"),
        Some(&ConfigValue::String("75".into()))
    );
    // What get says is what the configuration uses.
    assert_eq!(options.config_with_env(no_env).unwrap().batch_size(), 75);
    // Every value set, in order, under the key as given.
    let set: Vec<(String, String)> = options
        .iter()
        .map(|(key, value)| (key.to_owned(), value.to_string()))
        .collect();
    assert_eq!(
        set,
        [
            (
                "databricks.telemetry.batch_size".to_owned(),
                "50".to_owned()
            ),
            (
                "adbc.databricks.telemetry.batch_size".to_owned(),
                "200".to_owned()
            ),
            (
                "databricks.telemetry.batch_size".to_owned(),
                "75".to_owned()
            ),
        ]
    );
    // An unknown telemetry key, or a near miss, names no setting: nothing to get.
    assert_eq!(options.get("databricks.telemetry.batch_sise"), None);
    assert_eq!(options.get("databricks.telemetri.batch_size"), None);
}

#[test]
fn config_ranks_options_over_the_environment_over_driver_defaults_over_the_library() {
    let options = TelemetryOptions::new()
        .with_default("databricks.telemetry.enabled", false)
        .unwrap()
        .with_default("adbc.databricks.telemetry.flush_interval_ms", 1_000)
        .unwrap()
        .with_default("databricks.telemetry.batch_size", 10)
        .unwrap();

    // Only the driver's defaults.
    let config = options.config_with_env(no_env).unwrap();
    assert!(!config.enabled(), "the driver ships telemetry off");
    assert_eq!(config.flush_interval(), Duration::from_secs(1));
    assert_eq!(config.batch_size(), 10);
    assert_eq!(
        config.max_queue_size(),
        TelemetryConfig::default().max_queue_size()
    );

    // The environment beats the driver's defaults.
    let env = env_of(&[
        ("DATABRICKS_TELEMETRY_ENABLED", "true"),
        ("DATABRICKS_TELEMETRY_BATCH_SIZE", "20"),
    ]);
    let config = options.config_with_env(&env).unwrap();
    assert!(config.enabled(), "the user's environment turns it on");
    assert_eq!(config.batch_size(), 20);

    // An option beats both.
    let mut options = options;
    options.set("databricks.telemetry.batch_size", 30).unwrap();
    options.set("databricks.telemetry.enabled", "0").unwrap();
    let config = options.config_with_env(&env).unwrap();
    assert!(!config.enabled());
    assert_eq!(config.batch_size(), 30);
    assert_eq!(config.flush_interval(), Duration::from_secs(1));
    // Defaults are not options: get does not show them.
    assert_eq!(options.get("databricks.telemetry.flush_interval_ms"), None);
}

#[test]
fn a_later_default_for_a_setting_replaces_an_earlier_one() {
    let options = TelemetryOptions::new()
        .with_default("databricks.telemetry.batch_size", 10)
        .unwrap()
        .with_default("adbc.databricks.telemetry.batch_size", 40)
        .unwrap();
    assert_eq!(options.config_with_env(no_env).unwrap().batch_size(), 40);
}

#[test]
fn a_bad_driver_default_is_an_error_and_so_is_a_key_of_the_drivers_own() {
    let error = TelemetryOptions::new()
        .with_default("databricks.telemetry.batch_size", 0)
        .unwrap_err();
    assert_eq!(
        error,
        TelemetryConfig::check_option("databricks.telemetry.batch_size", 0).unwrap_err()
    );
    let error = TelemetryOptions::new()
        .with_default("databricks.http_path", "/sql")
        .unwrap_err();
    assert!(
        matches!(&error, ConfigError::UnknownOption { key, .. } if key == "databricks.http_path"),
        "{error}"
    );
}

#[test]
fn rules_between_settings_are_checked_at_config_whatever_order_they_were_set_in() {
    let mut options = TelemetryOptions::new();
    // Each valid on its own; only the queue size set last makes the pair valid.
    options
        .set("databricks.telemetry.max_queue_size", 1_000)
        .unwrap();
    options
        .set("databricks.telemetry.batch_size", 5_000)
        .unwrap();
    let error = options.config_with_env(no_env).unwrap_err();
    assert!(matches!(error, ConfigError::Exceeds { .. }), "{error}");
    options
        .set("databricks.telemetry.max_queue_size", 20_000)
        .unwrap();
    let config = options.config_with_env(no_env).unwrap();
    assert_eq!(config.batch_size(), 5_000);
    assert_eq!(config.max_queue_size(), 20_000);

    let mut options = TelemetryOptions::new();
    options
        .set("databricks.telemetry.endpoint", "http://127.0.0.1:8080")
        .unwrap();
    assert!(matches!(
        options.config_with_env(no_env),
        Err(ConfigError::Requires { .. })
    ));
    options
        .set("databricks.telemetry.allow_insecure_http", true)
        .unwrap();
    assert_eq!(
        options.config_with_env(no_env).unwrap().endpoint(),
        Some("http://127.0.0.1:8080")
    );
}

#[test]
fn the_config_is_the_one_from_options_reads_from_the_same_pairs() {
    let pairs: [(&str, ConfigValue); 4] = [
        ("databricks.telemetry.batch_size", 50.into()),
        ("adbc.databricks.telemetry.force_enabled", true.into()),
        ("databricks.telemetry.org_id", "1234".into()),
        ("databricks.telemetry.batch_size", 60.0.into()),
    ];
    let mut options = TelemetryOptions::new();
    for (key, value) in pairs.clone() {
        assert_eq!(options.set(key, value), Ok(true));
    }
    assert_eq!(
        options.config_with_env(no_env).unwrap(),
        TelemetryConfig::from_options_with_env(pairs, no_env).unwrap()
    );
}

#[test]
fn a_databases_options_are_cloned_into_each_connection() {
    let mut database = TelemetryOptions::new()
        .with_default("databricks.telemetry.enabled", false)
        .unwrap();
    database.set("databricks.telemetry.batch_size", 50).unwrap();
    let mut connection = database.clone();
    connection
        .set("databricks.telemetry.enabled", true)
        .unwrap();
    assert!(
        connection.config_with_env(no_env).unwrap().enabled(),
        "the connection's own option"
    );
    assert!(
        !database.config_with_env(no_env).unwrap().enabled(),
        "the database is unchanged"
    );
    assert_eq!(connection.config_with_env(no_env).unwrap().batch_size(), 50);
}
