//! Host keys: what is accepted and how it is spelled, what is rejected and why, and that a
//! credential never shows in an error.

use std::collections::BTreeSet;

use databricks_telemetry::{HostErrorKind, HostKey};
use proptest::prelude::*;

fn key(input: &str) -> HostKey {
    HostKey::parse(input).unwrap_or_else(|error| panic!("{input:?} should be accepted: {error}"))
}

#[test]
fn accepted_inputs_normalise_to_one_spelling() {
    let table: &[(&str, &str)] = &[
        ("example.com", "example.com"),
        ("  Example.COM \t", "example.com"),
        ("https://example.com", "example.com"),
        ("HTTPS://EXAMPLE.COM/", "example.com"),
        ("http://example.com", "example.com"),
        ("HtTp://example.com/", "example.com"),
        ("example.com.", "example.com"),
        ("example.com./", "example.com"),
        ("example.com:443", "example.com"),
        ("https://Example.com.:443/", "example.com"),
        ("example.com:8443", "example.com:8443"),
        ("https://example.com:8443/", "example.com:8443"),
        (
            "adb-1234567890123456.7.azuredatabricks.net",
            "adb-1234567890123456.7.azuredatabricks.net",
        ),
        (
            "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
            "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
        ),
        ("x", "x"),
        ("localhost", "localhost"),
        ("localhost:3000", "localhost:3000"),
        ("10.0.0.1", "10.0.0.1"),
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://127.0.0.1:54321/", "127.0.0.1:54321"),
        ("127.0.0.1:443", "127.0.0.1"),
        ("[::1]", "[::1]"),
        ("[::1]:8080", "[::1]:8080"),
        ("[0:0:0:0:0:0:0:1]:8080", "[::1]:8080"),
        ("https://[::1]:443/", "[::1]"),
        ("[2001:DB8::1]:9000", "[2001:db8::1]:9000"),
    ];
    for (input, expected) in table {
        assert_eq!(key(input).as_str(), *expected, "input {input:?}");
    }
}

#[test]
fn rejected_inputs_say_why() {
    let table: &[(&str, &str)] = &[
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("ftp://example.com", "scheme `ftp` is not supported"),
        ("wss://example.com", "scheme `wss` is not supported"),
        ("user@example.com", "user information"),
        ("https://example.com/path", "path, query or fragment"),
        ("example.com/sql/1.0", "path, query or fragment"),
        (
            "example.com?o=123",
            "invalid host \"example.com?***\": it has a path, query",
        ),
        (
            "example.com#top",
            "invalid host \"example.com#***\": it has a path, query",
        ),
        ("example.com//", "path, query or fragment"),
        ("exa mple.com", "whitespace or a control character (' ')"),
        ("exa\tmple.com", "whitespace or a control character ('\\t')"),
        (
            "exa\u{7}mple.com",
            "whitespace or a control character ('\\u{7}')",
        ),
        ("example.com:", "port `` is not a number from 1 to 65535"),
        ("example.com:0", "port `0`"),
        ("example.com:65536", "port `65536`"),
        ("example.com:http", "port `http`"),
        ("example.com:-1", "port `-1`"),
        ("example.com:123456", "port `123456`"),
        ("[::1]:99999", "port `99999`"),
        ("exa_mple.com", "character '_' is not allowed"),
        ("exämple.com", "character 'ä' is not allowed"),
        ("ex%61mple.com", "character '%' is not allowed"),
        ("a..b", "label `` is invalid"),
        (".example.com", "label `` is invalid"),
        ("example.com..", "label `` is invalid"),
        ("-a.com", "label `-a` is invalid"),
        ("a-.com", "label `a-` is invalid"),
        (":8080", "host name is missing"),
        ("https://", "host name is missing"),
        (".", "host name is missing"),
        ("256.1.1.1", "`256.1.1.1` is not a valid IPv4 address"),
        ("127.1", "`127.1` is not a valid IPv4 address"),
        ("::1", "not a valid IPv6 address"),
        ("[::1", "`[::1` is not a valid IPv6 address"),
        ("[zz::1]", "`[zz::1]` is not a valid IPv6 address"),
        ("[::1]x", "not a valid IPv6 address"),
        ("[::1%eth0]", "not a valid IPv6 address"),
    ];
    for (input, expected) in table {
        let error = HostKey::parse(input).expect_err(input);
        let text = error.to_string();
        assert!(
            text.contains(expected),
            "input {input:?}: error {text:?} should contain {expected:?}"
        );
        // The input is named as given (trimmed), except that what could be a credential is
        // redacted.
        let named = if input.contains(['@', '?', '#']) {
            "***"
        } else {
            input.trim()
        };
        assert!(
            text.starts_with("invalid host \"") && error.input().contains(named),
            "input {input:?}: error {text:?} should name the input"
        );
    }
}

#[test]
fn length_limits_follow_dns() {
    let longest_label = "a".repeat(63);
    assert_eq!(key(&longest_label).as_str(), longest_label);
    let error = HostKey::parse(&"a".repeat(64)).expect_err("64-character label");
    assert!(matches!(error.kind(), HostErrorKind::InvalidLabel { .. }));

    // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters.
    let longest_name = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
    assert_eq!(longest_name.len(), 253);
    assert_eq!(key(&longest_name).as_str(), longest_name);
    let too_long = format!("{longest_name}b");
    let error = HostKey::parse(&too_long).expect_err("254-character name");
    assert_eq!(error.kind(), &HostErrorKind::TooLong { len: 254 });
    assert!(error.to_string().contains("at most 253"));
}

