//! The one list of settings. Everything that names a setting is generated from it by
//! [`settings!`](super::generate::settings): the option keys (under both
//! [prefixes](TelemetryConfig::OPTION_PREFIXES)), the environment variables, the stored types,
//! the defaults, the ranges, the getters of [`TelemetryConfig`], the `with_*` setters of
//! [`TelemetryConfigBuilder`] (whose docs state each default and range), parsing and checking,
//! the per-scope snapshots the pipeline compares when a later acquirer brings other values, and
//! the documentation table ([`settings_table`]).
//!
//! # Adding a setting
//!
//! 1. A row here: its `Key` variant, field, setter, kind (with its range), default, option key,
//!    scope (where it lives: `Handle`, `Lane`, `Host` or `Manager`), environment variable if
//!    any, rule against another setting if any, and what it means.
//! 2. Where it is used: the lower layer's own settings struct (`LaneSettings`, `HostSettings`,
//!    ...) reads it from the configuration with its getter.
//! 3. The README's settings table, which a test compares with [`settings_table`] (paste what it
//!    prints) and the CHANGELOG.
//!
//! A new kind of value (other than the kinds in `kinds.rs`) also needs its `SettingType` and
//! the macro's arms for it.

#[cfg(test)]
use std::fmt::Write as _;
use std::time::Duration;

use super::builder::Sources;
use super::generate::settings;
use super::keys::Kind;
use super::kinds::{
    Count, Directory, DriverName, Endpoint, Flag, FlagNames, LimitValue, Millis, OrgId, SettingType,
};
use super::values::invalid;
use super::{ConfigError, TelemetryConfigBuilder};

/// Where a setting lives, and so whose value applies when several acquirers give different ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Each acquirer's own: its handle (or the acquire itself).
    Handle,
    /// The lane (one per host and identity): its first acquirer's value.
    Lane,
    /// The host (its exporter, breaker and feature-flag cache): its first acquirer's value.
    Host,
    /// The manager: its first acquirer's value.
    Manager,
}

impl Scope {
    /// As the documentation table names it.
    #[cfg(test)]
    fn name(self) -> &'static str {
        match self {
            Scope::Handle => "each handle",
            Scope::Lane => "lane",
            Scope::Host => "host",
            Scope::Manager => "manager",
        }
    }
}

/// The values of one scope's settings as a lane or host keeps them from its first acquirer,
/// one [fingerprint](SettingType::fingerprint) per setting of the scope, in table order: numbers
/// as they are, text as a hash (two different texts with one hash, 2^-64 apart, would go
/// unreported in a debug log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopedValues {
    scope: Scope,
    values: Box<[u64]>,
}

impl ScopedValues {
    /// How many settings live in `scope`.
    fn len(scope: Scope) -> usize {
        Key::ALL.iter().filter(|key| key.scope() == scope).count()
    }

    fn new(scope: Scope, values: Vec<u64>) -> Self {
        ScopedValues {
            scope,
            values: values.into_boxed_slice(),
        }
    }

    /// The option keys (after the prefix) whose values in `other` differ from these.
    pub(crate) fn differences(&self, other: &ScopedValues) -> Vec<&'static str> {
        Key::ALL
            .iter()
            .filter(|key| key.scope() == self.scope)
            .zip(self.values.iter().zip(other.values.iter()))
            .filter(|(_, (mine, theirs))| mine != theirs)
            .map(|(key, _)| key.name())
            .collect()
    }
}

