//! [`EndpointConfig`]: how a [`TelemetryEndpoint`](crate::TelemetryEndpoint) starts.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use crate::{
    Extension, Fault, FeatureFlagAnswer, Mode, BODY_BUDGET_BYTES, BODY_READ_TIMEOUT,
    HEADER_READ_TIMEOUT, MAX_CONNECTIONS, MIN_BODY_RATE, MIN_BODY_RATE_WINDOW,
};

/// The default bind address: loopback, with a port chosen by the system.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));

/// How many accepted frontend logs are kept in memory by default before the oldest are evicted.
pub const DEFAULT_MAX_STORED_LOGS: usize = 1_000_000;

/// How a [`TelemetryEndpoint`](crate::TelemetryEndpoint) starts.
///
/// The `Debug` output never shows the token.
///
/// # Examples
///
/// ```
/// use telemetry_endpoint::{EndpointConfig, FeatureFlagAnswer};
///
/// let config = EndpointConfig::default()
///     .with_token("dapi-secret")
///     .with_max_stored_logs(10)
///     .with_feature_flags(FeatureFlagAnswer::Off { ttl_seconds: Some(60) })
///     .with_fault("503*2".parse().unwrap());
/// assert!(!format!("{config:?}").contains("dapi-secret"));
///
/// // Shorter read timeouts than the defaults, e.g. for a test of a slow client.
/// use std::time::Duration;
/// let config = EndpointConfig::default()
///     .with_header_read_timeout(Duration::from_millis(300))
///     .with_body_read_timeout(Duration::from_millis(500));
/// assert_eq!(config.header_read_timeout, Duration::from_millis(300));
/// assert_eq!(config.body_read_timeout, Duration::from_millis(500));
/// ```
#[derive(Clone)]
pub struct EndpointConfig {
    /// Where to listen; [`DEFAULT_BIND`] by default. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// When set, `/telemetry-ext` and the feature-flag route require `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// How many accepted logs are kept; older ones are evicted and counted.
    pub max_stored_logs: usize,
    /// The feature-flag answer at start.
    pub feature_flags: FeatureFlagAnswer,
    /// A fault installed at start (a window scope starts when the endpoint starts).
    pub fault: Option<Fault>,
    /// How uploads are checked: [`Mode::Strict`] by default (the exact contract, as the
    /// project's own tests want it); [`Mode::Tolerant`] accepts what the real service accepts
    /// and reports each departure as a warning in the stats (`dbtel serve` without `--strict`).
    pub mode: Mode,
    /// An [`Extension`] told of every accepted upload and asked about GET routes the endpoint
    /// does not serve; none by default.
    pub extension: Option<Arc<dyn Extension>>,
    /// How long a connection may take to send a request's headers, counted from when the
    /// server starts waiting for them: from the connection's start, or from the end of the
    /// previous response on a kept-alive connection (so idle connections are closed too). A
    /// connection that takes longer is closed without an answer. [`HEADER_READ_TIMEOUT`] by
    /// default; longer than a year is taken as a year.
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive, counted once the server starts reading it;
    /// a body that takes longer gets `408 Request Timeout` (on an upload route, counted in
    /// `uploads_rejected`) and the connection is closed. [`BODY_READ_TIMEOUT`] by default;
    /// longer than a year is taken as a year.
    pub body_read_timeout: Duration,
    /// The most connections served at once; [`MAX_CONNECTIONS`] by default. When full, the
    /// connection idle the longest is closed to make room for a new one; only when every
    /// connection is answering a request is a new one refused (counted in
    /// `connections_refused`).
    pub max_connections: usize,
    /// The memory all request bodies being read may take together; [`BODY_BUDGET_BYTES`] by
    /// default. Bodies are read concurrently, each taking room as its bytes arrive; a body
    /// that finds no room gets `503`. With a token, [`MAX_REQUEST_BODY_BYTES`](crate::MAX_REQUEST_BODY_BYTES)
    /// of it (at most half) is kept for requests that carry the token.
    pub body_budget_bytes: usize,
    /// The slowest a body may arrive, in bytes per second on average since its first byte was
    /// awaited, checked every [`min_body_rate_window`](Self::min_body_rate_window); a slower
    /// body gets `408`. [`MIN_BODY_RATE`] by default.
    pub min_body_rate: u64,
    /// How often the body rate is checked, the first time after one window;
    /// [`MIN_BODY_RATE_WINDOW`] by default.
    pub min_body_rate_window: Duration,
    /// Refuse requests whose `Host` is not the address served or `localhost` (`421`), and
    /// admin requests (`/admin/fault`) that carry a foreign `Origin` or a body that is not
    /// `application/json` (`403`/`415`): a web page on another site cannot then read or steer
    /// the endpoint through the browser (DNS rebinding, cross-site POST). Off by default;
    /// `dbtel serve` turns it on when it has no token.
    pub local_requests_only: bool,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            bind: DEFAULT_BIND,
            token: None,
            max_stored_logs: DEFAULT_MAX_STORED_LOGS,
            feature_flags: FeatureFlagAnswer::default(),
            fault: None,
            mode: Mode::Strict,
            extension: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            body_budget_bytes: BODY_BUDGET_BYTES,
            min_body_rate: MIN_BODY_RATE,
            min_body_rate_window: MIN_BODY_RATE_WINDOW,
            local_requests_only: false,
        }
    }
}

