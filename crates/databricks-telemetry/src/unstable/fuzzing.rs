//! Entry points for the fuzz targets (`fuzz/`) and their proptest stand-ins
//! (`tests/model/fuzz_equivalents.rs`): the parsers of what a server sends, reachable without a
//! network.
//!
//! Part of [`unstable`](super): free to change in any release. The other untrusted inputs are
//! parsed by the public API: [`TelemetryConfig::from_options_with_env`]
//! (driver options and the environment) and [`HostKey::parse`] (host strings).
//!
//! [`TelemetryConfig::from_options_with_env`]: crate::TelemetryConfig::from_options_with_env
//! [`HostKey::parse`]: crate::HostKey::parse

use std::time::{Duration, SystemTime};

#[cfg(feature = "ureq-transport")]
use ureq::http::{HeaderName, HeaderValue, Response, StatusCode};
#[cfg(feature = "ureq-transport")]
use ureq::Body;

#[cfg(feature = "ureq-transport")]
use crate::export::http::client::{answer_from, MAX_RESPONSE_BODY_BYTES};
#[cfg(feature = "ureq-transport")]
use crate::export::http::response::answer_outcome;
use crate::export::http::response::parse_retry_after;
#[cfg(feature = "ureq-transport")]
use crate::export::http::transport::read_response;
#[cfg(feature = "ureq-transport")]
use crate::export::ExportOutcome;
use crate::feature_flags::{parse_flags, FlagAnswer};

/// How a `Retry-After` header value is read, relative to `now`.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_retry_after(value, now)
}

/// What the exporter makes of an answer to an upload of `sent` logs: the status, the headers
/// and the body go through the same reading (header decoding, the body size limit) and
/// interpretation as an answer from the network.
///
/// `None` when the status is not a three-digit code, which no HTTP parser would hand over.
/// Headers whose name or value could not appear on the wire are left out, for the same reason.
/// Needs the default client (feature `ureq-transport`), whose reading it goes through.
#[cfg(feature = "ureq-transport")]
pub fn response_outcome(
    status: u16,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
    sent: usize,
    now: SystemTime,
) -> Option<ExportOutcome> {
    let status = StatusCode::from_u16(status).ok()?;
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            response = response.header(name, value);
        }
    }
    let response = response.body(Body::builder().data(body.to_vec())).ok()?;
    let answer = answer_from(
        read_response(response, MAX_RESPONSE_BODY_BYTES),
        MAX_RESPONSE_BODY_BYTES,
    );
    Some(answer_outcome(&answer, sent, now))
}

/// How a 2xx body of the feature-flag route is read: the answer for `flag_name` (the only name
/// of the `feature_flag_name` setting) and how long it is kept, or `None` when the body is not
/// a flag list.
pub fn feature_flag_answer(body: &[u8], flag_name: &str) -> Option<(FlagAnswer, Duration)> {
    parse_flags(body, &[flag_name.to_owned()])
}
