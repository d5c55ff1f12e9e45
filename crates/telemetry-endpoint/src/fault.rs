//! Injected faults for the upload routes, and their compact text syntax.
//!
//! See the [crate documentation](crate#fault-syntax) for the syntax.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hyper::header::HeaderValue;

/// The redirect status used when a spec does not name one.
pub const DEFAULT_REDIRECT_CODE: u16 = 307;

/// A fault applied to upload requests (`/telemetry-ext` and `/telemetry-unauth`) only.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use telemetry_endpoint::{Fault, FaultKind, FaultScope};
///
/// let fault: Fault = "429:retry-after=1*3".parse().unwrap();
/// assert_eq!(fault.kind, FaultKind::Status { code: 429, retry_after: Some("1".into()) });
/// assert_eq!(fault.scope, FaultScope::Next(3));
/// assert_eq!("delay=200ms@2s".parse::<Fault>().unwrap(),
///            Fault::new(FaultKind::Delay(Duration::from_millis(200)))
///                .with_scope(FaultScope::Window(Duration::from_secs(2))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What happens to an affected request.
    pub kind: FaultKind,
    /// Which requests are affected.
    pub scope: FaultScope,
}

impl Fault {
    /// A fault of `kind` applying to every upload request.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            kind,
            scope: FaultScope::Always,
        }
    }

    /// The same fault with another scope.
    pub fn with_scope(mut self, scope: FaultScope) -> Self {
        self.scope = scope;
        self
    }
}

/// What happens to an upload request hit by a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status code, and a `Retry-After` header with exactly this raw value
    /// when given (so tests can send junk).
    Status {
        /// The HTTP status code, 100..=599.
        code: u16,
        /// The raw `Retry-After` value, if any.
        retry_after: Option<String>,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Read the request and never answer (until the endpoint shuts down).
    Hang,
    /// Accept the upload as a `200` would (a refused one is answered whole), then write part
    /// of the `200` response and abort the connection with a TCP reset.
    Reset,
    /// Redirect to `location` with a 3xx `code`.
    Redirect {
        /// The `Location` header value.
        location: String,
        /// The redirect status code (307 by default).
        code: u16,
    },
    /// Answer `200` with a body that is not JSON.
    MalformedBody,
    /// Answer `200` with a streamed body of exactly this many bytes.
    HugeBody {
        /// The body length in bytes.
        bytes: usize,
    },
}

/// Which upload requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultScope {
    /// Every upload request until the fault is cleared.
    Always,
    /// The next N upload requests; then the fault clears itself.
    Next(u32),
    /// Every upload request within this long from when the fault was set.
    Window(Duration),
}

/// A fault spec that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec {spec:?}: {reason}")]
pub struct FaultParseError {
    /// The spec as given.
    pub spec: String,
    /// What was wrong and what was expected.
    pub reason: String,
}

impl FromStr for Fault {
    type Err = FaultParseError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| FaultParseError {
            spec: spec.to_owned(),
            reason,
        };
        let trimmed = spec.trim();
        if trimmed.is_empty() {
            return Err(fail(
                "empty; expected e.g. 503, 429:retry-after=1, delay=200ms, hang, reset, redirect=URL, malformed or huge=10mb".to_owned(),
            ));
        }
        let (kind_text, scope) = split_scope(trimmed).map_err(fail)?;
        let kind = parse_kind(kind_text).map_err(fail)?;
        Ok(Fault { kind, scope })
    }
}

/// Splits a trailing `*N` or `@DURATION` off; the suffix only counts when it parses as a scope.
fn split_scope(spec: &str) -> Result<(&str, FaultScope), String> {
    let Some(at) = spec.rfind(['*', '@']) else {
        return Ok((spec, FaultScope::Always));
    };
    let (kind, suffix) = (&spec[..at], &spec[at + 1..]);
    let scope = if spec[at..].starts_with('*') {
        match suffix.parse::<u32>() {
            Ok(0) => return Err("the scope *0 affects no request; expected *N with N >= 1".into()),
            Ok(count) => FaultScope::Next(count),
            Err(_) => return Ok((spec, FaultScope::Always)),
        }
    } else {
        match parse_duration(suffix) {
            Ok(window) if window.is_zero() => {
                return Err("the scope @0 affects no request; expected a positive window".into())
            }
            Ok(window) => FaultScope::Window(window),
            Err(_) => return Ok((spec, FaultScope::Always)),
        }
    };
    Ok((kind, scope))
}