impl EndpointConfig {
    /// Listen on `bind` instead of [`DEFAULT_BIND`].
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Require this bearer token on `/telemetry-ext` and the feature-flag route.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Keep at most `max` accepted logs in memory.
    pub fn with_max_stored_logs(mut self, max: usize) -> Self {
        self.max_stored_logs = max;
        self
    }

    /// Answer feature-flag requests with `answer`.
    pub fn with_feature_flags(mut self, answer: FeatureFlagAnswer) -> Self {
        self.feature_flags = answer;
        self
    }

    /// Check uploads in `mode` instead of [`Mode::Strict`].
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Run `extension` inside the endpoint (see [`Extension`]).
    pub fn with_extension(mut self, extension: Arc<dyn Extension>) -> Self {
        self.extension = Some(extension);
        self
    }

    /// Install `fault` at start.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Close a connection that takes longer than `timeout` to send a request's headers,
    /// idle keep-alive connections included, instead of after [`HEADER_READ_TIMEOUT`] (see
    /// [`header_read_timeout`](Self::header_read_timeout)).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Answer `408` to a request whose body takes longer than `timeout` to arrive, instead of
    /// after [`BODY_READ_TIMEOUT`] (see [`body_read_timeout`](Self::body_read_timeout)).
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Serve at most `max` connections at once instead of [`MAX_CONNECTIONS`] (see
    /// [`max_connections`](Self::max_connections)).
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Let request bodies being read take `bytes` together instead of [`BODY_BUDGET_BYTES`]
    /// (see [`body_budget_bytes`](Self::body_budget_bytes)).
    pub fn with_body_budget_bytes(mut self, bytes: usize) -> Self {
        self.body_budget_bytes = bytes;
        self
    }

    /// Answer `408` to a body arriving slower than `bytes_per_second`, checked every `window`
    /// (see [`min_body_rate`](Self::min_body_rate)).
    pub fn with_min_body_rate(mut self, bytes_per_second: u64, window: Duration) -> Self {
        self.min_body_rate = bytes_per_second;
        self.min_body_rate_window = window;
        self
    }

    /// Refuse requests that a web page on another site could make through a browser (see
    /// [`local_requests_only`](Self::local_requests_only)).
    pub fn with_local_requests_only(mut self, on: bool) -> Self {
        self.local_requests_only = on;
        self
    }
}

impl fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointConfig")
            .field("bind", &self.bind)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("max_stored_logs", &self.max_stored_logs)
            .field("feature_flags", &self.feature_flags)
            .field("fault", &self.fault)
            .field("mode", &self.mode)
            .field("extension", &self.extension.as_ref().map(|_| "<extension>"))
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("body_budget_bytes", &self.body_budget_bytes)
            .field("min_body_rate", &self.min_body_rate)
            .field("min_body_rate_window", &self.min_body_rate_window)
            .field("local_requests_only", &self.local_requests_only)
            .finish()
    }
}
