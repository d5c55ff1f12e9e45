//! Options as a driver holds them: both prefixes, typed values, one option checked at a time,
//! `endpoint` and `org_id`, and the driver's defaults below the environment. The environment
//! is always injected; these tests never read or change the process environment.

use std::collections::HashMap;
use std::time::Duration;

use databricks_telemetry::config::ConfigValue;
use databricks_telemetry::unstable::{Scheme, ServiceEndpoint};
use databricks_telemetry::{ConfigError, TelemetryConfig};

const SHORT: &str = "databricks.telemetry.";
const ADBC: &str = "adbc.databricks.telemetry.";

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

/// Reads options (full keys, any values) with an empty environment.
fn read<V: Into<ConfigValue>>(
    options: impl IntoIterator<Item = (String, V)>,
) -> Result<TelemetryConfig, ConfigError> {
    TelemetryConfig::from_options_with_env(options, no_env)
}

/// `pairs` by short name, under `prefix`.
fn under(prefix: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (format!("{prefix}{name}"), (*value).to_owned()))
        .collect()
}

/// A value for every key that is not its default.
const EVERY_KEY: [(&str, &str); 23] = [
    ("enabled", "false"),
    ("force_enabled", "true"),
    ("batch_size", "250"),
    ("flush_interval_ms", "1500"),
    ("max_queue_size", "5000"),
    ("close_timeout_ms", "3000"),
    ("request_timeout_ms", "7000"),
    ("max_retries", "0"),
    ("max_export_attempts", "40"),
    ("max_pending_events", "2000"),
    ("retry_base_delay_ms", "50"),
    ("retry_max_delay_ms", "2000"),
    ("circuit_breaker_enabled", "false"),
    ("circuit_breaker_threshold", "9"),
    ("circuit_breaker_timeout_ms", "30000"),
    ("circuit_breaker_success_threshold", "3"),
    ("circuit_breaker_max_open_ms", "120000"),
    ("feature_flag_driver", "Rust_Kernel-2"),
    ("feature_flag_name", "a.flag,b.flag"),
    ("feature_flag_timeout_ms", "750"),
    ("allow_insecure_http", "true"),
    ("endpoint", "http://127.0.0.1:8080"),
    ("org_id", "6051921418418893"),
];

// ---- both prefixes ----

#[test]
fn both_prefixes_name_the_same_settings() {
    let adbc = read(under(ADBC, &EVERY_KEY)).unwrap();
    let short = read(under(SHORT, &EVERY_KEY)).unwrap();
    assert_eq!(adbc, short);
    assert_ne!(adbc, TelemetryConfig::default());
    assert_eq!(short.batch_size(), 250);
    assert_eq!(short.endpoint(), Some("http://127.0.0.1:8080"));
    assert_eq!(short.org_id(), Some("6051921418418893"));
}

#[test]
fn databricks_telemetry_enabled_is_read_not_ignored() {
    let config = read(under(SHORT, &[("enabled", "false")])).unwrap();
    assert!(!config.enabled());
}

#[test]
fn the_last_value_given_wins_whichever_prefix_it_used() {
    let adbc_then_short = read([
        (format!("{ADBC}batch_size"), "10"),
        (format!("{SHORT}batch_size"), "20"),
    ])
    .unwrap();
    assert_eq!(adbc_then_short.batch_size(), 20);
    let short_then_adbc = read([
        (format!("{SHORT}batch_size"), "20"),
        (format!("{ADBC}batch_size"), "10"),
    ])
    .unwrap();
    assert_eq!(short_then_adbc.batch_size(), 10);
}