fn parse_kind(text: &str) -> Result<FaultKind, String> {
    match text.to_ascii_lowercase().as_str() {
        "hang" => return Ok(FaultKind::Hang),
        "reset" => return Ok(FaultKind::Reset),
        "malformed" => return Ok(FaultKind::MalformedBody),
        _ => {}
    }
    if let Some(duration) = strip_prefix_ignore_case(text, "delay=") {
        return parse_duration(duration).map(FaultKind::Delay);
    }
    if let Some(size) = strip_prefix_ignore_case(text, "huge=") {
        return parse_size(size).map(|bytes| FaultKind::HugeBody { bytes });
    }
    if let Some(rest) = strip_prefix_ignore_case(text, "redirect") {
        return parse_redirect(rest);
    }
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_status(text);
    }
    Err(format!(
        "unknown fault {text:?}; expected a status code (503, 429:retry-after=1), delay=DURATION, hang, reset, redirect=URL, malformed or huge=SIZE"
    ))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn parse_status(text: &str) -> Result<FaultKind, String> {
    let (code_text, options) = match text.split_once(':') {
        Some((code, options)) => (code, Some(options)),
        None => (text, None),
    };
    let code = code_text
        .parse::<u16>()
        .ok()
        .filter(|code| (100..=599).contains(code))
        .ok_or_else(|| format!("status code {code_text:?} is not a number from 100 to 599"))?;
    let retry_after = match options {
        None => None,
        Some(options) => {
            let value = strip_prefix_ignore_case(options, "retry-after=").ok_or_else(|| {
                format!("unknown status option {options:?}; expected retry-after=VALUE")
            })?;
            HeaderValue::from_str(value)
                .map_err(|_| format!("retry-after value {value:?} cannot be sent as a header"))?;
            Some(value.to_owned())
        }
    };
    Ok(FaultKind::Status { code, retry_after })
}

fn parse_redirect(rest: &str) -> Result<FaultKind, String> {
    let (code, location) = if let Some(location) = rest.strip_prefix('=') {
        (DEFAULT_REDIRECT_CODE, location)
    } else if let Some(coded) = rest.strip_prefix(':') {
        let (code_text, location) = coded
            .split_once('=')
            .ok_or_else(|| "expected redirect:CODE=URL".to_owned())?;
        let code = code_text
            .parse::<u16>()
            .ok()
            .filter(|code| (300..=399).contains(code))
            .ok_or_else(|| {
                format!("redirect code {code_text:?} is not a number from 300 to 399")
            })?;
        (code, location)
    } else {
        return Err("expected redirect=URL or redirect:CODE=URL".to_owned());
    };
    if location.is_empty() {
        return Err("the redirect URL is empty".to_owned());
    }
    HeaderValue::from_str(location)
        .map_err(|_| format!("redirect URL {location:?} cannot be sent as a header"))?;
    Ok(FaultKind::Redirect {
        location: location.to_owned(),
        code,
    })
}

/// Parses `250ms`, `2s` or `1m` (a whole number and a unit).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("duration {text:?} does not start with a whole number"))?;
    // Up to a year: far beyond any test, and far from the clock's limits.
    const MAX: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    let duration = match unit {
        "ms" => Some(Duration::from_millis(amount)),
        "s" => Some(Duration::from_secs(amount)),
        "m" => amount.checked_mul(60).map(Duration::from_secs),
        _ => None,
    };
    match (duration, unit) {
        (Some(duration), _) if duration <= MAX => Ok(duration),
        (Some(_), _) | (None, "m") => Err(format!("duration {text:?} is longer than a year")),
        _ => Err(format!(
            "duration {text:?} has no valid unit; expected a whole number followed by ms, s or m (e.g. 200ms)"
        )),
    }
}

