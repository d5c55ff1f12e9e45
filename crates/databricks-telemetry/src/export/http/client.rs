//! What the exporter and the flag fetch share on the way to a [`Transport`]: the headers every
//! request carries, the check of the `Authorization` value, and the reading of the answer into
//! what the library needs (status, `Retry-After`, a 2xx body within the limit).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::response::SuccessBody;
use crate::credentials::AuthorizationValue;
use crate::export::transport::{
    Method, ResponseBody, Transport, TransportRequest, TransportResponse,
};
use crate::export::{ExportFailure, FailureKind};

/// The most bytes of an upload's response body ever read; longer bodies are not read at all.
pub(crate) const MAX_RESPONSE_BODY_BYTES: u64 = 64 * 1024;

/// The header that carries the workspace's organisation id.
pub(crate) const ORG_ID_HEADER: &str = "x-databricks-org-id";

/// `application/json`, for `Content-Type` and `Accept`.
pub(crate) const JSON: &str = "application/json";

/// The headers of one request that vary: the credentials and the org id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestHeaders<'a> {
    pub(crate) authorization: Option<&'a AuthorizationValue>,
    pub(crate) org_id: Option<&'a str>,
}

/// A complete answer: the status, the raw `Retry-After`, and for a 2xx the body as far as it
/// was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    /// `Some` for a 2xx only; other bodies are never looked at.
    pub(crate) body: Option<SuccessBody>,
}

/// One exchange through `transport`: `method url` with `headers`, `user_agent`, a JSON `body`
/// for a `POST`, by `deadline`, reading at most `body_limit` bytes of a 2xx body.
///
/// The `Authorization` value is checked first ([`checked`]); a transport that panics or breaks
/// the body limit is treated as failing or as having had too much (never trusted further).
#[allow(clippy::too_many_arguments)]
pub(crate) fn exchange(
    transport: &dyn Transport,
    method: Method,
    url: &str,
    headers: RequestHeaders<'_>,
    user_agent: &str,
    body: &[u8],
    deadline: Instant,
    body_limit: u64,
) -> Result<Answer, ExportFailure> {
    let authorization = headers.authorization.map(checked).transpose()?;
    let mut request = TransportRequest::new(method, url, deadline, body_limit)
        .with_header("accept", JSON)
        .with_header("user-agent", user_agent)
        .with_authorization(authorization);
    if method == Method::Post {
        request = request.with_header("content-type", JSON).with_body(body);
    }
    if let Some(org_id) = headers.org_id {
        request = request.with_header(ORG_ID_HEADER, org_id);
    }
    let response = match catch_unwind(AssertUnwindSafe(|| transport.send(&request))) {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return Err(error.into()),
        Err(_) => {
            return Err(ExportFailure::new(
                FailureKind::NotRetryable,
                "the HTTP transport panicked",
            ))
        }
    };
    Ok(answer_from(response, body_limit))
}

/// What the library keeps of a transport's answer: for a 2xx, the body when it was read in
/// full within `body_limit` (a longer one counts as not had in full, whatever the transport
/// says).
pub(crate) fn answer_from(response: TransportResponse, body_limit: u64) -> Answer {
    let status = response.status();
    let success = (200..300).contains(&status);
    let retry_after = response.retry_after().map(str::to_owned);
    let body = success.then(|| match response.into_body() {
        ResponseBody::Complete(bytes) if bytes.len() as u64 <= body_limit => {
            SuccessBody::Complete(bytes)
        }
        _ => SuccessBody::TooLarge,
    });
    Answer {
        status,
        retry_after,
        body,
    }
}

/// `value`, when the HTTP layer can send it; otherwise a [`FailureKind::Credentials`] failure
/// (nothing is sent, and no retry can help).
pub(crate) fn checked(value: &AuthorizationValue) -> Result<&AuthorizationValue, ExportFailure> {
    if sendable(value.expose()) {
        Ok(value)
    } else {
        Err(ExportFailure::new(
            FailureKind::Credentials,
            "the credentials provider gave an Authorization value that cannot be sent (empty, \
             or a control or non-ASCII character)",
        ))
    }
}

/// Whether `value` can be sent as a header value: visible ASCII, space or tab only, and not
/// empty. Anything else (CR, LF, other controls, DEL, non-ASCII) is refused.
pub(crate) fn sendable(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_ascii_is_sendable() {
        assert!(sendable("Bearer dapi-0123"));
        assert!(sendable("Basic\tabc"));
        for bad in [
            "",
            "Bearer a\r\nX-Evil: 1",
            "Bearer \n",
            "Bearer é",
            "a\u{7f}",
            "a\0",
        ] {
            assert!(!sendable(bad), "{bad:?}");
        }
    }
}
