//! The pipeline's promises, on a manual clock where time matters: an outage is held and
//! delivered, order per lane, round-robin fairness, hosts independent of each other, live
//! credentials only, credentials failures never open the breaker, bounded attempts, shared
//! bounds, settings conflicts reported, `close_async` on any executor, and a short program that
//! delivers everything.

use crate::http_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsError, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{Exporter, FailureKind};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::{Behaviour, InMemoryExporter};
use databricks_telemetry::unstable::model::EventId;
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
use databricks_telemetry::{CloseResult, FlushResult, TelemetryConfig};
use http_support::*;

fn log(id: impl Into<EventId>) -> FrontendLog {
    let mut log = FrontendLog::default();
    *log.frontend_log_event_id_mut() = id.into();
    log
}

fn ids(exporter: &InMemoryExporter) -> Vec<String> {
    exporter
        .logs()
        .into_iter()
        .map(|l| l.frontend_log_event_id().to_string())
        .collect()
}

fn boxed(
    exporter: &InMemoryExporter,
) -> impl FnOnce(&databricks_telemetry::HostKey) -> Box<dyn Exporter> + '_ {
    move |_| Box::new(exporter.clone())
}

fn token(value: &str) -> Option<Arc<dyn CredentialsProvider>> {
    Some(Arc::new(StaticBearerToken::new(value)))
}

fn manual(seed: u64) -> (TelemetryClientManager, ManualClock) {
    let clock = ManualClock::new();
    let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), seed);
    (manager, clock)
}

/// Advances `clock` by `step` `times` times, letting the workers settle after each step.
fn run_clock(manager: &TelemetryClientManager, clock: &ManualClock, step: Duration, times: u32) {
    for _ in 0..times {
        clock.advance(step);
        assert!(manager.settle(WAIT), "the workers did not settle");
    }
}

#[test]
fn a_30_second_outage_at_100_events_per_second_is_held_and_then_delivered() {
    // The library's defaults (plain http to the loopback endpoint aside), the real endpoint
    // answering 503 for 30 s of the manual clock.
    let endpoint = start_endpoint();
    let config = TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .build()
        .unwrap();
    let (manager, clock) = manual(11);
    let handle = manager
        .acquire_databricks(&acquire_options(
            &endpoint.base_url(),
            &ClientIdentity::new("user"),
            token(TOKEN),
            &config,
        ))
        .unwrap();
    let session = session();
    let step = Duration::from_millis(100);
    let mut generated = 0u64;
    let mut enqueue_step = |handle: &databricks_telemetry::TelemetryClientHandle| {
        for _ in 0..10 {
            handle.enqueue(session.connection_opened(Duration::from_millis(3)));
            generated += 1;
        }
    };
    // 5 s healthy, 30 s of outage, 10 s healthy: 100 events per second throughout.
    for _ in 0..50 {
        enqueue_step(&handle);
        run_clock(&manager, &clock, step, 1);
    }
    endpoint.set_fault("503".parse().unwrap());
    let before = uploads(&endpoint).len();
    for _ in 0..300 {
        enqueue_step(&handle);
        run_clock(&manager, &clock, step, 1);
    }
    let during = uploads(&endpoint).len() - before;
    endpoint.clear_fault();
    for _ in 0..100 {
        enqueue_step(&handle);
        run_clock(&manager, &clock, step, 1);
    }
    // threshold × (max_retries + 1) + probes, and 30 at most.
    assert!(during <= 30, "{during} requests during the outage");
    assert!(
        during >= 5,
        "{during}: the breaker needs 5 failures to open"
    );
    let held = handle.stats();
    assert_eq!(held.dropped.total(), 0, "{held:?}");
    // The breaker lets a probe through within its (doubling) open time; then the backlog
    // drains at full speed.
    run_clock(&manager, &clock, Duration::from_secs(1), 60);
    let outcome = handle.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    let stats = outcome.stats;
    assert_eq!(stats.enqueued, generated);
    assert_eq!(stats.exported, generated, "{stats:?}");
    assert_eq!(endpoint.stats().logs_accepted, generated);
    let breaker = databricks_telemetry::unstable::breaker(&manager, &endpoint.base_url()).unwrap();
    assert_eq!(breaker.closed, 1, "{breaker:?}");
}

