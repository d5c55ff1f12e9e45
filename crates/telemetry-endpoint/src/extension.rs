//! [`Extension`]: a hook that sees every accepted upload and may answer GET routes of its own.

use std::fmt;

use crate::validate::{UploadReport, UploadRoute};
use crate::EndpointHandle;

/// Something that runs inside an endpoint: it is told of every accepted upload, and it may answer
/// GET requests on paths the endpoint itself has no route for (instead of 404).
///
/// Install one with [`EndpointConfig::with_extension`](crate::EndpointConfig::with_extension).
/// `dbtel serve` uses one to serve its live page and `/summary`.
///
/// Both calls run on the endpoint's runtime, on the request's task: they must be quick and must
/// not block (hand heavy work to a thread of your own).
pub trait Extension: Send + Sync + 'static {
    /// An upload on `route` was checked and accepted (tolerant mode included: `report` lists
    /// the logs kept, those rejected alone and every deviation). Called before the logs are
    /// stored, once per upload that gets `200` (or whose `200` a `reset` fault cuts off).
    fn accepted(&self, route: UploadRoute, report: &UploadReport);

    /// Answers `GET request.path`, or `None` for 404. Called only for paths the endpoint does
    /// not serve itself.
    fn get(&self, request: &ExtensionRequest<'_>) -> Option<ExtensionResponse>;
}

/// A GET request handed to [`Extension::get`].
#[derive(Debug)]
pub struct ExtensionRequest<'a> {
    /// The path, without the query.
    pub path: &'a str,
    /// The query (after `?`), if any.
    pub query: Option<&'a str>,
    /// Whether the request may see what the endpoint holds: `true` when the endpoint has no
    /// token, or when the request carries `Authorization: Bearer <the token>`.
    pub authorized: bool,
    /// Whether the endpoint has a token at all.
    pub token_required: bool,
    /// The endpoint's state (stats, stored logs).
    pub endpoint: &'a EndpointHandle,
}

/// An answer from [`Extension::get`].
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers to send (names in lower case); a name or value that is not a valid header is
    /// left out.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Shows the status, headers and body size, not the body.
impl fmt::Debug for ExtensionResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtensionResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl ExtensionResponse {
    /// A response with `status`, one `content-type` header and `body`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        ExtensionResponse {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}
