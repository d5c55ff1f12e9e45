//! The circuit-breaker state machine; the rules are on [`CircuitBreaker`].

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::DEFAULTS;
use crate::jitter::Jitter;
use crate::pipeline::retry::retry_after_hold;

/// Whether a breaker is used unless configured otherwise (the configuration's default).
const DEFAULT_ENABLED: bool = DEFAULTS.circuit_breaker_enabled;
/// Consecutive failures that open a closed breaker, unless configured otherwise.
const DEFAULT_FAILURE_THRESHOLD: u32 = DEFAULTS.circuit_breaker_threshold;
/// How long a breaker stays open before it lets a probe through (with a growing open time: the
/// longest it stays open), unless configured otherwise.
const DEFAULT_OPEN_DURATION: Duration = Duration::from_millis(DEFAULTS.circuit_breaker_timeout);
/// Consecutive probe successes that close a half-open breaker, unless configured otherwise.
const DEFAULT_SUCCESS_THRESHOLD: u32 = DEFAULTS.circuit_breaker_success_threshold;
/// The longest a service's `Retry-After` can hold a breaker open, unless configured otherwise.
const DEFAULT_MAX_OPEN_DURATION: Duration =
    Duration::from_millis(DEFAULTS.circuit_breaker_max_open);
/// The first open period of a breaker whose open time grows (the pipeline's): 1 second, then
/// doubling with each failed probe up to `open_duration`.
pub(crate) const DEFAULT_INITIAL_OPEN_DURATION: Duration = Duration::from_secs(1);

/// How a [`CircuitBreaker`] behaves. Every field is honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreakerSettings {
    /// When false, every export is allowed and the breaker never opens.
    /// Default: the configuration's `circuit_breaker_enabled` (true).
    pub enabled: bool,
    /// Consecutive failures (while closed) that open the breaker; 0 is taken as 1.
    /// Default: the configuration's `circuit_breaker_threshold` (5).
    pub failure_threshold: u32,
    /// How long the breaker stays open before it lets one probe through; also how long a probe
    /// may stay unreported before it is considered abandoned.
    /// Default: the configuration's `circuit_breaker_timeout_ms` (60 s).
    pub open_duration: Duration,
    /// Consecutive probe successes (while half-open) that close the breaker; 0 is taken as 1.
    /// Default: the configuration's `circuit_breaker_success_threshold` (1).
    pub success_threshold: u32,
    /// The cap on how long a `retry_after` from the service can hold the breaker open. It never
    /// shortens `open_duration`. Default: the configuration's `circuit_breaker_max_open_ms`
    /// (600 s).
    pub max_open_duration: Duration,
    /// `None` (the default here): every open period lasts `open_duration`. `Some(initial)`: the
    /// first open period lasts `initial`, and each failed probe doubles it up to
    /// `open_duration`, each period shortened by a random 0-20 % (jitter) so that many clients
    /// do not probe in step. A success resets it. The pipeline uses
    /// `Some(1 s)`.
    pub initial_open_duration: Option<Duration>,
}

impl Default for CircuitBreakerSettings {
    fn default() -> Self {
        CircuitBreakerSettings {
            enabled: DEFAULT_ENABLED,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            open_duration: DEFAULT_OPEN_DURATION,
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
            max_open_duration: DEFAULT_MAX_OPEN_DURATION,
            initial_open_duration: None,
        }
    }
}

impl CircuitBreakerSettings {
    /// Settings with the breaker switched off: every export is allowed.
    pub fn disabled() -> Self {
        CircuitBreakerSettings {
            enabled: false,
            ..Self::default()
        }
    }

    /// How long a failure opens the breaker for.
    ///
    /// Without a `retry_after` that is `open_duration`. With one it is
    /// `retry_after.max(open_duration)`, capped at `max_open_duration` — but never shorter than
    /// `open_duration`, even when `max_open_duration` is set below it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_telemetry::unstable::CircuitBreakerSettings;
    ///
    /// let s = CircuitBreakerSettings::default(); // open 60 s, cap 600 s
    /// let secs = Duration::from_secs;
    /// assert_eq!(s.open_duration_for(None), secs(60));
    /// assert_eq!(s.open_duration_for(Some(secs(5))), secs(60));
    /// assert_eq!(s.open_duration_for(Some(secs(120))), secs(120));
    /// assert_eq!(s.open_duration_for(Some(secs(86_400))), secs(600));
    /// ```
    pub fn open_duration_for(&self, retry_after: Option<Duration>) -> Duration {
        self.held_open(self.open_duration, retry_after)
    }