#[test]
fn order_is_kept_per_lane_through_failures() {
    let (manager, clock) = manual(2);
    let exporter = InMemoryExporter::new();
    exporter.script([
        Behaviour::Fail(FailureKind::Retryable),
        Behaviour::Fail(FailureKind::Throttled {
            retry_after: Some(Duration::from_millis(50)),
        }),
        Behaviour::Fail(FailureKind::Retryable),
    ]);
    let config = TelemetryConfig::builder()
        .with_batch_size(10)
        .build()
        .unwrap();
    let handle = manager
        .acquire(
            "adb-1.example.net",
            &ClientIdentity::new("u"),
            &config,
            boxed(&exporter),
        )
        .unwrap();
    let sent: Vec<String> = (0..35).map(|i| format!("e{i:02}")).collect();
    for id in &sent {
        handle.enqueue(log(id.clone()));
    }
    run_clock(&manager, &clock, Duration::from_millis(500), 20);
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(ids(&exporter), sent);
    assert_eq!(exporter.call_sizes(), [10, 10, 10, 10, 10, 10, 5]);
}

#[test]
fn lanes_of_a_host_are_served_round_robin() {
    let (manager, _clock) = manual(3);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Hang);
    let config = TelemetryConfig::builder()
        .with_batch_size(10)
        .build()
        .unwrap();
    let host = "adb-1.example.net";
    let lane = |name: &str| {
        manager
            .acquire_with_credentials(
                host,
                &ClientIdentity::new(name),
                token(name),
                &config,
                boxed(&exporter),
            )
            .unwrap()
    };
    let (a, b, c) = (lane("a"), lane("b"), lane("c"));
    for i in 0..10 {
        a.enqueue(log(format!("a{i}")));
    }
    // The first batch is stuck in the exporter while every lane fills up.
    assert!(exporter.wait_for_calls(1, WAIT));
    for i in 0..20 {
        a.enqueue(log(format!("a{}", 10 + i)));
        b.enqueue(log(format!("b{i}")));
        c.enqueue(log(format!("c{i}")));
    }
    exporter.release();
    assert!(manager.settle(WAIT));
    let order: Vec<String> = exporter
        .authorizations()
        .into_iter()
        .map(|a| a.unwrap().trim_start_matches("Bearer ").to_owned())
        .collect();
    assert_eq!(order, ["a", "b", "c", "a", "b", "c", "a"]);
}

#[test]
fn a_hanging_host_does_not_delay_another() {
    let manager = TelemetryClientManager::new();
    let (hanging, healthy) = (InMemoryExporter::new(), InMemoryExporter::new());
    hanging.set_behaviour(Behaviour::Hang);
    let config = TelemetryConfig::builder()
        .with_batch_size(1)
        .build()
        .unwrap();
    let stuck = manager
        .acquire(
            "adb-hang.example.net",
            &ClientIdentity::anonymous(),
            &config,
            boxed(&hanging),
        )
        .unwrap();
    let fine = manager
        .acquire(
            "adb-ok.example.net",
            &ClientIdentity::anonymous(),
            &config,
            boxed(&healthy),
        )
        .unwrap();
    stuck.enqueue(log("stuck"));
    assert!(hanging.wait_for_calls(1, WAIT));
    for i in 0..5 {
        fine.enqueue(log(format!("ok{i}")));
    }
    let started = Instant::now();
    assert_eq!(fine.flush(WAIT), FlushResult::Completed);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(healthy.exported_count(), 5);
    hanging.release();
    assert_eq!(stuck.flush(WAIT), FlushResult::Completed);
}

/// A provider that may block, counts its calls, and fails the test if called once `released`
/// is set.
#[derive(Debug)]
struct Watched {
    value: &'static str,
    released: AtomicBool,
    calls: AtomicUsize,
    calls_after_release: AtomicUsize,
}

impl Watched {
    fn new(value: &'static str) -> Arc<Self> {
        Arc::new(Watched {
            value,
            released: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
            calls_after_release: AtomicUsize::new(0),
        })
    }
}

