//! The server feature flag over real loopback HTTP: answers, TTLs on a manual clock, failures,
//! de-duplicated fetches, force_enabled, and the gate that turns batches away.

use crate::http_support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use databricks_telemetry::clock::ManualClock;
use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
use databricks_telemetry::unstable::{
    FeatureFlagCache, FlagAnswer, FlagSettings, ServiceEndpoint, DEFAULT_FLAG_TTL, FAILED_FLAG_TTL,
    MAX_FLAG_TTL, MIN_FLAG_TTL,
};
use databricks_telemetry::{ClientIdentity, TelemetryClientHandle, TelemetryClientManager};
use databricks_telemetry::{CloseResult, TelemetryConfig};
use http_support::*;
use telemetry_endpoint::{FeatureFlagAnswer, TelemetryEndpoint};

/// The default `feature_flag_name`, as [`FeatureFlagCache::flag_name`] shows it.
const FLAGS: &str = "adbc.databricks.telemetry.enabled,databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc";

struct Setup {
    endpoint: TelemetryEndpoint,
    service: ServiceEndpoint,
    clock: ManualClock,
    cache: FeatureFlagCache,
    token: StaticBearerToken,
}

impl Setup {
    fn new(answer: FeatureFlagAnswer) -> Self {
        Self::with_config(answer, fast_config())
    }

    /// With the longest flag timeout (a minute): for tests about the answer, not about time,
    /// where a loaded machine could otherwise take the fast config's half second to serve and
    /// read a large answer, and turn it into a timeout.
    fn unhurried(answer: FeatureFlagAnswer) -> Self {
        let config = fast_builder()
            .with_feature_flag_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self::with_config(answer, config)
    }

    fn with_config(answer: FeatureFlagAnswer, config: TelemetryConfig) -> Self {
        let endpoint = start_endpoint();
        endpoint.set_feature_flags(answer);
        let clock = ManualClock::new();
        let cache = FeatureFlagCache::with_clock(
            FlagSettings::from_config(&config),
            &user_agent(),
            Arc::new(clock.clone()),
        );
        Setup {
            service: endpoint_at(endpoint.addr(), &config),
            endpoint,
            clock,
            cache,
            token: StaticBearerToken::new(TOKEN),
        }
    }

    fn enabled(&self) -> bool {
        self.cache
            .is_enabled(&self.service, Some(&self.token), None)
    }

    fn fetches(&self) -> u64 {
        self.endpoint.stats().feature_flag_requests
    }

    fn answer(&self) -> FlagAnswer {
        self.cache.cached(self.service.host()).unwrap().answer
    }

    fn ttl(&self) -> Duration {
        let cached = self.cache.cached(self.service.host()).unwrap();
        cached.expires_at - databricks_telemetry::clock::Clock::now(&self.clock)
    }
}

#[test]
fn on_enables_telemetry_and_is_fetched_once() {
    let setup = Setup::new(FeatureFlagAnswer::On {
        ttl_seconds: Some(900),
    });
    assert_eq!(setup.cache.flag_name(), FLAGS);
    assert!(setup.enabled());
    assert!(setup.enabled());
    assert_eq!(setup.fetches(), 1);
    assert_eq!(setup.answer(), FlagAnswer::On);

    let requests = setup.endpoint.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.path,
        "/api/2.0/connector-service/feature-flags/ADBC/0.1.0"
    );
    assert_eq!(request.status, Some(200));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some("DatabricksAdbcRust/0.1.0")
    );
}

#[test]
fn off_disables_telemetry() {
    let setup = Setup::new(FeatureFlagAnswer::Off {
        ttl_seconds: Some(900),
    });
    assert!(!setup.enabled());
    assert_eq!(setup.answer(), FlagAnswer::Off);
    assert!(!setup.enabled());
    assert_eq!(
        setup.fetches(),
        1,
        "an off answer is cached like any answer"
    );
}

#[test]
fn a_missing_flag_disables_telemetry_for_the_servers_ttl() {
    let setup = Setup::new(FeatureFlagAnswer::Missing);
    assert!(!setup.enabled());
    assert_eq!(setup.answer(), FlagAnswer::Missing);
    assert_eq!(setup.ttl(), DEFAULT_FLAG_TTL, "an answer, not a failure");
}