    /// How long a breaker opens for when its own period is `period` and the failure carried
    /// `retry_after`: the longer of the two, the `Retry-After` honoured by the pipeline's one
    /// rule ([`retry_after_hold`], capped at `max_open_duration`). Holding the host is a
    /// consequence of that answer, not a retry decision: the batch's own wait comes from the
    /// same rule (`pipeline/retry.rs`).
    fn held_open(&self, period: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            None => period,
            Some(asked) => period.max(retry_after_hold(asked, self.max_open_duration)),
        }
    }

    fn failures_to_open(&self) -> u32 {
        self.failure_threshold.max(1)
    }

    fn successes_to_close(&self) -> u32 {
        self.success_threshold.max(1)
    }
}

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CircuitState {
    /// Exports flow normally.
    Closed,
    /// Exports are rejected until the open period ends.
    Open,
    /// One probe export at a time decides whether to close or re-open.
    HalfOpen,
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half-open",
        })
    }
}

/// The answer to "may I export now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admission {
    /// The breaker is closed (or disabled): go ahead.
    Allowed,
    /// Go ahead: this export is the single half-open trial. Report its outcome.
    Probe,
    /// Do not export: the breaker is open, or another probe is outstanding.
    Rejected,
}

impl Admission {
    /// Whether the export may be attempted (allowed or probe).
    pub fn is_admitted(self) -> bool {
        !matches!(self, Admission::Rejected)
    }
}

/// How many transitions a breaker has made since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BreakerTransitions {
    /// Transitions into open (from closed or half-open).
    pub opened: u64,
    /// Transitions from open into half-open.
    pub half_opened: u64,
    /// Transitions from half-open into closed.
    pub closed: u64,
}

/// Where the breaker is, with what it needs to remember there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        since: Instant,
        length: Duration,
    },
    HalfOpen {
        /// When the outstanding probe was granted, if one is outstanding.
        probe_granted_at: Option<Instant>,
        consecutive_successes: u32,
    },
}

/// The closed / open / half-open state machine.
///
/// [`CircuitBreaker`] decides whether an export may be attempted, from the outcomes of earlier
/// exports. It is pure: it holds no lock and reads no clock; every call is given the current
/// instant. [`HostCircuitBreaker`](crate::unstable::HostCircuitBreaker) wraps it with a lock and a
/// [`Clock`](crate::clock::Clock) to share it between the clients of one host.
///
/// # The rules
///
/// - **Closed**: every export is [`Admission::Allowed`]. A success resets the count of
///   consecutive failures. A failure adds one; when the count reaches `failure_threshold` the
///   breaker opens for `open_duration`. A failure that carries a `retry_after` (the service said
///   how long to wait) opens it at once, whatever the count, for
///   [`CircuitBreakerSettings::open_duration_for`] that `retry_after`.
/// - **Open**: every export is [`Admission::Rejected`] until the open period has passed. The first
///   [`admit`](CircuitBreaker::admit) at or after the end of the period moves the breaker to
///   half-open and returns [`Admission::Probe`]. Reports that arrive while open (from exports
///   admitted before it opened) are ignored, except that a failure with a `retry_after` extends
///   the open period when it asks for a later end.
/// - **Half-open**: one probe at a time. While a probe is outstanding every other export is
///   rejected. A success releases the probe slot and counts towards `success_threshold`; when that
///   many consecutive successes have been reported the breaker closes. A failure re-opens it (for
///   `open_duration`, or longer as above when it carries a `retry_after`).
/// - **Abandoned probe**: a probe whose caller has not reported within `open_duration` of being
///   granted is considered released: the next `admit` grants a new probe. A late report of the old
///   probe is then taken like any other report.
/// - Reports are not matched to admissions: in half-open, any reported success or failure is
///   taken as the probe's outcome (the breaker is shared by several clients, and a report may come
///   from an export admitted before the breaker opened).
/// - **Disabled** (`enabled == false`): every export is allowed, reports are ignored, and the
///   breaker stays closed.
/// - A `failure_threshold` or `success_threshold` of 0 is taken as 1.
///
/// Every transition is logged with `tracing::debug!` and counted in [`BreakerTransitions`].
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// use databricks_telemetry::unstable::{Admission, CircuitBreaker, CircuitBreakerSettings, CircuitState};
///
/// let settings = CircuitBreakerSettings { failure_threshold: 2, ..Default::default() };
/// let mut breaker = CircuitBreaker::new(settings);
/// let start = Instant::now();
///
/// breaker.on_failure(start, None);
/// breaker.on_failure(start, None);
/// assert_eq!(breaker.state(), CircuitState::Open);
/// assert_eq!(breaker.admit(start), Admission::Rejected);
///
/// let later = start + settings.open_duration;
/// assert_eq!(breaker.admit(later), Admission::Probe);
/// breaker.on_success(later);
/// assert_eq!(breaker.state(), CircuitState::Closed);
/// ```
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    settings: CircuitBreakerSettings,
    phase: Phase,
    transitions: BreakerTransitions,
    /// The current open period before jitter, when the open time grows.
    level: Duration,
    jitter: Jitter,
}

