//! `acquire_databricks`: the whole stack (feature flag, breaker, HTTPS exporter) through the
//! manager, against the local endpoint over real loopback HTTP.

use databricks_telemetry::AcquireOptions;
use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
use databricks_telemetry::{
    AcquireError, ClientIdentity, TelemetryClientHandle, TelemetryClientManager,
};
use databricks_telemetry::{FlushResult, TelemetryConfig, TelemetrySessionContext};
use telemetry_endpoint::{EndpointConfig, FeatureFlagAnswer, TelemetryEndpoint};

const WAIT: Duration = Duration::from_secs(10);
const TOKEN: &str = "dapi-test-token-0123456789";

fn config(force_enabled: bool) -> TelemetryConfig {
    TelemetryConfig::builder()
        .with_allow_insecure_http(true)
        .with_force_enabled(force_enabled)
        .with_flush_interval(Duration::from_secs(3600))
        .with_circuit_breaker_threshold(1)
        .with_max_retries(0)
        .with_request_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn endpoint(flags: FeatureFlagAnswer) -> TelemetryEndpoint {
    TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_token(TOKEN)
            .with_feature_flags(flags),
    )
    .unwrap()
}

fn token() -> Option<Arc<dyn CredentialsProvider>> {
    Some(Arc::new(StaticBearerToken::new(TOKEN)))
}

/// A handle from `manager` on the client for `service`, as user `u` with the token.
fn acquire(
    manager: &TelemetryClientManager,
    service: &TelemetryEndpoint,
    force_enabled: bool,
) -> TelemetryClientHandle {
    manager
        .acquire_databricks(&acquire_options(
            &service.base_url(),
            &ClientIdentity::new("u"),
            token(),
            &config(force_enabled),
        ))
        .unwrap()
}

fn events(n: usize) -> Vec<databricks_telemetry::model::FrontendLog> {
    let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("s-1")
        .build();
    (0..n)
        .map(|_| session.connection_opened(Duration::from_millis(3)))
        .collect()
}

#[test]
fn with_the_flag_on_every_event_arrives_with_the_connections_credentials() {
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &service, false);
    for event in events(5) {
        handle.enqueue(event);
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    let stats = service.stats();
    assert_eq!(stats.logs_accepted, 5);
    assert_eq!(stats.feature_flag_requests, 1);
    assert_eq!(stats.uploads_unauthorized, 0, "the token was sent");
    let outcome = handle.close(WAIT);
    assert_eq!(outcome.stats.exported, 5);
}

