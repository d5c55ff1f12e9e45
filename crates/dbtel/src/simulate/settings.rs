//! Every library setting as a `dbtel simulate` flag, and the [`TelemetryConfig`] they build.
//!
//! The flags are the library's option keys with dashes (`batch_size` is `--batch-size`). Most
//! defaults are the library's; a few are scaled down so that a run of a few seconds shows the
//! whole pipeline, an outage and the recovery after it included. `--library-defaults` uses the
//! library's own default for every flag not given, scaled ones included.
//!
//! | flag | simulate default | library default | why |
//! |---|---|---|---|
//! | `--flush-interval-ms` | 200 | 5000 | events reach the endpoint within the run |
//! | `--request-timeout-ms` | 1000 | 10000 | a `hang` outage costs a second per attempt, not ten |
//! | `--retry-base-delay-ms` | 50 | 100 | a failing batch's quick retries (3, as in the library) reach the breaker within a fraction of a second |
//! | `--retry-max-delay-ms` | 1000 | 10000 | once its quick retries are used, a batch is tried once a second, not every ten (when the breaker does not hold the host) |
//! | `--circuit-breaker-threshold` | 3 | 5 | one lane's first try and its quick retries open the breaker (the library's 5 needs more than one lane, or ten more seconds) |
//! | `--circuit-breaker-timeout-ms` | 2000 | 60000 | the open time (1 s, then doubling) stops growing at 2 s, so the breaker probes within 2 s of an outage's end; with the 25 attempts a batch has, lanes hold an outage of about 40 s |
//! | `--close-timeout-ms` | 2000; with `--outage`, [`outage_close_timeout`] | 2000 | a lane released during an outage still holds its events until the outage is over, a probe got through and the backlog drained |
//!
//! The run's final `shutdown` waits [`shutdown_timeout`]: longer than any lane's close timeout,
//! so each lane's own deadline is what decides, as in a driver.

use std::time::Duration;

use clap::{ArgAction, Args};
use databricks_telemetry::{ConfigError, TelemetryConfig};

use super::environment::{self, Flagged, SettingOrigin};

use super::outage::OutageSpec;

/// `--flush-interval-ms` default for simulate.
pub(crate) const SIMULATE_FLUSH_INTERVAL_MS: u64 = 200;
/// `--request-timeout-ms` default for simulate.
pub(crate) const SIMULATE_REQUEST_TIMEOUT_MS: u64 = 1_000;
/// `--retry-base-delay-ms` default for simulate.
pub(crate) const SIMULATE_RETRY_BASE_DELAY_MS: u64 = 50;
/// `--retry-max-delay-ms` default for simulate.
pub(crate) const SIMULATE_RETRY_MAX_DELAY_MS: u64 = 1_000;
/// `--circuit-breaker-threshold` default for simulate.
pub(crate) const SIMULATE_CIRCUIT_BREAKER_THRESHOLD: u32 = 3;
/// `--circuit-breaker-timeout-ms` default for simulate.
pub(crate) const SIMULATE_CIRCUIT_BREAKER_TIMEOUT_MS: u64 = 2_000;
/// What `--close-timeout-ms` adds, with `--outage`, for the backlog to drain once the outage is
/// over and the breaker has let a probe through.
pub(crate) const SIMULATE_DRAIN_ALLOWANCE: Duration = Duration::from_secs(2);
/// What the final shutdown waits beyond the longest a lane may take to drain.
pub(crate) const SHUTDOWN_MARGIN: Duration = Duration::from_secs(1);

/// The library's settings, one flag each (see the [module documentation](self)).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Library settings")]
pub(crate) struct LibraryFlags {
    /// Use the library's own default for every setting not given, instead of simulate's scaled
    /// ones (flush interval 5 s, request timeout 10 s, retries from 100 ms up to 10 s, breaker
    /// threshold 5 and open time up to 60 s, close timeout 2 s even with --outage).
    #[arg(long)]
    pub(crate) library_defaults: bool,

    /// Send without consulting the server feature flag.
    #[arg(long)]
    pub(crate) force_enabled: bool,

    /// Most logs in one export request; when not given, DATABRICKS_TELEMETRY_BATCH_SIZE if set
    /// [default: 100, the library's].
    #[arg(long, value_name = "N")]
    pub(crate) batch_size: Option<usize>,

    /// How often a lane's pending logs are exported; when not given,
    /// DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS if set [default: 200; library: 5000].
    #[arg(long, value_name = "MS")]
    pub(crate) flush_interval_ms: Option<u64>,