settings! {
    Enabled enabled with_enabled: Flag = true,
        key "enabled", Handle, env "DATABRICKS_TELEMETRY_ENABLED",
        "Whether telemetry may be sent at all (still subject to the server feature flag); a disabled handle records nothing and touches no lane.";
    ForceEnabled force_enabled with_force_enabled: Flag = false,
        key "force_enabled", Lane,
        "Send without consulting the server feature flag.";
    BatchSize batch_size with_batch_size: Count<usize> (1 ..= 10_000) = 100,
        key "batch_size", Lane, env "DATABRICKS_TELEMETRY_BATCH_SIZE",
        at_most MaxQueueSize max_queue_size,
        "Most logs in one export request.";
    FlushInterval flush_interval with_flush_interval: Millis (10 ..= 3_600_000) = 5_000,
        key "flush_interval_ms", Lane, env "DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS",
        "How often pending logs are exported.";
    MaxQueueSize max_queue_size with_max_queue_size: Count<usize> (1 ..= 1_000_000) = 10_000,
        key "max_queue_size", Lane,
        "Most logs one lane holds waiting for export; more are dropped and counted.";
    CloseTimeout close_timeout with_close_timeout: Millis (1 ..= 600_000) = 2_000,
        key "close_timeout_ms", Lane,
        "How long a released lane may take to deliver what it holds.";
    RequestTimeout request_timeout with_request_timeout: Millis (1 ..= 300_000) = 10_000,
        key "request_timeout_ms", Host,
        "How long one export request may take (and one call of a credentials provider that may block).";
    MaxRetries max_retries with_max_retries: Count<u32> (0 ..= 10) = 3,
        key "max_retries", Host,
        "Retries of a failed batch with exponential backoff; after those, one try per `retry_max_delay_ms` (an open breaker schedules them instead).";
    /// With the default breaker settings that holds a batch through an outage of about ten
    /// minutes: 5 failures open the breaker, whose open time then grows from 1 s to 60 s (with
    /// jitter), one probe each time.
    MaxExportAttempts max_export_attempts with_max_export_attempts: Count<u32> (1 ..= 1_000) = 25,
        key "max_export_attempts", Host,
        "Sends of one batch (retries and probes) before it is dropped as `export_failed`; the default holds about ten minutes of outage.";
    MaxPendingEvents max_pending_events with_max_pending_events: Count<usize> (1 ..= 100_000_000) = 100_000,
        key "max_pending_events", Manager,
        "Most events waiting across every lane of a manager (the process, for the global one); more are dropped as `queue_full`.";
    RetryBaseDelay retry_base_delay with_retry_base_delay: Millis (1 ..= 60_000) = 100,
        key "retry_base_delay_ms", Host,
        at_most RetryMaxDelay retry_max_delay,
        "First retry delay (then doubling, with full jitter).";
    RetryMaxDelay retry_max_delay with_retry_max_delay: Millis (1 ..= 600_000) = 10_000,
        key "retry_max_delay_ms", Host,
        "Cap on the backoff, and the wait between tries after `max_retries`; a `Retry-After` may ask for longer (up to `circuit_breaker_max_open_ms`).";
    CircuitBreakerEnabled circuit_breaker_enabled with_circuit_breaker_enabled: Flag = true,
        key "circuit_breaker_enabled", Host,
        "Whether the per-host circuit breaker is used.";
    CircuitBreakerThreshold circuit_breaker_threshold with_circuit_breaker_threshold: Count<u32> (1 ..= 1_000) = 5,
        key "circuit_breaker_threshold", Host,
        "Consecutive failed exports that open the breaker.";
    CircuitBreakerTimeout circuit_breaker_timeout with_circuit_breaker_timeout: Millis (1 ..= 86_400_000) = 60_000,
        key "circuit_breaker_timeout_ms", Host,
        at_most CircuitBreakerMaxOpen circuit_breaker_max_open,
        "The longest the breaker stays open before one probe: the open time starts at 1 s and doubles (jittered) up to this.";
    CircuitBreakerSuccessThreshold circuit_breaker_success_threshold with_circuit_breaker_success_threshold: Count<u32> (1 ..= 100) = 1,
        key "circuit_breaker_success_threshold", Host,
        "Successful probes in half-open that close the breaker.";
    CircuitBreakerMaxOpen circuit_breaker_max_open with_circuit_breaker_max_open: Millis (1 ..= 86_400_000) = 600_000,
        key "circuit_breaker_max_open_ms", Host,
        "Cap on how long a `Retry-After` holds a batch, and the breaker open.";
    FeatureFlagDriver feature_flag_driver with_feature_flag_driver: DriverName = "ADBC",
        key "feature_flag_driver", Host,
        "Driver name in the feature-flag URL path (not part of the flags' names).";
    /// The C# ADBC driver reads `adbc.databricks.telemetry.enabled` from the flags it merges
    /// into its connection properties; its design document names the second default.
    FeatureFlagName feature_flag_names with_feature_flag_names: FlagNames = &[
            "adbc.databricks.telemetry.enabled",
            "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc",
        ],
        key "feature_flag_name", Host,
        "Server flags that turn telemetry on: on when any of them is `\"true\"`. Not derived from `feature_flag_driver`.";
    FeatureFlagTimeout feature_flag_timeout with_feature_flag_timeout: Millis (1 ..= 60_000) = 5_000,
        key "feature_flag_timeout_ms", Host,
        "How long the feature-flag request may take.";
    AllowInsecureHttp allow_insecure_http with_allow_insecure_http: Flag = false,
        key "allow_insecure_http", Handle,
        "Allow plain `http`, to loopback hosts only (tests, the local endpoint).";
    /// Read back in its one spelling, `https://host[:port]` or `http://host:port`.
    Endpoint endpoint with_endpoint: Endpoint,
        key "endpoint", Handle,
        "Where telemetry is sent instead of the connection's workspace, e.g. `http://127.0.0.1:8080` for `dbtel serve`.";
    /// Read back as decimal digits without leading zeros.
    OrgId org_id with_org_id: OrgId,
        key "org_id", Handle,
        "The workspace (org) id, as in the `?o=` of a workspace URL: each handle's logs' `workspace_id`, and the host's `x-databricks-org-id` header (from its first acquirer; another is reported in `settings_conflicts`).";
    /// Off by default: a library writes no file unless asked. Needs the `spool` cargo feature
    /// (without it the setting is read and ignored, with one warning).
    SpoolDir spool_dir with_spool_dir: Directory,
        key "spool_dir", Lane, env "DATABRICKS_TELEMETRY_SPOOL_DIR",
        "A directory (mode 0700, yours alone) where events that would be dropped in an outage wait on disk, and are sent later by this process or the next one with the same host and identity (cargo feature `spool`).";
    SpoolMaxBytes spool_max_bytes with_spool_max_bytes: Count<u64> (65_536 ..= 1_099_511_627_776) = 67_108_864,
        key "spool_max_bytes", Lane, env "DATABRICKS_TELEMETRY_SPOOL_MAX_BYTES",
        "Most bytes of spool files in `spool_dir`; past it the oldest records go (`spool_full`).";
    SpoolMaxAge spool_max_age with_spool_max_age: Millis (1_000 ..= 31_536_000_000) = 604_800_000,
        key "spool_max_age_ms", Lane, env "DATABRICKS_TELEMETRY_SPOOL_MAX_AGE_MS",
        "How long a spooled event may wait; older ones are dropped unsent (`spool_expired`).";
}

