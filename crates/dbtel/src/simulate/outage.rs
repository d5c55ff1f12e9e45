//! `--outage KIND:DURATION@START`: a fault the embedded endpoints inject for a while.

use std::fmt;
use std::str::FromStr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use telemetry_endpoint::{EndpointHandle, Fault, FaultKind, FaultScope};

/// What `--outage` asks for: answer every upload with KIND for DURATION, starting START into
/// the run.
///
/// KIND is an HTTP status code (`503`, `429`, `500`, ... from 400 to 599), `hang` (read the
/// request, never answer) or `reset` (abort the connection mid-response). DURATION and START
/// are whole numbers with a unit: `ms`, `s` or `m` (e.g. `500ms`, `2s`, `1m`).
///
/// ```text
/// 503:2s@3s    answer 503 for 2 s, starting 3 s into the run
/// hang:1s@0s   hang every upload during the first second
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutageSpec {
    /// What the endpoints do to each upload.
    pub(crate) kind: OutageKind,
    /// How long the outage lasts.
    pub(crate) duration: Duration,
    /// When it starts, from the start of the run.
    pub(crate) start: Duration,
}

/// What an outage does to each upload request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutageKind {
    /// Answer with this status code.
    Status(u16),
    /// Never answer.
    Hang,
    /// Reset the connection.
    Reset,
}

impl OutageSpec {
    /// The endpoint fault for this outage, a window that starts when it is installed.
    pub(crate) fn fault(&self) -> Fault {
        let kind = match self.kind {
            OutageKind::Status(code) => FaultKind::Status {
                code,
                retry_after: None,
            },
            OutageKind::Hang => FaultKind::Hang,
            OutageKind::Reset => FaultKind::Reset,
        };
        Fault::new(kind).with_scope(FaultScope::Window(self.duration))
    }
}

impl fmt::Display for OutageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutageKind::Status(code) => write!(f, "{code}"),
            OutageKind::Hang => f.write_str("hang"),
            OutageKind::Reset => f.write_str("reset"),
        }
    }
}

impl fmt::Display for OutageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}ms@{}ms",
            self.kind,
            self.duration.as_millis(),
            self.start.as_millis()
        )
    }
}

/// Why an `--outage` value is not an outage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid outage {spec:?}: {reason}; expected KIND:DURATION@START, e.g. 503:2s@1s, hang:1s@500ms or reset:2s@0s")]
pub(crate) struct OutageParseError {
    spec: String,
    reason: String,
}

impl FromStr for OutageSpec {
    type Err = OutageParseError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| OutageParseError {
            spec: spec.to_owned(),
            reason,
        };
        let (rest, start) = spec
            .rsplit_once('@')
            .ok_or_else(|| fail("no @START".to_owned()))?;
        let (kind, duration) = rest
            .split_once(':')
            .ok_or_else(|| fail("no :DURATION".to_owned()))?;
        let kind = match kind.trim() {
            "hang" => OutageKind::Hang,
            "reset" => OutageKind::Reset,
            code => match code.parse::<u16>() {
                Ok(code @ 400..=599) => OutageKind::Status(code),
                _ => {
                    return Err(fail(format!(
                        "KIND {code:?} is not an HTTP status from 400 to 599, hang or reset"
                    )))
                }
            },
        };
        let duration =
            parse_duration(duration).map_err(|reason| fail(format!("DURATION {reason}")))?;
        if duration.is_zero() {
            return Err(fail("DURATION must be longer than 0".to_owned()));
        }
        let start = parse_duration(start).map_err(|reason| fail(format!("START {reason}")))?;
        Ok(OutageSpec {
            kind,
            duration,
            start,
        })
    }
}

/// Parses `500ms`, `2s` or `1m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let millis = match unit {
        "ms" => Some(number),
        "s" => number.checked_mul(1_000),
        "m" => number.checked_mul(60_000),
        _ => return Err(format!("{text:?} has no unit ms, s or m")),
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// An outage waiting for its start on a thread; [`finish`](Self::finish) cancels it if it has
/// not started, and says when it started if it did.
#[derive(Debug)]
pub(crate) struct ScheduledOutage {
    cancel: mpsc::Sender<()>,
    thread: JoinHandle<Option<Duration>>,
}

impl ScheduledOutage {
    /// Installs `spec`'s fault on every endpoint `spec.start` after `run_start`.
    pub(crate) fn schedule(
        spec: OutageSpec,
        endpoints: Vec<EndpointHandle>,
        run_start: Instant,
    ) -> std::io::Result<Self> {
        let (cancel, cancelled) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dbtel-outage".to_owned())
            .spawn(move || {
                let due = run_start + spec.start;
                let wait = due.saturating_duration_since(Instant::now());
                match cancelled.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {
                        for endpoint in &endpoints {
                            endpoint.set_fault(spec.fault());
                        }
                        Some(run_start.elapsed())
                    }
                    // Cancelled (or the run is over): the outage never started.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => None,
                }
            })?;
        Ok(ScheduledOutage { cancel, thread })
    }

    /// Cancels the outage if it has not started; returns when it started, from the run start.
    pub(crate) fn finish(self) -> Option<Duration> {
        let _ = self.cancel.send(());
        self.thread.join().unwrap_or(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let spec: OutageSpec = "503:2s@1s".parse().unwrap();
        assert_eq!(
            spec,
            OutageSpec {
                kind: OutageKind::Status(503),
                duration: Duration::from_secs(2),
                start: Duration::from_secs(1),
            }
        );
        assert_eq!(spec.fault().to_string(), "503@2s");
        let hang: OutageSpec = "hang:500ms@0s".parse().unwrap();
        assert_eq!(hang.kind, OutageKind::Hang);
        assert_eq!(hang.duration, Duration::from_millis(500));
        assert_eq!(
            "reset:1m@10ms".parse::<OutageSpec>().unwrap().kind,
            OutageKind::Reset
        );
    }

    #[test]
    fn rejects_malformed_specs_with_the_reason() {
        for (spec, reason) in [
            ("503:2s", "no @START"),
            ("503@1s", "no :DURATION"),
            ("200:2s@1s", "KIND \"200\""),
            ("boom:2s@1s", "KIND \"boom\""),
            ("503:2@1s", "DURATION \"2\" has no unit"),
            ("503:0s@1s", "longer than 0"),
            ("503:2s@soon", "START \"soon\" does not start"),
        ] {
            let error = spec.parse::<OutageSpec>().unwrap_err().to_string();
            assert!(error.contains(reason), "{spec}: {error}");
            assert!(error.contains("expected KIND:DURATION@START"), "{error}");
        }
    }
}
