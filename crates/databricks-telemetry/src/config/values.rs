//! Parsing option text into typed values, and checking typed values against their key's range.
//!
//! The same checks serve both [`TelemetryConfig::from_options`](super::TelemetryConfig::from_options)
//! (which reports the text as given) and the builder (which reports the typed value).

use std::time::Duration;

use super::keys::{Key, Kind, MAX_DRIVER_NAME_LEN, MAX_FLAG_NAME_LEN};
use super::ConfigError;
use crate::host::HostKey;

/// What `kind` accepts, worded to follow "expected ".
pub(super) fn expected(kind: Kind) -> String {
    match kind {
        Kind::Bool => "true, false, 1 or 0".to_owned(),
        Kind::Count { min, max } => format!("an integer from {min} to {max}"),
        Kind::Millis { min, max } => format!("a number of milliseconds from {min} to {max}"),
        Kind::DriverName => format!(
            "1 to {MAX_DRIVER_NAME_LEN} ASCII letters, digits, '_' or '-' (a URL path segment)"
        ),
        Kind::FlagNames => format!(
            "one or more flag names, comma separated, each 1 to {MAX_FLAG_NAME_LEN} printable ASCII characters without spaces"
        ),
        Kind::Endpoint => "a host or URL without a path (host[:port], https://host[:port], \
             or http://host:port for a loopback host only)"
            .to_owned(),
        Kind::OrgId => format!("a workspace (org) id: decimal digits, at most {}", i64::MAX),
        Kind::Directory => "an absolute directory path".to_owned(),
    }
}

/// The error for `value` (as given) of `key`, reported under `label`.
pub(super) fn invalid(key: Key, label: &str, value: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: label.to_owned(),
        value: value.to_owned(),
        expected: expected(key.kind()),
    }
}

/// `true`/`false`/`1`/`0`, ignoring ASCII case and surrounding whitespace.
pub(super) fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Some(false)
    } else {
        None
    }
}

/// A plain decimal integer (ASCII digits only: no sign, no units, no separators), ignoring
/// surrounding whitespace. `None` when the text is not one or does not fit in a `u64`.
pub(super) fn parse_decimal(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether `name` can be a feature-flag driver name: a short, non-empty URL path segment.
pub(super) fn is_valid_driver_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DRIVER_NAME_LEN
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// Whether `name` can be a feature-flag name: 1 to [`MAX_FLAG_NAME_LEN`] printable ASCII
/// characters, no space and no comma (the separator of the option's list).
pub(super) fn is_valid_flag_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FLAG_NAME_LEN
        && name
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b',')
}

/// Splits option text into feature-flag names: comma separated, each trimmed; `None` when the
/// list is empty or a name is not valid (an empty element included).
pub(super) fn parse_flag_names(text: &str) -> Option<Vec<String>> {
    let names: Vec<String> = text.split(',').map(|name| name.trim().to_owned()).collect();
    names
        .iter()
        .all(|name| is_valid_flag_name(name))
        .then_some(names)
}

/// An `endpoint` value in its one spelling, `https://host[:port]` or `http://host:port`: a host
/// as [`HostKey::parse`] reads it, plain `http` only to a loopback host (the rule of the
/// endpoint a manager parses, whose other half, `allow_insecure_http`, is checked when the whole
/// configuration is built). `None` when it is neither.
pub(super) fn parse_endpoint(text: &str) -> Option<String> {
    let host = HostKey::parse(text).ok()?;
    let is_http = text
        .trim_start()
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
    if !is_http {
        return Some(format!("https://{host}"));
    }
    host.is_loopback().then(|| format!("http://{host}"))
}

/// Whether a normalised endpoint (from [`parse_endpoint`]) uses plain `http`.
pub(super) fn is_plain_http(endpoint: &str) -> bool {
    endpoint.starts_with("http://")
}

/// An `org_id` value in its one spelling (decimal, no leading zeros), so the header and the
/// logs' `workspace_id` agree. `None` unless it is plain decimal digits within `i64`.
pub(super) fn parse_org_id(text: &str) -> Option<String> {
    parse_decimal(text)
        .and_then(|id| i64::try_from(id).ok())
        .map(|id| id.to_string())
}

/// A duration as option text: whole milliseconds as a plain number, anything finer as `Debug`
/// (e.g. `1.5ms`).
pub(super) fn render_duration(duration: Duration) -> String {
    if duration.subsec_nanos() % 1_000_000 == 0 {
        duration.as_millis().to_string()
    } else {
        format!("{duration:?}")
    }
}

/// An absolute directory path (trimmed); `None` when empty, relative, or with a NUL byte.
pub(super) fn parse_directory(text: &str) -> Option<String> {
    let path = text.trim();
    (std::path::Path::new(path).is_absolute() && !path.contains('\0')).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_rejects_signs_units_and_overflow() {
        assert_eq!(parse_decimal(" 42 "), Some(42));
        assert_eq!(parse_decimal("007"), Some(7));
        assert_eq!(parse_decimal("+5"), None);
        assert_eq!(parse_decimal("-5"), None);
        assert_eq!(parse_decimal("5s"), None);
        assert_eq!(parse_decimal("1_000"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("99999999999999999999999"), None);
    }

    #[test]
    fn endpoints_take_one_spelling_and_plain_http_only_to_loopback() {
        for (given, spelled) in [
            ("Adb-1.Example.NET", "https://adb-1.example.net"),
            (
                " https://adb-1.example.net:443/ ",
                "https://adb-1.example.net",
            ),
            ("adb-1.example.net:8443", "https://adb-1.example.net:8443"),
            ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:9", "http://localhost:9"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(parse_endpoint(given).as_deref(), Some(spelled), "{given}");
            assert_eq!(
                parse_endpoint(spelled).as_deref(),
                Some(spelled),
                "{spelled}"
            );
        }
        for bad in [
            "",
            "http://example.com",
            "http://10.0.0.1:80",
            "ftp://host",
            "https://user:secret@host",
            "https://host/telemetry-ext",
            "host?o=1",
        ] {
            assert_eq!(parse_endpoint(bad), None, "{bad}");
        }
    }

    #[test]
    fn org_ids_are_decimal_within_i64() {
        assert_eq!(parse_org_id(" 1234567890 ").as_deref(), Some("1234567890"));
        assert_eq!(parse_org_id("007").as_deref(), Some("7"));
        assert_eq!(
            parse_org_id("9223372036854775807").as_deref(),
            Some("9223372036854775807")
        );
        assert_eq!(parse_org_id("9223372036854775808"), None);
        for bad in ["", "-1", "12a", "1 2", "0x10"] {
            assert_eq!(parse_org_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_render_as_milliseconds_when_whole() {
        assert_eq!(render_duration(Duration::from_secs(5)), "5000");
        assert_eq!(render_duration(Duration::ZERO), "0");
        assert_eq!(render_duration(Duration::from_micros(1_500)), "1.5ms");
    }
}