/// One row of the documentation table.
#[cfg(test)]
#[derive(Debug)]
pub(super) struct Row {
    key: Key,
    default: String,
    allowed: &'static str,
    at_most: Option<Key>,
    meaning: &'static str,
}

/// The settings table in Markdown, as the README shows it between its `settings-table`
/// markers (a test compares the two): each key (after either prefix), its default, what it
/// allows, its environment variable, where it lives and what it means.
#[cfg(test)]
pub(crate) fn settings_table() -> String {
    let mut table = String::from(
        "| Key (after the prefix) | Default | Allowed | Environment | Lives in | Meaning |\n\
         |---|---|---|---|---|---|\n",
    );
    for row in table_rows() {
        let default = if row.default.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", row.default)
        };
        let limit = row
            .at_most
            .map(|limit| format!(", at most `{}`", limit.name()))
            .unwrap_or_default();
        let env = row
            .key
            .env_var()
            .map(|variable| format!("`{variable}`"))
            .unwrap_or_default();
        let _ = writeln!(
            table,
            "| `{}` | {default} | {}{limit} | {env} | {} | {} |",
            row.key.name(),
            row.allowed,
            row.key.scope().name(),
            row.meaning,
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_key_in_order() {
        let table = settings_table();
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(rows.len(), Key::ALL.len());
        for (row, key) in rows.iter().zip(Key::ALL) {
            assert!(row.starts_with(&format!("| `{}` |", key.name())), "{row}");
        }
    }

    /// The README that holds the settings table between its markers: the crate's own when it
    /// has one, else the workspace's.
    fn readme_with_table() -> (std::path::PathBuf, String) {
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let candidates = [
            crate_dir.join("README.md"),
            crate_dir.join("../../README.md"),
        ];
        for path in candidates {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if text.contains(TABLE_START) {
                    return (path, text);
                }
            }
        }
        panic!("no README next to {crate_dir:?} holds the {TABLE_START} marker");
    }

    const TABLE_START: &str = "<!-- settings-table:start -->";
    const TABLE_END: &str = "<!-- settings-table:end -->";

    #[test]
    fn the_readme_shows_the_generated_table() {
        let (path, readme) = readme_with_table();
        let start = readme.find(TABLE_START).unwrap() + TABLE_START.len();
        let end = readme[start..]
            .find(TABLE_END)
            .map(|end| start + end)
            .unwrap_or_else(|| panic!("{path:?}: {TABLE_START} without {TABLE_END}"));
        let shown = readme[start..end].trim_matches('\n');
        let generated = settings_table();
        assert!(
            shown == generated.trim_end_matches('\n'),
            "the settings table in {path:?} differs from the one generated from config/settings.rs; \
             put this between its markers:\n{generated}"
        );
    }

    #[test]
    fn limits_share_their_setting_kind() {
        assert_eq!(
            Key::BatchSize.kind(),
            Kind::Count {
                min: 1,
                max: 10_000
            }
        );
        assert!(matches!(Key::RetryBaseDelay.kind(), Kind::Millis { .. }));
        assert!(matches!(Key::RetryMaxDelay.kind(), Kind::Millis { .. }));
    }

    #[test]
    fn scoped_values_compare_only_their_scope() {
        let a = TelemetryConfig::default();
        let b = TelemetryConfig::builder()
            .with_batch_size(10)
            .with_max_retries(1)
            .build()
            .unwrap();
        assert_eq!(
            a.scoped(Scope::Lane).differences(&b.scoped(Scope::Lane)),
            ["batch_size"]
        );
        assert_eq!(
            a.scoped(Scope::Host).differences(&b.scoped(Scope::Host)),
            ["max_retries"]
        );
        let c = TelemetryConfig::builder()
            .with_feature_flag_names(["one.flag"])
            .build()
            .unwrap();
        assert_eq!(
            a.scoped(Scope::Host).differences(&c.scoped(Scope::Host)),
            ["feature_flag_name"]
        );
        assert!(a
            .scoped(Scope::Manager)
            .differences(&b.scoped(Scope::Manager))
            .is_empty());
    }
}
