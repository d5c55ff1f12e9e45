//! Where a run's events go: the embedded endpoints (one per simulated host, on 127.0.0.1 with
//! a port of their own, so each is a distinct host key) or the `--endpoint` URLs; and the
//! exporter each host's clients use.

use std::fmt;
use std::sync::Arc;

use databricks_telemetry::export::Exporter;
use databricks_telemetry::host::HostKey;
use databricks_telemetry::TelemetryConfig;
use telemetry_endpoint::{EndpointConfig, EndpointError, FeatureFlagAnswer, TelemetryEndpoint};

use super::interim_exporter::InterimHttpExporter;

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

    /// The value, to hand to an endpoint or exporter (never to print).
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
/// feature-flag route with `flags`.
///
/// # Errors
///
/// The first endpoint that cannot start.
pub(crate) fn start_embedded(
    count: usize,
    token: &Token,
    flags: &FeatureFlagAnswer,
) -> Result<Vec<TelemetryEndpoint>, EndpointError> {
    (0..count)
        .map(|_| {
            TelemetryEndpoint::start(
                EndpointConfig::default()
                    .with_token(token.expose())
                    .with_feature_flags(flags.clone()),
            )
        })
        .collect()
}

/// Why an endpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot use endpoint {url:?}: {reason}")]
pub(crate) struct TargetError {
    /// The endpoint as given.
    pub(crate) url: String,
    /// What is wrong with it.
    pub(crate) reason: String,
}

/// The exporter for the host at `url`, sending with `token` (without credentials when `None`).
///
/// INTERIM: until the library's `DatabricksExporter` (branch `http`) is merged, this builds
/// [`InterimHttpExporter`], which speaks plain HTTP to loopback only. The real stack will be
/// `FeatureFlagGate` → `DatabricksExporter` with `StaticBearerToken` credentials; the manager adds
/// the host's breaker around it.
///
/// # Errors
///
/// [`TargetError`] when `url` is not a usable host, or is plain HTTP without
/// `allow_insecure_http` or to a host that is not loopback.
pub(crate) fn build_exporter(
    url: &str,
    config: &TelemetryConfig,
    token: Option<&Token>,
) -> Result<Arc<dyn Exporter>, TargetError> {
    let fail = |reason: String| TargetError {
        url: url.to_owned(),
        reason,
    };
    let host = HostKey::parse(url).map_err(|error| fail(error.to_string()))?;
    let is_http = url
        .trim_start()
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
    if !is_http {
        return Err(fail(
            "this build of dbtel can only export to http:// loopback endpoints".to_owned(),
        ));
    }
    if !host.is_loopback() {
        return Err(fail(
            "plain http is allowed to loopback hosts only".to_owned(),
        ));
    }
    if !config.allow_insecure_http() {
        return Err(fail(
            "plain http needs --allow-insecure-http (loopback hosts only)".to_owned(),
        ));
    }
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(
        host.host().trim_matches(['[', ']']),
        host.port().unwrap_or(80),
    ))
    .ok()
    .and_then(|mut addrs| addrs.next())
    .ok_or_else(|| fail("the host does not resolve".to_owned()))?;
    Ok(Arc::new(InterimHttpExporter::new(
        addr,
        token.map(Token::expose),
        config.request_timeout(),
    )))
}
