//! Async credentials (feature `tokio`): an async provider, run on a runtime the driver gives,
//! works through the pipeline on a multi-thread runtime; fails cleanly (a counted
//! `credentials_failed`, no panic) once its runtime has shut down, when it panics, and when it
//! outlives its timeout; and on a current-thread runtime a blocking `close` on the runtime's
//! thread starves it (bounded, every event counted) while `close_async` delivers.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{
    AsyncCredentialsProvider, AuthorizationFuture, AuthorizationValue, CredentialsError,
    CredentialsProvider, TokioCredentials,
};
use databricks_telemetry::export::Exporter;
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::testing::InMemoryExporter;
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::HostKey;
use databricks_telemetry::{
    ClientIdentity, FlushResult, TelemetryClientHandle, TelemetryClientManager, TelemetryConfig,
};

/// Long enough for anything that should happen on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(10);

const HOST: &str = "adb-1.example.net";

fn log(id: &str) -> FrontendLog {
    let mut log = FrontendLog::default();
    *log.frontend_log_event_id_mut() = id.into();
    log
}

fn boxed(exporter: &InMemoryExporter) -> impl FnOnce(&HostKey) -> Box<dyn Exporter> + '_ {
    move |_| Box::new(exporter.clone())
}

/// An OAuth-like provider that needs the runtime's reactor: it sleeps on tokio's timer (which
/// panics "there is no reactor running" off the runtime) before each token.
#[derive(Debug, Default)]
struct RefreshingToken {
    calls: AtomicUsize,
}