#[test]
fn the_driver_segment_follows_the_configuration() {
    let config = fast_builder()
        .with_feature_flag_driver("OSS_JDBC")
        .build()
        .unwrap();
    let setup = Setup::with_config(FeatureFlagAnswer::On { ttl_seconds: None }, config);
    assert!(
        setup.enabled(),
        "the endpoint answers every driver's flags, whatever the path's driver"
    );
    assert_eq!(
        setup.endpoint.requests()[0].path,
        "/api/2.0/connector-service/feature-flags/OSS_JDBC/0.1.0"
    );
}

/// An answer holding exactly `flags` (`name`, `value`), each `"true"` unless given.
fn only(flags: &[(&str, &str)]) -> FeatureFlagAnswer {
    FeatureFlagAnswer::Flags {
        flags: flags
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        ttl_seconds: None,
    }
}

/// The default `feature_flag_name`s (as `TelemetryConfig::default()` has them).
const DEFAULT_FEATURE_FLAG_NAMES: [&str; 2] = [
    "adbc.databricks.telemetry.enabled",
    "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc",
];

#[test]
fn each_default_name_alone_turns_telemetry_on() {
    assert_eq!(
        TelemetryConfig::default().feature_flag_names(),
        DEFAULT_FEATURE_FLAG_NAMES
    );
    for name in DEFAULT_FEATURE_FLAG_NAMES {
        let setup = Setup::new(only(&[("some.other.flag", "true"), (name, "true")]));
        assert!(setup.enabled(), "{name}");
        assert_eq!(setup.answer(), FlagAnswer::On, "{name}");

        let setup = Setup::new(only(&[(name, "false")]));
        assert!(!setup.enabled(), "{name}");
        assert_eq!(setup.answer(), FlagAnswer::Off, "{name}");
    }
    // Either default name being true is enough, even when the other is false.
    let [first, second] = DEFAULT_FEATURE_FLAG_NAMES;
    let setup = Setup::new(only(&[(first, "false"), (second, "TRUE")]));
    assert!(setup.enabled());
}

#[test]
fn the_old_name_built_from_the_driver_segment_is_not_the_flag() {
    let setup = Setup::new(only(&[(
        "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForADBC",
        "true",
    )]));
    assert!(!setup.enabled());
    assert_eq!(setup.answer(), FlagAnswer::Missing);
}

#[test]
fn a_custom_flag_name_replaces_the_defaults() {
    let custom =
        "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForRustKernel";
    let answer = only(&[(DEFAULT_FEATURE_FLAG_NAMES[0], "false"), (custom, "true")]);
    assert!(!Setup::new(answer.clone()).enabled(), "not a default name");

    let config = TelemetryConfig::from_options_with_env(
        [
            ("adbc.databricks.telemetry.allow_insecure_http", "true"),
            ("adbc.databricks.telemetry.feature_flag_name", custom),
        ],
        |_| None,
    )
    .unwrap();
    assert_eq!(config.feature_flag_names(), [custom]);
    let setup = Setup::with_config(answer, config);
    assert_eq!(setup.cache.flag_name(), custom);
    assert!(setup.enabled());

    // Several names, comma separated: any one of them true is enough.
    let config = fast_builder()
        .with_feature_flag_names(["x.one", "x.two"])
        .build()
        .unwrap();
    let setup = Setup::with_config(only(&[("x.one", "false"), ("x.two", "true")]), config);
    assert_eq!(setup.cache.flag_name(), "x.one,x.two");
    assert!(setup.enabled());
}

/// A 5,000-flag answer, with the telemetry flag last.
fn long_answer(filler: usize) -> FeatureFlagAnswer {
    let mut flags: Vec<(String, String)> = (0..filler)
        .map(|i| {
            (
                format!(
                    "databricks.partnerplatform.clientConfigsFeatureFlags.someFeatureNumber{i:05}"
                ),
                "false".to_owned(),
            )
        })
        .collect();
    flags.push((DEFAULT_FEATURE_FLAG_NAMES[1].to_owned(), "true".to_owned()));
    FeatureFlagAnswer::Flags {
        flags,
        ttl_seconds: Some(900),
    }
}

