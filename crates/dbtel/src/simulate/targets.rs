//! Where a run's events go: the embedded endpoints (one per simulated host, on 127.0.0.1 with
//! a port of their own, so each is a distinct host key) or the `--endpoint` URLs, and the token
//! the connections send.

use std::fmt;

use databricks_telemetry::export::UserAgentError;
use databricks_telemetry::unstable::{shown, ServiceEndpoint, ServiceEndpointError};
use databricks_telemetry::DriverInfo;
use databricks_telemetry::TelemetryConfig;
use telemetry_endpoint::{EndpointConfig, EndpointError, FeatureFlagAnswer, TelemetryEndpoint};

use super::actions::SIMULATED_DRIVER_NAME;

/// A bearer token; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    /// A token with this value.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// A fresh random token, for embedded endpoints when none is given.
    pub(crate) fn generate() -> Self {
        let mut rng = fastrand::Rng::new();
        Token(format!("dbtel-simulate-{:032x}", rng.u128(..)))
    }

    /// The value, to hand to an endpoint or a credentials provider (never to print).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Starts `count` embedded endpoints on 127.0.0.1, each requiring `token` and answering the
/// feature-flag route with `flags`. Unless `keep_logs` (for `--capture`), they keep no accepted
/// log in memory, only their counts: a long run's endpoints would otherwise hold every event
/// (~1.3 KiB each). Their duplicate count does not need the logs (they track event ids, exactly
/// up to [`MAX_TRACKED_EVENT_IDS`](telemetry_endpoint::MAX_TRACKED_EVENT_IDS) distinct ones).
///
/// # Errors
///
/// The first endpoint that cannot start.
pub(crate) fn start_embedded(
    count: usize,
    token: &Token,
    flags: &FeatureFlagAnswer,
    ports: &[u16],
    keep_logs: bool,
) -> Result<Vec<TelemetryEndpoint>, EndpointError> {
    (0..count)
        .map(|index| {
            let mut config = EndpointConfig::default()
                .with_token(token.expose())
                .with_feature_flags(flags.clone());
            if !keep_logs {
                config = config.with_max_stored_logs(0);
            }
            if let Some(&port) = ports.get(index) {
                config = config.with_bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            }
            TelemetryEndpoint::start(config)
        })
        .collect()
}

/// Why an endpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot use endpoint \"{}\": {reason}", shown(url))]
pub(crate) struct TargetError {
    /// The endpoint as given (printed only through [`shown`]: without user information, query
    /// or fragment, and cut short).
    pub(crate) url: String,
    /// What is wrong with it.
    pub(crate) reason: String,
}

/// The simulated driver (its user agent and its sessions' system configuration).
///
/// # Errors
///
/// None in practice: the name and version are constants the library accepts.
pub(crate) fn driver() -> Result<DriverInfo, UserAgentError> {
    DriverInfo::new(SIMULATED_DRIVER_NAME, env!("CARGO_PKG_VERSION"))
}

/// Checks that the host at `url` can be exported to (the manager's
/// [`acquire_databricks`](databricks_telemetry::TelemetryClientManager::acquire_databricks)
/// builds each new host's exporter for it).
///
/// # Errors
///
/// [`TargetError`] when `url` is not a usable host, or is plain HTTP without
/// `allow_insecure_http` or to a host that is not loopback.
pub(crate) fn check_target(url: &str, config: &TelemetryConfig) -> Result<(), TargetError> {
    ServiceEndpoint::parse(url, config.allow_insecure_http())
        .map(drop)
        .map_err(|error| TargetError {
            url: url.to_owned(),
            reason: match error {
                ServiceEndpointError::InsecureHttpNotAllowed { .. } => {
                    "plain http needs --allow-insecure-http (and a loopback host)".to_owned()
                }
                other => other.to_string(),
            },
        })
}