    /// Most logs waiting for export per lane (host and identity); more are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = library_defaults().max_queue_size())]
    pub(crate) max_queue_size: usize,

    /// Most logs waiting for export over every lane; more are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = library_defaults().max_pending_events())]
    pub(crate) max_pending_events: usize,

    /// How long a released lane may take to deliver what it holds [default: 2000; with
    /// --outage, long enough to outlast it: START + DURATION + the longer of breaker timeout
    /// and retry max delay + request timeout + 2 s; library: 2000].
    #[arg(long, value_name = "MS")]
    pub(crate) close_timeout_ms: Option<u64>,

    /// How long one export request may take [default: 1000; library: 10000].
    #[arg(long, value_name = "MS")]
    pub(crate) request_timeout_ms: Option<u64>,

    /// Quick retries of a failed batch (backoff from the base delay); after them it is tried
    /// once per retry max delay, or when the breaker lets a probe through.
    #[arg(long, value_name = "N", default_value_t = library_defaults().max_retries())]
    pub(crate) max_retries: u32,

    /// Sends of one batch (retries and breaker probes together) before it is dropped as
    /// export_failed.
    #[arg(long, value_name = "N", default_value_t = library_defaults().max_export_attempts())]
    pub(crate) max_export_attempts: u32,

    /// First retry delay, then doubling with jitter [default: 50; library: 100].
    #[arg(long, value_name = "MS")]
    pub(crate) retry_base_delay_ms: Option<u64>,

    /// Cap on the retry backoff (a Retry-After may ask for longer); the wait between tries once
    /// the quick retries are used [default: 1000; library: 10000].
    #[arg(long, value_name = "MS")]
    pub(crate) retry_max_delay_ms: Option<u64>,

    /// Whether the per-host circuit breaker is used.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = ArgAction::Set
    )]
    pub(crate) circuit_breaker_enabled: bool,

    /// Consecutive failed exports that open the breaker [default: 3; library: 5].
    #[arg(long, value_name = "N")]
    pub(crate) circuit_breaker_threshold: Option<u32>,

    /// Longest the breaker stays open before one probe: its open time starts at 1 s (or this,
    /// if shorter) and doubles after each failed probe up to this [default: 2000; library:
    /// 60000].
    #[arg(long, value_name = "MS")]
    pub(crate) circuit_breaker_timeout_ms: Option<u64>,

    /// Successful probes in half-open that close the breaker.
    #[arg(long, value_name = "N", default_value_t = library_defaults().circuit_breaker_success_threshold())]
    pub(crate) circuit_breaker_success_threshold: u32,

    /// Cap on how long a Retry-After holds the breaker open.
    #[arg(long, value_name = "MS", default_value_t = millis(library_defaults().circuit_breaker_max_open()))]
    pub(crate) circuit_breaker_max_open_ms: u64,

    /// Driver name in the feature-flag URL path.
    #[arg(long, value_name = "NAME", default_value_t = library_defaults().feature_flag_driver().to_owned())]
    pub(crate) feature_flag_driver: String,

    /// How long the feature-flag request may take.
    #[arg(long, value_name = "MS", default_value_t = millis(library_defaults().feature_flag_timeout()))]
    pub(crate) feature_flag_timeout_ms: u64,

    /// With --spool: most bytes of spool files in the directory; past it the oldest records
    /// go (spool_full) [library: 67108864].
    /// Its variable: DATABRICKS_TELEMETRY_SPOOL_MAX_BYTES.
    #[arg(long, value_name = "BYTES")]
    pub(crate) spool_max_bytes: Option<u64>,

    /// With --spool: how long a spooled event may wait before it is dropped unsent
    /// (spool_expired) [library: 604800000, 7 days].
    /// Its variable: DATABRICKS_TELEMETRY_SPOOL_MAX_AGE_MS.
    #[arg(long, value_name = "MS")]
    pub(crate) spool_max_age_ms: Option<u64>,
}

/// The library's defaults, which the flags start from.
fn library_defaults() -> TelemetryConfig {
    TelemetryConfig::default()
}

impl LibraryFlags {
    /// [`to_config_with_env`](Self::to_config_with_env) with no environment (for tests).
    #[cfg(test)]
    pub(crate) fn to_config(
        &self,
        allow_insecure_http: bool,
        outage: Option<&OutageSpec>,
    ) -> Result<TelemetryConfig, ConfigError> {
        let no_spool = (
            library_defaults().spool_max_bytes(),
            library_defaults().spool_max_age(),
        );
        self.to_config_with_env(allow_insecure_http, outage, None, no_spool, &|_| None)
            .map(|(config, _)| config)
    }

