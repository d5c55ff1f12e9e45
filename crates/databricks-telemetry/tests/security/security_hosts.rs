//! Hostile host strings: user information, paths, control characters, look-alike characters,
//! other schemes, and IP address literals where a host name is expected.
//!
//! What the exporter does with an IP literal: a dotted-quad IPv4 address or a bracketed IPv6
//! address is a host like any other. Over HTTPS the server's certificate must name that address
//! (see `security_tls.rs`); plain http is allowed only when the address is loopback. Every other
//! numeric spelling (decimal `2130706433`, octal `0177.0.0.1`, hexadecimal `0x7f.0.0.1`,
//! shortened `127.1`) is refused, so a host can never be disguised as loopback, or loopback as
//! another host.

use crate::http_support;

use std::sync::atomic::{AtomicUsize, Ordering};

use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::unstable::{Scheme, ServiceEndpoint, ServiceEndpointError};
use databricks_telemetry::TelemetryConfig;
use databricks_telemetry::{AcquireError, ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{HostErrorKind, HostKey};
use http_support::fast_config;

/// A password that must never appear in an error.
const PASSWORD: &str = "S3cretPassw0rd-xyz";

/// Whether an error kind is the one expected.
type Expected = fn(&HostErrorKind) -> bool;

/// Inputs that are not a host, with the kind of error each must give.
fn hostile() -> Vec<(String, Expected)> {
    vec![
        (
            format!("https://token:{PASSWORD}@adb-1.azuredatabricks.net"),
            |k| matches!(k, HostErrorKind::UserInfo),
        ),
        (format!("{PASSWORD}@adb-1.azuredatabricks.net"), |k| {
            matches!(k, HostErrorKind::UserInfo)
        }),
        ("adb-1.azuredatabricks.net@evil.example".into(), |k| {
            matches!(k, HostErrorKind::UserInfo)
        }),
        ("evil.example#@adb-1.azuredatabricks.net".into(), |k| {
            matches!(k, HostErrorKind::UserInfo)
        }),
        ("adb-1.azuredatabricks.net\\@evil.example".into(), |k| {
            matches!(k, HostErrorKind::UserInfo)
        }),
        ("adb-1.azuredatabricks.net/sql/1.0".into(), |k| {
            matches!(k, HostErrorKind::PathQueryOrFragment)
        }),
        ("adb-1.azuredatabricks.net/../../evil".into(), |k| {
            matches!(k, HostErrorKind::PathQueryOrFragment)
        }),
        ("adb-1.azuredatabricks.net?o=123".into(), |k| {
            matches!(k, HostErrorKind::PathQueryOrFragment)
        }),
        ("adb-1.azuredatabricks.net#frag".into(), |k| {
            matches!(k, HostErrorKind::PathQueryOrFragment)
        }),
        (
            "adb-1.azuredatabricks.net\r\nHost: evil.example".into(),
            |k| matches!(k, HostErrorKind::WhitespaceOrControl { .. }),
        ),
        ("adb-1.azuredatabricks.net\0.evil".into(), |k| {
            matches!(k, HostErrorKind::WhitespaceOrControl { .. })
        }),
        ("adb-1\u{7f}.net".into(), |k| {
            matches!(k, HostErrorKind::WhitespaceOrControl { .. })
        }),
        ("adb 1.net".into(), |k| {
            matches!(k, HostErrorKind::WhitespaceOrControl { .. })
        }),
        ("adb-1.azuredatabricks.net\\evil".into(), |k| {
            matches!(k, HostErrorKind::InvalidCharacter { character: '\\' })
        }),
        ("adb-1.azuredatabricks.net%2Fevil".into(), |k| {
            matches!(k, HostErrorKind::InvalidCharacter { character: '%' })
        }),
        // Cyrillic `а` and a one-dot leader: look-alikes are not ASCII.
        ("\u{430}db-1.azuredatabricks.net".into(), |k| {
            matches!(k, HostErrorKind::InvalidCharacter { .. })
        }),
        ("adb-1\u{2024}azuredatabricks\u{2024}net".into(), |k| {
            matches!(k, HostErrorKind::InvalidCharacter { .. })
        }),
        ("ftp://adb-1.azuredatabricks.net".into(), |k| {
            matches!(k, HostErrorKind::UnsupportedScheme { .. })
        }),
        ("file:///etc/passwd".into(), |k| {
            matches!(k, HostErrorKind::UnsupportedScheme { .. })
        }),
        ("adb-1.azuredatabricks.net:0".into(), |k| {
            matches!(k, HostErrorKind::InvalidPort { .. })
        }),
        ("adb-1.azuredatabricks.net:65536".into(), |k| {
            matches!(k, HostErrorKind::InvalidPort { .. })
        }),
        (":443".into(), |k| matches!(k, HostErrorKind::MissingHost)),
        (format!("{}.net", "a".repeat(300)), |k| {
            matches!(
                k,
                HostErrorKind::InvalidLabel { .. } | HostErrorKind::TooLong { .. }
            )
        }),
        // Numeric spellings of an address that are not a dotted quad.
        ("2130706433".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv4 { .. })
        }),
        ("0177.0.0.1".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv4 { .. })
        }),
        ("0x7f.0.0.1".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv4 { .. })
        }),
        ("127.1".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv4 { .. })
        }),
        ("::1".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv6 { .. })
        }),
        ("[::1".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv6 { .. })
        }),
        ("[not-an-address]".into(), |k| {
            matches!(k, HostErrorKind::InvalidIpv6 { .. })
        }),
    ]
}