#[test]
fn with_the_flag_off_nothing_is_sent_and_the_breaker_stays_closed() {
    let service = endpoint(FeatureFlagAnswer::Off {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &service, false);
    for event in events(3) {
        handle.enqueue(event);
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(handle.stats().dropped.disabled_by_server, 3);
    let breaker = databricks_telemetry::unstable::breaker(&manager, &service.base_url()).unwrap();
    assert_eq!(
        breaker.opened, 0,
        "telemetry off is not a failure of the host"
    );
    assert_eq!(service.stats().uploads_accepted, 0);
    assert_eq!(service.stats().feature_flag_requests, 1);
}

#[test]
fn force_enabled_skips_the_flag() {
    let service = endpoint(FeatureFlagAnswer::Off {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &service, true);
    for event in events(2) {
        handle.enqueue(event);
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(service.stats().logs_accepted, 2);
    assert_eq!(service.stats().feature_flag_requests, 0);
}

#[test]
fn failures_open_the_hosts_breaker_behind_the_flag_and_events_wait() {
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    service.set_fault("500".parse().unwrap());
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, &service, false);
    for event in events(2) {
        handle.enqueue(event);
    }
    // The first failure opens the breaker (threshold 1), which holds the host: the flush
    // times out, and nothing is dropped.
    assert_eq!(
        handle.flush(Duration::from_millis(500)),
        FlushResult::TimedOut
    );
    let stats = handle.stats();
    assert_eq!((stats.pending, stats.dropped.total()), (2, 0), "{stats:?}");
    assert_eq!(
        databricks_telemetry::unstable::breaker(&manager, &service.base_url())
            .unwrap()
            .opened,
        1
    );
    // The service recovers: the next probe (about a second later) delivers the backlog.
    service.clear_fault();
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(handle.stats().exported, 2);
    assert_eq!(service.stats().logs_accepted, 2);
}

#[test]
fn anonymous_clients_send_to_the_unauthenticated_route() {
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let handle = manager
        .acquire_databricks(&acquire_options(
            &service.base_url(),
            &ClientIdentity::anonymous(),
            None,
            &config(true),
        ))
        .unwrap();
    for event in events(2) {
        handle.enqueue(event);
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    let unauth = service
        .stats()
        .requests
        .get("/telemetry-unauth")
        .map_or(0, |p| p.total);
    assert_eq!(unauth, 1);
    assert_eq!(service.stats().logs_accepted, 2);
}

#[test]
fn plain_http_needs_allow_insecure_http() {
    let manager = TelemetryClientManager::new();
    let strict = TelemetryConfig::default();
    let err = manager
        .acquire_databricks(&acquire_options(
            "http://127.0.0.1:9",
            &ClientIdentity::anonymous(),
            None,
            &strict,
        ))
        .unwrap_err();
    assert!(
        matches!(err, AcquireError::InsecureHttpNotAllowed { .. }),
        "{err}"
    );
    let err = manager
        .acquire_databricks(&acquire_options(
            "http://adb-1.azuredatabricks.net",
            &ClientIdentity::anonymous(),
            None,
            &config(false),
        ))
        .unwrap_err();
    assert!(
        matches!(err, AcquireError::InsecureHttpNotLoopback { .. }),
        "{err}"
    );
    assert_eq!(manager.lane_count(), 0);
}

/// What a connection acquires its handle with: `identity` with `credentials` (anonymous and
/// unauthenticated without), `config`, and the test driver.
fn acquire_options(
    endpoint: &str,
    identity: &ClientIdentity,
    credentials: Option<Arc<dyn CredentialsProvider>>,
    config: &TelemetryConfig,
) -> AcquireOptions {
    let options = AcquireOptions::new(
        endpoint,
        databricks_telemetry::DriverInfo::new("DatabricksAdbcRust", "0.1.0").unwrap(),
    )
    .with_config(config.clone());
    match credentials {
        Some(credentials) => options.with_credentials(identity.clone(), credentials),
        None => options,
    }
}

#[test]
fn a_handle_from_options_starts_sessions_with_the_driver_and_the_workspace() {
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let driver = databricks_telemetry::DriverInfo::new("Databricks ADBC Rust", "1.2.3").unwrap();
    let options = AcquireOptions::new(service.base_url(), driver)
        .with_credentials(
            ClientIdentity::from_credential("pat", TOKEN),
            Arc::new(StaticBearerToken::new(TOKEN)),
        )
        .with_config(config(false))
        .with_org_id("1234567890");
    let handle = manager.acquire_databricks(&options).unwrap();
    let session = handle.session().expect("a Databricks handle").build();
    assert_eq!(session.workspace_id(), Some(1234567890));
    handle.enqueue(session.connection_opened(Duration::from_millis(3)));
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(service.stats().logs_accepted, 1);
    let upload = service
        .requests()
        .into_iter()
        .find(|r| r.path == "/telemetry-ext")
        .unwrap();
    assert_eq!(upload.header("x-databricks-org-id"), Some("1234567890"));
    assert_eq!(
        upload.header("user-agent"),
        Some("DatabricksADBCRust/1.2.3")
    );
    // Connections with the same token share a lane; another token gets its own.
    let again = manager.acquire_databricks(&options).unwrap();
    assert!(again.shares_lane_with(&handle));
    let other = AcquireOptions::new(service.base_url(), options.driver().clone())
        .with_credentials(
            ClientIdentity::from_credential("pat", "another-token"),
            Arc::new(StaticBearerToken::new("another-token")),
        )
        .with_config(config(false));
    assert!(!manager
        .acquire_databricks(&other)
        .unwrap()
        .shares_lane_with(&handle));
}

#[test]
fn an_org_id_that_is_not_decimal_is_refused() {
    let manager = TelemetryClientManager::new();
    let driver = databricks_telemetry::DriverInfo::new("Databricks ADBC Rust", "1.2.3").unwrap();
    let options = AcquireOptions::new("adb-1.azuredatabricks.net", driver).with_org_id("12ab");
    let error = manager.acquire_databricks(&options).unwrap_err();
    assert!(
        matches!(error, AcquireError::InvalidOrgId { .. }),
        "{error}"
    );
}

#[test]
fn the_configurations_endpoint_and_org_id_are_used() {
    // A driver points telemetry at `dbtel serve` with one option, whatever its host is.
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let config = TelemetryConfig::from_options([
        ("databricks.telemetry.endpoint", service.base_url().as_str()),
        ("databricks.telemetry.allow_insecure_http", "true"),
        ("databricks.telemetry.org_id", "42"),
        ("databricks.telemetry.flush_interval_ms", "3600000"),
    ])
    .unwrap();
    let manager = TelemetryClientManager::new();
    let driver = databricks_telemetry::DriverInfo::new("Databricks ADBC Rust", "1.2.3").unwrap();
    let handle = manager
        .acquire_databricks(
            &AcquireOptions::new("adb-123.4.azuredatabricks.net", driver)
                .with_credentials(
                    ClientIdentity::from_credential("pat", TOKEN),
                    Arc::new(StaticBearerToken::new(TOKEN)),
                )
                .with_config(config),
        )
        .unwrap();
    let session = handle.session().unwrap().build();
    assert_eq!(session.workspace_id(), Some(42));
    handle.enqueue(session.connection_opened(Duration::from_millis(3)));
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(service.stats().logs_accepted, 1);
    let upload = service
        .requests()
        .into_iter()
        .find(|r| r.path == "/telemetry-ext")
        .unwrap();
    assert_eq!(upload.header("x-databricks-org-id"), Some("42"));
}

/// A transport that counts what it sends and sends it through the default client.
#[cfg(feature = "ureq-transport")]
#[derive(Debug)]
struct Counting {
    inner: databricks_telemetry::export::UreqTransport,
    sent: std::sync::atomic::AtomicUsize,
}

#[cfg(feature = "ureq-transport")]
impl databricks_telemetry::export::Transport for Counting {
    fn send(
        &self,
        request: &databricks_telemetry::export::TransportRequest<'_>,
    ) -> Result<
        databricks_telemetry::export::TransportResponse,
        databricks_telemetry::export::TransportError,
    > {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.send(request)
    }
}

#[cfg(feature = "ureq-transport")]
fn counting() -> Arc<Counting> {
    Arc::new(Counting {
        inner: databricks_telemetry::export::UreqTransport::builder()
            .build()
            .unwrap(),
        sent: std::sync::atomic::AtomicUsize::new(0),
    })
}

/// A `debug`-level subscriber writing into a buffer, for the acquiring thread.
#[cfg(feature = "ureq-transport")]
fn capture_debug() -> (impl tracing::Subscriber, Arc<std::sync::Mutex<Vec<u8>>>) {
    #[derive(Clone)]
    struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = Buffer(Arc::clone(&buffer));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (subscriber, buffer)
}

/// The host's transport is its first acquirer's: a later acquirer's other transport is
/// reported as a settings conflict and never used; the same `Arc` again is no conflict.
#[cfg(feature = "ureq-transport")]
#[test]
fn a_later_acquirers_other_transport_is_a_conflict_and_the_first_stays() {
    use databricks_telemetry::export::Transport;
    use std::sync::atomic::Ordering;
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let first = counting();
    let second = counting();
    let options = |transport: Arc<dyn Transport>| {
        acquire_options(
            &service.base_url(),
            &ClientIdentity::new("u"),
            token(),
            &config(false),
        )
        .with_transport(transport)
    };
    let a = manager.acquire_databricks(&options(first.clone())).unwrap();
    assert!(a.settings_conflicts().is_empty());
    // The same transport again: no conflict.
    let same = manager.acquire_databricks(&options(first.clone())).unwrap();
    assert!(same.settings_conflicts().is_empty());
    let (subscriber, log) = capture_debug();
    let b = tracing::subscriber::with_default(subscriber, || {
        manager
            .acquire_databricks(&options(second.clone()))
            .unwrap()
    });
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("transport") && log.contains("first acquirer"),
        "{log}"
    );
    assert!(b.shares_lane_with(&a));
    assert_eq!(b.settings_conflicts(), vec!["transport"]);
    // Another lane of the host, acquired with another transport, is told too.
    let other = manager
        .acquire_databricks(
            &acquire_options(
                &service.base_url(),
                &ClientIdentity::new("v"),
                token(),
                &config(false),
            )
            .with_transport(second.clone()),
        )
        .unwrap();
    assert!(!other.shares_lane_with(&a));
    assert_eq!(other.settings_conflicts(), vec!["transport"]);
    // Without a transport: the host's, no conflict.
    let plain = manager
        .acquire_databricks(&acquire_options(
            &service.base_url(),
            &ClientIdentity::new("w"),
            token(),
            &config(false),
        ))
        .unwrap();
    assert!(plain.settings_conflicts().is_empty());
    // Everything goes through the first acquirer's transport.
    for event in events(3) {
        b.enqueue(event);
    }
    assert_eq!(b.flush(WAIT), FlushResult::Completed);
    assert_eq!(service.stats().logs_accepted, 3);
    assert!(
        first.sent.load(Ordering::SeqCst) >= 2,
        "the flag and the upload"
    );
    assert_eq!(second.sent.load(Ordering::SeqCst), 0);
}

/// A transport from `with_transport_fn` is built once, for the acquire that creates the host:
/// every connection may bring the function, none is a conflict, and all send through it.
#[cfg(feature = "ureq-transport")]
#[test]
fn a_transport_fn_is_built_once_per_host_and_never_a_conflict() {
    use databricks_telemetry::export::Transport;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let built = Arc::new(AtomicUsize::new(0));
    let transport = counting();
    let options = |user: &str| {
        let built = Arc::clone(&built);
        let transport = Arc::clone(&transport);
        acquire_options(
            &service.base_url(),
            &ClientIdentity::new(user),
            token(),
            &config(false),
        )
        .with_transport_fn(move || {
            built.fetch_add(1, Ordering::SeqCst);
            Ok(Arc::clone(&transport) as Arc<dyn Transport>)
        })
    };
    let handles: Vec<_> = ["u", "u", "v", "w"]
        .into_iter()
        .map(|user| manager.acquire_databricks(&options(user)).unwrap())
        .collect();
    assert_eq!(built.load(Ordering::SeqCst), 1, "one host, one transport");
    for handle in &handles {
        assert!(handle.settings_conflicts().is_empty());
        for event in events(2) {
            handle.enqueue(event);
        }
        assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    }
    assert_eq!(service.stats().logs_accepted, 8);
    assert!(
        transport.sent.load(Ordering::SeqCst) >= 4,
        "the flag and three lanes' uploads, all through the built transport"
    );
    // A given transport that is not the built one is still a conflict.
    let other = manager
        .acquire_databricks(&options("u").with_transport(counting()))
        .unwrap();
    assert_eq!(other.settings_conflicts(), vec!["transport"]);
}

/// Two databases on one host whose transports come from `with_transport_fn` with another
/// proxy: described with `with_transport_settings`, the later one is told (`transport`), its
/// function never runs, and everything goes through the first one's transport. The same
/// description again is no conflict.
#[cfg(feature = "ureq-transport")]
#[test]
fn a_later_transport_fn_described_otherwise_is_a_conflict_and_the_first_stays() {
    use databricks_telemetry::export::Transport;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let first = counting();
    let second = counting();
    let second_built = Arc::new(AtomicUsize::new(0));
    let options = |user: &str, proxy: &str, transport: Arc<Counting>, built: Arc<AtomicUsize>| {
        acquire_options(
            &service.base_url(),
            &ClientIdentity::new(user),
            token(),
            &config(false),
        )
        .with_transport_settings(format!("proxy={proxy}"))
        .with_transport_fn(move || {
            built.fetch_add(1, Ordering::SeqCst);
            Ok(Arc::clone(&transport) as Arc<dyn Transport>)
        })
    };
    let none = Arc::new(AtomicUsize::new(0));
    let a = manager
        .acquire_databricks(&options("u", "http://a:3128", first.clone(), none.clone()))
        .unwrap();
    assert!(a.settings_conflicts().is_empty());
    let same = manager
        .acquire_databricks(&options("u", "http://a:3128", second.clone(), none.clone()))
        .unwrap();
    assert!(same.settings_conflicts().is_empty(), "described alike");
    let (subscriber, log) = capture_debug();
    let b = tracing::subscriber::with_default(subscriber, || {
        manager
            .acquire_databricks(&options(
                "v",
                "http://b:3128",
                second.clone(),
                second_built.clone(),
            ))
            .unwrap()
    });
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("transport") && log.contains("first acquirer"),
        "{log}"
    );
    assert_eq!(b.settings_conflicts(), vec!["transport"]);
    assert_eq!(second_built.load(Ordering::SeqCst), 0);
    for event in events(2) {
        b.enqueue(event);
    }
    assert_eq!(b.flush(WAIT), FlushResult::Completed);
    assert_eq!(service.stats().logs_accepted, 2);
    assert_eq!(second.sent.load(Ordering::SeqCst), 0);
    assert!(
        first.sent.load(Ordering::SeqCst) >= 2,
        "the flag and the upload"
    );
}

/// A transport function brought to a host that sends through the default client is not used:
/// reported, even without a description.
#[cfg(feature = "ureq-transport")]
#[test]
fn a_transport_fn_on_a_host_with_the_default_client_is_a_conflict() {
    use databricks_telemetry::export::Transport;
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let plain = acquire(&manager, &service, false);
    assert!(plain.settings_conflicts().is_empty());
    let transport = counting();
    let later = manager
        .acquire_databricks(
            &acquire_options(
                &service.base_url(),
                &ClientIdentity::new("u"),
                token(),
                &config(false),
            )
            .with_transport_fn(move || Ok(Arc::clone(&transport) as Arc<dyn Transport>)),
        )
        .unwrap();
    assert!(later.shares_lane_with(&plain));
    assert_eq!(later.settings_conflicts(), vec!["transport"]);
}

/// With the configuration's `endpoint`, connections to two workspaces share the endpoint's
/// host: the second workspace's org id is not sent (the first's is), and it is told.
#[test]
fn the_endpoint_override_reports_a_later_workspaces_org_id() {
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let config = TelemetryConfig::builder()
        .with_endpoint(service.base_url())
        .with_allow_insecure_http(true)
        .with_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let manager = TelemetryClientManager::new();
    let workspace = |host: &str, org_id: &str| {
        AcquireOptions::new(
            host,
            databricks_telemetry::DriverInfo::new("Databricks ADBC Rust", "1.2.3").unwrap(),
        )
        .with_credentials(
            ClientIdentity::from_credential("pat", TOKEN),
            Arc::new(StaticBearerToken::new(TOKEN)),
        )
        .with_config(config.clone())
        .with_org_id(org_id)
    };
    let first = manager
        .acquire_databricks(&workspace("adb-1.1.azuredatabricks.net", "1"))
        .unwrap();
    let again = manager
        .acquire_databricks(&workspace("adb-1.1.azuredatabricks.net", "1"))
        .unwrap();
    assert!(again.settings_conflicts().is_empty());
    let second = manager
        .acquire_databricks(&workspace("adb-2.2.azuredatabricks.net", "2"))
        .unwrap();
    assert!(second.shares_lane_with(&first), "one host: the endpoint's");
    assert_eq!(second.settings_conflicts(), vec!["org_id"]);
    let session = second.session().unwrap().build();
    assert_eq!(
        session.workspace_id(),
        Some(2),
        "the event names its own workspace"
    );
    second.enqueue(session.connection_opened(Duration::from_millis(3)));
    assert_eq!(second.flush(WAIT), FlushResult::Completed);
    let upload = service
        .requests()
        .into_iter()
        .find(|r| r.path == "/telemetry-ext")
        .unwrap();
    assert_eq!(upload.header("x-databricks-org-id"), Some("1"));
}

/// A transport function that fails fails the acquire that needed it, with its reason; the
/// host is not created, so a later acquire tries again.
#[cfg(feature = "ureq-transport")]
#[test]
fn a_transport_fn_that_fails_fails_the_acquire_and_a_later_one_tries_again() {
    use databricks_telemetry::export::Transport;
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let options = acquire_options(
        &service.base_url(),
        &ClientIdentity::new("u"),
        token(),
        &config(true),
    );
    let failing = options
        .clone()
        .with_transport_fn(|| Err("no thread for the runtime".into()));
    let error = manager.acquire_databricks(&failing).unwrap_err();
    assert!(matches!(error, AcquireError::Transport(_)), "{error:?}");
    assert!(
        error.to_string().contains("no thread for the runtime"),
        "{error}"
    );
    assert_eq!(manager.host_count(), 0, "no host was created");
    let default_transport = options.with_transport_fn(|| {
        Ok(Arc::new(databricks_telemetry::export::UreqTransport::new()) as Arc<dyn Transport>)
    });
    let handle = manager.acquire_databricks(&default_transport).unwrap();
    for event in events(2) {
        handle.enqueue(event);
    }
    assert_eq!(handle.flush(WAIT), FlushResult::Completed);
    assert_eq!(service.stats().logs_accepted, 2);
}

/// The transport function runs before the manager's registry is locked: it may call the
/// manager (here: its counts) without deadlocking.
#[cfg(feature = "ureq-transport")]
#[test]
fn a_transport_fn_may_call_the_manager() {
    use databricks_telemetry::export::Transport;
    let service = endpoint(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    let manager = TelemetryClientManager::new();
    let inside = manager.clone();
    let options = acquire_options(
        &service.base_url(),
        &ClientIdentity::new("u"),
        token(),
        &config(true),
    )
    .with_transport_fn(move || {
        assert_eq!(inside.host_count(), 0, "called before the host exists");
        Ok(Arc::new(databricks_telemetry::export::UreqTransport::new()) as Arc<dyn Transport>)
    });
    let (done, acquired) = std::sync::mpsc::channel();
    let acquiring = manager.clone();
    std::thread::spawn(move || {
        let _ = done.send(acquiring.acquire_databricks(&options).map(|handle| {
            let enabled = handle.is_enabled();
            handle.release();
            enabled
        }));
    });
    let enabled = acquired
        .recv_timeout(WAIT)
        .expect("the acquire returned (no deadlock)")
        .unwrap();
    assert!(enabled);
    assert_eq!(manager.host_count(), 1);
}