#[test]
fn an_answer_far_over_64_kib_is_read() {
    let answer = long_answer(5_000);
    let (_, body) = answer.render("ADBC");
    let size = body.to_string().len();
    assert!(size > 64 * 1024, "{size} bytes");
    let setup = Setup::unhurried(answer);
    assert!(setup.enabled(), "a {size}-byte answer");
    assert_eq!(setup.answer(), FlagAnswer::On);
}

#[test]
fn an_answer_over_the_flag_limit_is_a_failure() {
    use databricks_telemetry::unstable::MAX_FLAG_ANSWER_BYTES;
    const _: () = assert!(
        MAX_FLAG_ANSWER_BYTES >= 1024 * 1024,
        "at least 1 MiB is read"
    );
    // About 90 bytes per flag: enough flags to pass the limit.
    let filler = usize::try_from(MAX_FLAG_ANSWER_BYTES / 80).unwrap();
    let answer = long_answer(filler);
    let (_, body) = answer.render("ADBC");
    assert!(body.to_string().len() as u64 > MAX_FLAG_ANSWER_BYTES);
    // Refused for its size, not for the time it takes.
    let setup = Setup::unhurried(answer);
    assert!(!setup.enabled());
    assert_eq!(setup.answer(), FlagAnswer::Failed);
}

#[test]
fn the_ttl_is_honoured() {
    let setup = Setup::new(FeatureFlagAnswer::On {
        ttl_seconds: Some(120),
    });
    assert!(setup.enabled());
    assert_eq!(setup.ttl(), Duration::from_secs(120));
    setup.endpoint.set_feature_flags(FeatureFlagAnswer::Off {
        ttl_seconds: Some(120),
    });
    setup.clock.advance(Duration::from_secs(119));
    assert!(setup.enabled(), "still the cached answer");
    assert_eq!(setup.fetches(), 1);
    setup.clock.advance(Duration::from_secs(1));
    assert!(!setup.enabled(), "expired: fetched again");
    assert_eq!(setup.fetches(), 2);
}

#[test]
fn the_ttl_is_clamped_and_defaults_to_900_seconds() {
    for (ttl, expected) in [
        (Some(0), MIN_FLAG_TTL),
        (Some(5), MIN_FLAG_TTL),
        (Some(60), Duration::from_secs(60)),
        (Some(3600), Duration::from_secs(3600)),
        (Some(100_000), MAX_FLAG_TTL),
        (None, DEFAULT_FLAG_TTL),
    ] {
        let setup = Setup::new(FeatureFlagAnswer::On { ttl_seconds: ttl });
        assert!(setup.enabled());
        assert_eq!(setup.ttl(), expected, "{ttl:?}");
    }
    // A clamped TTL is what governs the refetch.
    let setup = Setup::new(FeatureFlagAnswer::On {
        ttl_seconds: Some(1),
    });
    assert!(setup.enabled());
    setup.clock.advance(Duration::from_secs(59));
    assert!(setup.enabled());
    assert_eq!(setup.fetches(), 1);
    setup.clock.advance(Duration::from_secs(1));
    assert!(setup.enabled());
    assert_eq!(setup.fetches(), 2);
}

#[test]
fn a_failure_is_cached_as_disabled_for_60_seconds() {
    let setup = Setup::new(FeatureFlagAnswer::Error(500));
    assert!(!setup.enabled());
    assert_eq!(setup.answer(), FlagAnswer::Failed);
    assert_eq!(setup.ttl(), FAILED_FLAG_TTL);
    setup
        .endpoint
        .set_feature_flags(FeatureFlagAnswer::On { ttl_seconds: None });
    setup.clock.advance(Duration::from_secs(59));
    assert!(!setup.enabled(), "the failure is still cached");
    assert_eq!(setup.fetches(), 1);
    setup.clock.advance(Duration::from_secs(1));
    assert!(setup.enabled(), "after 60 s the flag is fetched again");
    assert_eq!(setup.fetches(), 2);
}