#[test]
fn errors_name_the_key_as_given_and_suggest_under_its_prefix() {
    assert_eq!(
        read([(format!("{SHORT}batch_size"), "0")]).unwrap_err().to_string(),
        "invalid value \"0\" for databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );
    assert_eq!(
        read([(format!("{SHORT}batch_sise"), "50")])
            .unwrap_err()
            .to_string(),
        "unknown option databricks.telemetry.batch_sise (value \"50\"): did you mean databricks.telemetry.batch_size?"
    );
    assert_eq!(
        read([("databricks.telemetri.enabled".to_owned(), "false")])
            .unwrap_err()
            .to_string(),
        "unknown option databricks.telemetri.enabled (value \"false\"): did you mean databricks.telemetry.enabled?"
    );
    // A rule between two settings names each as it was given.
    assert_eq!(
        read([
            (format!("{SHORT}batch_size"), "500"),
            (format!("{ADBC}max_queue_size"), "100"),
        ])
        .unwrap_err()
        .to_string(),
        "databricks.telemetry.batch_size (500) must not exceed adbc.databricks.telemetry.max_queue_size (100)"
    );
}

#[test]
fn the_rust_drivers_own_options_are_not_ours() {
    let config = read(
        [
            ("databricks.http_path", "/sql/1.0/warehouses/abc?o=123"),
            ("databricks.http.proxy.url", "http://proxy:3128"),
            ("databricks.retry.auth.max_retries", "0"),
            ("databricks.cloudfetch.enabled", "maybe"),
            ("databricks.log_level", "trace"),
            ("databricks.telemetry_enabled", "no"),
        ]
        .map(|(key, value)| (key.to_owned(), value)),
    )
    .unwrap();
    assert_eq!(config, TelemetryConfig::default());
}

// ---- typed values ----

#[test]
fn typed_and_string_options_give_the_same_config() {
    let typed: Vec<(String, ConfigValue)> = vec![
        (format!("{SHORT}enabled"), false.into()),
        (format!("{SHORT}force_enabled"), 1.into()),
        (format!("{SHORT}batch_size"), 250.into()),
        (format!("{SHORT}flush_interval_ms"), 1500_i64.into()),
        (format!("{SHORT}max_queue_size"), 5000.0.into()),
        (format!("{SHORT}close_timeout_ms"), 3000_u32.into()),
        (format!("{SHORT}request_timeout_ms"), ConfigValue::Int(7000)),
        (format!("{SHORT}max_retries"), 0.into()),
        (format!("{SHORT}circuit_breaker_enabled"), 0.into()),
        (format!("{SHORT}allow_insecure_http"), true.into()),
        (format!("{SHORT}endpoint"), "http://127.0.0.1:8080".into()),
        (format!("{SHORT}org_id"), 6_051_921_418_418_893_i64.into()),
    ];
    let text = under(
        SHORT,
        &[
            ("enabled", "false"),
            ("force_enabled", "true"),
            ("batch_size", "250"),
            ("flush_interval_ms", "1500"),
            ("max_queue_size", "5000"),
            ("close_timeout_ms", "3000"),
            ("request_timeout_ms", "7000"),
            ("max_retries", "0"),
            ("circuit_breaker_enabled", "false"),
            ("allow_insecure_http", "true"),
            ("endpoint", "http://127.0.0.1:8080"),
            ("org_id", "6051921418418893"),
        ],
    );
    let from_typed = read(typed).unwrap();
    assert_eq!(from_typed, read(text).unwrap());
    assert_eq!(from_typed.batch_size(), 250);
    assert!(from_typed.force_enabled());
    assert!(!from_typed.circuit_breaker_enabled());

    // The issue's own example.
    assert_eq!(
        TelemetryConfig::from_options_with_env([("databricks.telemetry.batch_size", 200)], no_env)
            .unwrap(),
        TelemetryConfig::from_options_with_env(
            [("databricks.telemetry.batch_size", "200")],
            no_env
        )
        .unwrap()
    );
}

#[test]
fn an_integer_for_a_bool_key_is_0_or_1() {
    let key = format!("{SHORT}enabled");
    assert!(read([(key.clone(), 1)]).unwrap().enabled());
    assert!(!read([(key.clone(), 0)]).unwrap().enabled());
    for bad in [2, -1] {
        assert_eq!(
            read([(key.clone(), bad)]).unwrap_err(),
            ConfigError::InvalidValue {
                key: key.clone(),
                value: bad.to_string(),
                expected: "true, false, 1 or 0".to_owned(),
            }
        );
    }
}

#[test]
fn a_value_of_a_type_the_key_does_not_take_is_rejected_showing_it() {
    let cases: [(&str, ConfigValue, &str); 7] = [
        ("batch_size", true.into(), "\"true\" for databricks.telemetry.batch_size: expected an integer from 1 to 10000"),
        ("batch_size", 2.5.into(), "\"2.5\" for databricks.telemetry.batch_size: expected an integer from 1 to 10000"),
        ("batch_size", (-5).into(), "\"-5\" for databricks.telemetry.batch_size: expected an integer from 1 to 10000"),
        ("flush_interval_ms", f64::NAN.into(), "\"NaN\" for databricks.telemetry.flush_interval_ms: expected a number of milliseconds from 10 to 3600000"),
        ("enabled", 1.0.into(), "\"1.0\" for databricks.telemetry.enabled: expected true, false, 1 or 0"),
        ("feature_flag_driver", true.into(), "\"true\" for databricks.telemetry.feature_flag_driver: expected 1 to 64 ASCII letters, digits, '_' or '-' (a URL path segment)"),
        ("org_id", (-7).into(), "\"-7\" for databricks.telemetry.org_id: expected a workspace (org) id: decimal digits, at most 9223372036854775807"),
    ];
    for (name, value, error) in cases {
        assert_eq!(
            read([(format!("{SHORT}{name}"), value.clone())])
                .unwrap_err()
                .to_string(),
            format!("invalid value {error}"),
            "{name} = {value:?}"
        );
    }
}

#[test]
fn a_map_of_typed_values_is_read_as_it_is() {
    let mut options: HashMap<String, ConfigValue> = HashMap::new();
    options.insert(format!("{SHORT}batch_size"), 20.into());
    options.insert("databricks.warehouse_id".to_owned(), "abc".into());
    let config = TelemetryConfig::from_options_with_env(&options, no_env).unwrap();
    assert_eq!(config.batch_size(), 20);
}

// ---- one option at a time ----

#[test]
fn check_option_gives_the_error_the_full_read_gives() {
    let cases: Vec<(String, ConfigValue)> = vec![
        (format!("{SHORT}batch_size"), "0".into()),
        (format!("{ADBC}batch_size"), 10_001.into()),
        (format!("{SHORT}enabled"), 2.into()),
        (format!("{SHORT}flush_interval_ms"), "5s".into()),
        (format!("{SHORT}endpoint"), "http://example.com".into()),
        (format!("{SHORT}endpoint"), "https://host/path".into()),
        (format!("{SHORT}org_id"), "o-123".into()),
        (format!("{SHORT}feature_flag_name"), "".into()),
        (format!("{SHORT}batch_sise"), 5.into()),
        ("databricks.telemetri.enabled".to_owned(), true.into()),
    ];
    for (key, value) in cases {
        let alone = TelemetryConfig::check_option(&key, value.clone()).unwrap_err();
        let full = read([(key.clone(), value.clone())]).unwrap_err();
        assert_eq!(alone, full, "{key} = {value:?}");
    }
}

#[test]
fn check_option_accepts_good_values_and_leaves_the_drivers_own_alone() {
    for (name, value) in EVERY_KEY {
        assert_eq!(
            TelemetryConfig::check_option(&format!("{SHORT}{name}"), value),
            Ok(true),
            "{name}"
        );
        assert_eq!(
            TelemetryConfig::check_option(&format!("{ADBC}{name}"), value),
            Ok(true),
            "{name}"
        );
    }
    assert_eq!(
        TelemetryConfig::check_option("databricks.telemetry.batch_size", 200),
        Ok(true)
    );
    assert_eq!(
        TelemetryConfig::check_option("databricks.cloudfetch.enabled", "nonsense"),
        Ok(false)
    );
    assert_eq!(TelemetryConfig::check_option("uri", 5), Ok(false));
}

#[test]
fn check_option_reports_no_rule_between_settings_the_full_read_does() {
    // Set one at a time, as a driver's set_option sees them: each is fine on its own.
    let options: [(String, ConfigValue); 3] = [
        (format!("{SHORT}max_queue_size"), 100.into()),
        (format!("{SHORT}batch_size"), 500.into()),
        (format!("{SHORT}endpoint"), "http://127.0.0.1:8080".into()),
    ];
    for (key, value) in &options {
        assert_eq!(TelemetryConfig::check_option(key, value), Ok(true), "{key}");
    }
    // Together they break two rules; the read reports the first.
    assert_eq!(
        read(options.clone()).unwrap_err().to_string(),
        "databricks.telemetry.batch_size (500) must not exceed databricks.telemetry.max_queue_size (100)"
    );
    let fixed = read([
        options[0].clone(),
        (format!("{SHORT}batch_size"), 50.into()),
        options[2].clone(),
    ])
    .unwrap_err();
    assert_eq!(
        fixed,
        ConfigError::Requires {
            key: format!("{SHORT}endpoint"),
            value: "http://127.0.0.1:8080".to_owned(),
            required_key: format!("{SHORT}allow_insecure_http"),
            required_value: "true".to_owned(),
        }
    );
    assert_eq!(
        fixed.to_string(),
        "databricks.telemetry.endpoint (http://127.0.0.1:8080) requires databricks.telemetry.allow_insecure_http=true"
    );
}

// ---- endpoint and org id ----

#[test]
fn endpoint_is_a_host_or_url_in_one_spelling_that_service_endpoint_accepts() {
    for (given, spelled, scheme) in [
        (
            "Adb-1.Example.NET",
            "https://adb-1.example.net",
            Scheme::Https,
        ),
        (
            "https://adb-1.example.net:443/",
            "https://adb-1.example.net",
            Scheme::Https,
        ),
        (
            "adb-1.example.net:8443",
            "https://adb-1.example.net:8443",
            Scheme::Https,
        ),
        ("http://LOCALHOST:9", "http://localhost:9", Scheme::Http),
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080",
            Scheme::Http,
        ),
    ] {
        let config = read(under(
            SHORT,
            &[("endpoint", given), ("allow_insecure_http", "true")],
        ))
        .unwrap();
        assert_eq!(config.endpoint(), Some(spelled), "{given}");
        let endpoint =
            ServiceEndpoint::parse(config.endpoint().unwrap(), config.allow_insecure_http())
                .unwrap();
        assert_eq!(endpoint.scheme(), scheme, "{given}");
        assert_eq!(endpoint.to_string(), spelled, "{given}");
    }
    assert_eq!(TelemetryConfig::default().endpoint(), None);
}

