//! The circuit breaker: checked against a reference model, setting by setting, and shared by a
//! host (what the pipeline reports to it).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use databricks_telemetry::clock::{Clock, ManualClock};
use databricks_telemetry::unstable::{
    Admission, BreakerTransitions, CircuitBreaker, CircuitBreakerSettings, CircuitState,
};
use databricks_telemetry::{
    export::{ExportFailure, ExportOutcome, FailureKind},
    unstable::HostCircuitBreaker,
};
use proptest::prelude::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// Reference model: the documented rules, written out plainly over whole milliseconds.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct ModelSettings {
    enabled: bool,
    failure_threshold: u32,
    open_ms: u64,
    success_threshold: u32,
    max_open_ms: u64,
}

impl ModelSettings {
    fn real(self) -> CircuitBreakerSettings {
        CircuitBreakerSettings {
            enabled: self.enabled,
            failure_threshold: self.failure_threshold,
            open_duration: ms(self.open_ms),
            success_threshold: self.success_threshold,
            max_open_duration: ms(self.max_open_ms),
            initial_open_duration: None,
        }
    }
}

#[derive(Debug)]
struct Model {
    settings: ModelSettings,
    state: CircuitState,
    failures: u32,
    open_until: u64,
    probe_granted_at: Option<u64>,
    successes: u32,
    transitions: BreakerTransitions,
    rejected: u64,
}

impl Model {
    fn new(settings: ModelSettings) -> Self {
        Model {
            settings,
            state: CircuitState::Closed,
            failures: 0,
            open_until: 0,
            probe_granted_at: None,
            successes: 0,
            transitions: BreakerTransitions::default(),
            rejected: 0,
        }
    }

    /// How long a failure opens the breaker: at least open_ms; a retry-after asks for more, up to
    /// max_open_ms (which never cuts below open_ms).
    fn open_for(&self, retry_after: Option<u64>) -> u64 {
        let open = self.settings.open_ms;
        match retry_after {
            None => open,
            Some(asked) => asked.clamp(open, self.settings.max_open_ms.max(open)),
        }
    }

    fn open(&mut self, now: u64, retry_after: Option<u64>) {
        self.state = CircuitState::Open;
        self.open_until = now + self.open_for(retry_after);
        self.transitions.opened += 1;
    }

    fn admit(&mut self, now: u64) -> Admission {
        let admission = self.decide(now);
        if admission == Admission::Rejected {
            self.rejected += 1;
        }
        admission
    }

    fn decide(&mut self, now: u64) -> Admission {
        if !self.settings.enabled {
            return Admission::Allowed;
        }
        match self.state {
            CircuitState::Closed => Admission::Allowed,
            CircuitState::Open if now < self.open_until => Admission::Rejected,
            CircuitState::Open => {
                self.state = CircuitState::HalfOpen;
                self.successes = 0;
                self.probe_granted_at = Some(now);
                self.transitions.half_opened += 1;
                Admission::Probe
            }
            CircuitState::HalfOpen => match self.probe_granted_at {
                Some(at) if now < at + self.settings.open_ms => Admission::Rejected,
                _ => {
                    self.probe_granted_at = Some(now);
                    Admission::Probe
                }
            },
            // CircuitState is #[non_exhaustive]; the model has only these three states.
            _ => unreachable!("the model breaker has no other state"),
        }
    }

    /// A probe that was never answered by the service (a credentials failure) is given back.
    fn release_probe(&mut self) {
        if self.state == CircuitState::HalfOpen {
            self.probe_granted_at = None;
        }
    }

    fn success(&mut self) {
        if !self.settings.enabled {
            return;
        }
        match self.state {
            CircuitState::Closed => self.failures = 0,
            CircuitState::Open => {}
            CircuitState::HalfOpen => {
                self.successes += 1;
                self.probe_granted_at = None;
                if self.successes >= self.settings.success_threshold.max(1) {
                    self.state = CircuitState::Closed;
                    self.failures = 0;
                    self.transitions.closed += 1;
                }
            }
            // CircuitState is #[non_exhaustive]; the model has only these three states.
            _ => unreachable!("the model breaker has no other state"),
        }
    }

