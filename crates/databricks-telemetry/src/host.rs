//! Normalised host keys: the one spelling of a host that clients and breakers are shared by.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::Serialize;

/// The longest host name DNS allows (without a trailing dot).
const MAX_HOST_NAME_LEN: usize = 253;
/// The longest label (the part between two dots) DNS allows.
const MAX_LABEL_LEN: usize = 63;
/// The port HTTPS uses when none is given; it is dropped from keys.
const DEFAULT_HTTPS_PORT: u16 = 443;

/// A host (and port, when not 443) in one canonical spelling.
///
/// [`HostKey::parse`] trims surrounding whitespace, lower-cases, and drops an `https://` or
/// `http://` scheme (any case), a lone trailing `/`, a trailing `.` and the default port `:443`.
/// Other ports are kept: `host:8443` is a different key from `host`. IPv4 literals and bracketed
/// IPv6 literals (`[::1]:8080`) are accepted, IPv6 in its shortest form.
///
/// # Example
///
/// ```
/// use databricks_telemetry::HostKey;
///
/// let key = HostKey::parse(" HTTPS://Adb-123.Azuredatabricks.NET.:443/ ").unwrap();
/// assert_eq!(key.as_str(), "adb-123.azuredatabricks.net");
/// assert_eq!(key.port(), None);
///
/// let local = HostKey::parse("http://127.0.0.1:8080").unwrap();
/// assert_eq!(local.as_str(), "127.0.0.1:8080");
/// assert_eq!(local.port(), Some(8080));
/// assert!(local.is_loopback());
///
/// assert!(HostKey::parse("https://token:secret@host").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct HostKey(String);

impl HostKey {
    /// Normalises `input` into a key, or says why it is not a host.
    pub fn parse(input: &str) -> Result<HostKey, HostError> {
        parse_host(input.trim()).map_err(|kind| HostError {
            input: redact(input.trim()),
            kind,
        })
    }

    /// The canonical spelling, e.g. `example.com`, `example.com:8443` or `[::1]:8080`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The port, when it is not the default 443.
    pub fn port(&self) -> Option<u16> {
        self.split().1
    }

    /// The host without the port: a name, an IPv4 address or a bracketed IPv6 address.
    pub fn host(&self) -> &str {
        self.split().0
    }

    /// Whether the host is this machine: `localhost`, `127.0.0.0/8` or `::1` (also written as
    /// the IPv4-mapped `::ffff:127.x.y.z`).
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        if host == "localhost" {
            return true;
        }
        if let Ok(v4) = host.parse::<Ipv4Addr>() {
            return v4.is_loopback();
        }
        let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        match bracketed.map(str::parse::<Ipv6Addr>) {
            Some(Ok(v6)) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            _ => false,
        }
    }

    /// Splits the canonical spelling into host and port. Only a port after the last `:` that is
    /// not inside IPv6 brackets counts.
    fn split(&self) -> (&str, Option<u16>) {
        match self.0.rsplit_once(':') {
            Some((host, port)) if !port.ends_with(']') => (host, port.parse().ok()),
            _ => (&self.0, None),
        }
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for HostKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for HostKey {
    type Err = HostError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        HostKey::parse(input)
    }
}

/// Why a string is not a host. The input it shows has any user information, query and fragment
/// replaced by `***`, so it never carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host {input:?}: {kind}")]
pub struct HostError {
    input: String,
    kind: HostErrorKind,
}

impl HostError {
    /// The input, trimmed and with user information, query and fragment redacted.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What was wrong with it.
    pub fn kind(&self) -> &HostErrorKind {
        &self.kind
    }
}