#[test]
fn a_bad_endpoint_is_rejected_and_plain_http_stays_loopback_only() {
    let expected = "a host or URL without a path (host[:port], https://host[:port], or \
                    http://host:port for a loopback host only)";
    for bad in [
        "",
        "http://example.com",
        "http://192.168.1.10:8080",
        "ftp://host",
        "https://token:secret@host",
        "https://host/telemetry-ext",
    ] {
        // Even with allow_insecure_http: plain http is for this machine only.
        let error = read(under(
            SHORT,
            &[("allow_insecure_http", "true"), ("endpoint", bad)],
        ))
        .unwrap_err();
        assert_eq!(
            error,
            ConfigError::InvalidValue {
                key: format!("{SHORT}endpoint"),
                value: bad.to_owned(),
                expected: expected.to_owned(),
            },
            "{bad}"
        );
    }
    // The builder: the same rules, under the adbc key.
    let error = TelemetryConfig::builder()
        .with_endpoint("http://127.0.0.1:8080")
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "adbc.databricks.telemetry.endpoint (http://127.0.0.1:8080) requires adbc.databricks.telemetry.allow_insecure_http=true"
    );
    let config = TelemetryConfig::builder()
        .with_endpoint("http://127.0.0.1:8080")
        .with_allow_insecure_http(true)
        .build()
        .unwrap();
    assert_eq!(config.endpoint(), Some("http://127.0.0.1:8080"));
    let error = TelemetryConfig::builder()
        .with_endpoint("http://example.com")
        .with_allow_insecure_http(true)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("invalid value \"http://example.com\" for adbc.databricks.telemetry.endpoint: expected {expected}")
    );
}