impl CredentialsProvider for Watched {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.released.load(Ordering::SeqCst) {
            self.calls_after_release.fetch_add(1, Ordering::SeqCst);
            panic!("a released connection's provider was called");
        }
        Ok(AuthorizationValue::bearer(self.value))
    }
}

#[test]
fn a_released_connections_provider_is_never_called_again() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let config = TelemetryConfig::builder()
        .with_batch_size(2)
        .build()
        .unwrap();
    let (first, second) = (Watched::new("first"), Watched::new("second"));
    let acquire = |provider: &Arc<Watched>| {
        manager
            .acquire_with_credentials(
                "adb-1.example.net",
                &ClientIdentity::new("u"),
                Some(Arc::clone(provider) as Arc<dyn CredentialsProvider>),
                &config,
                boxed(&exporter),
            )
            .unwrap()
    };
    let one = acquire(&first);
    let two = acquire(&second);
    two.enqueue(log("x1"));
    two.enqueue(log("x2"));
    assert_eq!(two.flush(WAIT), FlushResult::Completed);
    assert!(
        second.calls.load(Ordering::SeqCst) >= 1,
        "the newest live provider was used"
    );

    two.release();
    second.released.store(true, Ordering::SeqCst);
    one.enqueue(log("y1"));
    one.enqueue(log("y2"));
    assert_eq!(one.flush(WAIT), FlushResult::Completed);

    one.enqueue(log("z1"));
    one.release();
    first.released.store(true, Ordering::SeqCst);
    let outcome = manager.shutdown(WAIT);
    assert_eq!(outcome.stats.exported, 5, "{:?}", outcome.stats);
    assert_eq!(first.calls_after_release.load(Ordering::SeqCst), 0);
    assert_eq!(second.calls_after_release.load(Ordering::SeqCst), 0);
    let auth = exporter.authorizations();
    assert_eq!(auth[0].as_deref(), Some("Bearer second"));
    assert_eq!(auth[1].as_deref(), Some("Bearer first"));
    // After the last release the lane sent with the authorization it kept.
    assert_eq!(auth[2].as_deref(), Some("Bearer first"));
}

#[derive(Debug)]
struct Panicking;

impl CredentialsProvider for Panicking {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        panic!("the provider blew up")
    }

    fn may_block(&self) -> bool {
        false
    }
}

#[test]
fn a_panicking_provider_never_opens_the_breaker() {
    let (manager, clock) = manual(4);
    let exporter = InMemoryExporter::new();
    let config = TelemetryConfig::builder()
        .with_batch_size(1)
        .with_circuit_breaker_threshold(1)
        .with_max_export_attempts(3)
        .build()
        .unwrap();
    let handle = manager
        .acquire_with_credentials(
            "adb-1.example.net",
            &ClientIdentity::new("u"),
            Some(Arc::new(Panicking)),
            &config,
            boxed(&exporter),
        )
        .unwrap();
    handle.enqueue(log("a"));
    handle.enqueue(log("b"));
    run_clock(&manager, &clock, Duration::from_secs(1), 120);
    let stats = handle.stats();
    assert_eq!(stats.dropped.credentials_failed, 2, "{stats:?}");
    assert!(exporter.call_sizes().is_empty(), "nothing was sent");
    let breaker = databricks_telemetry::unstable::breaker(&manager, "adb-1.example.net").unwrap();
    assert_eq!(breaker.opened, 0, "{breaker:?}");
}

