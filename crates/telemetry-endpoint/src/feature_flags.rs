//! The configurable answer to `GET /api/2.0/connector-service/feature-flags/{driver}/{version}`.

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Value};

/// The common prefix of the official drivers' telemetry flag names.
pub const TELEMETRY_FLAG_PREFIX: &str =
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryFor";

/// The telemetry flags of the official drivers, all answered by [`FeatureFlagAnswer::On`] and
/// [`FeatureFlagAnswer::Off`], whatever the path's `{driver}` segment (no driver derives its
/// flag name from that segment): JDBC, Python, Go, Node.js, then the two names an ADBC driver
/// reads (`adbc.databricks.telemetry.enabled`, as the C# ADBC driver does after merging the
/// flags into its connection properties, and the `...ForAdbc` name of its design document).
pub const TELEMETRY_FLAG_NAMES: [&str; 6] = [
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForJdbc",
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForPythonDriver",
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForGoDriver",
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForNodeJs",
    "adbc.databricks.telemetry.enabled",
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc",
];

/// The TTL the service answers with by default, in seconds.
pub const DEFAULT_FLAG_TTL_SECONDS: u64 = 900;

/// How the endpoint answers feature-flag requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureFlagAnswer {
    /// The telemetry flag is `"true"`; `ttl_seconds` is sent when given.
    On {
        /// The `ttl_seconds` field, omitted when `None`.
        ttl_seconds: Option<u64>,
    },
    /// The telemetry flag is `"false"`; `ttl_seconds` is sent when given.
    Off {
        /// The `ttl_seconds` field, omitted when `None`.
        ttl_seconds: Option<u64>,
    },
    /// A flag list that contains none of the telemetry flags (TTL 900).
    Missing,
    /// Exactly this flag list, `(name, value)` in order; `ttl_seconds` is sent when given.
    Flags {
        /// The flags.
        flags: Vec<(String, String)>,
        /// The `ttl_seconds` field, omitted when `None`.
        ttl_seconds: Option<u64>,
    },
    /// An error status with a JSON error body.
    Error(u16),
}

impl Default for FeatureFlagAnswer {
    /// On, with a TTL of [`DEFAULT_FLAG_TTL_SECONDS`].
    fn default() -> Self {
        FeatureFlagAnswer::On {
            ttl_seconds: Some(DEFAULT_FLAG_TTL_SECONDS),
        }
    }
}

impl FeatureFlagAnswer {
    /// The same answer with another TTL (no effect on `Missing` and `Error`).
    pub fn with_ttl(self, ttl: Option<u64>) -> Self {
        match self {
            FeatureFlagAnswer::On { .. } => FeatureFlagAnswer::On { ttl_seconds: ttl },
            FeatureFlagAnswer::Off { .. } => FeatureFlagAnswer::Off { ttl_seconds: ttl },
            FeatureFlagAnswer::Flags { flags, .. } => FeatureFlagAnswer::Flags {
                flags,
                ttl_seconds: ttl,
            },
            other => other,
        }
    }

    /// The status code and JSON body answered for the driver path segment `driver` (the answer
    /// is the same for every driver: each of [`TELEMETRY_FLAG_NAMES`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use telemetry_endpoint::{FeatureFlagAnswer, TELEMETRY_FLAG_NAMES};
    ///
    /// let (status, body) = FeatureFlagAnswer::default().render("ADBC");
    /// assert_eq!(status, 200);
    /// assert_eq!(body["flags"][4]["name"], "adbc.databricks.telemetry.enabled");
    /// assert_eq!(body["flags"].as_array().unwrap().len(), TELEMETRY_FLAG_NAMES.len());
    /// assert_eq!(body["ttl_seconds"], 900);
    /// ```
    pub fn render(&self, driver: &str) -> (u16, Value) {
        let _ = driver;
        let flag = |value: &str| {
            TELEMETRY_FLAG_NAMES
                .iter()
                .map(|name| json!({ "name": name, "value": value }))
                .collect::<Value>()
        };
        let with_ttl = |flags: Value, ttl: Option<u64>| match ttl {
            Some(ttl) => json!({ "flags": flags, "ttl_seconds": ttl }),
            None => json!({ "flags": flags }),
        };
        match self {
            FeatureFlagAnswer::On { ttl_seconds } => (200, with_ttl(flag("true"), *ttl_seconds)),
            FeatureFlagAnswer::Off { ttl_seconds } => (200, with_ttl(flag("false"), *ttl_seconds)),
            FeatureFlagAnswer::Flags { flags, ttl_seconds } => (
                200,
                with_ttl(
                    flags
                        .iter()
                        .map(|(name, value)| json!({ "name": name, "value": value }))
                        .collect(),
                    *ttl_seconds,
                ),
            ),
            FeatureFlagAnswer::Missing => (
                200,
                with_ttl(
                    json!([{
                        "name": "databricks.partnerplatform.clientConfigsFeatureFlags.someOtherFeature",
                        "value": "true"
                    }]),
                    Some(DEFAULT_FLAG_TTL_SECONDS),
                ),
            ),
            FeatureFlagAnswer::Error(code) => (
                *code,
                json!({
                    "error_code": "INJECTED_ERROR",
                    "message": format!("feature flags answer configured to fail with {code}")
                }),
            ),
        }
    }
}

/// Parses `on`, `off`, `missing`, `error` (500) or `error=CODE`, with the default TTL.
impl FromStr for FeatureFlagAnswer {
    type Err = FeatureFlagParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let default_ttl = Some(DEFAULT_FLAG_TTL_SECONDS);
        match lower.as_str() {
            "on" => Ok(FeatureFlagAnswer::On {
                ttl_seconds: default_ttl,
            }),
            "off" => Ok(FeatureFlagAnswer::Off {
                ttl_seconds: default_ttl,
            }),
            "missing" => Ok(FeatureFlagAnswer::Missing),
            "error" => Ok(FeatureFlagAnswer::Error(500)),
            other => other
                .strip_prefix("error=")
                .and_then(|code| code.parse::<u16>().ok())
                .filter(|code| (100..=599).contains(code))
                .map(FeatureFlagAnswer::Error)
                .ok_or_else(|| FeatureFlagParseError(text.to_owned())),
        }
    }
}

impl fmt::Display for FeatureFlagAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureFlagAnswer::On { .. } => f.write_str("on"),
            FeatureFlagAnswer::Off { .. } => f.write_str("off"),
            FeatureFlagAnswer::Missing => f.write_str("missing"),
            FeatureFlagAnswer::Flags { flags, .. } => write!(f, "flags({})", flags.len()),
            FeatureFlagAnswer::Error(code) => write!(f, "error={code}"),
        }
    }
}

/// A feature-flag answer name that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid feature-flag answer {0:?}: expected on, off, missing, error or error=CODE")]
pub struct FeatureFlagParseError(pub String);
