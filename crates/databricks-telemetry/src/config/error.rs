//! Why a telemetry configuration was rejected.

use std::fmt;

/// Why a [`TelemetryConfig`](super::TelemetryConfig) could not be made.
///
/// Every error names the setting (the option key as given, e.g.
/// `adbc.databricks.telemetry.batch_size` or `databricks.telemetry.batch_size`; the
/// `adbc.databricks.telemetry.` key for a builder setting), the value as given, and what was
/// expected. A value from the environment never causes an error: it is ignored with a warning
/// (see the [module documentation](super#environment)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value that is not of the key's type, or lies outside its allowed range.
    ///
    /// For example `invalid value "0" for adbc.databricks.telemetry.batch_size: expected an
    /// integer from 1 to 10000`.
    #[error("invalid value {value:?} for {key}: expected {expected}")]
    InvalidValue {
        /// The full option key, or the environment variable's name.
        key: String,
        /// The value as given (untrimmed); for a builder setting, the value rendered as text.
        value: String,
        /// What the key accepts, e.g. `an integer from 1 to 10000`.
        expected: String,
    },
    /// A key under [`OPTION_PREFIX`](super::TelemetryConfig::OPTION_PREFIX) (or a near miss of
    /// the prefix) that names no setting.
    ///
    /// For example `unknown option adbc.databricks.telemetry.batch_sise (value "50"): did you
    /// mean adbc.databricks.telemetry.batch_size?`.
    #[error("unknown option {key} (value {value:?}): {}", UnknownOptionHint(suggestion.as_deref()))]
    UnknownOption {
        /// The key as given.
        key: String,
        /// The value as given.
        value: String,
        /// The full option key it most likely meant, when one is close.
        suggestion: Option<String>,
    },
    /// A setting larger than another setting that bounds it.
    ///
    /// For example `adbc.databricks.telemetry.batch_size (500) must not exceed
    /// adbc.databricks.telemetry.max_queue_size (100)`.
    #[error("{key} ({value}) must not exceed {limit_key} ({limit_value})")]
    Exceeds {
        /// The full option key (or environment variable) of the setting that is too large.
        key: String,
        /// Its value (milliseconds for a duration).
        value: String,
        /// The full option key (or environment variable) of the setting that bounds it.
        limit_key: String,
        /// The bounding value (milliseconds for a duration).
        limit_value: String,
    },
    /// A setting that is only allowed together with a value of another setting.
    ///
    /// For example `adbc.databricks.telemetry.endpoint (http://127.0.0.1:8080) requires
    /// adbc.databricks.telemetry.allow_insecure_http=true`.
    #[error("{key} ({value}) requires {required_key}={required_value}")]
    Requires {
        /// The full option key of the setting that needs the other.
        key: String,
        /// Its value.
        value: String,
        /// The full option key of the setting it needs.
        required_key: String,
        /// The value that setting must have.
        required_value: String,
    },
}

/// The tail of a [`ConfigError::UnknownOption`] message: the suggestion, or the list of keys.
struct UnknownOptionHint<'a>(Option<&'a str>);

impl fmt::Display for UnknownOptionHint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(suggestion) => write!(f, "did you mean {suggestion}?"),
            None => {
                f.write_str("expected one of: ")?;
                for (index, key) in super::keys::Key::ALL.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(key.name())?;
                }
                Ok(())
            }
        }
    }
}