/// What was wrong with a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostErrorKind {
    /// Nothing but whitespace.
    #[error("it is empty; expected a host name such as `adb-123.azuredatabricks.net`")]
    Empty,
    /// A scheme other than http or https.
    #[error("scheme `{scheme}` is not supported; expected `https://`, `http://` or no scheme")]
    UnsupportedScheme {
        /// The scheme given (lower-cased).
        scheme: String,
    },
    /// `user@host` or `user:password@host`.
    #[error("it contains user information before `@`; credentials never belong in the host")]
    UserInfo,
    /// Anything after the host and port other than a lone trailing `/`.
    #[error("it has a path, query or fragment; expected only a host and an optional port")]
    PathQueryOrFragment,
    /// Whitespace or a control character inside the host.
    #[error("it contains whitespace or a control character ({character:?}) inside")]
    WhitespaceOrControl {
        /// The offending character.
        character: char,
    },
    /// A character a host name cannot hold.
    #[error(
        "character {character:?} is not allowed in a host name; expected ASCII letters, digits, \
         `-` and `.` (punycode for international names)"
    )]
    InvalidCharacter {
        /// The offending character.
        character: char,
    },
    /// Only a port (or nothing) where the host should be.
    #[error("the host name is missing")]
    MissingHost,
    /// A port that is not a number from 1 to 65535.
    #[error("port `{port}` is not a number from 1 to 65535")]
    InvalidPort {
        /// The port as given.
        port: String,
    },
    /// An empty label (`a..b`), one longer than 63 characters, or one starting or ending with `-`.
    #[error(
        "label `{label}` is invalid; expected 1 to 63 letters, digits or `-`, \
         not starting or ending with `-`"
    )]
    InvalidLabel {
        /// The offending label.
        label: String,
    },
    /// A host name longer than DNS allows.
    #[error("the host name is {len} characters long; at most 253 are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A dotted number that is not an IPv4 address (the last label of a name cannot be numeric).
    #[error("`{host}` is not a valid IPv4 address (expected four numbers from 0 to 255)")]
    InvalidIpv4 {
        /// The host as given.
        host: String,
    },
    /// Something in brackets that is not an IPv6 address, or an IPv6 address without brackets.
    #[error("`{host}` is not a valid IPv6 address; expected one in brackets, such as `[::1]`")]
    InvalidIpv6 {
        /// The host as given.
        host: String,
    },
}

/// Parses a trimmed input into the canonical spelling.
fn parse_host(input: &str) -> Result<HostKey, HostErrorKind> {
    if input.is_empty() {
        return Err(HostErrorKind::Empty);
    }
    if let Some(character) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(HostErrorKind::WhitespaceOrControl { character });
    }
    let rest = strip_scheme(input)?;
    if rest.contains('@') {
        return Err(HostErrorKind::UserInfo);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if !tail.is_empty() && tail != "/" {
        return Err(HostErrorKind::PathQueryOrFragment);
    }
    let authority = authority.to_ascii_lowercase();
    let (host, port) = split_port(&authority)?;
    let host = if host.starts_with('[') {
        canonical_ipv6(host)?
    } else {
        canonical_name(host)?
    };
    Ok(HostKey(match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }))
}

/// Drops an `http://` or `https://` scheme (any case); rejects any other.
fn strip_scheme(input: &str) -> Result<&str, HostErrorKind> {
    match split_scheme(input) {
        (None, rest) => Ok(rest),
        (Some(scheme), rest)
            if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") =>
        {
            Ok(rest)
        }
        (Some(scheme), _) => Err(HostErrorKind::UnsupportedScheme {
            scheme: scheme.to_ascii_lowercase(),
        }),
    }
}

/// Splits `scheme://rest` when what precedes `://` is a URL scheme (a letter, then letters,
/// digits, `+`, `-` or `.`). Anything else, such as `user:pw://`, is not taken for a scheme, so a
/// credential is never reported as one.
fn split_scheme(input: &str) -> (Option<&str>, &str) {
    let Some((scheme, rest)) = input.split_once("://") else {
        return (None, input);
    };
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if starts_with_letter && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        (Some(scheme), rest)
    } else {
        (None, input)
    }
}

/// Splits `host[:port]` or `[v6][:port]`, dropping the default port 443.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), HostErrorKind> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(close) => {
                let (host, after) = authority.split_at(close + 1);
                match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None if after.is_empty() => (host, None),
                    None => {
                        return Err(HostErrorKind::InvalidIpv6 {
                            host: authority.to_owned(),
                        })
                    }
                }
            }
            None => {
                return Err(HostErrorKind::InvalidIpv6 {
                    host: authority.to_owned(),
                })
            }
        }
    } else {
        match authority.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err(HostErrorKind::InvalidIpv6 {
                    host: authority.to_owned(),
                })
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(text) => match parse_port(text) {
            Some(DEFAULT_HTTPS_PORT) => None,
            Some(port) => Some(port),
            None => {
                return Err(HostErrorKind::InvalidPort {
                    port: text.to_owned(),
                })
            }
        },
    };
    Ok((host, port))
}