#[test]
fn a_refused_token_is_the_lanes_failure_not_the_hosts() {
    let endpoint = start_endpoint();
    let config = fast_builder()
        .with_force_enabled(true)
        .with_batch_size(1)
        .with_circuit_breaker_threshold(1)
        .build()
        .unwrap();
    let manager = TelemetryClientManager::new();
    let acquire = |name: &str, value: &str| {
        manager
            .acquire_databricks(&acquire_options(
                &endpoint.base_url(),
                &ClientIdentity::new(name),
                token(value),
                &config,
            ))
            .unwrap()
    };
    let wrong = acquire("mallory", "not-the-token");
    let right = acquire("alice", TOKEN);
    for i in 0..3 {
        wrong.enqueue(log(format!("w{i}")));
    }
    assert_eq!(wrong.flush(WAIT), FlushResult::Completed);
    assert_eq!(wrong.stats().dropped.credentials_failed, 3);
    let breaker = databricks_telemetry::unstable::breaker(&manager, &endpoint.base_url()).unwrap();
    assert_eq!(breaker.opened, 0, "{breaker:?}");
    // Another identity on the same host is not silenced.
    right.enqueue(session().connection_opened(Duration::from_millis(1)));
    assert_eq!(right.flush(WAIT), FlushResult::Completed);
    assert_eq!(right.stats().exported, 1);
}

#[test]
fn a_batch_uses_at_most_its_attempts_and_never_spins_without_a_breaker() {
    let (manager, clock) = manual(5);
    let exporter = InMemoryExporter::new();
    exporter.set_behaviour(Behaviour::Fail(FailureKind::Retryable));
    let config = TelemetryConfig::builder()
        .with_batch_size(2)
        .with_circuit_breaker_enabled(false)
        .with_max_export_attempts(4)
        .build()
        .unwrap();
    let handle = manager
        .acquire(
            "adb-1.example.net",
            &ClientIdentity::anonymous(),
            &config,
            boxed(&exporter),
        )
        .unwrap();
    handle.enqueue(log("a"));
    handle.enqueue(log("b"));
    assert!(manager.settle(WAIT));
    // The clock stands still: one attempt, then the backoff waits for it.
    assert_eq!(exporter.call_sizes().len(), 1);
    run_clock(&manager, &clock, Duration::from_secs(1), 60);
    assert_eq!(exporter.call_sizes().len(), 4);
    let stats = handle.stats();
    assert_eq!(stats.dropped.export_failed, 2, "{stats:?}");
    assert_eq!(stats.pending, 0);
}

#[test]
fn the_manager_wide_bound_drops_as_queue_full() {
    let (manager, _clock) = manual(6);
    let exporter = InMemoryExporter::new();
    let config = TelemetryConfig::builder()
        .with_max_pending_events(5)
        .build()
        .unwrap();
    let a = manager
        .acquire(
            "adb-1.example.net",
            &ClientIdentity::new("a"),
            &config,
            boxed(&exporter),
        )
        .unwrap();
    let b = manager
        .acquire(
            "adb-2.example.net",
            &ClientIdentity::new("b"),
            &config,
            boxed(&exporter),
        )
        .unwrap();
    for i in 0..4 {
        a.enqueue(log(format!("a{i}")));
        b.enqueue(log(format!("b{i}")));
    }
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(
        sa.dropped.queue_full + sb.dropped.queue_full,
        3,
        "{sa:?} {sb:?}"
    );
    assert_eq!(sa.pending + sb.pending, 5);
    // Delivered events give their room back.
    assert_eq!(a.flush(WAIT), FlushResult::Completed);
    b.enqueue(log("b-later"));
    assert_eq!(b.stats().dropped.queue_full, sb.dropped.queue_full);
}

#[test]
fn a_later_acquirers_different_settings_are_reported() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let first = TelemetryConfig::builder()
        .with_batch_size(10)
        .build()
        .unwrap();
    let second = TelemetryConfig::builder()
        .with_batch_size(20)
        .with_force_enabled(true)
        .build()
        .unwrap();
    let id = ClientIdentity::new("u");
    let a = manager
        .acquire("adb-1.example.net", &id, &first, boxed(&exporter))
        .unwrap();
    assert!(a.settings_conflicts().is_empty());
    let b = manager
        .acquire("adb-1.example.net", &id, &second, boxed(&exporter))
        .unwrap();
    assert_eq!(b.settings_conflicts(), ["force_enabled", "batch_size"]);
    assert_eq!(a.settings_conflicts(), b.settings_conflicts(), "one lane");
}