    fn failure(&mut self, now: u64, retry_after: Option<u64>) {
        if !self.settings.enabled {
            return;
        }
        match self.state {
            CircuitState::Closed => {
                self.failures += 1;
                if retry_after.is_some() || self.failures >= self.settings.failure_threshold.max(1)
                {
                    self.failures = 0;
                    self.open(now, retry_after);
                }
            }
            CircuitState::Open => {
                if retry_after.is_some() {
                    self.open_until = self.open_until.max(now + self.open_for(retry_after));
                }
            }
            CircuitState::HalfOpen => self.open(now, retry_after),
            // CircuitState is #[non_exhaustive]; the model has only these three states.
            _ => unreachable!("the model breaker has no other state"),
        }
    }
}

fn model_settings() -> impl Strategy<Value = ModelSettings> {
    (
        prop::bool::weighted(0.9),
        0u32..5,
        0u64..1_000,
        0u32..4,
        0u64..2_500,
    )
        .prop_map(
            |(enabled, failure_threshold, open_ms, success_threshold, max_open_ms)| ModelSettings {
                enabled,
                failure_threshold,
                open_ms,
                success_threshold,
                max_open_ms,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Model-based property tests.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Admit,
    Success,
    Failure,
    FailureWithRetryAfter(u64),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Admit),
        2 => Just(Op::Success),
        3 => Just(Op::Failure),
        1 => (0u64..3_000).prop_map(Op::FailureWithRetryAfter),
        3 => (0u64..1_500).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The pure state machine agrees with the model after every step.
    #[test]
    fn breaker_follows_the_model(settings in model_settings(), ops in prop::collection::vec(op(), 0..120)) {
        let start = Instant::now();
        let mut breaker = CircuitBreaker::new(settings.real());
        let mut model = Model::new(settings);
        let mut now = 0u64;
        for (step, op) in ops.iter().enumerate() {
            let at = start + ms(now);
            match *op {
                Op::Admit => {
                    prop_assert_eq!(breaker.admit(at), model.admit(now), "step {} {:?}", step, op);
                }
                Op::Success => {
                    breaker.on_success(at);
                    model.success();
                }
                Op::Failure => {
                    breaker.on_failure(at, None);
                    model.failure(now, None);
                }
                Op::FailureWithRetryAfter(asked) => {
                    breaker.on_failure(at, Some(ms(asked)));
                    model.failure(now, Some(asked));
                }
                Op::Advance(by) => now += by,
            }
            prop_assert_eq!(breaker.state(), model.state, "step {} {:?}", step, op);
            prop_assert_eq!(breaker.transitions(), model.transitions, "step {} {:?}", step, op);
        }
    }

    /// The shared breaker and its clock agree with the model too, fed the outcomes the
    /// pipeline reports (a panicking exporter comes back as a retryable failure; a credentials
    /// failure only gives back a probe), including how many batches it turns away.
    #[test]
    fn host_breaker_follows_the_model(
        settings in model_settings(),
        steps in prop::collection::vec(
            prop_oneof![
                3 => outcome().prop_map(Some),
                1 => Just(None),
            ],
            0..120,
        ),
        advances in prop::collection::vec(0u64..1_500, 120),
    ) {
        let clock = ManualClock::new();
        let breaker = HostCircuitBreaker::new(settings.real(), Arc::new(clock.clone()));
        let mut model = Model::new(settings);
        let mut now = 0u64;
        for (step, reported) in steps.iter().enumerate() {
            match reported {
                None => {
                    clock.advance(ms(advances[step]));
                    now += advances[step];
                }
                Some(outcome) => {
                    let admitted = breaker.admit().is_admitted();
                    prop_assert_eq!(admitted, model.admit(now).is_admitted(), "step {}", step);
                    if admitted {
                        breaker.record(outcome);
                        match outcome {
                            ExportOutcome::Failed(ExportFailure {
                                kind: FailureKind::Throttled { retry_after }, ..
                            }) => model.failure(now, retry_after.map(|d| d.as_millis() as u64)),
                            ExportOutcome::Failed(ExportFailure {
                                kind: FailureKind::Credentials, ..
                            }) => model.release_probe(),
                            ExportOutcome::Failed(_) => model.failure(now, None),
                            _ => model.success(),
                        }
                    }
                }
            }
            let snapshot = breaker.snapshot();
            prop_assert_eq!(snapshot.state, model.state, "step {}", step);
            prop_assert_eq!(snapshot.opened, model.transitions.opened);
            prop_assert_eq!(snapshot.half_opened, model.transitions.half_opened);
            prop_assert_eq!(snapshot.closed, model.transitions.closed);
            prop_assert_eq!(snapshot.rejected_batches, model.rejected);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn outcome() -> impl Strategy<Value = ExportOutcome> {
    prop_oneof![
        3 => Just(ExportOutcome::Delivered),
        1 => Just(ExportOutcome::PartiallyDelivered {
            delivered: 0,
            failure: ExportFailure::new(FailureKind::Retryable, "HTTP 500"),
        }),
        3 => Just(ExportOutcome::failed(FailureKind::Retryable, "timed out")),
        1 => Just(ExportOutcome::failed(FailureKind::NotRetryable, "HTTP 400")),
        1 => Just(ExportOutcome::failed(FailureKind::Credentials, "HTTP 403")),
        1 => Just(ExportOutcome::failed(
            FailureKind::Throttled { retry_after: None },
            "HTTP 429",
        )),
        1 => (0u64..3_000).prop_map(|asked| ExportOutcome::failed(
            FailureKind::Throttled { retry_after: Some(ms(asked)) },
            "HTTP 503",
        )),
        1 => Just(ExportOutcome::failed(FailureKind::Retryable, "exporter panicked")),
    ]
}

/// A breaker with `settings` on a manual clock, and that clock.
fn host_breaker(settings: CircuitBreakerSettings) -> (Arc<HostCircuitBreaker>, ManualClock) {
    let clock = ManualClock::new();
    let breaker = Arc::new(HostCircuitBreaker::new(settings, Arc::new(clock.clone())));
    (breaker, clock)
}

fn fail(breaker: &HostCircuitBreaker, times: u32) {
    for _ in 0..times {
        breaker.record(&ExportOutcome::failed(FailureKind::Retryable, "HTTP 500"));
    }
}

fn throttled(retry_after: Duration) -> ExportOutcome {
    ExportOutcome::failed(
        FailureKind::Throttled {
            retry_after: Some(retry_after),
        },
        "HTTP 429",
    )
}

// ---------------------------------------------------------------------------------------------
// Each setting changes behaviour.
// ---------------------------------------------------------------------------------------------

#[test]
fn enabled_false_never_opens_and_always_admits() {
    let (on, _) = host_breaker(CircuitBreakerSettings::default());
    let (off, _) = host_breaker(CircuitBreakerSettings::disabled());
    for breaker in [&on, &off] {
        fail(breaker, 50);
        breaker.record(&throttled(secs(300)));
    }
    assert_eq!(on.admit(), Admission::Rejected);
    assert_eq!(on.snapshot().state, CircuitState::Open);
    assert_eq!(off.admit(), Admission::Allowed);
    assert_eq!(off.snapshot().state, CircuitState::Closed);
    assert_eq!(off.snapshot().opened, 0);
}

#[test]
fn failure_threshold_sets_how_many_consecutive_failures_open_it() {
    let settings = |failure_threshold| CircuitBreakerSettings {
        failure_threshold,
        ..Default::default()
    };
    let (three, _) = host_breaker(settings(3));
    let (five, _) = host_breaker(settings(5));
    for breaker in [&three, &five] {
        fail(breaker, 2);
        assert_eq!(breaker.admit(), Admission::Allowed);
        fail(breaker, 1);
    }
    assert_eq!(three.admit(), Admission::Rejected);
    assert_eq!(five.admit(), Admission::Allowed);
    fail(&five, 1);
    assert_eq!(five.admit(), Admission::Allowed);
    fail(&five, 1);
    assert_eq!(five.admit(), Admission::Rejected);
}

#[test]
fn open_duration_sets_how_long_it_stays_open() {
    let settings = |open| CircuitBreakerSettings {
        failure_threshold: 1,
        open_duration: secs(open),
        ..Default::default()
    };
    let (short, short_clock) = host_breaker(settings(10));
    let (long, long_clock) = host_breaker(settings(30));
    for (breaker, clock) in [(&short, &short_clock), (&long, &long_clock)] {
        fail(breaker, 1);
        clock.advance(ms(9_999));
        assert_eq!(breaker.admit(), Admission::Rejected);
        clock.advance(ms(1));
    }
    assert_eq!(short.admit(), Admission::Probe);
    assert_eq!(long.admit(), Admission::Rejected);
    long_clock.advance(secs(20));
    assert_eq!(long.admit(), Admission::Probe);
}

#[test]
fn success_threshold_sets_how_many_probes_must_succeed_to_close() {
    let settings = |success_threshold| CircuitBreakerSettings {
        failure_threshold: 1,
        success_threshold,
        ..Default::default()
    };
    let (one, one_clock) = host_breaker(settings(1));
    let (three, three_clock) = host_breaker(settings(3));
    for (breaker, clock) in [(&one, &one_clock), (&three, &three_clock)] {
        fail(breaker, 1);
        clock.advance(secs(60));
        assert_eq!(breaker.admit(), Admission::Probe);
        breaker.record(&ExportOutcome::Delivered);
    }
    assert_eq!(one.snapshot().state, CircuitState::Closed);
    assert_eq!(one.admit(), Admission::Allowed);
    assert_eq!(three.snapshot().state, CircuitState::HalfOpen);
    for _ in 0..2 {
        assert_eq!(three.admit(), Admission::Probe);
        assert_eq!(three.admit(), Admission::Rejected);
        three.record(&ExportOutcome::Delivered);
    }
    assert_eq!(three.snapshot().state, CircuitState::Closed);
    assert_eq!(three.admit(), Admission::Allowed);
}

#[test]
fn a_failed_probe_reopens_and_restarts_the_success_count() {
    let settings = CircuitBreakerSettings {
        failure_threshold: 1,
        success_threshold: 2,
        ..Default::default()
    };
    let (breaker, clock) = host_breaker(settings);
    fail(&breaker, 1);
    clock.advance(secs(60));
    assert_eq!(breaker.admit(), Admission::Probe);
    breaker.record(&ExportOutcome::Delivered);
    assert_eq!(breaker.admit(), Admission::Probe);
    fail(&breaker, 1);
    assert_eq!(breaker.snapshot().state, CircuitState::Open);
    assert_eq!(breaker.admit(), Admission::Rejected);
    clock.advance(secs(60));
    assert_eq!(breaker.admit(), Admission::Probe);
    breaker.record(&ExportOutcome::Delivered);
    assert_eq!(breaker.snapshot().state, CircuitState::HalfOpen);
    assert_eq!(breaker.admit(), Admission::Probe);
    breaker.record(&ExportOutcome::Delivered);
    assert_eq!(breaker.snapshot().state, CircuitState::Closed);
}

#[test]
fn max_open_duration_caps_retry_after() {
    let settings = |cap| CircuitBreakerSettings {
        max_open_duration: secs(cap),
        ..Default::default()
    };
    let (capped, capped_clock) = host_breaker(settings(120));
    let (roomy, roomy_clock) = host_breaker(settings(1_800));
    for (breaker, clock) in [(&capped, &capped_clock), (&roomy, &roomy_clock)] {
        breaker.record(&throttled(secs(3_600)));
        clock.advance(secs(120));
    }
    assert_eq!(capped.admit(), Admission::Probe);
    assert_eq!(roomy.admit(), Admission::Rejected);
    roomy_clock.advance(secs(1_680));
    assert_eq!(roomy.admit(), Admission::Probe);
}

#[test]
fn retry_after_opens_at_once_for_at_least_that_long() {
    let (breaker, clock) = host_breaker(CircuitBreakerSettings::default());
    breaker.record(&throttled(secs(90)));
    assert_eq!(breaker.snapshot().state, CircuitState::Open);
    clock.advance(secs(89));
    assert_eq!(breaker.admit(), Admission::Rejected);
    clock.advance(secs(1));
    assert_eq!(breaker.admit(), Admission::Probe);
}

#[test]
fn a_short_retry_after_still_opens_for_open_duration() {
    let (breaker, clock) = host_breaker(CircuitBreakerSettings::default());
    breaker.record(&throttled(secs(1)));
    clock.advance(secs(59));
    assert_eq!(breaker.admit(), Admission::Rejected);
    clock.advance(secs(1));
    assert_eq!(breaker.admit(), Admission::Probe);
}

#[test]
fn throttling_without_retry_after_is_an_ordinary_failure() {
    let settings = CircuitBreakerSettings {
        failure_threshold: 2,
        ..Default::default()
    };
    let (breaker, _) = host_breaker(settings);
    let throttled = ExportOutcome::failed(FailureKind::Throttled { retry_after: None }, "HTTP 429");
    breaker.record(&throttled);
    assert_eq!(breaker.admit(), Admission::Allowed);
    breaker.record(&throttled);
    assert_eq!(breaker.admit(), Admission::Rejected);
}

// ---------------------------------------------------------------------------------------------
// Half-open probes and stats.
// ---------------------------------------------------------------------------------------------

#[test]
fn half_open_lets_a_single_probe_through() {
    let settings = CircuitBreakerSettings {
        failure_threshold: 1,
        ..Default::default()
    };
    let (breaker, clock) = host_breaker(settings);
    fail(&breaker, 1);
    clock.advance(secs(60));
    assert_eq!(breaker.admit(), Admission::Probe);
    for _ in 0..10 {
        clock.advance(secs(5));
        assert_eq!(breaker.admit(), Admission::Rejected);
    }
    assert_eq!(breaker.snapshot().state, CircuitState::HalfOpen);
}

#[test]
fn half_open_grants_one_probe_to_many_threads_at_once() {
    const THREADS: usize = 8;
    let settings = CircuitBreakerSettings {
        failure_threshold: 1,
        ..Default::default()
    };
    let (breaker, clock) = host_breaker(settings);
    fail(&breaker, 1);
    clock.advance(secs(60));
    let barrier = Arc::new(Barrier::new(THREADS));
    let admissions: Vec<Admission> = (0..THREADS)
        .map(|_| {
            let breaker = Arc::clone(&breaker);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                breaker.admit()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().expect("admitting thread finished"))
        .collect();
    let probes = admissions
        .iter()
        .filter(|&&a| a == Admission::Probe)
        .count();
    let rejected = admissions
        .iter()
        .filter(|&&a| a == Admission::Rejected)
        .count();
    assert_eq!((probes, rejected), (1, THREADS - 1));
    assert_eq!(breaker.snapshot().rejected_batches, (THREADS - 1) as u64);
}

#[test]
fn an_unreported_probe_is_released_after_open_duration() {
    let settings = CircuitBreakerSettings {
        failure_threshold: 1,
        open_duration: secs(10),
        ..Default::default()
    };
    let (breaker, clock) = host_breaker(settings);
    fail(&breaker, 1);
    clock.advance(secs(10));
    assert_eq!(breaker.admit(), Admission::Probe);
    clock.advance(ms(9_999));
    assert_eq!(breaker.admit(), Admission::Rejected);
    clock.advance(ms(1));
    assert_eq!(breaker.admit(), Admission::Probe);
    breaker.record(&ExportOutcome::Delivered);
    assert_eq!(breaker.snapshot().state, CircuitState::Closed);
}

#[test]
fn snapshot_counts_transitions_and_rejections() {
    let settings = CircuitBreakerSettings {
        failure_threshold: 2,
        open_duration: secs(10),
        ..Default::default()
    };
    let (breaker, clock) = host_breaker(settings);
    fail(&breaker, 2); // opened 1
    for _ in 0..3 {
        assert_eq!(breaker.admit(), Admission::Rejected); // rejected 3
    }
    clock.advance(secs(10));
    assert_eq!(breaker.admit(), Admission::Probe); // half-opened 1
    assert_eq!(breaker.admit(), Admission::Rejected); // rejected 4
    fail(&breaker, 1); // opened 2
    clock.advance(secs(10));
    assert_eq!(breaker.admit(), Admission::Probe); // half-opened 2
    breaker.record(&ExportOutcome::Delivered); // closed 1
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, CircuitState::Closed);
    assert_eq!(
        (
            snapshot.opened,
            snapshot.half_opened,
            snapshot.closed,
            snapshot.rejected_batches
        ),
        (2, 2, 1, 4)
    );
    let json = serde_json::to_value(snapshot).expect("snapshot serialises");
    assert_eq!(
        json,
        serde_json::json!({
            "state": "closed", "opened": 2, "half_opened": 2, "closed": 1, "rejected_batches": 4
        })
    );
}

#[test]
fn the_clock_is_read_through_the_trait() {
    let clock = ManualClock::new();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let start = shared.now();
    clock.advance(secs(1));
    assert_eq!(shared.now() - start, secs(1));
}
