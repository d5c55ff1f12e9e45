//! What the service's answer means: status codes, `Retry-After`, and `numProtoSuccess`.

use std::time::{Duration, SystemTime};

use super::client::Answer;
use crate::export::{ExportFailure, ExportOutcome, FailureKind};

/// What a complete answer to an upload of `sent` logs means, with `Retry-After` dates measured
/// from `now`: a 2xx by its body ([`success_outcome`]), anything else by its status and
/// `Retry-After` ([`failure_kind`]).
pub(crate) fn answer_outcome(answer: &Answer, sent: usize, now: SystemTime) -> ExportOutcome {
    match &answer.body {
        Some(body) => success_outcome(body, sent),
        None => {
            let retry_after = answer
                .retry_after
                .as_deref()
                .and_then(|value| parse_retry_after(value, now));
            ExportOutcome::Failed(ExportFailure::new(
                failure_kind(answer.status, retry_after),
                status_reason(answer.status),
            ))
        }
    }
}

/// The body of a 2xx answer, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SuccessBody {
    /// The whole body (possibly empty).
    Complete(Vec<u8>),
    /// The body was not had in full: it is (or declares itself) longer than the limit, or it
    /// could not be read (cut short, stalled, timed out) after the 2xx status line.
    TooLarge,
}

/// How a non-2xx status is treated; `retry_after` is the parsed `Retry-After`, if any.
///
/// - 429: throttled (with the service's delay when it gave a valid one);
/// - 503 with a valid `Retry-After`: throttled; without one, retryable;
/// - 408, 500, 502, 504: retryable;
/// - 401, 403: the credentials were refused (the lane's problem, not the host's);
/// - anything else (3xx, other 4xx, 501, 1xx): not retryable. Redirects are never followed,
///   so a 3xx is a configuration problem, not something a retry fixes.
pub(crate) fn failure_kind(status: u16, retry_after: Option<Duration>) -> FailureKind {
    match status {
        429 => FailureKind::Throttled { retry_after },
        503 if retry_after.is_some() => FailureKind::Throttled { retry_after },
        408 | 500 | 502 | 503 | 504 => FailureKind::Retryable,
        401 | 403 => FailureKind::Credentials,
        _ => FailureKind::NotRetryable,
    }
}

/// A short reason for a non-2xx status (no body, no header values).
pub(crate) fn status_reason(status: u16) -> String {
    if (300..400).contains(&status) {
        format!("HTTP {status}: redirect not followed")
    } else {
        format!("HTTP {status}")
    }
}

/// Parses a `Retry-After` value: delay-seconds (`120`) or an HTTP date, relative to `now` (a
/// date in the past means no wait). Anything else (empty, negative, fractional, junk, a number
/// too large for 64 bits) is ignored: `None`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The outcome of a 2xx answer to an upload of `sent` logs.
///
/// The 2xx status line says the batch was delivered; the body can only say that fewer were.
/// The rule for `numProtoSuccess`:
///
/// - a JSON integer from 0 to `sent - 1` delivers that many; the rest failed, not retryable
///   (the service looked at them and said no);
/// - a JSON integer of `sent` or more (however large) delivers the whole batch;
/// - anything else says nothing, and the 2xx stands (the whole batch is delivered, with a
///   debug log): a negative or fractional number, a number beyond 64 bits, a string, `null`,
///   any other JSON value; so does a missing, empty, malformed, non-object or oversized body.
///
/// The count is read on its own: other fields of the body, well-formed or not, do not matter.
pub(crate) fn success_outcome(body: &SuccessBody, sent: usize) -> ExportOutcome {
    let SuccessBody::Complete(bytes) = body else {
        return ExportOutcome::Delivered;
    };
    match proto_success_count(bytes) {
        Some(accepted) if accepted < sent as u64 => ExportOutcome::PartiallyDelivered {
            delivered: accepted as usize,
            failure: ExportFailure::new(
                FailureKind::NotRetryable,
                format!("the service accepted {accepted} of {sent} logs"),
            ),
        },
        _ => ExportOutcome::Delivered,
    }
}