#[test]
fn every_kind_of_failure_is_disabled() {
    let config = fast_builder()
        .with_feature_flag_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
    let token = StaticBearerToken::new(TOKEN);
    let check = |addr, what: &str| {
        let service = endpoint_at(addr, &config);
        let started = Instant::now();
        assert!(!cache.is_enabled(&service, Some(&token), None), "{what}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            cache.cached(service.host()).unwrap().answer,
            FlagAnswer::Failed,
            "{what}"
        );
    };
    check(closed_port(), "refused");
    let hang = FakeServer::start(FakeBehaviour::Hang);
    check(hang.addr(), "hang (timeout)");
    let html = FakeServer::start(FakeBehaviour::json(200, "<html>not json"));
    check(html.addr(), "bad json");
    let wrong_shape = FakeServer::start(FakeBehaviour::json(200, r#"{"flags":"true"}"#));
    check(wrong_shape.addr(), "not a flag list");
    let redirect = FakeServer::start(FakeBehaviour::Respond {
        status: 302,
        headers: vec![("Location".into(), "http://127.0.0.1:9/".into())],
        body: Vec::new(),
        delay: Duration::ZERO,
    });
    check(redirect.addr(), "redirect");
    for status in [404, 503] {
        let setup = Setup::new(FeatureFlagAnswer::Error(status));
        assert!(!setup.enabled(), "{status}");
        assert_eq!(setup.answer(), FlagAnswer::Failed, "{status}");
    }
}

#[test]
fn refused_credentials_are_the_callers_and_are_not_cached() {
    for status in [401, 403] {
        let setup = Setup::new(FeatureFlagAnswer::Error(status));
        assert!(!setup.enabled(), "{status}");
        assert!(
            setup.cache.cached(setup.service.host()).is_none(),
            "{status}: another identity asks afresh"
        );
        assert!(!setup.enabled());
        assert_eq!(setup.fetches(), 2, "{status}");
    }
}

#[test]
fn a_lane_whose_token_the_flag_route_refuses_counts_credentials_failed() {
    // The flag needs credentials; a refused token is the lane's failure (not "telemetry off",
    // not a hold of the host), and another identity on the host is not held back by it.
    let endpoint = start_endpoint();
    let config = fast_builder().with_batch_size(2).build().unwrap();
    let manager = TelemetryClientManager::new();
    let wrong = manager
        .acquire_databricks(&acquire_options(
            &endpoint.base_url(),
            &ClientIdentity::new("mallory"),
            Some(Arc::new(StaticBearerToken::new("wrong"))),
            &config,
        ))
        .unwrap();
    let right = acquire(&manager, endpoint.addr(), &config);
    for log in logs(2) {
        wrong.enqueue(log);
    }
    assert_eq!(
        wrong.flush(WAIT),
        databricks_telemetry::FlushResult::Completed
    );
    let stats = wrong.stats();
    assert_eq!(stats.dropped.credentials_failed, 2, "{stats:?}");
    for log in logs(2) {
        right.enqueue(log);
    }
    assert_eq!(
        right.flush(WAIT),
        databricks_telemetry::FlushResult::Completed
    );
    assert_eq!(right.stats().exported, 2);
}

#[test]
fn concurrent_first_fetches_are_deduplicated() {
    // A slow flag service, so that every caller arrives while the first fetch is in flight.
    let body = r#"{"flags":[{"name":"adbc.databricks.telemetry.enabled","value":"true"}],"ttl_seconds":900}"#;
    let fake = FakeServer::start(FakeBehaviour::Respond {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
        delay: Duration::from_millis(200),
    });
    let config = fast_builder()
        .with_feature_flag_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let cache = Arc::new(FeatureFlagCache::new(
        FlagSettings::from_config(&config),
        &user_agent(),
    ));
    let service = endpoint_at(fake.addr(), &config);
    let callers = 8;
    let barrier = Arc::new(Barrier::new(callers));
    let threads: Vec<_> = (0..callers)
        .map(|_| {
            let (cache, service, barrier) = (cache.clone(), service.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cache.is_enabled(&service, None, None)
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap(), "every caller gets the one answer");
    }
    assert_eq!(fake.requests().len(), 1, "one fetch for eight callers");
}

#[test]
fn a_waiter_gives_up_at_its_deadline() {
    let fake = FakeServer::start(FakeBehaviour::Hang);
    let config = fast_builder()
        .with_feature_flag_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let cache = Arc::new(FeatureFlagCache::new(
        FlagSettings::from_config(&config),
        &user_agent(),
    ));
    let service = endpoint_at(fake.addr(), &config);
    let fetcher = {
        let (cache, service) = (cache.clone(), service.clone());
        std::thread::spawn(move || cache.is_enabled(&service, None, None))
    };
    assert!(eventually(WAIT, || fake.requests().len() == 1));
    let started = Instant::now();
    assert!(!cache.is_enabled(&service, None, Some(started + Duration::from_millis(150))));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(140), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert!(!fetcher.join().unwrap(), "the hung fetch times out");
    assert_eq!(fake.requests().len(), 1, "the waiter did not fetch again");
}

#[test]
fn a_fetch_cut_short_by_a_deadline_caches_no_failure() {
    // A short-lived connection's close deadline cuts the first fetch below the flag timeout;
    // its failure must not turn telemetry off for every client of the host for a minute.
    let fake = FakeServer::start(FakeBehaviour::Hang);
    let config = fast_builder()
        .with_feature_flag_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
    let service = endpoint_at(fake.addr(), &config);
    let deadline = Instant::now() + Duration::from_millis(100);
    assert!(!cache.is_enabled(&service, None, Some(deadline)));
    assert!(cache.cached(service.host()).is_none(), "nothing cached");

    // A fetch given the whole flag timeout that fails is cached as off.
    let quick = fast_builder()
        .with_feature_flag_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&quick), &user_agent());
    let service = endpoint_at(fake.addr(), &quick);
    assert!(!cache.is_enabled(&service, None, None));
    assert_eq!(
        cache.cached(service.host()).map(|c| c.answer),
        Some(FlagAnswer::Failed)
    );
}

#[test]
fn a_deadline_already_passed_fetches_nothing() {
    let setup = Setup::new(FeatureFlagAnswer::On { ttl_seconds: None });
    assert!(!setup
        .cache
        .is_enabled(&setup.service, Some(&setup.token), Some(Instant::now())));
    assert_eq!(setup.fetches(), 0);
    assert!(
        setup.cache.cached(setup.service.host()).is_none(),
        "nothing cached"
    );
}

#[test]
fn hosts_are_cached_separately() {
    let on = start_endpoint();
    let off = start_endpoint();
    off.set_feature_flags(FeatureFlagAnswer::Off { ttl_seconds: None });
    let config = fast_config();
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
    let token = StaticBearerToken::new(TOKEN);
    let token = Some(&token as &dyn CredentialsProvider);
    assert!(cache.is_enabled(&endpoint_at(on.addr(), &config), token, None));
    assert!(!cache.is_enabled(&endpoint_at(off.addr(), &config), token, None));
    assert!(cache.is_enabled(&endpoint_at(on.addr(), &config), token, None));
    assert_eq!(on.stats().feature_flag_requests, 1);
    assert_eq!(off.stats().feature_flag_requests, 1);
}

#[test]
fn force_enabled_skips_the_fetch() {
    let config = fast_builder().with_force_enabled(true).build().unwrap();
    let setup = Setup::with_config(FeatureFlagAnswer::Off { ttl_seconds: None }, config);
    assert!(setup.enabled());
    assert_eq!(setup.fetches(), 0);
    assert!(setup.endpoint.requests().is_empty());
}

/// A handle sending to `endpoint` through the whole pipeline, with [`TOKEN`].
fn acquire(
    manager: &TelemetryClientManager,
    addr: std::net::SocketAddr,
    config: &TelemetryConfig,
) -> TelemetryClientHandle {
    let credentials: Arc<dyn CredentialsProvider> = Arc::new(StaticBearerToken::new(TOKEN));
    manager
        .acquire_databricks(&acquire_options(
            &format!("http://{addr}"),
            &ClientIdentity::new("user"),
            Some(credentials),
            config,
        ))
        .unwrap()
}

#[test]
fn a_flag_that_is_off_drops_the_lanes_events_as_disabled_by_server() {
    let endpoint = start_endpoint();
    endpoint.set_feature_flags(FeatureFlagAnswer::Off { ttl_seconds: None });
    let config = fast_builder().with_batch_size(4).build().unwrap();
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, endpoint.addr(), &config);
    for log in logs(10) {
        handle.enqueue(log);
    }
    let outcome = handle.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    let stats = outcome.stats;
    assert_eq!(stats.dropped.disabled_by_server, 10, "{stats:?}");
    assert_eq!(stats.exported, 0);
    assert!(stats.is_balanced());
    assert!(uploads(&endpoint).is_empty());
    assert_eq!(endpoint.stats().feature_flag_requests, 1);
}