/// Parses `512`, `512b`, `64kb`, `10mb` or `1gb` (binary multiples).
fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let amount: usize = digits
        .parse()
        .map_err(|_| format!("size {text:?} does not start with a whole number"))?;
    let multiplier: usize = match unit {
        "" | "b" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        _ => {
            return Err(format!(
                "size {text:?} has no valid unit; expected a whole number optionally followed by b, kb, mb or gb"
            ))
        }
    };
    amount
        .checked_mul(multiplier)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 == 0 {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Status {
                code,
                retry_after: None,
            } => write!(f, "{code}"),
            FaultKind::Status {
                code,
                retry_after: Some(value),
            } => write!(f, "{code}:retry-after={value}"),
            FaultKind::Delay(duration) => write!(f, "delay={}", format_duration(*duration)),
            FaultKind::Hang => f.write_str("hang"),
            FaultKind::Reset => f.write_str("reset"),
            FaultKind::Redirect { location, code } if *code == DEFAULT_REDIRECT_CODE => {
                write!(f, "redirect={location}")
            }
            FaultKind::Redirect { location, code } => write!(f, "redirect:{code}={location}"),
            FaultKind::MalformedBody => f.write_str("malformed"),
            FaultKind::HugeBody { bytes } => write!(f, "huge={bytes}"),
        }
    }
}

impl fmt::Display for FaultScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultScope::Always => Ok(()),
            FaultScope::Next(count) => write!(f, "*{count}"),
            FaultScope::Window(window) => write!(f, "@{}", format_duration(*window)),
        }
    }
}

/// Writes the spec syntax, so `fault.to_string().parse()` gives the fault back.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind, self.scope)
    }
}

/// A fault as installed: how much of its scope is left.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    fault: Fault,
    remaining: Option<u32>,
    until: Option<Instant>,
}

impl ActiveFault {
    /// Installs `fault` at `now` (a window starts now).
    pub(crate) fn new(fault: Fault, now: Instant) -> Self {
        let (remaining, until) = match fault.scope {
            FaultScope::Always => (None, None),
            FaultScope::Next(count) => (Some(count), None),
            // A window beyond the clock's range never ends.
            FaultScope::Window(window) => (None, now.checked_add(window)),
        };
        ActiveFault {
            fault,
            remaining,
            until,
        }
    }

    /// Whether the fault applies to an upload arriving at `now`, using up one of a `Next(N)`.
    pub(crate) fn take(&mut self, now: Instant) -> Option<FaultKind> {
        if self.is_spent(now) {
            return None;
        }
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        Some(self.fault.kind.clone())
    }

    /// The fault as it stands: a `Next(N)` scope counts down as requests use it.
    pub(crate) fn current(&self) -> Fault {
        match self.remaining {
            Some(remaining) => self.fault.clone().with_scope(FaultScope::Next(remaining)),
            None => self.fault.clone(),
        }
    }

