//! Every library setting as a `dbtel simulate` flag, and the [`TelemetryConfig`] they build.
//!
//! The flags are the library's option keys with dashes (`batch_size` is `--batch-size`). Most
//! defaults are the library's; a few are scaled down so that a run of a few seconds shows the
//! whole pipeline, an outage included:
//!
//! | flag | simulate default | library default | why |
//! |---|---|---|---|
//! | `--flush-interval-ms` | 200 | 5000 | events reach the endpoint within the run, and a recovered breaker is probed promptly |
//! | `--request-timeout-ms` | 1000 | 10000 | a `hang` outage costs a second per attempt, not ten |
//! | `--max-retries` | 1 | 3 | a failed batch gives up quickly, so failures reach the breaker during a short outage |
//! | `--retry-base-delay-ms` | 50 | 100 | the same |
//! | `--circuit-breaker-threshold` | 3 | 5 | a 2-second outage opens the breaker |
//! | `--circuit-breaker-timeout-ms` | 500 | 60000 | the breaker half-opens, and closes again, within the run |

use std::time::Duration;

use clap::{ArgAction, Args};
use databricks_telemetry::config::{
    DEFAULT_BATCH_SIZE, DEFAULT_CIRCUIT_BREAKER_MAX_OPEN,
    DEFAULT_CIRCUIT_BREAKER_SUCCESS_THRESHOLD, DEFAULT_CLOSE_TIMEOUT, DEFAULT_FEATURE_FLAG_DRIVER,
    DEFAULT_FEATURE_FLAG_TIMEOUT, DEFAULT_MAX_QUEUE_SIZE, DEFAULT_RETRY_MAX_DELAY,
};
use databricks_telemetry::{ConfigError, TelemetryConfig};

/// `--flush-interval-ms` default for simulate.
pub(crate) const SIMULATE_FLUSH_INTERVAL_MS: u64 = 200;
/// `--request-timeout-ms` default for simulate.
pub(crate) const SIMULATE_REQUEST_TIMEOUT_MS: u64 = 1_000;
/// `--max-retries` default for simulate.
pub(crate) const SIMULATE_MAX_RETRIES: u32 = 1;
/// `--retry-base-delay-ms` default for simulate.
pub(crate) const SIMULATE_RETRY_BASE_DELAY_MS: u64 = 50;
/// `--circuit-breaker-threshold` default for simulate.
pub(crate) const SIMULATE_CIRCUIT_BREAKER_THRESHOLD: u32 = 3;
/// `--circuit-breaker-timeout-ms` default for simulate.
pub(crate) const SIMULATE_CIRCUIT_BREAKER_TIMEOUT_MS: u64 = 500;

/// The library's settings, one flag each (see the [module documentation](self)).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Library settings")]
pub(crate) struct LibraryFlags {
    /// Send without consulting the server feature flag.
    #[arg(long)]
    pub(crate) force_enabled: bool,

    /// Most logs in one export request.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE)]
    pub(crate) batch_size: usize,

    /// How often pending logs are exported.
    #[arg(long, value_name = "MS", default_value_t = SIMULATE_FLUSH_INTERVAL_MS)]
    pub(crate) flush_interval_ms: u64,

    /// Most logs waiting for export per client; more are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_QUEUE_SIZE)]
    pub(crate) max_queue_size: usize,

    /// How long closing a client may take.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_CLOSE_TIMEOUT))]
    pub(crate) close_timeout_ms: u64,

    /// How long one export request may take.
    #[arg(long, value_name = "MS", default_value_t = SIMULATE_REQUEST_TIMEOUT_MS)]
    pub(crate) request_timeout_ms: u64,

    /// Retries of one failed export.
    #[arg(long, value_name = "N", default_value_t = SIMULATE_MAX_RETRIES)]
    pub(crate) max_retries: u32,

    /// First retry delay (then doubling, with jitter).
    #[arg(long, value_name = "MS", default_value_t = SIMULATE_RETRY_BASE_DELAY_MS)]
    pub(crate) retry_base_delay_ms: u64,

    /// Cap on any retry delay, including an honoured Retry-After.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_RETRY_MAX_DELAY))]
    pub(crate) retry_max_delay_ms: u64,

    /// Whether the per-host circuit breaker is used.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = ArgAction::Set
    )]
    pub(crate) circuit_breaker_enabled: bool,

    /// Consecutive failed exports that open the breaker.
    #[arg(long, value_name = "N", default_value_t = SIMULATE_CIRCUIT_BREAKER_THRESHOLD)]
    pub(crate) circuit_breaker_threshold: u32,

    /// How long the breaker stays open before one probe.
    #[arg(long, value_name = "MS", default_value_t = SIMULATE_CIRCUIT_BREAKER_TIMEOUT_MS)]
    pub(crate) circuit_breaker_timeout_ms: u64,

    /// Successful probes in half-open that close the breaker.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CIRCUIT_BREAKER_SUCCESS_THRESHOLD)]
    pub(crate) circuit_breaker_success_threshold: u32,

    /// Cap on how long a Retry-After holds the breaker open.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_CIRCUIT_BREAKER_MAX_OPEN))]
    pub(crate) circuit_breaker_max_open_ms: u64,

    /// Driver name in the feature-flag URL path.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_FEATURE_FLAG_DRIVER)]
    pub(crate) feature_flag_driver: String,

    /// How long the feature-flag request may take.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_FEATURE_FLAG_TIMEOUT))]
    pub(crate) feature_flag_timeout_ms: u64,
}

impl LibraryFlags {
    /// The configuration these flags describe; plain HTTP to loopback is allowed when
    /// `allow_insecure_http`.
    ///
    /// # Errors
    ///
    /// The library's [`ConfigError`] for the first value out of range, named by its option key.
    pub(crate) fn to_config(
        &self,
        allow_insecure_http: bool,
    ) -> Result<TelemetryConfig, ConfigError> {
        TelemetryConfig::builder()
            .with_enabled(true)
            .with_force_enabled(self.force_enabled)
            .with_batch_size(self.batch_size)
            .with_flush_interval(Duration::from_millis(self.flush_interval_ms))
            .with_max_queue_size(self.max_queue_size)
            .with_close_timeout(Duration::from_millis(self.close_timeout_ms))
            .with_request_timeout(Duration::from_millis(self.request_timeout_ms))
            .with_max_retries(self.max_retries)
            .with_retry_base_delay(Duration::from_millis(self.retry_base_delay_ms))
            .with_retry_max_delay(Duration::from_millis(self.retry_max_delay_ms))
            .with_circuit_breaker_enabled(self.circuit_breaker_enabled)
            .with_circuit_breaker_threshold(self.circuit_breaker_threshold)
            .with_circuit_breaker_timeout(Duration::from_millis(self.circuit_breaker_timeout_ms))
            .with_circuit_breaker_success_threshold(self.circuit_breaker_success_threshold)
            .with_circuit_breaker_max_open(Duration::from_millis(self.circuit_breaker_max_open_ms))
            .with_feature_flag_driver(self.feature_flag_driver.clone())
            .with_feature_flag_timeout(Duration::from_millis(self.feature_flag_timeout_ms))
            .with_allow_insecure_http(allow_insecure_http)
            .build()
    }
}

/// Whole milliseconds of a default, for `--help`.
const fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}