#[test]
fn the_full_stack_delivers_when_on() {
    let endpoint = start_endpoint();
    let config = fast_builder().with_batch_size(5).build().unwrap();
    let manager = TelemetryClientManager::new();
    let handle = acquire(&manager, endpoint.addr(), &config);
    for log in logs(12) {
        handle.enqueue(log);
    }
    let outcome = handle.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    assert_eq!(outcome.stats.exported, 12);
    let stats = endpoint.stats();
    assert_eq!(stats.logs_accepted, 12);
    assert_eq!(
        stats.feature_flag_requests, 1,
        "one fetch for three batches"
    );
}

#[test]
fn a_hanging_flag_service_never_delays_the_driver_and_drops_nothing() {
    // The flag is resolved on the worker: acquiring and enqueueing return at once. An unknown
    // flag holds the events (it is not "off"): they wait until the lane's close deadline.
    let fake = FakeServer::start(FakeBehaviour::Hang);
    let config = fast_builder()
        .with_feature_flag_timeout(Duration::from_millis(300))
        .with_close_timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let manager = TelemetryClientManager::new();
    let started = Instant::now();
    let handle = acquire(&manager, fake.addr(), &config);
    for log in logs(3) {
        handle.enqueue(log);
    }
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    let outcome = handle.close(WAIT);
    assert_eq!(outcome.result, CloseResult::Completed);
    let stats = outcome.stats;
    assert_eq!(stats.dropped.disabled_by_server, 0, "{stats:?}");
    assert_eq!(stats.dropped.closed_before_delivery, 3, "{stats:?}");
    assert!(stats.is_balanced());
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.path.contains("feature-flags")));
}