impl CircuitBreaker {
    /// A closed breaker with `settings`, its jitter seeded from the process's randomness.
    pub fn new(settings: CircuitBreakerSettings) -> Self {
        Self::with_seed(settings, Jitter::random_seed())
    }

    /// A closed breaker with `settings` whose jitter follows `seed`: the same seed and the same
    /// calls give the same open periods (for tests).
    pub fn with_seed(settings: CircuitBreakerSettings, seed: u64) -> Self {
        CircuitBreaker {
            settings,
            phase: Phase::Closed {
                consecutive_failures: 0,
            },
            transitions: BreakerTransitions::default(),
            level: Duration::ZERO,
            jitter: Jitter::new(seed),
        }
    }

    /// When an [`admit`](Self::admit) can next succeed, while the breaker rejects: the end of
    /// the open period, or when an outstanding probe counts as abandoned. `None` when it would
    /// admit now (closed, disabled, or half-open with no probe outstanding).
    pub fn retry_at(&self) -> Option<Instant> {
        if !self.settings.enabled {
            return None;
        }
        match self.phase {
            Phase::Closed { .. } => None,
            Phase::Open { since, length } => Some(since.checked_add(length).unwrap_or(since)),
            Phase::HalfOpen {
                probe_granted_at, ..
            } => probe_granted_at.map(|granted| {
                granted
                    .checked_add(self.settings.open_duration)
                    .unwrap_or(granted)
            }),
        }
    }

    /// Gives back a probe that was granted but never sent (its caller failed before reaching
    /// the service): the next [`admit`](Self::admit) may grant another at once. Nothing else
    /// changes.
    pub fn release_probe(&mut self) {
        if let Phase::HalfOpen {
            consecutive_successes,
            probe_granted_at: Some(_),
        } = self.phase
        {
            self.phase = Phase::HalfOpen {
                probe_granted_at: None,
                consecutive_successes,
            };
        }
    }

    /// The settings this breaker follows.
    pub fn settings(&self) -> &CircuitBreakerSettings {
        &self.settings
    }

    /// Whether an export may be attempted at `now`.
    ///
    /// An open breaker whose period has ended moves to half-open here and returns
    /// [`Admission::Probe`]; in half-open only one probe is outstanding at a time.
    pub fn admit(&mut self, now: Instant) -> Admission {
        if !self.settings.enabled {
            return Admission::Allowed;
        }
        match self.phase {
            Phase::Closed { .. } => Admission::Allowed,
            Phase::Open { since, length } => {
                if now.saturating_duration_since(since) < length {
                    return Admission::Rejected;
                }
                self.phase = Phase::HalfOpen {
                    probe_granted_at: Some(now),
                    consecutive_successes: 0,
                };
                self.transitions.half_opened += 1;
                tracing::debug!(
                    from = %CircuitState::Open,
                    to = %CircuitState::HalfOpen,
                    "circuit breaker half-opened: open period of {} ms ended, granting a probe",
                    length.as_millis(),
                );
                Admission::Probe
            }
            Phase::HalfOpen {
                probe_granted_at,
                consecutive_successes,
            } => {
                if let Some(granted_at) = probe_granted_at {
                    if now.saturating_duration_since(granted_at) < self.settings.open_duration {
                        return Admission::Rejected;
                    }
                    tracing::debug!(
                        "circuit breaker probe unreported for {} ms: considered abandoned",
                        self.settings.open_duration.as_millis(),
                    );
                }
                self.phase = Phase::HalfOpen {
                    probe_granted_at: Some(now),
                    consecutive_successes,
                };
                Admission::Probe
            }
        }
    }