#[test]
fn hostile_host_strings_are_refused_with_the_right_reason_and_no_secret() {
    for (input, expected) in hostile() {
        let error = HostKey::parse(&input).expect_err(&input);
        assert!(expected(error.kind()), "{input:?}: {:?}", error.kind());
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains(PASSWORD),
            "{input:?} shows the password: {shown}"
        );

        for allow in [false, true] {
            let config = TelemetryConfig::builder()
                .with_allow_insecure_http(allow)
                .build()
                .unwrap();
            let endpoint_error =
                ServiceEndpoint::parse(&input, config.allow_insecure_http()).expect_err(&input);
            assert!(
                matches!(endpoint_error, ServiceEndpointError::InvalidHost(_)),
                "{input:?}: {endpoint_error:?}"
            );
        }
    }
}

#[test]
fn the_manager_refuses_hostile_hosts_before_making_anything() {
    let manager = TelemetryClientManager::new();
    let config = TelemetryConfig::default();
    let made = AtomicUsize::new(0);
    for (input, _) in hostile() {
        let result = manager.acquire(&input, &ClientIdentity::new("user"), &config, |_| {
            made.fetch_add(1, Ordering::Relaxed);
            Box::new(InMemoryExporter::new())
        });
        let error = result.expect_err(&input);
        assert!(
            matches!(error, AcquireError::Host(_)),
            "{input:?}: {error:?}"
        );
        assert!(!error.to_string().contains(PASSWORD), "{error}");
    }
    assert_eq!(made.load(Ordering::Relaxed), 0, "no exporter was made");
    assert_eq!(manager.lane_count(), 0);
    assert_eq!(manager.host_count(), 0);
}

#[test]
fn ip_literals_are_hosts_and_plain_http_needs_a_loopback_address() {
    let insecure = fast_config();
    // Any IP literal works over HTTPS (its certificate must name the address).
    for (input, key) in [
        ("10.0.0.1", "10.0.0.1"),
        ("https://192.168.1.20:8443", "192.168.1.20:8443"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("127.0.0.1", "127.0.0.1"),
    ] {
        let endpoint = ServiceEndpoint::parse(input, false).unwrap();
        assert_eq!(endpoint.scheme(), Scheme::Https, "{input}");
        assert_eq!(endpoint.host().as_str(), key);
    }
    // Plain http only to loopback addresses, and only when allowed.
    for loopback in [
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://[::1]:8080",
        "http://[::ffff:127.0.0.1]",
        "http://localhost:1",
    ] {
        let endpoint = ServiceEndpoint::parse(loopback, insecure.allow_insecure_http()).unwrap();
        assert_eq!(endpoint.scheme(), Scheme::Http, "{loopback}");
        assert!(matches!(
            ServiceEndpoint::parse(loopback, false),
            Err(ServiceEndpointError::InsecureHttpNotAllowed { .. })
        ));
    }
    // Names and addresses that only look like loopback are not.
    for remote in [
        "http://10.0.0.1",
        "http://[2001:db8::1]",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "http://[::ffff:10.0.0.1]",
        "http://0.0.0.0",
    ] {
        let error =
            ServiceEndpoint::parse(remote, insecure.allow_insecure_http()).expect_err(remote);
        assert!(
            matches!(error, ServiceEndpointError::InsecureHttpNotLoopback { .. }),
            "{remote}: {error:?}"
        );
    }
}

#[test]
fn spellings_of_one_host_share_one_key_and_other_hosts_do_not() {
    let one = [
        "adb-1.azuredatabricks.net",
        "HTTPS://ADB-1.AzureDatabricks.NET",
        " adb-1.azuredatabricks.net.:443/ ",
        "http://adb-1.azuredatabricks.net",
    ];
    for spelling in one {
        assert_eq!(
            HostKey::parse(spelling).unwrap().as_str(),
            "adb-1.azuredatabricks.net",
            "{spelling:?}"
        );
    }
    for other in [
        "adb-1.azuredatabricks.net:8443",
        "adb-1.azuredatabricks.net.evil.example",
        "xn--adb-1-azuredatabricks-net",
    ] {
        assert_ne!(
            HostKey::parse(other).unwrap().as_str(),
            "adb-1.azuredatabricks.net",
            "{other:?}"
        );
    }
}