#[test]
fn an_unavailable_flag_holds_events_until_it_can_be_had() {
    let endpoint = start_endpoint();
    endpoint.set_feature_flags(FeatureFlagAnswer::Error(503));
    let clock = ManualClock::new();
    let manager = TelemetryClientManager::with_clock_and_seed(Arc::new(clock.clone()), 1);
    let config = fast_builder().with_batch_size(5).build().unwrap();
    let handle = acquire(&manager, endpoint.addr(), &config);
    for log in logs(5) {
        handle.enqueue(log);
    }
    assert!(manager.settle(WAIT));
    assert_eq!(endpoint.stats().feature_flag_requests, 1);
    let stats = handle.stats();
    assert_eq!((stats.pending, stats.dropped.total()), (5, 0), "{stats:?}");

    // The failure is cached for a minute; then the flag is asked again, and is on.
    endpoint.set_feature_flags(FeatureFlagAnswer::On { ttl_seconds: None });
    clock.advance(FAILED_FLAG_TTL);
    assert!(manager.settle(WAIT));
    assert_eq!(endpoint.stats().feature_flag_requests, 2);
    assert_eq!(endpoint.stats().logs_accepted, 5);
    assert_eq!(handle.stats().exported, 5);
}

#[test]
fn unauthenticated_lanes_send_without_asking_the_flag() {
    // The flag needs credentials; connection failures (no credentials yet) are sent anyway.
    let endpoint = TelemetryEndpoint::start(telemetry_endpoint::EndpointConfig::default()).unwrap();
    endpoint.set_feature_flags(FeatureFlagAnswer::Error(401));
    let config = fast_config();
    let manager = TelemetryClientManager::new();
    let handle = manager
        .acquire_databricks(&acquire_options(
            &format!("http://{}", endpoint.addr()),
            &ClientIdentity::anonymous(),
            None,
            &config,
        ))
        .unwrap();
    for log in logs(3) {
        handle.enqueue(log);
    }
    let outcome = handle.close(WAIT);
    assert_eq!(outcome.stats.exported, 3, "{:?}", outcome.stats);
    assert_eq!(endpoint.stats().feature_flag_requests, 0);
    assert!(uploads(&endpoint)
        .iter()
        .all(|r| r.path == "/telemetry-unauth"));
}

#[test]
fn without_credentials_the_flag_request_carries_no_authorization() {
    let endpoint = TelemetryEndpoint::start(telemetry_endpoint::EndpointConfig::default()).unwrap();
    let config = fast_config();
    let cache = FeatureFlagCache::new(FlagSettings::from_config(&config), &user_agent());
    assert!(cache.is_enabled(&endpoint_at(endpoint.addr(), &config), None, None));
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), None);
}