    /// The configuration these flags describe, for a run with `outage` (if any), spooling to
    /// `spool_dir` when given (`--spool`, or its variable) within `spool_bounds` (its most
    /// bytes and oldest age, resolved with their variables), with the library's `DATABRICKS_TELEMETRY_*`
    /// variables read through `env` as a driver reads them (a flag given wins; see
    /// [`environment`]); plain HTTP to loopback is allowed when `allow_insecure_http`. Also
    /// says where each setting a variable can set came from.
    ///
    /// # Errors
    ///
    /// The library's [`ConfigError`] for the first value out of range, named by its option key;
    /// a bad variable is ignored, not an error.
    pub(crate) fn to_config_with_env(
        &self,
        allow_insecure_http: bool,
        outage: Option<&OutageSpec>,
        spool_dir: Option<&std::path::Path>,
        spool_bounds: (u64, Duration),
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(TelemetryConfig, Vec<SettingOrigin>), ConfigError> {
        let library = self.library_defaults;
        let from_env = environment::resolve(
            Flagged {
                batch_size: (self.batch_size, library_defaults().batch_size()),
                flush_interval_ms: (
                    self.flush_interval_ms,
                    if library {
                        millis(library_defaults().flush_interval())
                    } else {
                        SIMULATE_FLUSH_INTERVAL_MS
                    },
                ),
                max_queue_size: self.max_queue_size,
            },
            env,
        )?;
        let ms = |given: Option<u64>, scaled: u64, default: Duration| {
            Duration::from_millis(given.unwrap_or(if library { millis(default) } else { scaled }))
        };
        let count = |given: Option<u32>, scaled: u32, default: u32| {
            given.unwrap_or(if library { default } else { scaled })
        };
        let retry_max_delay = ms(
            self.retry_max_delay_ms,
            SIMULATE_RETRY_MAX_DELAY_MS,
            library_defaults().retry_max_delay(),
        );
        let request_timeout = ms(
            self.request_timeout_ms,
            SIMULATE_REQUEST_TIMEOUT_MS,
            library_defaults().request_timeout(),
        );
        let breaker_timeout = ms(
            self.circuit_breaker_timeout_ms,
            SIMULATE_CIRCUIT_BREAKER_TIMEOUT_MS,
            library_defaults().circuit_breaker_timeout(),
        );
        let close_timeout = match (self.close_timeout_ms, outage) {
            (Some(given), _) => Duration::from_millis(given),
            (None, Some(outage)) if !library => outage_close_timeout(
                outage,
                breaker_timeout.max(retry_max_delay),
                request_timeout,
            ),
            (None, _) => library_defaults().close_timeout(),
        };
        let builder = TelemetryConfig::builder()
            .with_enabled(from_env.enabled)
            .with_force_enabled(self.force_enabled)
            .with_batch_size(from_env.batch_size)
            .with_flush_interval(from_env.flush_interval)
            .with_max_queue_size(self.max_queue_size)
            .with_max_pending_events(self.max_pending_events)
            .with_close_timeout(close_timeout)
            .with_request_timeout(request_timeout)
            .with_max_retries(self.max_retries)
            .with_max_export_attempts(self.max_export_attempts)
            .with_retry_base_delay(ms(
                self.retry_base_delay_ms,
                SIMULATE_RETRY_BASE_DELAY_MS,
                library_defaults().retry_base_delay(),
            ))
            .with_retry_max_delay(retry_max_delay)
            .with_circuit_breaker_enabled(self.circuit_breaker_enabled)
            .with_circuit_breaker_threshold(count(
                self.circuit_breaker_threshold,
                SIMULATE_CIRCUIT_BREAKER_THRESHOLD,
                library_defaults().circuit_breaker_threshold(),
            ))
            .with_circuit_breaker_timeout(breaker_timeout)
            .with_circuit_breaker_success_threshold(self.circuit_breaker_success_threshold)
            .with_circuit_breaker_max_open(Duration::from_millis(self.circuit_breaker_max_open_ms))
            .with_feature_flag_driver(self.feature_flag_driver.clone())
            .with_feature_flag_timeout(Duration::from_millis(self.feature_flag_timeout_ms))
            .with_spool_max_bytes(spool_bounds.0)
            .with_spool_max_age(spool_bounds.1)
            .with_allow_insecure_http(allow_insecure_http);
        let config = match spool_dir {
            Some(dir) => builder.with_spool_dir(dir.display().to_string()),
            None => builder,
        }
        .build()?;
        Ok((config, from_env.origins))
    }
}

/// Simulate's close timeout with `outage`: a lane released at any point of the run (even at
/// its start) keeps its events until the outage is over, the next try has come (after at most
/// `retry_wait`: the breaker's longest open time, or the retry max delay without a breaker) and
/// taken up to `request_timeout`, and the backlog has drained ([`SIMULATE_DRAIN_ALLOWANCE`]);
/// never less than the library's default.
pub(crate) fn outage_close_timeout(
    outage: &OutageSpec,
    retry_wait: Duration,
    request_timeout: Duration,
) -> Duration {
    let needed = outage
        .start
        .saturating_add(outage.duration)
        .saturating_add(retry_wait)
        .saturating_add(request_timeout)
        .saturating_add(SIMULATE_DRAIN_ALLOWANCE);
    needed.max(library_defaults().close_timeout())
}

/// How long the run's final shutdown waits, for a run whose lanes have `config`: longer than a
/// lane may take to drain after its last connection closed (its close timeout) and the second
/// the library's shutdown gives a request in flight past it ([`IN_FLIGHT_GRACE`]), so the
/// lanes' own deadlines decide what is delivered. Not the request timeout: a request begun
/// before the close, with the whole of it, is cut off at the lane's deadline (issue 23).
pub(crate) fn shutdown_timeout(config: &TelemetryConfig) -> Duration {
    config
        .close_timeout()
        .saturating_add(IN_FLIGHT_GRACE)
        .saturating_add(SHUTDOWN_MARGIN)
}

/// How long past a lane's close deadline the library's shutdown waits for a request in flight
/// before it counts the lane's events itself.
pub(crate) const IN_FLIGHT_GRACE: Duration = Duration::from_secs(1);

/// Whole milliseconds of a default, for `--help`.
const fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        library: LibraryFlags,
    }

    fn config(args: &[&str], outage: Option<&str>) -> TelemetryConfig {
        let flags = Flags::try_parse_from([&["test"], args].concat()).unwrap();
        let outage: Option<OutageSpec> = outage.map(|o| o.parse().unwrap());
        flags.library.to_config(true, outage.as_ref()).unwrap()
    }

    #[test]
    fn scaled_defaults_unless_library_defaults() {
        let scaled = config(&[], None);
        assert_eq!(scaled.flush_interval(), Duration::from_millis(200));
        assert_eq!(scaled.request_timeout(), Duration::from_millis(1_000));
        assert_eq!(scaled.max_retries(), library_defaults().max_retries());
        assert_eq!(scaled.retry_base_delay(), Duration::from_millis(50));
        assert_eq!(scaled.retry_max_delay(), Duration::from_millis(1_000));
        assert_eq!(scaled.circuit_breaker_threshold(), 3);
        assert_eq!(
            scaled.circuit_breaker_timeout(),
            Duration::from_millis(2_000)
        );
        assert_eq!(scaled.close_timeout(), library_defaults().close_timeout());

        let library = config(&["--library-defaults"], Some("503:30s@10s"));
        let defaults = TelemetryConfig::builder()
            .with_allow_insecure_http(true)
            .build()
            .unwrap();
        assert_eq!(library, defaults);

        // A flag given beats both.
        let given = config(&["--library-defaults", "--flush-interval-ms", "70"], None);
        assert_eq!(given.flush_interval(), Duration::from_millis(70));
        assert_eq!(
            given.request_timeout(),
            library_defaults().request_timeout()
        );
    }

    #[test]
    fn an_outage_gets_a_close_timeout_that_outlasts_it() {
        // 1 s + 2 s of outage, 2 s of breaker, 1 s of request, 2 s to drain.
        let outage = config(&[], Some("503:2s@1s"));
        assert_eq!(outage.close_timeout(), Duration::from_secs(8));
        assert_eq!(shutdown_timeout(&outage), Duration::from_secs(10));
        // A long request timeout does not lengthen the shutdown: the close deadline bounds it.
        let slow = config(
            &[
                "--close-timeout-ms",
                "1000",
                "--request-timeout-ms",
                "300000",
            ],
            None,
        );
        assert_eq!(shutdown_timeout(&slow), Duration::from_secs(3));
        let given = config(&["--close-timeout-ms", "300"], Some("503:2s@1s"));
        assert_eq!(given.close_timeout(), Duration::from_millis(300));
    }
}