    /// Whether the fault will never apply again.
    pub(crate) fn is_spent(&self, now: Instant) -> bool {
        self.remaining == Some(0) || self.until.is_some_and(|until| now >= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_beyond_a_year_are_rejected_not_overflowed() {
        for spec in [
            "503@18446744073709551615s",
            "hang@18446744073709551615m",
            "delay=400d",
        ] {
            assert!(spec.parse::<Fault>().is_err(), "{spec}");
        }
        assert_eq!(
            parse_duration("18446744073709551615m").unwrap_err(),
            "duration \"18446744073709551615m\" is longer than a year"
        );
        // A window near the limit still installs without overflowing the clock.
        let fault: Fault = "503@525600m".parse().unwrap();
        let active = ActiveFault::new(fault, Instant::now());
        assert!(active.until.is_some());
    }

    fn parse(spec: &str) -> Fault {
        spec.parse()
            .unwrap_or_else(|error| panic!("{spec}: {error}"))
    }

    #[test]
    fn parses_every_kind() {
        let cases: &[(&str, FaultKind)] = &[
            (
                "503",
                FaultKind::Status {
                    code: 503,
                    retry_after: None,
                },
            ),
            (
                "503:retry-after=2",
                FaultKind::Status {
                    code: 503,
                    retry_after: Some("2".into()),
                },
            ),
            (
                "429:Retry-After=Wed, 21 Oct 2015 07:28:00 GMT",
                FaultKind::Status {
                    code: 429,
                    retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
                },
            ),
            ("delay=200ms", FaultKind::Delay(Duration::from_millis(200))),
            ("DELAY=2s", FaultKind::Delay(Duration::from_secs(2))),
            ("delay=1m", FaultKind::Delay(Duration::from_secs(60))),
            ("hang", FaultKind::Hang),
            ("reset", FaultKind::Reset),
            (
                "redirect=http://127.0.0.1:9/",
                FaultKind::Redirect {
                    location: "http://127.0.0.1:9/".into(),
                    code: 307,
                },
            ),
            (
                "redirect:308=http://127.0.0.1:9/x",
                FaultKind::Redirect {
                    location: "http://127.0.0.1:9/x".into(),
                    code: 308,
                },
            ),
            ("malformed", FaultKind::MalformedBody),
            ("huge=10mb", FaultKind::HugeBody { bytes: 10 << 20 }),
            ("huge=64KB", FaultKind::HugeBody { bytes: 64 << 10 }),
            ("huge=100", FaultKind::HugeBody { bytes: 100 }),
        ];
        for (spec, kind) in cases {
            assert_eq!(parse(spec), Fault::new(kind.clone()), "{spec}");
        }
    }

    #[test]
    fn parses_scopes() {
        assert_eq!(parse("503*3").scope, FaultScope::Next(3));
        assert_eq!(
            parse("hang@2s").scope,
            FaultScope::Window(Duration::from_secs(2))
        );
        assert_eq!(
            parse("503:retry-after=1@250ms"),
            Fault::new(FaultKind::Status {
                code: 503,
                retry_after: Some("1".into())
            })
            .with_scope(FaultScope::Window(Duration::from_millis(250)))
        );
        // An `@` that is not a scope stays part of the URL.
        assert_eq!(
            parse("redirect=http://user@127.0.0.1:9/").kind,
            FaultKind::Redirect {
                location: "http://user@127.0.0.1:9/".into(),
                code: 307
            }
        );
    }

    #[test]
    fn display_round_trips() {
        for spec in [
            "503",
            "429:retry-after=soon*2",
            "delay=250ms@3s",
            "delay=2s",
            "hang*1",
            "reset",
            "redirect=http://127.0.0.1:9/",
            "redirect:301=http://127.0.0.1:9/",
            "malformed@1m",
            "huge=1048576",
        ] {
            let fault = parse(spec);
            assert_eq!(parse(&fault.to_string()), fault, "{spec}");
        }
        assert_eq!(parse("delay=2000ms").to_string(), "delay=2s");
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        let cases = [
            ("", "empty"),
            ("boom", "unknown fault \"boom\""),
            ("700", "not a number from 100 to 599"),
            ("503:wait=2", "unknown status option"),
            ("delay=200", "no valid unit"),
            ("delay=fast", "does not start with a whole number"),
            ("huge=10tb", "no valid unit"),
            ("redirect", "expected redirect=URL"),
            ("redirect=", "the redirect URL is empty"),
            ("redirect:200=http://x/", "not a number from 300 to 399"),
            ("503*0", "affects no request"),
            ("503@0s", "affects no request"),
            ("503:retry-after=a\u{7}b", "cannot be sent as a header"),
        ];
        for (spec, reason) in cases {
            let error = spec.parse::<Fault>().expect_err(spec);
            assert!(
                error.reason.contains(reason),
                "{spec}: {error} should mention {reason}"
            );
            assert!(error.to_string().contains("invalid fault spec"));
        }
    }

    #[test]
    fn next_scope_is_used_up() {
        let start = Instant::now();
        let mut active = ActiveFault::new(parse("503*2"), start);
        assert!(active.take(start).is_some());
        assert_eq!(active.current().to_string(), "503*1");
        assert!(!active.is_spent(start));
        assert!(active.take(start).is_some());
        assert!(active.is_spent(start));
        assert!(active.take(start).is_none());
    }

    #[test]
    fn window_scope_ends_at_its_deadline() {
        let start = Instant::now();
        let mut active = ActiveFault::new(parse("reset@2s"), start);
        assert_eq!(active.take(start), Some(FaultKind::Reset));
        assert!(active.take(start + Duration::from_millis(1999)).is_some());
        assert!(active.take(start + Duration::from_secs(2)).is_none());
        assert!(active.is_spent(start + Duration::from_secs(2)));
    }

    #[test]
    fn always_scope_never_ends() {
        let start = Instant::now();
        let mut active = ActiveFault::new(parse("hang"), start);
        for _ in 0..100 {
            assert!(active.take(start).is_some());
        }
        assert!(!active.is_spent(start + Duration::from_secs(86_400)));
        assert_eq!(active.take(start), Some(FaultKind::Hang));
    }
}
