//! The default value of every setting.

use std::time::Duration;

/// Default for `enabled`: telemetry is on (subject to the server feature flag).
pub const DEFAULT_ENABLED: bool = true;

/// Default for `force_enabled`: the server feature flag is consulted.
pub const DEFAULT_FORCE_ENABLED: bool = false;

/// Default for `batch_size`: at most 100 logs per export request.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// Default for `flush_interval_ms`: pending logs are exported at least every 5 seconds.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(5_000);

/// Default for `max_queue_size`: at most 10,000 logs wait for export; more are dropped and
/// counted.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 10_000;

/// Default for `close_timeout_ms`: closing the client returns within about 2 seconds.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_millis(2_000);

/// Default for `request_timeout_ms`: one export request may take at most 10 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(10_000);

/// Default for `max_retries`: a failed batch is retried 3 times with exponential backoff, then
/// once every `retry_max_delay_ms` (the breaker usually takes over first).
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// Default for `max_export_attempts`: a batch is sent at most 25 times (retries and breaker
/// probes together) before it is dropped as `export_failed`. With the default breaker settings
/// that holds a batch through an outage of about ten minutes: 5 failures open the breaker, whose
/// open time then grows from 1 s to 60 s (with jitter), one probe each time.
pub const DEFAULT_MAX_EXPORT_ATTEMPTS: u32 = 25;

/// Default for `max_pending_events`: at most 100,000 events wait for export across every lane of
/// one manager (the process, for [`TelemetryClientManager::global`](crate::TelemetryClientManager::global));
/// more are dropped and counted as `queue_full`.
pub const DEFAULT_MAX_PENDING_EVENTS: usize = 100_000;

/// Default for `retry_base_delay_ms`: the first retry waits about 100 ms (then doubling, with
/// jitter).
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_millis(100);

/// Default for `retry_max_delay_ms`: no backoff is longer than 10 seconds (a `Retry-After` may
/// ask for longer, up to `circuit_breaker_max_open_ms`).
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_millis(10_000);

/// Default for `circuit_breaker_enabled`: the per-host circuit breaker is on.
pub const DEFAULT_CIRCUIT_BREAKER_ENABLED: bool = true;

/// Default for `circuit_breaker_threshold`: 5 consecutive failed exports open the breaker.
pub const DEFAULT_CIRCUIT_BREAKER_THRESHOLD: u32 = 5;

/// Default for `circuit_breaker_timeout_ms`: an open breaker stays open for 60 seconds before
/// it lets one probe through.
pub const DEFAULT_CIRCUIT_BREAKER_TIMEOUT: Duration = Duration::from_millis(60_000);

/// Default for `circuit_breaker_success_threshold`: 1 successful probe in half-open closes the
/// breaker.
pub const DEFAULT_CIRCUIT_BREAKER_SUCCESS_THRESHOLD: u32 = 1;

/// Default for `circuit_breaker_max_open_ms`: a `Retry-After` can hold the breaker open for at
/// most 10 minutes.
pub const DEFAULT_CIRCUIT_BREAKER_MAX_OPEN: Duration = Duration::from_millis(600_000);

/// Default for `feature_flag_driver`: the driver name in the feature-flag URL.
pub const DEFAULT_FEATURE_FLAG_DRIVER: &str = "ADBC";

/// Default for `feature_flag_name`: telemetry is on when either of these server flags is
/// `"true"`. The C# ADBC driver reads `adbc.databricks.telemetry.enabled` from the flags it
/// merges into its connection properties; its design document names the second one. Neither
/// is derived from `feature_flag_driver`.
pub const DEFAULT_FEATURE_FLAG_NAMES: [&str; 2] = [
    "adbc.databricks.telemetry.enabled",
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc",
];

/// Default for `feature_flag_timeout_ms`: the feature-flag request may take at most 5 seconds.
pub const DEFAULT_FEATURE_FLAG_TIMEOUT: Duration = Duration::from_millis(5_000);

/// Default for `allow_insecure_http`: only `https` endpoints are used.
pub const DEFAULT_ALLOW_INSECURE_HTTP: bool = false;