#[test]
fn a_password_never_appears_in_an_error() {
    let inputs = [
        "https://token:s3cr3t@example.com",
        "user:s3cr3t@example.com",
        "HTTPS://admin:s3cr3t@example.com:443/",
        "user:s3cr3t@example.com/some/path",
        "user:p@ss-s3cr3t@example.com",
        "user:s3c/r3t@example.com",
        "user:s3c?r3t@example.com",
        "user:s3c#r3t@example.com",
        "user:s3c r3t@example.com",
        "user:a://s3cr3t@example.com",
        "ftp://user:s3cr3t@example.com",
        "s3cr3t@example.com",
        "example.com/?password=s3cr3t",
        "example.com#s3cr3t",
    ];
    for input in inputs {
        let error = HostKey::parse(input).expect_err(input);
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            error.input().to_owned(),
        ] {
            assert!(!shown.contains("s3cr3t"), "{input:?} leaked into {shown:?}");
            assert!(!shown.contains("r3t"), "{input:?} leaked into {shown:?}");
        }
    }
    let error = HostKey::parse("https://token:s3cr3t@example.com").expect_err("userinfo");
    assert_eq!(error.kind(), &HostErrorKind::UserInfo);
    assert_eq!(error.input(), "https://***@example.com");
}

#[test]
fn ports_are_kept_apart_except_the_default() {
    assert_eq!(key("example.com:443"), key("https://EXAMPLE.com/"));
    assert_ne!(key("example.com:8443"), key("example.com"));
    assert_eq!(key("example.com").port(), None);
    assert_eq!(key("example.com:8443").port(), Some(8443));
    assert_eq!(key("127.0.0.1:54321").port(), Some(54321));
    assert_eq!(key("[::1]").port(), None);
    assert_eq!(key("[::1]:8080").port(), Some(8080));
    assert_eq!(key("[::1]:8080").host(), "[::1]");
    assert_eq!(key("example.com:8443").host(), "example.com");
}

#[test]
fn loopback_hosts_are_recognised() {
    for loopback in [
        "localhost",
        "LOCALHOST:8080",
        "127.0.0.1",
        "127.0.0.1:54321",
        "127.255.0.9",
        "[::1]",
        "[::1]:8080",
        "[::ffff:127.0.0.1]:80",
    ] {
        assert!(key(loopback).is_loopback(), "{loopback} is loopback");
    }
    for remote in [
        "example.com",
        "localhost.example.com",
        "128.0.0.1",
        "10.0.0.1:8080",
        "[::2]",
        "[2001:db8::1]:443",
    ] {
        assert!(!key(remote).is_loopback(), "{remote} is not loopback");
    }
}

#[test]
fn keys_display_parse_and_order_like_their_spelling() {
    let parsed: HostKey = "HTTPS://B.example.com/".parse().expect("valid");
    assert_eq!(parsed.to_string(), "b.example.com");
    assert_eq!(parsed.as_ref(), "b.example.com");
    assert_eq!(
        serde_json::to_string(&parsed).expect("serialises"),
        "\"b.example.com\""
    );
    let set: BTreeSet<HostKey> = ["b.example.com", "A.example.com", "https://a.example.com."]
        .into_iter()
        .map(key)
        .collect();
    let spelled: Vec<&str> = set.iter().map(HostKey::as_str).collect();
    assert_eq!(spelled, ["a.example.com", "b.example.com"]);
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

/// A valid, lower-case host name of 1 to 4 labels.
fn host_name() -> impl Strategy<Value = String> {
    let label = "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?";
    (prop::collection::vec(label, 1..4), "[a-z][a-z0-9]{0,5}")
        .prop_map(|(labels, last)| format!("{}.{last}", labels.join(".")))
}

/// Randomly upper-cases some letters.
fn scramble_case(name: &str, mask: u64) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    /// Every decorated spelling of a host (case, scheme, port 443, trailing dot and slash,
    /// surrounding whitespace) gives the same key, which parses to itself.
    #[test]
    fn decorations_do_not_change_the_key(
        name in host_name(),
        mask in any::<u64>(),
        scheme in prop_oneof![Just(""), Just("https://"), Just("HTTP://"), Just("Https://")],
        dot in any::<bool>(),
        default_port in any::<bool>(),
        slash in any::<bool>(),
        padding in prop_oneof![Just(""), Just(" "), Just("\t\n ")],
    ) {
        let decorated = format!(
            "{padding}{scheme}{}{}{}{}{padding}",
            scramble_case(&name, mask),
            if dot { "." } else { "" },
            if default_port { ":443" } else { "" },
            if slash { "/" } else { "" },
        );
        let parsed = HostKey::parse(&decorated).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.as_str(), name.as_str());
        prop_assert_eq!(HostKey::parse(parsed.as_str()).ok(), Some(parsed));
    }

    /// A port other than 443 stays in the key and is reported back.
    #[test]
    fn other_ports_are_kept(name in host_name(), port in 1u16..=u16::MAX) {
        prop_assume!(port != 443);
        let parsed = HostKey::parse(&format!("{name}:{port}"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.port(), Some(port));
        prop_assert_eq!(parsed.host(), name.as_str());
    }

    /// Whatever the password, it never shows in the error.
    #[test]
    fn passwords_never_leak(
        user in "[a-z]{0,8}",
        password in "[!-~ ]{0,16}",
        host in host_name(),
        scheme in prop_oneof![Just(""), Just("https://"), Just("ftp://")],
    ) {
        let secret = format!("SECRET{password}");
        let input = format!("{scheme}{user}:{secret}@{host}");
        let error = HostKey::parse(&input).expect_err("userinfo is rejected");
        for shown in [error.to_string(), format!("{error:?}")] {
            prop_assert!(!shown.contains("SECRET"), "{:?} leaked into {:?}", input, shown);
        }
    }
}