/// `numProtoSuccess` when the body is a JSON object holding it as a non-negative integer that
/// fits 64 bits; `None` otherwise (see [`success_outcome`]).
pub(crate) fn proto_success_count(body: &[u8]) -> Option<u64> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let count = value.as_object()?.get("numProtoSuccess")?;
    let parsed = count.as_u64();
    if parsed.is_none() && !count.is_null() {
        tracing::debug!("numProtoSuccess is not a non-negative integer; the 2xx stands");
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        // Thu, 27 Nov 2025 12:00:00 GMT
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_244_800)
    }

    #[test]
    fn retry_after_seconds_dates_and_junk() {
        assert_eq!(parse_retry_after("2", now()), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Thu, 27 Nov 2025 12:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Thu, 27 Nov 2025 11:00:00 GMT", now()),
            Some(Duration::ZERO),
            "a date in the past means no wait"
        );
        for junk in [
            "",
            "soon",
            "-1",
            "1.5",
            "2 seconds",
            "99999999999999999999999",
            "Thu, 32 Nov 2025 12:00:00 GMT",
        ] {
            assert_eq!(parse_retry_after(junk, now()), None, "{junk:?}");
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        let after = Some(Duration::from_secs(1));
        assert_eq!(
            failure_kind(429, after),
            FailureKind::Throttled { retry_after: after }
        );
        assert_eq!(
            failure_kind(429, None),
            FailureKind::Throttled { retry_after: None }
        );
        assert_eq!(
            failure_kind(503, after),
            FailureKind::Throttled { retry_after: after }
        );
        assert_eq!(failure_kind(503, None), FailureKind::Retryable);
        for status in [408, 500, 502, 504] {
            assert_eq!(
                failure_kind(status, None),
                FailureKind::Retryable,
                "{status}"
            );
        }
        for status in [401, 403] {
            assert_eq!(failure_kind(status, after), FailureKind::Credentials);
        }
        for status in [301, 302, 307, 308, 400, 404, 413, 501, 505] {
            assert_eq!(
                failure_kind(status, after),
                FailureKind::NotRetryable,
                "{status}"
            );
        }
    }

    #[test]
    fn success_bodies() {
        let complete = |s: &str| SuccessBody::Complete(s.as_bytes().to_vec());
        assert_eq!(success_outcome(&complete(""), 3), ExportOutcome::Delivered);
        assert_eq!(
            success_outcome(&complete("<html>"), 3),
            ExportOutcome::Delivered
        );
        assert_eq!(
            success_outcome(&SuccessBody::TooLarge, 3),
            ExportOutcome::Delivered
        );
        assert_eq!(
            success_outcome(&complete(r#"{"numSuccess":1}"#), 3),
            ExportOutcome::Delivered
        );
        assert_eq!(
            success_outcome(&complete(r#"{"numProtoSuccess":3}"#), 3),
            ExportOutcome::Delivered
        );
        assert_eq!(
            success_outcome(&complete(r#"{"numProtoSuccess":"1"}"#), 3),
            ExportOutcome::Delivered,
            "a malformed count is a malformed body"
        );
        for odd in [
            r#"{"numProtoSuccess":-1}"#,
            r#"{"numProtoSuccess":1.5}"#,
            r#"{"numProtoSuccess":99.5}"#,
            r#"{"numProtoSuccess":1e300}"#,
            r#"{"numProtoSuccess":-99999999999999999999999}"#,
            r#"{"numProtoSuccess":99999999999999999999999}"#,
            r#"{"numProtoSuccess":null}"#,
            r#"{"numProtoSuccess":true}"#,
            r#"{"numProtoSuccess":[1]}"#,
            r#"[{"numProtoSuccess":1}]"#,
            "1",
        ] {
            assert_eq!(
                success_outcome(&complete(odd), 3),
                ExportOutcome::Delivered,
                "{odd}"
            );
        }
        assert_eq!(
            success_outcome(&complete(r#"{"numProtoSuccess":18446744073709551615}"#), 3),
            ExportOutcome::Delivered,
            "more than sent is all of it"
        );
        let partial = success_outcome(&complete(r#"{"errors":[],"numProtoSuccess":1}"#), 3);
        assert_eq!(partial.delivered_count(3), 1);
        assert!(matches!(
            partial,
            ExportOutcome::PartiallyDelivered { delivered: 1, ref failure }
                if failure.kind == FailureKind::NotRetryable
        ));
    }
}

/// The `numProtoSuccess` rule, as one table: each body and what it delivers of 3 sent.
#[cfg(test)]
mod proto_success_rule {
    use super::*;

    #[test]
    fn num_proto_success_rule_is_read_on_its_own() {
        let delivered = |body: &str| {
            success_outcome(&SuccessBody::Complete(body.as_bytes().to_vec()), 3).delivered_count(3)
        };
        // A malformed sibling field does not hide a well-formed count.
        assert_eq!(delivered(r#"{"errors":5,"numProtoSuccess":1}"#), 1);
        assert_eq!(delivered(r#"{"numSuccess":"x","numProtoSuccess":0}"#), 0);
        assert_eq!(delivered(r#"{"numProtoSuccess":2}"#), 2);
        assert_eq!(delivered(r#"{"numProtoSuccess":3}"#), 3);
        assert_eq!(delivered(r#"{"numProtoSuccess":-1}"#), 3);
        assert_eq!(delivered(r#"{"numProtoSuccess":99.5}"#), 3);
        assert_eq!(delivered(r#"{"numProtoSuccess":"1"}"#), 3);
    }
}
