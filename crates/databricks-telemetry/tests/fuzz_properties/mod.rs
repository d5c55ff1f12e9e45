//! The properties every fuzz target checks, shared by the cargo-fuzz targets in `fuzz/` (which
//! include this file by path) and their proptest stand-ins in `tests/model/fuzz_equivalents.rs`, so
//! both check exactly the same thing. Each function panics when a property does not hold; a
//! panic inside the library counts the same.
//!
//! Only `databricks_telemetry` and `std` are used here, so the file builds in both crates.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use databricks_telemetry::export::{ExportOutcome, FailureKind};
use databricks_telemetry::unstable::{fuzzing, Scheme, ServiceEndpoint};
use databricks_telemetry::unstable::{FlagAnswer, MAX_FLAG_TTL, MIN_FLAG_TTL};
use databricks_telemetry::{
    unstable::{shown, MAX_SHOWN_CHARS},
    HostKey,
};
use databricks_telemetry::{ConfigError, TelemetryConfig};

/// Every option name after the prefix, so generated inputs hit real keys often.
pub(crate) const OPTION_NAMES: [&str; 21] = [
    "enabled",
    "force_enabled",
    "batch_size",
    "flush_interval_ms",
    "max_queue_size",
    "close_timeout_ms",
    "request_timeout_ms",
    "max_retries",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
    "circuit_breaker_enabled",
    "circuit_breaker_threshold",
    "circuit_breaker_timeout_ms",
    "circuit_breaker_success_threshold",
    "circuit_breaker_max_open_ms",
    "feature_flag_driver",
    "feature_flag_name",
    "feature_flag_timeout_ms",
    "allow_insecure_http",
    "endpoint",
    "org_id",
];

/// The environment variables the configuration reads.
pub(crate) const ENV_VARS: [&str; 3] = [
    "DATABRICKS_TELEMETRY_ENABLED",
    "DATABRICKS_TELEMETRY_BATCH_SIZE",
    "DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS",
];

/// The telemetry flag name for the default driver segment.
pub(crate) const FLAG_NAME: &str =
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForADBC";

/// A time base for `now`: 2025-11-27T12:00:00Z plus `offset` seconds.
pub(crate) fn now_plus(offset: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_764_244_800 + u64::from(offset))
}

/// Builds the option key for a generated (selector, raw) pair: a known key (under either
/// prefix), a known key with a one-character change, or the raw text as it is.
pub(crate) fn option_key(selector: u8, raw: &str) -> String {
    let name = OPTION_NAMES[usize::from(selector) % OPTION_NAMES.len()];
    match selector % 4 {
        0 => format!("{}{name}", TelemetryConfig::OPTION_PREFIX),
        1 => format!("{}{name}", TelemetryConfig::SHORT_OPTION_PREFIX),
        2 => format!("{}{name}{raw}", TelemetryConfig::OPTION_PREFIX),
        _ => raw.to_owned(),
    }
}

/// Configuration from arbitrary options and environment: never panics; the same input gives
/// the same answer; an accepted configuration keeps every documented bound; an error names
/// something, never an environment variable, and is an error without the environment too; each
/// option checked alone fails exactly as when read alone.
pub(crate) fn check_config(options: &[(String, String)], env: &[(String, String)]) {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
    };
    let first = TelemetryConfig::from_options_with_env(options.iter().cloned(), lookup);
    let again = TelemetryConfig::from_options_with_env(options.iter().cloned(), lookup);
    assert_eq!(first, again, "the same input gave two answers");
    match first {
        Ok(config) => check_config_bounds(&config),
        Err(error) => {
            let text = error.to_string();
            assert!(!text.is_empty(), "an error without a message: {error:?}");
            for variable in ENV_VARS {
                assert!(
                    !text.contains(variable),
                    "the environment failed it: {text}"
                );
            }
            let without_env =
                TelemetryConfig::from_options_with_env(options.iter().cloned(), |_| None);
            assert!(
                without_env.is_err(),
                "only the environment failed it: {text}"
            );
        }
    }
    for (key, value) in options {
        check_single_option(key, value);
    }
}

/// One option checked on its own fails exactly as when it is read alone; one that passes can
/// only fail a rule between two settings when read.
fn check_single_option(key: &str, value: &str) {
    let alone = TelemetryConfig::check_option(key, value);
    let read = TelemetryConfig::from_options_with_env([(key, value)], |_| None);
    match (alone, read) {
        (Err(alone), read) => assert_eq!(Err(alone), read.map(|_| ()), "{key} = {value:?}"),
        (Ok(_), Ok(_)) => {}
        (Ok(_), Err(ConfigError::Exceeds { .. } | ConfigError::Requires { .. })) => {}
        (Ok(known), Err(error)) => panic!("{key} = {value:?} checked as {known}, read as {error}"),
    }
}