    /// Reports that an export succeeded (wholly or in part).
    pub fn on_success(&mut self, _now: Instant) {
        if !self.settings.enabled {
            return;
        }
        match self.phase {
            Phase::Closed { .. } => {
                self.phase = Phase::Closed {
                    consecutive_failures: 0,
                };
            }
            Phase::Open { .. } => {}
            Phase::HalfOpen {
                consecutive_successes,
                ..
            } => {
                let successes = consecutive_successes.saturating_add(1);
                if successes >= self.settings.successes_to_close() {
                    self.phase = Phase::Closed {
                        consecutive_failures: 0,
                    };
                    self.transitions.closed += 1;
                    tracing::debug!(
                        from = %CircuitState::HalfOpen,
                        to = %CircuitState::Closed,
                        "circuit breaker closed after {successes} successful probe(s)",
                    );
                } else {
                    self.phase = Phase::HalfOpen {
                        probe_granted_at: None,
                        consecutive_successes: successes,
                    };
                }
            }
        }
    }

    /// Reports that an export failed; `retry_after` is how long the service asked to wait, if it
    /// said. See [`CircuitBreakerSettings::open_duration_for`] for how long it then opens.
    pub fn on_failure(&mut self, now: Instant, retry_after: Option<Duration>) {
        if !self.settings.enabled {
            return;
        }
        match self.phase {
            Phase::Closed {
                consecutive_failures,
            } => {
                let failures = consecutive_failures.saturating_add(1);
                if retry_after.is_some() || failures >= self.settings.failures_to_open() {
                    self.open(now, retry_after, CircuitState::Closed, failures);
                } else {
                    self.phase = Phase::Closed {
                        consecutive_failures: failures,
                    };
                }
            }
            Phase::Open { since, length } => {
                if let Some(retry_after) = retry_after {
                    let floor = match self.settings.initial_open_duration {
                        Some(_) => Duration::ZERO,
                        None => self.settings.open_duration,
                    };
                    let asked = self.settings.held_open(floor, Some(retry_after));
                    let extended = now.saturating_duration_since(since).saturating_add(asked);
                    if extended > length {
                        self.phase = Phase::Open {
                            since,
                            length: extended,
                        };
                        tracing::debug!(
                            "circuit breaker kept open for another {} ms: service asked to wait",
                            asked.as_millis(),
                        );
                    }
                }
            }
            Phase::HalfOpen { .. } => self.open(now, retry_after, CircuitState::HalfOpen, 1),
        }
    }