#[test]
fn close_async_completes_on_a_current_thread_tokio_runtime() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let handle = manager
        .acquire(
            "adb-1.example.net",
            &ClientIdentity::anonymous(),
            &TelemetryConfig::default(),
            boxed(&exporter),
        )
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async move {
        handle.enqueue(log("from-async"));
        // The runtime's only thread is free while the close runs.
        let ticker = tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            true
        });
        let outcome = handle.close_async(WAIT).await;
        assert!(ticker.await.unwrap());
        outcome
    });
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(outcome.stats.exported, 1);
}

#[test]
fn close_async_completes_on_a_plain_executor() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let handle = manager
        .acquire(
            "adb-1.example.net",
            &ClientIdentity::anonymous(),
            &TelemetryConfig::default(),
            boxed(&exporter),
        )
        .unwrap();
    handle.enqueue(log("from-a-plain-executor"));
    let outcome = futures_executor::block_on(handle.close_async(WAIT));
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(ids(&exporter), ["from-a-plain-executor"]);
}

/// The environment variable that makes [`short_program_child`] run.
const CHILD_ENDPOINT: &str = "DBX_TELEMETRY_TEST_CHILD_ENDPOINT";
const CHILD_EVENTS: usize = 7;

/// Not a test of its own: the body of the child process of
/// [`a_short_program_delivers_every_event_with_the_documented_guard`], written as a driver's
/// `main` would be.
#[test]
#[ignore = "run as a child process by a_short_program_delivers_every_event_with_the_documented_guard"]
fn short_program_child() {
    let Ok(endpoint) = std::env::var(CHILD_ENDPOINT) else {
        return;
    };
    // The documented pattern: a guard held in main, dropped last.
    let _telemetry = TelemetryClientManager::global().shutdown_on_drop(Duration::from_secs(5));
    let config = TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .build()
        .unwrap();
    let handle = TelemetryClientManager::global()
        .acquire_databricks(&acquire_options(
            &endpoint,
            &ClientIdentity::new("user"),
            token(TOKEN),
            &config,
        ))
        .unwrap();
    let session = session();
    for _ in 0..CHILD_EVENTS {
        handle.enqueue(session.connection_opened(Duration::from_millis(2)));
    }
    drop(handle); // the connection closes; the program ends right after
}

#[test]
fn a_short_program_delivers_every_event_with_the_documented_guard() {
    let endpoint = start_endpoint();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pipeline::short_program_child",
            "--ignored",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENDPOINT, endpoint.base_url())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the child did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    assert_eq!(endpoint.stats().logs_accepted, CHILD_EVENTS as u64);
}

/// A provider that may block: it waits for the test to let it answer, and counts its calls.
#[derive(Debug, Default)]
struct Gated {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
    calls: AtomicUsize,
}

impl Gated {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl CredentialsProvider for Gated {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let open = self.open.lock().unwrap();
        let (_open, timeout) = self
            .opened
            .wait_timeout_while(open, WAIT, |open| !*open)
            .unwrap();
        assert!(!timeout.timed_out(), "the test never opened the gate");
        Ok(AuthorizationValue::bearer("slow-oauth"))
    }
}

#[test]
fn a_provider_that_may_block_is_asked_at_acquire_so_a_quick_release_keeps_its_token() {
    let manager = TelemetryClientManager::new();
    let exporter = InMemoryExporter::new();
    let gated = Arc::new(Gated::default());
    let handle = manager
        .acquire_with_credentials(
            "adb-1.example.net",
            &ClientIdentity::new("u"),
            Some(Arc::clone(&gated) as Arc<dyn CredentialsProvider>),
            &TelemetryConfig::default(),
            boxed(&exporter),
        )
        .unwrap();
    // The worker asks the provider at once, in the background (never on this thread).
    assert!(http_support::eventually(WAIT, || gated
        .calls
        .load(Ordering::SeqCst)
        == 1));
    handle.enqueue(log("opened"));
    handle.release(); // the connection goes before its provider has answered
    gated.open();
    let outcome = manager.shutdown(WAIT);
    assert_eq!(outcome.stats.exported, 1, "{:?}", outcome.stats);
    assert_eq!(
        exporter.authorizations(),
        [Some("Bearer slow-oauth".to_owned())]
    );
    assert_eq!(
        gated.calls.load(Ordering::SeqCst),
        1,
        "never asked after its release"
    );
}