#[test]
fn org_id_is_decimal_digits_within_i64() {
    let config = read(under(SHORT, &[("org_id", " 6051921418418893 ")])).unwrap();
    assert_eq!(config.org_id(), Some("6051921418418893"));
    let config = read([(format!("{SHORT}org_id"), 42)]).unwrap();
    assert_eq!(config.org_id(), Some("42"));
    assert_eq!(TelemetryConfig::default().org_id(), None);
    let config = TelemetryConfig::builder()
        .with_org_id("0042")
        .build()
        .unwrap();
    assert_eq!(
        config.org_id(),
        Some("42"),
        "one spelling: no leading zeros"
    );
    for bad in ["", "o=42", "-42", "4 2", "9223372036854775808"] {
        assert_eq!(
            read(under(SHORT, &[("org_id", bad)])).unwrap_err().to_string(),
            format!(
                "invalid value {bad:?} for databricks.telemetry.org_id: expected a workspace (org) id: decimal digits, at most 9223372036854775807"
            )
        );
    }
    assert!(TelemetryConfig::builder()
        .with_org_id("abc")
        .build()
        .is_err());
}

// ---- the driver's defaults, the environment, the options ----

#[test]
fn driver_defaults_rank_below_the_environment_and_options_above_it() {
    let defaults = [(format!("{SHORT}enabled"), ConfigValue::from(false))];
    let none: [(&str, &str); 0] = [];
    let read = |options: &[(&str, &str)], env: &[(&str, &str)]| {
        TelemetryConfig::from_options_with_defaults_and_env(
            defaults.clone(),
            under(SHORT, options),
            env_of(env),
        )
        .unwrap()
    };
    assert!(!read(&[], &[]).enabled(), "the driver's default");
    assert!(
        read(&[], &[("DATABRICKS_TELEMETRY_ENABLED", "true")]).enabled(),
        "the environment beats the driver's default"
    );
    assert!(
        !read(
            &[("enabled", "false")],
            &[("DATABRICKS_TELEMETRY_ENABLED", "true")]
        )
        .enabled(),
        "an option beats the environment"
    );
    assert!(
        !read(&[], &[("DATABRICKS_TELEMETRY_ENABLED", "maybe")]).enabled(),
        "a bad variable falls back to the driver's default"
    );
    // No defaults at all: the same as from_options_with_env.
    assert_eq!(
        TelemetryConfig::from_options_with_defaults_and_env(none, none, env_of(&[])).unwrap(),
        TelemetryConfig::default()
    );
}

