//! [`RecordedRequest`]: one request as the endpoint saw it.

use std::fmt;

/// One request as the endpoint saw it, kept in memory only (never logged).
///
/// The `Debug` output redacts credentials (`Authorization`, `Cookie`, `Proxy-Authorization`).
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Every header, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The status answered; `None` when no complete answer was sent (hang or reset fault).
    pub status: Option<u16>,
    /// The number of `protoLogs` elements in an upload body (0 when not countable).
    pub log_count: usize,
    /// The fault applied, in spec syntax, if any.
    pub fault: Option<String>,
}

const REDACTED_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                if REDACTED_HEADERS.contains(&name.as_str()) {
                    (name.as_str(), "<redacted>")
                } else {
                    (name.as_str(), value.as_str())
                }
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("status", &self.status)
            .field("log_count", &self.log_count)
            .field("fault", &self.fault)
            .finish()
    }
}