    /// The current state. An open breaker whose period has ended still reads open until the next
    /// [`admit`](Self::admit) moves it to half-open.
    pub fn state(&self) -> CircuitState {
        match self.phase {
            Phase::Closed { .. } => CircuitState::Closed,
            Phase::Open { .. } => CircuitState::Open,
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// How many transitions the breaker has made.
    pub fn transitions(&self) -> BreakerTransitions {
        self.transitions
    }

    fn open(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
        from: CircuitState,
        failures: u32,
    ) {
        let base = match self.settings.initial_open_duration {
            None => self.settings.open_duration,
            Some(initial) => {
                let cap = self.settings.open_duration;
                let first = initial.min(cap);
                self.level = if from == CircuitState::Closed {
                    first
                } else {
                    self.level.saturating_mul(2).clamp(first, cap)
                };
                self.jittered(self.level)
            }
        };
        let length = self.settings.held_open(base, retry_after);
        self.phase = Phase::Open { since: now, length };
        self.transitions.opened += 1;
        tracing::debug!(
            %from,
            to = %CircuitState::Open,
            "circuit breaker opened for {} ms after {failures} consecutive failure(s){}",
            length.as_millis(),
            if retry_after.is_some() {
                " (the service asked to wait)"
            } else {
                ""
            },
        );
    }
}

impl CircuitBreaker {
    /// `period` shortened by a random 0-20 %.
    fn jittered(&mut self, period: Duration) -> Duration {
        period.mul_f64(1.0 - 0.2 * self.jitter.next_unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_open_time_starts_small_doubles_and_is_capped() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            open_duration: secs(10),
            initial_open_duration: Some(secs(1)),
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::with_seed(settings, 7);
        let mut t = Instant::now();
        breaker.on_failure(t, None);
        let mut lengths = Vec::new();
        for _ in 0..7 {
            let until = breaker.retry_at().expect("open");
            lengths.push(until - t);
            t = until;
            assert_eq!(breaker.admit(t), Admission::Probe);
            breaker.on_failure(t, None);
        }
        let expected = [1, 2, 4, 8, 10, 10, 10];
        for (length, level) in lengths.iter().zip(expected) {
            let level = secs(level);
            assert!(
                *length <= level && *length >= level.mul_f64(0.8),
                "{lengths:?}"
            );
        }
        // A success resets the open time to its first period.
        assert_eq!(breaker.admit(t + secs(10)), Admission::Probe);
        breaker.on_success(t + secs(10));
        breaker.on_failure(t + secs(10), None);
        assert!(breaker.retry_at().unwrap() - (t + secs(10)) <= secs(1));
    }

    #[test]
    fn the_same_seed_gives_the_same_open_periods() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            initial_open_duration: Some(secs(1)),
            ..Default::default()
        };
        let t = Instant::now();
        let periods = |seed| {
            let mut breaker = CircuitBreaker::with_seed(settings, seed);
            breaker.on_failure(t, None);
            breaker.retry_at()
        };
        assert_eq!(periods(3), periods(3));
        assert_ne!(periods(3), periods(4));
    }

    #[test]
    fn a_released_probe_can_be_granted_again_at_once() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now();
        breaker.on_failure(t, None);
        let end = breaker.retry_at().unwrap();
        assert_eq!(breaker.admit(end), Admission::Probe);
        assert_eq!(breaker.admit(end), Admission::Rejected);
        breaker.release_probe();
        assert_eq!(breaker.retry_at(), None);
        assert_eq!(breaker.admit(end), Admission::Probe);
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_success_while_closed_resets_the_failure_count() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 3,
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now();
        breaker.on_failure(t, None);
        breaker.on_failure(t, None);
        breaker.on_success(t);
        breaker.on_failure(t, None);
        breaker.on_failure(t, None);
        assert_eq!(breaker.state(), CircuitState::Closed);
        breaker.on_failure(t, None);
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[test]
    fn reports_while_open_are_ignored_but_retry_after_extends() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now();
        breaker.on_failure(t, None);
        breaker.on_success(t + secs(1));
        breaker.on_failure(t + secs(1), None);
        assert_eq!(breaker.admit(t + secs(59)), Admission::Rejected);
        // Asked at t+10 s to wait 120 s: open until t+130 s.
        breaker.on_failure(t + secs(10), Some(secs(120)));
        assert_eq!(breaker.admit(t + secs(129)), Admission::Rejected);
        assert_eq!(breaker.admit(t + secs(130)), Admission::Probe);
        assert_eq!(breaker.transitions().opened, 1);
    }

    #[test]
    fn a_shorter_retry_after_while_open_does_not_shorten_it() {
        let mut breaker = CircuitBreaker::new(CircuitBreakerSettings::default());
        let t = Instant::now();
        breaker.on_failure(t, Some(secs(300)));
        breaker.on_failure(t + secs(1), Some(secs(1)));
        assert_eq!(breaker.admit(t + secs(299)), Admission::Rejected);
        assert_eq!(breaker.admit(t + secs(300)), Admission::Probe);
    }

    #[test]
    fn an_abandoned_probe_is_released_after_open_duration() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            open_duration: secs(10),
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now();
        breaker.on_failure(t, None);
        assert_eq!(breaker.admit(t + secs(10)), Admission::Probe);
        assert_eq!(breaker.admit(t + secs(19)), Admission::Rejected);
        assert_eq!(breaker.admit(t + secs(20)), Admission::Probe);
        assert_eq!(breaker.admit(t + secs(21)), Admission::Rejected);
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        assert_eq!(breaker.transitions().half_opened, 1);
    }

    #[test]
    fn zero_thresholds_are_taken_as_one() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 0,
            success_threshold: 0,
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now();
        breaker.on_failure(t, None);
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(breaker.admit(t + settings.open_duration), Admission::Probe);
        breaker.on_success(t + settings.open_duration);
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[test]
    fn a_clock_that_goes_backwards_does_not_panic() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now() + secs(100);
        breaker.on_failure(t, None);
        assert_eq!(breaker.admit(t - secs(50)), Admission::Rejected);
        breaker.on_failure(t - secs(50), Some(secs(1)));
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let settings = CircuitBreakerSettings {
            failure_threshold: 1,
            open_duration: Duration::MAX,
            max_open_duration: Duration::MAX,
            ..Default::default()
        };
        let mut breaker = CircuitBreaker::new(settings);
        let t = Instant::now();
        breaker.on_failure(t, Some(Duration::MAX));
        breaker.on_failure(t + secs(1), Some(Duration::MAX));
        assert_eq!(breaker.admit(t + secs(1_000_000)), Admission::Rejected);
    }
}