impl AsyncCredentialsProvider for RefreshingToken {
    async fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(AuthorizationValue::bearer(&format!("m2m-{call}")))
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn acquire(
    manager: &TelemetryClientManager,
    exporter: &InMemoryExporter,
    credentials: TokioCredentials,
    config: &TelemetryConfig,
) -> TelemetryClientHandle {
    manager
        .acquire_with_credentials(
            HOST,
            &ClientIdentity::new("principal"),
            Some(Arc::new(credentials)),
            config,
            boxed(exporter),
        )
        .unwrap()
}

#[test]
fn an_async_provider_on_a_multi_thread_runtime_authorizes_every_batch() {
    let runtime = multi_thread();
    let provider = Arc::new(RefreshingToken::default());
    let shared = Arc::clone(&provider);
    // The provider given as a closure over the driver's own shared provider.
    let credentials = TokioCredentials::from_fn(runtime.handle().clone(), move || {
        let provider = Arc::clone(&shared);
        async move { provider.authorization().await }
    });
    assert!(
        credentials.may_block(),
        "runs on the pipeline's helper thread"
    );
    let config = TelemetryConfig::builder()
        .with_batch_size(1)
        .build()
        .unwrap();
    let exporter = InMemoryExporter::new();
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &exporter, credentials, &config);
    for id in ["a", "b", "c"] {
        handle.enqueue(log(id));
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    let stats = handle.stats();
    assert_eq!(stats.exported, 3, "{stats:?}");
    assert_eq!(stats.dropped.credentials_failed, 0, "{stats:?}");
    let sent = exporter.authorizations();
    assert_eq!(sent.len(), 3);
    let calls = provider.calls.load(Ordering::SeqCst);
    assert!(calls >= 3, "asked before each batch: {calls} calls");
    for value in &sent {
        let value = value.as_deref().expect("every batch carried credentials");
        assert!(value.starts_with("Bearer m2m-"), "{value}");
    }
    assert_eq!(
        sent.last().unwrap().as_deref(),
        Some(format!("Bearer m2m-{calls}").as_str()),
        "the newest token"
    );
    handle.release();
}

#[test]
fn the_trait_form_works_and_debug_shows_no_secret() {
    let runtime = multi_thread();
    let credentials = TokioCredentials::new(runtime.handle().clone(), RefreshingToken::default())
        .with_timeout(WAIT);
    assert_eq!(credentials.timeout(), WAIT);
    assert_eq!(
        credentials.authorization().unwrap().expose(),
        "Bearer m2m-1"
    );
    assert_eq!(
        credentials.authorization().unwrap().expose(),
        "Bearer m2m-2"
    );
    let shown = format!("{credentials:?}");
    assert!(shown.starts_with("TokioCredentials"), "{shown}");
    assert!(!shown.contains("m2m-"), "{shown}");
}

#[test]
fn a_provider_whose_runtime_shut_down_fails_at_once_and_is_counted() {
    let runtime = multi_thread();
    let credentials = TokioCredentials::new(runtime.handle().clone(), RefreshingToken::default())
        .with_timeout(WAIT);
    assert!(credentials.authorization().is_ok(), "works while it runs");
    runtime.shutdown_timeout(WAIT);

    let started = Instant::now();
    let error = credentials.authorization().unwrap_err();
    assert_eq!(
        error.reason(),
        "the async runtime of the credentials provider has shut down"
    );
    assert!(
        started.elapsed() < WAIT / 2,
        "noticed at once, not by the timeout: {:?}",
        started.elapsed()
    );

    // Through the pipeline: a counted credentials failure, no panic, the breaker untouched.
    let config = TelemetryConfig::builder()
        .with_batch_size(1)
        .with_max_export_attempts(2)
        .with_retry_base_delay(Duration::from_millis(1))
        .with_retry_max_delay(Duration::from_millis(5))
        .with_circuit_breaker_threshold(1)
        .build()
        .unwrap();
    let exporter = InMemoryExporter::new();
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &exporter, credentials, &config);
    handle.enqueue(log("a"));
    handle.enqueue(log("b"));
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    let stats = handle.stats();
    assert_eq!(stats.dropped.credentials_failed, 2, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
    assert!(exporter.call_sizes().is_empty(), "nothing was sent");
    assert_eq!(
        databricks_telemetry::unstable::breaker(&manager, HOST)
            .unwrap()
            .opened,
        0
    );
}

#[test]
fn a_panicking_or_failing_provider_is_a_credentials_error() {
    let runtime = multi_thread();
    let panicking = TokioCredentials::from_fn(runtime.handle().clone(), || async {
        panic!("the token endpoint blew up")
    });
    assert_eq!(
        panicking.authorization().unwrap_err().reason(),
        "the async credentials provider panicked"
    );
    // A closure returning a boxed future, failing with its own error.
    let failing = TokioCredentials::from_fn(runtime.handle().clone(), || -> AuthorizationFuture {
        Box::pin(async { Err(CredentialsError::new("refresh failed: HTTP 503")) })
    });
    assert_eq!(
        failing.authorization().unwrap_err().reason(),
        "refresh failed: HTTP 503"
    );
    // The runtime survives both.
    let working = TokioCredentials::new(runtime.handle().clone(), RefreshingToken::default());
    assert!(working.authorization().is_ok());
}

#[test]
fn a_call_that_outlives_its_timeout_fails_and_is_aborted() {
    /// Set when the provider's future is dropped.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let runtime = multi_thread();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&dropped);
    let hanging = TokioCredentials::from_fn(runtime.handle().clone(), move || {
        let guard = Dropped(Arc::clone(&flag));
        async move {
            let _guard = guard;
            std::future::pending::<Result<AuthorizationValue, CredentialsError>>().await
        }
    })
    .with_timeout(Duration::from_millis(50));
    let started = Instant::now();
    let error = hanging.authorization().unwrap_err();
    assert_eq!(
        error.reason(),
        "the async credentials provider took longer than 50ms"
    );
    assert!(started.elapsed() >= Duration::from_millis(50));
    let deadline = Instant::now() + WAIT;
    while !dropped.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the hanging call was never aborted"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// On a current-thread runtime: a connection that stays open (`keeper`) and one that closes
/// (`closing`, holding two events), both with the same identity, so they share a lane and the
/// close flushes with the lane's live providers (the last handle's close releases first, and
/// then sends with the value the lane kept, without calling a provider).
struct CurrentThreadLane {
    runtime: tokio::runtime::Runtime,
    provider: Arc<RefreshingToken>,
    exporter: InMemoryExporter,
    manager: TelemetryClientManager,
}

impl CurrentThreadLane {
    fn new() -> Self {
        CurrentThreadLane {
            runtime: current_thread(),
            provider: Arc::new(RefreshingToken::default()),
            exporter: InMemoryExporter::new(),
            manager: TelemetryClientManager::new(),
        }
    }

    fn credentials(&self) -> TokioCredentials {
        let provider = Arc::clone(&self.provider);
        TokioCredentials::from_fn(self.runtime.handle().clone(), move || {
            let provider = Arc::clone(&provider);
            async move { provider.authorization().await }
        })
        .with_timeout(Duration::from_millis(150))
    }

    /// Acquires the two handles and enqueues two events on the closing one.
    fn connections(&self) -> (TelemetryClientHandle, TelemetryClientHandle) {
        let config = TelemetryConfig::builder()
            .with_request_timeout(Duration::from_millis(200))
            .with_max_export_attempts(2)
            .with_retry_base_delay(Duration::from_millis(5))
            .with_retry_max_delay(Duration::from_millis(20))
            .build()
            .unwrap();
        let keeper = acquire(&self.manager, &self.exporter, self.credentials(), &config);
        let closing = acquire(&self.manager, &self.exporter, self.credentials(), &config);
        assert!(closing.shares_lane_with(&keeper));
        closing.enqueue(log("a"));
        closing.enqueue(log("b"));
        (keeper, closing)
    }
}

const CLOSE: Duration = Duration::from_secs(3);

#[test]
fn a_blocking_close_on_a_current_thread_runtime_starves_its_provider_but_returns() {
    let lane = CurrentThreadLane::new();
    let (outcome, elapsed, calls) = lane.runtime.block_on(async {
        let (keeper, closing) = lane.connections();
        let started = Instant::now();
        // Blocks the runtime's only thread: the provider's task never runs.
        let outcome = closing.close(CLOSE);
        let elapsed = started.elapsed();
        let calls = lane.provider.calls.load(Ordering::SeqCst);
        keeper.release();
        (outcome, elapsed, calls)
    });
    assert_eq!(
        calls, 0,
        "the provider never ran while close held the thread"
    );
    assert!(
        elapsed < CLOSE + Duration::from_secs(1),
        "close is bounded by its timeout: {elapsed:?}"
    );
    let stats = outcome.stats;
    assert_eq!(stats.enqueued, 2, "{stats:?}");
    assert_eq!(stats.exported, 0, "{stats:?}");
    assert_eq!(
        stats.dropped.credentials_failed + stats.dropped.closed_before_delivery,
        2,
        "every event counted: {stats:?}"
    );
    assert!(stats.is_balanced(), "{stats:?}");
    assert!(lane.exporter.call_sizes().is_empty(), "nothing was sent");
}

#[test]
fn close_async_on_a_current_thread_runtime_lets_its_provider_run() {
    let lane = CurrentThreadLane::new();
    let outcome = lane.runtime.block_on(async {
        let (keeper, closing) = lane.connections();
        // The runtime's thread stays free while the close waits, and runs the provider.
        let outcome = closing.close_async(CLOSE).await;
        keeper.release();
        outcome
    });
    let stats = outcome.stats;
    assert_eq!(stats.exported, 2, "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
    assert!(lane.provider.calls.load(Ordering::SeqCst) >= 1);
    let sent = lane.exporter.authorizations();
    assert!(!sent.is_empty());
    for value in sent {
        assert!(
            value
                .as_deref()
                .is_some_and(|v| v.starts_with("Bearer m2m-")),
            "{value:?}"
        );
    }
}

/// The driver's sync OAuth provider, as the ADBC driver writes it: it enters the runtime on
/// its own (`block_in_place` + `Handle::current().block_on`), which panics on the pipeline's
/// threads; `from_blocking_fn` runs it on the runtime's blocking pool.
fn sync_oauth(calls: Arc<AtomicUsize>) -> Result<AuthorizationValue, CredentialsError> {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(AuthorizationValue::bearer(&format!("u2m-{call}")))
        })
    })
}

