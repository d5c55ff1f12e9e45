//! `TelemetryConfig`: defaults, every option key, environment overrides, precedence, and the
//! exact error for each kind of bad value. The environment is always injected; these tests never
//! read or change the process environment.

use std::cell::RefCell;
use std::time::Duration;

use databricks_telemetry::{ConfigError, TelemetryConfig};

const ENABLED_VAR: &str = "DATABRICKS_TELEMETRY_ENABLED";
const BATCH_SIZE_VAR: &str = "DATABRICKS_TELEMETRY_BATCH_SIZE";
const FLUSH_INTERVAL_VAR: &str = "DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS";

/// The full option key for `name`.
fn key(name: &str) -> String {
    format!("adbc.databricks.telemetry.{name}")
}

/// Options given by short name, each prefixed.
fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (key(name), (*value).to_owned()))
        .collect()
}

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

/// Parses prefixed options (by short name) with an empty environment.
fn parse(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
    TelemetryConfig::from_options_with_env(options(pairs), env_of(&[]))
}

/// The error text for prefixed options (by short name) with an empty environment.
fn error_text(pairs: &[(&str, &str)]) -> String {
    match parse(pairs) {
        Ok(config) => panic!("expected an error for {pairs:?}, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

/// The error text for options given by full key with an empty environment.
fn raw_error_text(pairs: &[(&str, &str)]) -> String {
    match TelemetryConfig::from_options_with_env(pairs.iter().copied(), env_of(&[])) {
        Ok(config) => panic!("expected an error for {pairs:?}, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

// ---- defaults ----

/// The library's defaults (the `with_*` setters of the builder document each).
fn defaults() -> TelemetryConfig {
    TelemetryConfig::default()
}

#[test]
fn defaults_have_the_specified_values() {
    let config = defaults();
    assert_eq!(
        (
            config.enabled(),
            config.force_enabled(),
            config.circuit_breaker_enabled(),
            config.allow_insecure_http()
        ),
        (true, false, true, false)
    );
    assert_eq!(config.batch_size(), 100);
    assert_eq!(config.flush_interval(), Duration::from_secs(5));
    assert_eq!(config.max_queue_size(), 10_000);
    assert_eq!(config.close_timeout(), Duration::from_secs(2));
    assert_eq!(config.request_timeout(), Duration::from_secs(10));
    assert_eq!(config.max_retries(), 3);
    assert_eq!(config.max_export_attempts(), 25);
    assert_eq!(config.max_pending_events(), 100_000);
    assert_eq!(config.retry_base_delay(), Duration::from_millis(100));
    assert_eq!(config.retry_max_delay(), Duration::from_secs(10));
    assert_eq!(config.circuit_breaker_threshold(), 5);
    assert_eq!(config.circuit_breaker_timeout(), Duration::from_secs(60));
    assert_eq!(config.circuit_breaker_success_threshold(), 1);
    assert_eq!(config.circuit_breaker_max_open(), Duration::from_secs(600));
    assert_eq!(config.feature_flag_driver(), "ADBC");
    assert_eq!(
        config.feature_flag_names(),
        [
            "adbc.databricks.telemetry.enabled",
            "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc"
        ]
    );
    assert_eq!(config.feature_flag_timeout(), Duration::from_secs(5));
    assert_eq!(config.endpoint(), None);
    assert_eq!(config.org_id(), None);
    assert_eq!(TelemetryConfig::builder().build(), Ok(config));
}

#[test]
fn no_options_and_no_environment_give_the_defaults() {
    let none: [(&str, &str); 0] = [];
    let config = TelemetryConfig::from_options_with_env(none, env_of(&[])).unwrap();
    assert_eq!(config, TelemetryConfig::default());
    assert_eq!(
        TelemetryConfig::builder().build().unwrap(),
        TelemetryConfig::default()
    );
}

#[test]
fn only_the_documented_variables_are_read() {
    let asked = RefCell::new(Vec::new());
    let none: [(&str, &str); 0] = [];
    TelemetryConfig::from_options_with_env(none, |name| {
        asked.borrow_mut().push(name.to_owned());
        None
    })
    .unwrap();
    let mut asked = asked.into_inner();
    asked.sort();
    assert_eq!(
        asked,
        [
            BATCH_SIZE_VAR,
            ENABLED_VAR,
            FLUSH_INTERVAL_VAR,
            "DATABRICKS_TELEMETRY_SPOOL_DIR",
            "DATABRICKS_TELEMETRY_SPOOL_MAX_AGE_MS",
            "DATABRICKS_TELEMETRY_SPOOL_MAX_BYTES",
        ]
    );
}

#[test]
fn debug_shows_every_setting_by_name() {
    let text = format!("{:?}", TelemetryConfig::default());
    for field in [
        "enabled: true",
        "force_enabled: false",
        "batch_size: 100",
        "flush_interval: 5s",
        "max_queue_size: 10000",
        "feature_flag_driver: \"ADBC\"",
        "allow_insecure_http: false",
    ] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
}

// ---- every key ----

#[test]
fn every_key_is_parsed_into_its_accessor() {
    let config = parse(&[
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
        ("feature_flag_name", " a.flag , b.flag"),
        ("feature_flag_timeout_ms", "750"),
        ("allow_insecure_http", "true"),
    ])
    .unwrap();
    assert!(!config.enabled());
    assert!(config.force_enabled());
    assert_eq!(config.batch_size(), 250);
    assert_eq!(config.flush_interval(), Duration::from_millis(1500));
    assert_eq!(config.max_queue_size(), 5000);
    assert_eq!(config.close_timeout(), Duration::from_millis(3000));
    assert_eq!(config.request_timeout(), Duration::from_millis(7000));
    assert_eq!(config.max_retries(), 0);
    assert_eq!(config.max_export_attempts(), 40);
    assert_eq!(config.max_pending_events(), 2000);
    assert_eq!(config.retry_base_delay(), Duration::from_millis(50));
    assert_eq!(config.retry_max_delay(), Duration::from_millis(2000));
    assert!(!config.circuit_breaker_enabled());
    assert_eq!(config.circuit_breaker_threshold(), 9);
    assert_eq!(
        config.circuit_breaker_timeout(),
        Duration::from_millis(30_000)
    );
    assert_eq!(config.circuit_breaker_success_threshold(), 3);
    assert_eq!(
        config.circuit_breaker_max_open(),
        Duration::from_millis(120_000)
    );
    assert_eq!(config.feature_flag_driver(), "Rust_Kernel-2");
    assert_eq!(config.feature_flag_names(), ["a.flag", "b.flag"]);
    assert_eq!(config.feature_flag_timeout(), Duration::from_millis(750));
    assert!(config.allow_insecure_http());
}

#[test]
fn the_builder_sets_every_field() {
    let built = TelemetryConfig::builder()
        .with_enabled(false)
        .with_force_enabled(true)
        .with_batch_size(250)
        .with_flush_interval(Duration::from_millis(1500))
        .with_max_queue_size(5000)
        .with_close_timeout(Duration::from_millis(3000))
        .with_request_timeout(Duration::from_millis(7000))
        .with_max_retries(0)
        .with_retry_base_delay(Duration::from_millis(50))
        .with_retry_max_delay(Duration::from_millis(2000))
        .with_circuit_breaker_enabled(false)
        .with_circuit_breaker_threshold(9)
        .with_circuit_breaker_timeout(Duration::from_millis(30_000))
        .with_circuit_breaker_success_threshold(3)
        .with_circuit_breaker_max_open(Duration::from_millis(120_000))
        .with_feature_flag_driver("Rust_Kernel-2")
        .with_feature_flag_names(["a.flag", "b.flag"])
        .with_feature_flag_timeout(Duration::from_millis(750))
        .with_allow_insecure_http(true)
        .build()
        .unwrap();
    let parsed = parse(&[
        ("enabled", "false"),
        ("force_enabled", "true"),
        ("batch_size", "250"),
        ("flush_interval_ms", "1500"),
        ("max_queue_size", "5000"),
        ("close_timeout_ms", "3000"),
        ("request_timeout_ms", "7000"),
        ("max_retries", "0"),
        ("retry_base_delay_ms", "50"),
        ("retry_max_delay_ms", "2000"),
        ("circuit_breaker_enabled", "false"),
        ("circuit_breaker_threshold", "9"),
        ("circuit_breaker_timeout_ms", "30000"),
        ("circuit_breaker_success_threshold", "3"),
        ("circuit_breaker_max_open_ms", "120000"),
        ("feature_flag_driver", "Rust_Kernel-2"),
        ("feature_flag_name", " a.flag , b.flag"),
        ("feature_flag_timeout_ms", "750"),
        ("allow_insecure_http", "true"),
    ])
    .unwrap();
    assert_eq!(built, parsed);
    assert_ne!(built, TelemetryConfig::default());
}

/// A numeric key with its documented range, and the options that keep its neighbours
/// consistent at the extremes.
struct NumericRange {
    name: &'static str,
    min: u64,
    max: u64,
    neighbours: &'static [(&'static str, &'static str)],
}

/// Every numeric key, with the range the specification gives it.
const NUMERIC_RANGES: &[NumericRange] = &[
    NumericRange {
        name: "max_export_attempts",
        min: 1,
        max: 1_000,
        neighbours: &[],
    },
    NumericRange {
        name: "max_pending_events",
        min: 1,
        max: 100_000_000,
        neighbours: &[],
    },
    NumericRange {
        name: "batch_size",
        min: 1,
        max: 10_000,
        neighbours: &[],
    },
    NumericRange {
        name: "flush_interval_ms",
        min: 10,
        max: 3_600_000,
        neighbours: &[],
    },
    NumericRange {
        name: "max_queue_size",
        min: 1,
        max: 1_000_000,
        neighbours: &[("batch_size", "1")],
    },
    NumericRange {
        name: "close_timeout_ms",
        min: 1,
        max: 600_000,
        neighbours: &[],
    },
    NumericRange {
        name: "request_timeout_ms",
        min: 1,
        max: 300_000,
        neighbours: &[],
    },
    NumericRange {
        name: "max_retries",
        min: 0,
        max: 10,
        neighbours: &[],
    },
    NumericRange {
        name: "retry_base_delay_ms",
        min: 1,
        max: 60_000,
        neighbours: &[("retry_max_delay_ms", "600000")],
    },
    NumericRange {
        name: "retry_max_delay_ms",
        min: 1,
        max: 600_000,
        neighbours: &[("retry_base_delay_ms", "1")],
    },
    NumericRange {
        name: "circuit_breaker_threshold",
        min: 1,
        max: 1_000,
        neighbours: &[],
    },
    NumericRange {
        name: "circuit_breaker_timeout_ms",
        min: 1,
        max: 86_400_000,
        neighbours: &[("circuit_breaker_max_open_ms", "86400000")],
    },
    NumericRange {
        name: "circuit_breaker_success_threshold",
        min: 1,
        max: 100,
        neighbours: &[],
    },
    NumericRange {
        name: "circuit_breaker_max_open_ms",
        min: 1,
        max: 86_400_000,
        neighbours: &[("circuit_breaker_timeout_ms", "1")],
    },
    NumericRange {
        name: "feature_flag_timeout_ms",
        min: 1,
        max: 60_000,
        neighbours: &[],
    },
];

/// The value of the numeric setting `name` through its accessor (durations in milliseconds).
fn numeric_setting(config: &TelemetryConfig, name: &str) -> u64 {
    let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap();
    match name {
        "batch_size" => config.batch_size() as u64,
        "flush_interval_ms" => millis(config.flush_interval()),
        "max_queue_size" => config.max_queue_size() as u64,
        "close_timeout_ms" => millis(config.close_timeout()),
        "request_timeout_ms" => millis(config.request_timeout()),
        "max_retries" => u64::from(config.max_retries()),
        "max_export_attempts" => u64::from(config.max_export_attempts()),
        "max_pending_events" => config.max_pending_events() as u64,
        "retry_base_delay_ms" => millis(config.retry_base_delay()),
        "retry_max_delay_ms" => millis(config.retry_max_delay()),
        "circuit_breaker_threshold" => u64::from(config.circuit_breaker_threshold()),
        "circuit_breaker_timeout_ms" => millis(config.circuit_breaker_timeout()),
        "circuit_breaker_success_threshold" => {
            u64::from(config.circuit_breaker_success_threshold())
        }
        "circuit_breaker_max_open_ms" => millis(config.circuit_breaker_max_open()),
        "feature_flag_timeout_ms" => millis(config.feature_flag_timeout()),
        other => panic!("{other} is not a numeric setting"),
    }
}

#[test]
fn every_numeric_key_accepts_its_bounds_and_rejects_just_beyond() {
    for range in NUMERIC_RANGES {
        let NumericRange {
            name,
            min,
            max,
            neighbours,
        } = *range;
        let expected = if name.ends_with("_ms") {
            format!("a number of milliseconds from {min} to {max}")
        } else {
            format!("an integer from {min} to {max}")
        };
        for accepted in [min, max] {
            let value = accepted.to_string();
            let mut pairs = neighbours.to_vec();
            pairs.push((name, &value));
            let config = parse(&pairs)
                .unwrap_or_else(|error| panic!("{name}={value} was rejected: {error}"));
            assert_eq!(numeric_setting(&config, name), accepted, "{name}={value}");
        }
        let mut beyond = vec![max + 1];
        if min > 0 {
            beyond.push(min - 1);
        }
        for rejected in beyond {
            let value = rejected.to_string();
            let mut pairs = neighbours.to_vec();
            pairs.push((name, &value));
            assert_eq!(
                error_text(&pairs),
                format!(
                    "invalid value \"{value}\" for {}: expected {expected}",
                    key(name)
                )
            );
        }
    }
}

#[test]
fn booleans_accept_true_false_one_zero_in_any_case_with_whitespace() {
    for (text, expected) in [
        ("true", true),
        ("TRUE", true),
        ("True", true),
        ("1", true),
        (" true\t", true),
        ("false", false),
        ("FaLsE", false),
        ("0", false),
        ("\n0 ", false),
    ] {
        for name in [
            "enabled",
            "force_enabled",
            "circuit_breaker_enabled",
            "allow_insecure_http",
        ] {
            let config = parse(&[(name, text)]).unwrap();
            let actual = match name {
                "enabled" => config.enabled(),
                "force_enabled" => config.force_enabled(),
                "circuit_breaker_enabled" => config.circuit_breaker_enabled(),
                _ => config.allow_insecure_http(),
            };
            assert_eq!(actual, expected, "{name}={text:?}");
        }
    }
}

#[test]
fn integers_ignore_surrounding_whitespace_and_leading_zeros() {
    let config = parse(&[("batch_size", " 0050 "), ("flush_interval_ms", "\t20\n")]).unwrap();
    assert_eq!(config.batch_size(), 50);
    assert_eq!(config.flush_interval(), Duration::from_millis(20));
}

#[test]
fn feature_flag_name_defaults_to_both_adbc_names_and_takes_a_list() {
    let config = TelemetryConfig::default();
    assert_eq!(
        config.feature_flag_names(),
        [
            "adbc.databricks.telemetry.enabled",
            "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc"
        ]
    );
    assert_eq!(config.feature_flag_names(), defaults().feature_flag_names());
    // The flag names do not follow the URL's driver segment.
    let config = parse(&[("feature_flag_driver", "OSS_JDBC")]).unwrap();
    assert_eq!(config.feature_flag_names(), defaults().feature_flag_names());

    let one = "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForJdbc";
    assert_eq!(
        parse(&[("feature_flag_name", one)])
            .unwrap()
            .feature_flag_names(),
        [one]
    );
    assert_eq!(
        parse(&[("feature_flag_name", "x,y,z")])
            .unwrap()
            .feature_flag_names(),
        ["x", "y", "z"]
    );
    let expected = "one or more flag names, comma separated, each 1 to 256 printable ASCII characters without spaces";
    for value in [
        "",
        " ",
        "a,,b",
        "a,",
        "has space",
        "tab\tname",
        "é",
        &"x".repeat(257),
    ] {
        assert_eq!(
            error_text(&[("feature_flag_name", value)]),
            format!(
                "invalid value {value:?} for adbc.databricks.telemetry.feature_flag_name: expected {expected}"
            ),
            "{value:?}"
        );
    }
    let error = TelemetryConfig::builder()
        .with_feature_flag_names(Vec::<String>::new())
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("feature_flag_name"), "{error}");
    let error = TelemetryConfig::builder()
        .with_feature_flag_names(["ok", "a,b"])
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("\"ok,a,b\""), "{error}");
}

#[test]
fn feature_flag_driver_is_trimmed_and_kept_as_given() {
    let config = parse(&[("feature_flag_driver", "  python_KERNEL ")]).unwrap();
    assert_eq!(config.feature_flag_driver(), "python_KERNEL");
    let longest = "D".repeat(64);
    let config = parse(&[("feature_flag_driver", &longest)]).unwrap();
    assert_eq!(config.feature_flag_driver(), longest);
}

// ---- keys that are not ours; duplicates ----

#[test]
fn keys_without_the_prefix_are_ignored() {
    let config = TelemetryConfig::from_options_with_env(
        [
            ("uri", "databricks://example"),
            ("adbc.databricks.warehouse_id", "not a number"),
            ("adbc.databricks.telemetry_batch_size", "0"),
            ("adbc.connection.autocommit", "maybe"),
            ("batch_size", "0"),
            ("", ""),
        ],
        env_of(&[]),
    )
    .unwrap();
    assert_eq!(config, TelemetryConfig::default());
}

#[test]
fn a_key_given_twice_takes_the_last_value() {
    let config = parse(&[("batch_size", "10"), ("batch_size", "20")]).unwrap();
    assert_eq!(config.batch_size(), 20);
}

#[test]
fn a_bad_value_is_an_error_even_when_a_later_one_replaces_it() {
    assert_eq!(
        error_text(&[("batch_size", "lots"), ("batch_size", "20")]),
        "invalid value \"lots\" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );
}

// ---- environment ----

#[test]
fn environment_overrides_enabled() {
    let none: [(&str, &str); 0] = [];
    let config =
        TelemetryConfig::from_options_with_env(none, env_of(&[(ENABLED_VAR, "FALSE")])).unwrap();
    assert!(!config.enabled());
    assert_eq!(config.batch_size(), defaults().batch_size());
}

#[test]
fn environment_overrides_batch_size() {
    let none: [(&str, &str); 0] = [];
    let config =
        TelemetryConfig::from_options_with_env(none, env_of(&[(BATCH_SIZE_VAR, "42")])).unwrap();
    assert_eq!(config.batch_size(), 42);
    assert_eq!(config.flush_interval(), defaults().flush_interval());
}

#[test]
fn environment_overrides_flush_interval() {
    let none: [(&str, &str); 0] = [];
    let config =
        TelemetryConfig::from_options_with_env(none, env_of(&[(FLUSH_INTERVAL_VAR, "250")]))
            .unwrap();
    assert_eq!(config.flush_interval(), Duration::from_millis(250));
    assert!(config.enabled());
}

#[test]
fn option_beats_environment_beats_default() {
    let env = env_of(&[
        (ENABLED_VAR, "0"),
        (BATCH_SIZE_VAR, "42"),
        (FLUSH_INTERVAL_VAR, "250"),
    ]);
    let config = TelemetryConfig::from_options_with_env(
        options(&[("enabled", "1"), ("batch_size", "7")]),
        env,
    )
    .unwrap();
    assert!(config.enabled(), "the option beats the environment");
    assert_eq!(config.batch_size(), 7, "the option beats the environment");
    assert_eq!(
        config.flush_interval(),
        Duration::from_millis(250),
        "the environment beats the default"
    );
    assert_eq!(
        config.max_queue_size(),
        defaults().max_queue_size(),
        "the default fills the rest"
    );
}

#[test]
fn a_variable_is_not_read_when_its_option_is_given() {
    let config = TelemetryConfig::from_options_with_env(
        options(&[("batch_size", "7")]),
        env_of(&[(BATCH_SIZE_VAR, "not a number")]),
    )
    .unwrap();
    assert_eq!(config.batch_size(), 7);
}

#[test]
fn a_bad_environment_value_is_ignored_not_an_error() {
    // What it is ignored for, and the one warning naming it: tests/config/config_env_warning.rs.
    let none: [(&str, &str); 0] = [];
    for (variable, value) in [
        (ENABLED_VAR, "yes"),
        (ENABLED_VAR, ""),
        (BATCH_SIZE_VAR, "0"),
        (BATCH_SIZE_VAR, "-5"),
        (FLUSH_INTERVAL_VAR, "5s"),
    ] {
        let config = TelemetryConfig::from_options_with_env(none, env_of(&[(variable, value)]))
            .unwrap_or_else(|error| panic!("{variable}={value:?} failed: {error}"));
        assert_eq!(config, TelemetryConfig::default(), "{variable}={value:?}");
    }
    // A bad variable does not stop the good ones.
    let config = TelemetryConfig::from_options_with_env(
        none,
        env_of(&[(BATCH_SIZE_VAR, "lots"), (FLUSH_INTERVAL_VAR, "250")]),
    )
    .unwrap();
    assert_eq!(config.batch_size(), defaults().batch_size());
    assert_eq!(config.flush_interval(), Duration::from_millis(250));
}

#[test]
fn a_variable_that_breaks_a_rule_with_an_option_is_ignored() {
    let config = TelemetryConfig::from_options_with_env(
        options(&[("max_queue_size", "100")]),
        env_of(&[(BATCH_SIZE_VAR, "500")]),
    )
    .unwrap();
    assert_eq!(config.batch_size(), defaults().batch_size());
    assert_eq!(config.max_queue_size(), 100);
}

// ---- bad values, with their exact errors ----

#[test]
fn a_wrong_type_is_rejected() {
    assert_eq!(
        error_text(&[("batch_size", "ten")]),
        "invalid value \"ten\" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );
    assert_eq!(
        error_text(&[("flush_interval_ms", "5s")]),
        "invalid value \"5s\" for adbc.databricks.telemetry.flush_interval_ms: expected a number of milliseconds from 10 to 3600000"
    );
    assert_eq!(
        error_text(&[("max_retries", "2.5")]),
        "invalid value \"2.5\" for adbc.databricks.telemetry.max_retries: expected an integer from 0 to 10"
    );
    assert_eq!(
        error_text(&[("max_queue_size", "1_000")]),
        "invalid value \"1_000\" for adbc.databricks.telemetry.max_queue_size: expected an integer from 1 to 1000000"
    );
}

#[test]
fn signs_are_rejected() {
    assert_eq!(
        error_text(&[("batch_size", "+5")]),
        "invalid value \"+5\" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );
    assert_eq!(
        error_text(&[("close_timeout_ms", "-1")]),
        "invalid value \"-1\" for adbc.databricks.telemetry.close_timeout_ms: expected a number of milliseconds from 1 to 600000"
    );
}

#[test]
fn zero_is_rejected() {
    assert_eq!(
        error_text(&[("batch_size", "0")]),
        "invalid value \"0\" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );
    assert_eq!(
        error_text(&[("request_timeout_ms", "0")]),
        "invalid value \"0\" for adbc.databricks.telemetry.request_timeout_ms: expected a number of milliseconds from 1 to 300000"
    );
    assert_eq!(
        error_text(&[("circuit_breaker_threshold", "0")]),
        "invalid value \"0\" for adbc.databricks.telemetry.circuit_breaker_threshold: expected an integer from 1 to 1000"
    );
}

#[test]
fn absurd_values_are_rejected() {
    assert_eq!(
        error_text(&[("flush_interval_ms", "99999999999999999999999")]),
        "invalid value \"99999999999999999999999\" for adbc.databricks.telemetry.flush_interval_ms: expected a number of milliseconds from 10 to 3600000"
    );
    assert_eq!(
        error_text(&[("max_queue_size", "18446744073709551615")]),
        "invalid value \"18446744073709551615\" for adbc.databricks.telemetry.max_queue_size: expected an integer from 1 to 1000000"
    );
    assert_eq!(
        error_text(&[("max_retries", "1000")]),
        "invalid value \"1000\" for adbc.databricks.telemetry.max_retries: expected an integer from 0 to 10"
    );
}

#[test]
fn an_empty_value_is_rejected() {
    assert_eq!(
        error_text(&[("batch_size", "  ")]),
        "invalid value \"  \" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );
}

#[test]
fn a_bad_bool_is_rejected() {
    for value in ["yes", "no", "on", "2", "", "t", "truee"] {
        assert_eq!(
            error_text(&[("circuit_breaker_enabled", value)]),
            format!(
                "invalid value {value:?} for adbc.databricks.telemetry.circuit_breaker_enabled: expected true, false, 1 or 0"
            )
        );
    }
}

#[test]
fn a_bad_driver_segment_is_rejected() {
    let too_long = "D".repeat(65);
    for value in [
        "",
        " ",
        "AD/BC",
        "AD BC",
        "ADBC?x=1",
        "..",
        "ADBÇ",
        too_long.as_str(),
    ] {
        assert_eq!(
            error_text(&[("feature_flag_driver", value)]),
            format!(
                "invalid value {value:?} for adbc.databricks.telemetry.feature_flag_driver: expected 1 to 64 ASCII letters, digits, '_' or '-' (a URL path segment)"
            )
        );
    }
}

#[test]
fn a_batch_larger_than_the_queue_is_rejected() {
    assert_eq!(
        error_text(&[("batch_size", "500"), ("max_queue_size", "100")]),
        "adbc.databricks.telemetry.batch_size (500) must not exceed adbc.databricks.telemetry.max_queue_size (100)"
    );
    // The default batch size counts too.
    assert_eq!(
        error_text(&[("max_queue_size", "99")]),
        "adbc.databricks.telemetry.batch_size (100) must not exceed adbc.databricks.telemetry.max_queue_size (99)"
    );
    // Equal is fine.
    assert_eq!(
        parse(&[("batch_size", "100"), ("max_queue_size", "100")])
            .unwrap()
            .max_queue_size(),
        100
    );
}

#[test]
fn a_retry_max_delay_below_the_base_delay_is_rejected() {
    let error = parse(&[
        ("retry_base_delay_ms", "500"),
        ("retry_max_delay_ms", "200"),
    ])
    .unwrap_err();
    assert_eq!(
        error,
        ConfigError::Exceeds {
            key: key("retry_base_delay_ms"),
            value: "500".to_owned(),
            limit_key: key("retry_max_delay_ms"),
            limit_value: "200".to_owned(),
        }
    );
    assert_eq!(
        error.to_string(),
        "adbc.databricks.telemetry.retry_base_delay_ms (500) must not exceed adbc.databricks.telemetry.retry_max_delay_ms (200)"
    );
}

#[test]
fn a_breaker_max_open_below_its_timeout_is_rejected() {
    assert_eq!(
        error_text(&[("circuit_breaker_max_open_ms", "30000")]),
        "adbc.databricks.telemetry.circuit_breaker_timeout_ms (60000) must not exceed adbc.databricks.telemetry.circuit_breaker_max_open_ms (30000)"
    );
}

// ---- unknown keys ----

#[test]
fn an_unknown_key_lists_the_known_ones() {
    let error = raw_error_text(&[("adbc.databricks.telemetry.colour", "red")]);
    assert_eq!(
        error,
        "unknown option adbc.databricks.telemetry.colour (value \"red\"): expected one of: \
         enabled, force_enabled, batch_size, flush_interval_ms, max_queue_size, \
         close_timeout_ms, request_timeout_ms, max_retries, max_export_attempts, \
         max_pending_events, retry_base_delay_ms, \
         retry_max_delay_ms, circuit_breaker_enabled, circuit_breaker_threshold, \
         circuit_breaker_timeout_ms, circuit_breaker_success_threshold, \
         circuit_breaker_max_open_ms, feature_flag_driver, feature_flag_name, \
         feature_flag_timeout_ms, \
         allow_insecure_http, endpoint, org_id, spool_dir, spool_max_bytes, spool_max_age_ms"
    );
}

#[test]
fn the_spool_settings_read_from_options_and_the_environment() {
    let config = TelemetryConfig::from_options_with_env(
        [
            (
                "adbc.databricks.telemetry.spool_dir",
                " /var/tmp/dbx-spool ",
            ),
            ("databricks.telemetry.spool_max_age_ms", "60000"),
        ],
        env_of(&[("DATABRICKS_TELEMETRY_SPOOL_MAX_BYTES", "1048576")]),
    )
    .unwrap();
    assert_eq!(config.spool_dir(), Some("/var/tmp/dbx-spool"));
    assert_eq!(config.spool_max_age(), Duration::from_secs(60));
    assert_eq!(config.spool_max_bytes(), 1 << 20);
    let defaults = TelemetryConfig::default();
    assert_eq!(defaults.spool_dir(), None);
    assert_eq!(defaults.spool_max_bytes(), 64 << 20);
    assert_eq!(defaults.spool_max_age(), Duration::from_secs(7 * 86_400));
    let relative = raw_error_text(&[("adbc.databricks.telemetry.spool_dir", "spool")]);
    assert!(
        relative.contains("an absolute directory path"),
        "{relative}"
    );
}

#[test]
fn a_typo_gets_a_suggestion() {
    let error = TelemetryConfig::from_options_with_env(
        [("adbc.databricks.telemetry.batch_sise", "50")],
        env_of(&[]),
    )
    .unwrap_err();
    assert_eq!(
        error,
        ConfigError::UnknownOption {
            key: "adbc.databricks.telemetry.batch_sise".to_owned(),
            value: "50".to_owned(),
            suggestion: Some(key("batch_size")),
        }
    );
    assert_eq!(
        error.to_string(),
        "unknown option adbc.databricks.telemetry.batch_sise (value \"50\"): did you mean adbc.databricks.telemetry.batch_size?"
    );
    for (typo, meant) in [
        ("adbc.databricks.telemetry.enable", "enabled"),
        ("adbc.databricks.telemetry.bacth_size", "batch_size"),
        ("adbc.databricks.telemetry.Batch_Size", "batch_size"),
        (
            "adbc.databricks.telemetry.flush_interval",
            "flush_interval_ms",
        ),
        ("adbc.databricks.telemetry.max_retires", "max_retries"),
        (
            "adbc.databricks.telemetry.circuit_breaker_timeout",
            "circuit_breaker_timeout_ms",
        ),
    ] {
        assert_eq!(
            raw_error_text(&[(typo, "1")]),
            format!(
                "unknown option {typo} (value \"1\"): did you mean {}?",
                key(meant)
            )
        );
    }
}

#[test]
fn a_near_miss_of_the_prefix_is_an_unknown_option_not_ignored() {
    assert_eq!(
        raw_error_text(&[("adbc.databricks.telemetri.batch_size", "0")]),
        "unknown option adbc.databricks.telemetri.batch_size (value \"0\"): did you mean adbc.databricks.telemetry.batch_size?"
    );
    assert_eq!(
        raw_error_text(&[("ADBC.DATABRICKS.TELEMETRY.enabled", "false")]),
        "unknown option ADBC.DATABRICKS.TELEMETRY.enabled (value \"false\"): did you mean adbc.databricks.telemetry.enabled?"
    );
}

// ---- the builder ----

#[test]
fn the_builder_checks_ranges_under_the_option_key() {
    let zero_batch = TelemetryConfig::builder()
        .with_batch_size(0)
        .build()
        .unwrap_err();
    assert_eq!(
        zero_batch.to_string(),
        "invalid value \"0\" for adbc.databricks.telemetry.batch_size: expected an integer from 1 to 10000"
    );

    let huge_queue = TelemetryConfig::builder()
        .with_max_queue_size(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(
        huge_queue.to_string(),
        format!(
            "invalid value \"{}\" for adbc.databricks.telemetry.max_queue_size: expected an integer from 1 to 1000000",
            usize::MAX
        )
    );

    let zero_flush = TelemetryConfig::builder()
        .with_flush_interval(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(
        zero_flush.to_string(),
        "invalid value \"0\" for adbc.databricks.telemetry.flush_interval_ms: expected a number of milliseconds from 10 to 3600000"
    );

    let absurd_timeout = TelemetryConfig::builder()
        .with_request_timeout(Duration::from_secs(86_400 * 365))
        .build()
        .unwrap_err();
    assert_eq!(
        absurd_timeout.to_string(),
        "invalid value \"31536000000\" for adbc.databricks.telemetry.request_timeout_ms: expected a number of milliseconds from 1 to 300000"
    );

    let sub_millisecond = TelemetryConfig::builder()
        .with_close_timeout(Duration::from_micros(500))
        .build()
        .unwrap_err();
    assert_eq!(
        sub_millisecond.to_string(),
        "invalid value \"500µs\" for adbc.databricks.telemetry.close_timeout_ms: expected a number of milliseconds from 1 to 600000"
    );

    let many_retries = TelemetryConfig::builder()
        .with_max_retries(11)
        .build()
        .unwrap_err();
    assert_eq!(
        many_retries.to_string(),
        "invalid value \"11\" for adbc.databricks.telemetry.max_retries: expected an integer from 0 to 10"
    );

    let bad_driver = TelemetryConfig::builder()
        .with_feature_flag_driver("ADBC/../x")
        .build()
        .unwrap_err();
    assert_eq!(
        bad_driver.to_string(),
        "invalid value \"ADBC/../x\" for adbc.databricks.telemetry.feature_flag_driver: expected 1 to 64 ASCII letters, digits, '_' or '-' (a URL path segment)"
    );
}

#[test]
fn the_builder_checks_cross_field_bounds() {
    let batch_over_queue = TelemetryConfig::builder()
        .with_batch_size(500)
        .with_max_queue_size(100)
        .build()
        .unwrap_err();
    assert_eq!(
        batch_over_queue.to_string(),
        "adbc.databricks.telemetry.batch_size (500) must not exceed adbc.databricks.telemetry.max_queue_size (100)"
    );

    let base_over_max = TelemetryConfig::builder()
        .with_retry_base_delay(Duration::from_millis(1500))
        .with_retry_max_delay(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert_eq!(
        base_over_max.to_string(),
        "adbc.databricks.telemetry.retry_base_delay_ms (1500) must not exceed adbc.databricks.telemetry.retry_max_delay_ms (1000)"
    );

    let timeout_over_max_open = TelemetryConfig::builder()
        .with_circuit_breaker_timeout(Duration::from_secs(120))
        .with_circuit_breaker_max_open(Duration::from_secs(60))
        .build()
        .unwrap_err();
    assert_eq!(
        timeout_over_max_open.to_string(),
        "adbc.databricks.telemetry.circuit_breaker_timeout_ms (120000) must not exceed adbc.databricks.telemetry.circuit_breaker_max_open_ms (60000)"
    );
}

#[test]
fn the_builder_accepts_sub_millisecond_durations_within_range() {
    let config = TelemetryConfig::builder()
        .with_flush_interval(Duration::from_micros(10_500))
        .build()
        .unwrap();
    assert_eq!(config.flush_interval(), Duration::from_micros(10_500));
}

#[test]
fn errors_are_cloneable_and_comparable() {
    let error = parse(&[("batch_size", "0")]).unwrap_err();
    assert_eq!(error.clone(), error);
    assert_ne!(error, parse(&[("batch_size", "-1")]).unwrap_err());
}