fn check_config_bounds(config: &TelemetryConfig) {
    let ms = Duration::from_millis;
    assert!((1..=10_000).contains(&config.batch_size()), "{config:?}");
    assert!(
        (1..=1_000_000).contains(&config.max_queue_size()),
        "{config:?}"
    );
    assert!(config.batch_size() <= config.max_queue_size(), "{config:?}");
    assert!((ms(10)..=ms(3_600_000)).contains(&config.flush_interval()));
    assert!((ms(1)..=ms(600_000)).contains(&config.close_timeout()));
    assert!((ms(1)..=ms(300_000)).contains(&config.request_timeout()));
    assert!(config.max_retries() <= 10);
    assert!(config.retry_base_delay() >= ms(1));
    assert!(
        config.retry_base_delay() <= config.retry_max_delay(),
        "{config:?}"
    );
    assert!(config.retry_max_delay() <= ms(600_000));
    assert!((1..=1_000).contains(&config.circuit_breaker_threshold()));
    assert!(config.circuit_breaker_timeout() >= ms(1));
    assert!(config.circuit_breaker_timeout() <= config.circuit_breaker_max_open());
    assert!(config.circuit_breaker_max_open() <= ms(86_400_000));
    assert!((1..=100).contains(&config.circuit_breaker_success_threshold()));
    let driver = config.feature_flag_driver();
    assert!(!driver.is_empty() && driver.len() <= 64, "{driver:?}");
    assert!(driver
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    assert!((ms(1)..=ms(60_000)).contains(&config.feature_flag_timeout()));
    if let Some(endpoint) = config.endpoint() {
        let parsed = ServiceEndpoint::parse(endpoint, config.allow_insecure_http())
            .expect("an accepted endpoint");
        assert_eq!(parsed.to_string(), endpoint, "one spelling");
    }
    if let Some(org_id) = config.org_id() {
        assert_eq!(
            org_id.parse::<i64>().map(|id| id.to_string()).as_deref(),
            Ok(org_id)
        );
    }
}

/// `Retry-After`: never panics; delay-seconds are read exactly; a date means no wait once its
/// time has come; anything else is ignored.
pub(crate) fn check_retry_after(value: &str, now: SystemTime) {
    let parsed = fuzzing::retry_after(value, now);
    let trimmed = value.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(
            parsed,
            trimmed.parse::<u64>().ok().map(Duration::from_secs),
            "{value:?}"
        );
    } else if let Some(delay) = parsed {
        // Only an HTTP date gets here: at its own time, and later, there is nothing to wait.
        let at = now.checked_add(delay).expect("a date within SystemTime");
        assert_eq!(
            fuzzing::retry_after(value, at),
            Some(Duration::ZERO),
            "{value:?}"
        );
        let later = at + Duration::from_secs(3600);
        assert_eq!(
            fuzzing::retry_after(value, later),
            Some(Duration::ZERO),
            "{value:?}"
        );
    }
}

/// A whole answer (status, headers, body) to an upload of `sent` logs: never panics; a 2xx
/// delivers, at most `sent`; anything else fails, throttled only for 429 and 503, with a
/// delay only when a `Retry-After` header was sent; a failure's reason never quotes the body.
pub(crate) fn check_response(
    status: u16,
    headers: &[(Vec<u8>, Vec<u8>)],
    body: &[u8],
    sent: usize,
    now: SystemTime,
) {
    let header_refs: Vec<(&[u8], &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_slice(), value.as_slice()))
        .collect();
    let Some(outcome) = fuzzing::response_outcome(status, &header_refs, body, sent, now) else {
        assert!(!(100..=999).contains(&status), "status {status} refused");
        return;
    };
    assert!(outcome.delivered_count(sent) <= sent, "{outcome:?}");
    let has_retry_after = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(b"retry-after"));
    match &outcome {
        ExportOutcome::Delivered | ExportOutcome::PartiallyDelivered { .. } => {
            assert!((200..300).contains(&status), "{status}: {outcome:?}");
            if matches!(outcome, ExportOutcome::PartiallyDelivered { .. }) {
                // Only a numProtoSuccess integer below `sent` can make a 2xx partial.
                let text = String::from_utf8_lossy(body);
                assert!(
                    text.contains("numProtoSuccess"),
                    "{outcome:?} from {text:?}"
                );
            }
        }
        ExportOutcome::Failed(failure) => {
            assert!(!(200..300).contains(&status), "{status}: {outcome:?}");
            if let FailureKind::Throttled { retry_after } = failure.kind {
                assert!(status == 429 || status == 503, "{status}: {outcome:?}");
                assert!(retry_after.is_none() || has_retry_after, "{outcome:?}");
            }
            assert!(
                failure.reason.len() <= 80,
                "a long reason (quoting the answer?): {:?}",
                failure.reason
            );
        }
        _ => panic!("an answer cannot mean {outcome:?}"),
    }
    if let Some(failure) = outcome.failure() {
        if body.len() >= 8 {
            let body_text = String::from_utf8_lossy(body);
            assert!(
                !failure.reason.contains(body_text.as_ref()),
                "the reason quotes the body: {:?}",
                failure.reason
            );
        }
    }
}