#[test]
fn a_bad_driver_default_is_an_error_naming_it() {
    let none: [(&str, &str); 0] = [];
    let error = TelemetryConfig::from_options_with_defaults_and_env(
        [(format!("{SHORT}flush_interval_ms"), 5)],
        none,
        no_env,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value \"5\" for databricks.telemetry.flush_interval_ms: expected a number of milliseconds from 10 to 3600000"
    );
}

#[test]
fn a_variable_that_breaks_a_rule_falls_back_to_the_driver_default() {
    let config = TelemetryConfig::from_options_with_defaults_and_env(
        [(format!("{SHORT}batch_size"), 50)],
        [(format!("{SHORT}max_queue_size"), 100)],
        env_of(&[
            ("DATABRICKS_TELEMETRY_BATCH_SIZE", "500"),
            ("DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS", "250"),
        ]),
    )
    .unwrap();
    assert_eq!(config.batch_size(), 50);
    assert_eq!(config.max_queue_size(), 100);
    assert_eq!(
        config.flush_interval(),
        Duration::from_millis(250),
        "the other variable still counts"
    );
}

// ---- as a driver calls it ----

/// A driver's database: `set_option` checks each telemetry option as it comes and keeps it, in
/// order, with the driver's own options set aside; connect reads them all over the driver's
/// defaults and the environment.
#[derive(Default)]
struct Database {
    telemetry_options: Vec<(String, ConfigValue)>,
    own_options: Vec<String>,
}

impl Database {
    fn set_option(&mut self, key: &str, value: ConfigValue) -> Result<(), ConfigError> {
        if TelemetryConfig::check_option(key, value.clone())? {
            self.telemetry_options.push((key.to_owned(), value));
        } else {
            self.own_options.push(key.to_owned());
        }
        Ok(())
    }

    fn connect(&self, env: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
        TelemetryConfig::from_options_with_defaults_and_env(
            [("databricks.telemetry.enabled", false)],
            self.telemetry_options.iter().cloned(),
            env_of(env),
        )
    }
}

#[test]
fn a_driver_checks_in_set_option_and_reads_everything_at_connect() {
    let mut database = Database::default();
    database
        .set_option(
            "databricks.http_path",
            "/sql/1.0/warehouses/abc?o=42".into(),
        )
        .unwrap();
    // Set before the queue size that makes it valid: no false "exceeds" here.
    database
        .set_option("databricks.telemetry.batch_size", 20_000.0.into())
        .unwrap_err();
    database
        .set_option("databricks.telemetry.batch_size", 500.into())
        .unwrap();
    database
        .set_option("databricks.telemetry.max_queue_size", 1_000.into())
        .unwrap();
    database
        .set_option("databricks.telemetry.org_id", 42.into())
        .unwrap();
    assert_eq!(database.own_options, ["databricks.http_path"]);

    let config = database.connect(&[]).unwrap();
    assert!(!config.enabled(), "the driver ships telemetry off");
    assert_eq!(config.batch_size(), 500);
    assert_eq!(config.max_queue_size(), 1_000);
    assert_eq!(config.org_id(), Some("42"));
    let config = database
        .connect(&[
            ("DATABRICKS_TELEMETRY_ENABLED", "1"),
            ("DATABRICKS_TELEMETRY_BATCH_SIZE", "5000"),
        ])
        .unwrap();
    assert!(config.enabled(), "the user turned it on");
    assert_eq!(config.batch_size(), 500, "the option beats the environment");
}
