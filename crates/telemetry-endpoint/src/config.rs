//! [`EndpointConfig`]: how a [`TelemetryEndpoint`](crate::TelemetryEndpoint) starts.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use crate::{Extension, Fault, FeatureFlagAnswer, Mode};

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
            .finish()
    }
}