#[test]
fn a_sync_provider_that_enters_the_runtime_works_through_the_pipeline() {
    let runtime = multi_thread();
    let calls = Arc::new(AtomicUsize::new(0));
    let shared = Arc::clone(&calls);
    let credentials = TokioCredentials::from_blocking_fn(runtime.handle().clone(), move || {
        sync_oauth(Arc::clone(&shared))
    })
    .with_timeout(WAIT);
    assert!(credentials.may_block());
    assert!(!format!("{credentials:?}").contains("u2m-"));
    let config = TelemetryConfig::builder()
        .with_batch_size(1)
        .build()
        .unwrap();
    let exporter = InMemoryExporter::new();
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &exporter, credentials, &config);
    for id in ["a", "b", "c"] {
        handle.enqueue(log(id));
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    let stats = handle.stats();
    assert_eq!(stats.exported, 3, "{stats:?}");
    assert_eq!(stats.dropped.credentials_failed, 0, "{stats:?}");
    let sent = exporter.authorizations();
    assert_eq!(sent.len(), 3);
    for value in &sent {
        let value = value.as_deref().expect("every batch carried credentials");
        assert!(value.starts_with("Bearer u2m-"), "{value}");
    }
    assert!(calls.load(Ordering::SeqCst) >= 3);
    handle.release();
}

#[test]
fn a_blocking_provider_fails_cleanly_on_error_panic_timeout_and_a_gone_runtime() {
    let runtime = multi_thread();
    let failing = TokioCredentials::from_blocking_fn(runtime.handle().clone(), || {
        Err(CredentialsError::new("refresh failed: HTTP 503"))
    });
    assert_eq!(
        failing.authorization().unwrap_err().reason(),
        "refresh failed: HTTP 503"
    );
    let panicking = TokioCredentials::from_blocking_fn(runtime.handle().clone(), || {
        panic!("the token endpoint blew up")
    });
    assert_eq!(
        panicking.authorization().unwrap_err().reason(),
        "the async credentials provider panicked"
    );
    // A call that outlives its timeout fails by it (it finishes on the pool, unheard).
    let release = Arc::new(AtomicBool::new(false));
    let held = Arc::clone(&release);
    let slow = TokioCredentials::from_blocking_fn(runtime.handle().clone(), move || {
        let until = Instant::now() + WAIT;
        while !held.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(AuthorizationValue::bearer("late"))
    })
    .with_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let error = slow.authorization().unwrap_err();
    assert!(error.reason().contains("took longer than"), "{error}");
    assert!(started.elapsed() < WAIT / 2, "{:?}", started.elapsed());
    release.store(true, Ordering::SeqCst);
    // Once the runtime has shut down: at once, not by the timeout.
    let working = TokioCredentials::from_blocking_fn(runtime.handle().clone(), || {
        Ok(AuthorizationValue::bearer("t"))
    })
    .with_timeout(WAIT);
    assert!(working.authorization().is_ok(), "works while it runs");
    runtime.shutdown_timeout(WAIT);
    let started = Instant::now();
    let error = working.authorization().unwrap_err();
    assert_eq!(
        error.reason(),
        "the async runtime of the credentials provider has shut down"
    );
    assert!(started.elapsed() < WAIT / 2, "{:?}", started.elapsed());
}
