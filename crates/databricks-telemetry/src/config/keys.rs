//! The table of option keys: names, kinds, allowed ranges and environment variables, plus the
//! "did you mean" suggestion for a mistyped key.

use super::TelemetryConfig;

/// One configuration setting, named by its option key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Enabled,
    ForceEnabled,
    BatchSize,
    FlushInterval,
    MaxQueueSize,
    CloseTimeout,
    RequestTimeout,
    MaxRetries,
    MaxExportAttempts,
    MaxPendingEvents,
    RetryBaseDelay,
    RetryMaxDelay,
    CircuitBreakerEnabled,
    CircuitBreakerThreshold,
    CircuitBreakerTimeout,
    CircuitBreakerSuccessThreshold,
    CircuitBreakerMaxOpen,
    FeatureFlagDriver,
    FeatureFlagName,
    FeatureFlagTimeout,
    AllowInsecureHttp,
    Endpoint,
    OrgId,
}

/// What a key's value is, and which values are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `true`, `false`, `1` or `0`.
    Bool,
    /// A plain decimal integer within `min..=max`.
    Count { min: u64, max: u64 },
    /// A plain decimal number of milliseconds within `min..=max`.
    Millis { min: u64, max: u64 },
    /// A feature-flag driver name: a URL path segment.
    DriverName,
    /// One or more feature-flag names, comma separated.
    FlagNames,
    /// Where telemetry is sent: a host, or a URL of one.
    Endpoint,
    /// A workspace (org) id: decimal digits that fit an `i64`.
    OrgId,
}

/// The longest feature-flag driver name accepted (it becomes one URL path segment).
pub(super) const MAX_DRIVER_NAME_LEN: usize = 64;

/// The longest feature-flag name accepted.
pub(super) const MAX_FLAG_NAME_LEN: usize = 256;

impl Key {
    /// Every key, in the order the module documentation lists them.
    pub(super) const ALL: [Key; 23] = [
        Key::Enabled,
        Key::ForceEnabled,
        Key::BatchSize,
        Key::FlushInterval,
        Key::MaxQueueSize,
        Key::CloseTimeout,
        Key::RequestTimeout,
        Key::MaxRetries,
        Key::MaxExportAttempts,
        Key::MaxPendingEvents,
        Key::RetryBaseDelay,
        Key::RetryMaxDelay,
        Key::CircuitBreakerEnabled,
        Key::CircuitBreakerThreshold,
        Key::CircuitBreakerTimeout,
        Key::CircuitBreakerSuccessThreshold,
        Key::CircuitBreakerMaxOpen,
        Key::FeatureFlagDriver,
        Key::FeatureFlagName,
        Key::FeatureFlagTimeout,
        Key::AllowInsecureHttp,
        Key::Endpoint,
        Key::OrgId,
    ];

