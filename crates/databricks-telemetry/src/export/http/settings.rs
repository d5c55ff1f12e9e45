//! [`ExporterSettings`]: the two settings a [`DatabricksExporter`](super::DatabricksExporter)
//! follows, taken from the configuration at the manager's boundary.

use std::time::Duration;

use crate::config::TelemetryConfig;

/// What a [`DatabricksExporter`](super::DatabricksExporter) takes from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExporterSettings {
    /// The longest one request may take (`request_timeout_ms`); the deadline given to each
    /// export may shorten it.
    pub request_timeout: Duration,
    /// Whether a plain-HTTP endpoint (loopback only) may be used (`allow_insecure_http`).
    pub allow_insecure_http: bool,
}

impl ExporterSettings {
    /// `config`'s `request_timeout_ms` and `allow_insecure_http`.
    pub fn from_config(config: &TelemetryConfig) -> Self {
        ExporterSettings {
            request_timeout: config.request_timeout(),
            allow_insecure_http: config.allow_insecure_http(),
        }
    }
}

impl Default for ExporterSettings {
    /// The default configuration's.
    fn default() -> Self {
        Self::from_config(&TelemetryConfig::default())
    }
}