/// A port: 1 to 5 ASCII digits, from 1 to 65535.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|&port| port != 0)
}

/// `[v6]` in its shortest form.
fn canonical_ipv6(bracketed: &str) -> Result<String, HostErrorKind> {
    bracketed
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .map(|addr| format!("[{addr}]"))
        .ok_or_else(|| HostErrorKind::InvalidIpv6 {
            host: bracketed.to_owned(),
        })
}

/// A lower-case DNS name or IPv4 address, without a trailing dot.
fn canonical_name(host: &str) -> Result<String, HostErrorKind> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err(HostErrorKind::MissingHost);
    }
    if let Some(character) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(HostErrorKind::InvalidCharacter { character });
    }
    if let Ok(v4) = name.parse::<Ipv4Addr>() {
        return Ok(v4.to_string());
    }
    if name.len() > MAX_HOST_NAME_LEN {
        return Err(HostErrorKind::TooLong { len: name.len() });
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(HostErrorKind::InvalidLabel {
                label: label.to_owned(),
            });
        }
    }
    let last_label = name.rsplit('.').next().unwrap_or(name);
    if last_label.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostErrorKind::InvalidIpv4 {
            host: name.to_owned(),
        });
    }
    Ok(name.to_owned())
}

/// The longest [`shown`] text, in characters (an ellipsis included).
pub const MAX_SHOWN_CHARS: usize = 200;

/// `input` (a URL or host as a user gave it) as it may be printed: the user information, query
/// and fragment replaced by `***`, control characters escaped, and cut to
/// [`MAX_SHOWN_CHARS`] characters (ending in `…` when cut).
///
/// # Example
///
/// ```
/// use databricks_telemetry::unstable::shown;
///
/// assert_eq!(shown("http://user:PASSWORD@127.0.0.1:8089/x?token=abc#f"), "http://***@127.0.0.1:8089/x?***");
/// assert_eq!(shown(&"a".repeat(100_000)).chars().count(), 200);
/// ```
pub fn shown(input: &str) -> String {
    let escaped: String = redact(input.trim())
        .chars()
        .flat_map(char::escape_debug)
        .collect();
    if escaped.chars().count() <= MAX_SHOWN_CHARS {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(MAX_SHOWN_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The input with everything that could be a credential replaced by `***`: anything after the
/// first `?` or `#`, and the user information (everything between the scheme and the last
/// `@`; when that `@` comes after a `?` or `#`, everything between the scheme and the `?`).
fn redact(input: &str) -> String {
    let (scheme, rest) = match split_scheme(input) {
        (Some(scheme), rest) => (format!("{scheme}://"), rest),
        (None, rest) => (String::new(), rest),
    };
    let cut = rest.find(['?', '#']);
    let visible = &rest[..cut.unwrap_or(rest.len())];
    let mut shown = match rest.rfind('@') {
        Some(at) if at < visible.len() => format!("***{}", &visible[at..]),
        Some(_) => "***".to_owned(),
        None => visible.to_owned(),
    };
    if let Some(at) = cut {
        shown.push_str(&rest[at..=at]);
        shown.push_str("***");
    }
    format!("{scheme}{shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_userinfo_query_and_fragment() {
        assert_eq!(redact("https://u:pw@h/p?q=1#f"), "https://***@h/p?***");
        assert_eq!(redact("u:p@ss@h"), "***@h");
        assert_eq!(redact("h/p#frag"), "h/p#***");
        assert_eq!(redact("plain.host"), "plain.host");
        assert_eq!(redact("user:a://b@h"), "***@h");
        // An `@` after the `?` is in the query: nothing after the `?` shows.
        assert_eq!(redact("?@/cc/f//?"), "***?***");
        assert_eq!(redact("https://h/p?a@b/c"), "https://***?***");
    }

    #[test]
    fn split_finds_ports_only_outside_brackets() {
        let key = HostKey::parse("[::1]").expect("valid");
        assert_eq!(key.port(), None);
        assert_eq!(key.host(), "[::1]");
        let key = HostKey::parse("[::1]:9").expect("valid");
        assert_eq!(key.port(), Some(9));
        assert_eq!(key.host(), "[::1]");
    }
}