/// The feature-flag answer: never panics; the TTL is always within the clamp; only a value
/// of `"true"` (any case, trimmed) or JSON `true` turns telemetry on.
pub(crate) fn check_feature_flags(body: &[u8], flag_name: &str) {
    let Some((answer, ttl)) = fuzzing::feature_flag_answer(body, flag_name) else {
        return;
    };
    assert!((MIN_FLAG_TTL..=MAX_FLAG_TTL).contains(&ttl), "{ttl:?}");
    if answer == FlagAnswer::On {
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains(flag_name) || text.contains('\\'),
            "on without naming the flag: {text}"
        );
    }
    assert_ne!(answer, FlagAnswer::Failed, "a parsed body is never Failed");
}

/// Host normalisation: never panics; a key is canonical (parsing it again gives it back) and
/// holds nothing but a host and port; an error never shows the user information; plain http
/// is only ever for loopback hosts.
pub(crate) fn check_host(input: &str) {
    match HostKey::parse(input) {
        Ok(key) => {
            let text = key.as_str();
            assert_eq!(HostKey::parse(text).as_ref(), Ok(&key), "not canonical");
            assert!(!text.is_empty());
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b)),
                "{text:?}"
            );
            assert!(!text.ends_with(":443"), "{text:?}");
        }
        Err(error) => {
            if let Some(userinfo) = userinfo_of(input) {
                assert!(
                    !error.input().contains(userinfo) && !error.to_string().contains(userinfo),
                    "the error shows the user information {userinfo:?}: {error}"
                );
            }
        }
    }
    for allow in [false, true] {
        let config = TelemetryConfig::builder()
            .with_allow_insecure_http(allow)
            .build()
            .expect("a valid configuration");
        if let Ok(endpoint) = ServiceEndpoint::parse(input, config.allow_insecure_http()) {
            if endpoint.scheme() == Scheme::Http {
                assert!(allow && endpoint.host().is_loopback(), "{endpoint}");
            }
            assert!(!endpoint.url("/x").contains('@'), "{endpoint}");
        }
    }
}

/// A URL as `dbtel` prints it (`unstable::shown`): never panics; at most `MAX_SHOWN_CHARS`
/// characters, none a control character; never the user information, nor what follows a `?`
/// or `#`.
pub(crate) fn check_shown(input: &str) {
    let text = shown(input);
    assert!(
        text.chars().count() <= MAX_SHOWN_CHARS,
        "{} chars",
        text.chars().count()
    );
    assert!(!text.chars().any(char::is_control), "{text:?}");
    if let Some(userinfo) = userinfo_of(input) {
        assert!(
            !text.contains(userinfo),
            "shows the user information: {text:?}"
        );
    }
    let trimmed = input.trim();
    if let Some(at) = trimmed.find(['?', '#']) {
        let secret = &trimmed[at + 1..];
        if secret.len() >= 8 && !secret.contains('*') && trimmed.matches(secret).count() == 1 {
            assert!(
                !text.contains(secret),
                "shows the query or fragment: {text:?}"
            );
        }
    }
}

/// The user information of `input` worth checking for: between the scheme (if any) and the
/// last `@`, at least 8 characters, appearing only once in the input, and without `*` (which
/// the redaction itself writes, so it could spell the user information by chance).
fn userinfo_of(input: &str) -> Option<&str> {
    let trimmed = input.trim();
    let start = trimmed.find("://").map_or(0, |i| i + 3);
    let at = trimmed.rfind('@')?;
    let userinfo = trimmed.get(start..at)?;
    (userinfo.len() >= 8 && !userinfo.contains('*') && trimmed.matches(userinfo).count() == 1)
        .then_some(userinfo)
}