    /// The key's name after [`TelemetryConfig::OPTION_PREFIX`].
    pub(super) fn name(self) -> &'static str {
        match self {
            Key::Enabled => "enabled",
            Key::ForceEnabled => "force_enabled",
            Key::BatchSize => "batch_size",
            Key::FlushInterval => "flush_interval_ms",
            Key::MaxQueueSize => "max_queue_size",
            Key::CloseTimeout => "close_timeout_ms",
            Key::RequestTimeout => "request_timeout_ms",
            Key::MaxRetries => "max_retries",
            Key::MaxExportAttempts => "max_export_attempts",
            Key::MaxPendingEvents => "max_pending_events",
            Key::RetryBaseDelay => "retry_base_delay_ms",
            Key::RetryMaxDelay => "retry_max_delay_ms",
            Key::CircuitBreakerEnabled => "circuit_breaker_enabled",
            Key::CircuitBreakerThreshold => "circuit_breaker_threshold",
            Key::CircuitBreakerTimeout => "circuit_breaker_timeout_ms",
            Key::CircuitBreakerSuccessThreshold => "circuit_breaker_success_threshold",
            Key::CircuitBreakerMaxOpen => "circuit_breaker_max_open_ms",
            Key::FeatureFlagDriver => "feature_flag_driver",
            Key::FeatureFlagName => "feature_flag_name",
            Key::FeatureFlagTimeout => "feature_flag_timeout_ms",
            Key::AllowInsecureHttp => "allow_insecure_http",
            Key::Endpoint => "endpoint",
            Key::OrgId => "org_id",
        }
    }

    /// The full option key, e.g. `adbc.databricks.telemetry.batch_size`.
    pub(super) fn option_key(self) -> String {
        self.key_under(TelemetryConfig::OPTION_PREFIX)
    }

    /// The option key under `prefix` (one of [`TelemetryConfig::OPTION_PREFIXES`]).
    pub(super) fn key_under(self, prefix: &str) -> String {
        format!("{prefix}{}", self.name())
    }

    /// The key's value kind and allowed range.
    pub(super) fn kind(self) -> Kind {
        match self {
            Key::Enabled
            | Key::ForceEnabled
            | Key::CircuitBreakerEnabled
            | Key::AllowInsecureHttp => Kind::Bool,
            Key::BatchSize => Kind::Count {
                min: 1,
                max: 10_000,
            },
            Key::MaxQueueSize => Kind::Count {
                min: 1,
                max: 1_000_000,
            },
            Key::MaxRetries => Kind::Count { min: 0, max: 10 },
            Key::MaxExportAttempts => Kind::Count { min: 1, max: 1_000 },
            Key::MaxPendingEvents => Kind::Count {
                min: 1,
                max: 100_000_000,
            },
            Key::CircuitBreakerThreshold => Kind::Count { min: 1, max: 1_000 },
            Key::CircuitBreakerSuccessThreshold => Kind::Count { min: 1, max: 100 },
            Key::FlushInterval => Kind::Millis {
                min: 10,
                max: 3_600_000,
            },
            Key::CloseTimeout => Kind::Millis {
                min: 1,
                max: 600_000,
            },
            Key::RequestTimeout => Kind::Millis {
                min: 1,
                max: 300_000,
            },
            Key::RetryBaseDelay | Key::FeatureFlagTimeout => Kind::Millis {
                min: 1,
                max: 60_000,
            },
            Key::RetryMaxDelay => Kind::Millis {
                min: 1,
                max: 600_000,
            },
            Key::CircuitBreakerTimeout | Key::CircuitBreakerMaxOpen => Kind::Millis {
                min: 1,
                max: 86_400_000,
            },
            Key::FeatureFlagDriver => Kind::DriverName,
            Key::FeatureFlagName => Kind::FlagNames,
            Key::Endpoint => Kind::Endpoint,
            Key::OrgId => Kind::OrgId,
        }
    }

    /// The environment variable that overrides this key's default, if any.
    pub(super) fn env_var(self) -> Option<&'static str> {
        match self {
            Key::Enabled => Some("DATABRICKS_TELEMETRY_ENABLED"),
            Key::BatchSize => Some("DATABRICKS_TELEMETRY_BATCH_SIZE"),
            Key::FlushInterval => Some("DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS"),
            _ => None,
        }
    }

    /// The key with this exact name (after the prefix).
    pub(super) fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|key| key.name() == name)
    }

    /// The key the mistyped `name` most likely meant: the closest name within an edit distance
    /// of 2 (ignoring ASCII case), or the name with a forgotten `_ms` suffix added.
    pub(super) fn closest_to(name: &str) -> Option<Key> {
        let name = name.to_ascii_lowercase();
        if let Some(key) = Key::from_name(&format!("{name}_ms")) {
            return Some(key);
        }
        Key::ALL
            .into_iter()
            .map(|key| (edit_distance(&name, key.name()), key))
            .filter(|(distance, _)| *distance <= 2)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, key)| key)
    }
}

/// The number of single-character insertions, deletions, substitutions and transpositions of
/// adjacent characters that turn `a` into `b` (the optimal-string-alignment distance).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: two rows back (for transpositions), the previous row and this row.
    let mut before_previous: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution_cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + substitution_cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before_previous[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_each_kind_of_edit_once() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("batch_size", "batch_size"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("batch_sise", "batch_size"), 1); // substitution
        assert_eq!(edit_distance("batchsize", "batch_size"), 1); // insertion
        assert_eq!(edit_distance("batch__size", "batch_size"), 1); // deletion
        assert_eq!(edit_distance("bacth_size", "batch_size"), 1); // transposition
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for key in Key::ALL {
            assert_eq!(Key::from_name(key.name()), Some(key));
            assert!(key.option_key().starts_with(TelemetryConfig::OPTION_PREFIX));
            for prefix in TelemetryConfig::OPTION_PREFIXES {
                assert_eq!(key.key_under(prefix), format!("{prefix}{}", key.name()));
            }
        }
    }

    #[test]
    fn closest_prefers_the_nearest_name() {
        assert_eq!(Key::closest_to("batch_sise"), Some(Key::BatchSize));
        assert_eq!(Key::closest_to("BATCH_SIZE"), Some(Key::BatchSize));
        assert_eq!(Key::closest_to("flush_interval"), Some(Key::FlushInterval));
        assert_eq!(Key::closest_to("enable"), Some(Key::Enabled));
        assert_eq!(Key::closest_to("something_else"), None);
    }
}
