//! Session and statement contexts: what they record, and that they record nothing else.

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::model::*;
use databricks_telemetry::unstable::model::*;
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::{ErrorInfo, TelemetryAuthType, TelemetrySessionContext};
use proptest::prelude::*;

fn session() -> Arc<TelemetrySessionContext> {
    TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0-session")
        .with_workspace_id(42)
        .with_auth_type(TelemetryAuthType::OAuthM2m)
        .with_connection_parameters(DriverConnectionParameters {
            http_path: Some("/sql/1.0/warehouses/abc".into()),
            mode: Some(DriverMode::Sea),
            ..Default::default()
        })
        .build()
}

fn detail(log: &FrontendLog) -> &OperationDetail {
    log.entry()
        .sql_driver_log
        .sql_operation
        .as_ref()
        .unwrap()
        .operation_detail
        .as_ref()
        .unwrap()
}

#[test]
fn session_events_carry_the_session_constants() {
    let session = session();
    for (log, op) in [
        (
            session.connection_opened(Duration::from_millis(80)),
            OperationType::CreateSession,
        ),
        (
            session.connection_closed(Duration::from_millis(5)),
            OperationType::DeleteSession,
        ),
    ] {
        let event = &log.entry().sql_driver_log;
        assert_eq!(detail(&log).operation_type, Some(op));
        assert_eq!(event.session_id.as_deref(), Some("01f0-session"));
        assert_eq!(event.auth_type.as_deref(), Some("oauth-client_credentials"));
        assert!(Arc::ptr_eq(
            event.system_configuration.as_ref().unwrap(),
            session.system_configuration()
        ));
        assert_eq!(log.workspace_id(), Some(42));
        assert_eq!(
            log.context().client_context.user_agent.as_deref(),
            Some("DatabricksADBCRust/0.1.0")
        );
        assert!(log.context().client_context.timestamp_millis.unwrap() > 1_700_000_000_000);
        assert!(event.error_info.is_none());
    }
    let opened = session.connection_opened(Duration::from_millis(80));
    assert_eq!(opened.entry().sql_driver_log.operation_latency_ms, Some(80));
}

#[test]
fn every_operation_type_makes_an_event_and_a_failed_one() {
    let session = session();
    let start = Instant::now();
    for &op in OperationType::ALL {
        let ok = StatementTelemetryContext::begin_at(&session, op, start)
            .finish_at(start + Duration::from_millis(7));
        assert_eq!(detail(&ok).operation_type, Some(op));
        assert_eq!(ok.entry().sql_driver_log.operation_latency_ms, Some(7));
        assert!(ok.entry().sql_driver_log.error_info.is_none());
        let expected_type = op.is_metadata().then_some(StatementType::Metadata);
        assert_eq!(
            ok.entry()
                .sql_driver_log
                .sql_operation
                .as_ref()
                .unwrap()
                .statement_type,
            expected_type
        );

        let mut failing = StatementTelemetryContext::begin_at(&session, op, start);
        failing.record_error(ErrorInfo::new("ServerError"));
        let failed = failing.finish_at(start + Duration::from_millis(3));
        let error = failed.entry().sql_driver_log.error_info.as_ref().unwrap();
        assert_eq!(error.error_name.as_deref(), Some("ServerError"));
        assert_eq!(error.stack_trace.as_deref(), Some(""));
    }
    let error = ErrorInfo::new("AuthError");
    let failed_open = session.connection_open_failed(Duration::from_millis(9), &error);
    assert_eq!(
        failed_open
            .entry()
            .sql_driver_log
            .error_info
            .as_ref()
            .unwrap()
            .error_name
            .as_deref(),
        Some("AuthError")
    );
    let failed_close = session.connection_close_failed(Duration::from_millis(9), &error);
    assert_eq!(
        detail(&failed_close).operation_type,
        Some(OperationType::DeleteSession)
    );
}

#[test]
fn a_statement_records_every_phase() {
    let session = session();
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut s =
        StatementTelemetryContext::begin_at(&session, OperationType::ExecuteStatementAsync, t0);
    s.set_statement_id("stmt-1")
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .set_compressed(true)
        .set_internal_call(false)
        .record_retry()
        .record_retry()
        .record_status_poll(ms(10))
        .record_status_poll(ms(15))
        .record_status_poll(ms(20))
        .mark_result_ready_at(t0 + ms(100))
        .set_total_chunks(4)
        .record_chunk_download(ms(30))
        .record_chunk_download(ms(90))
        .record_chunk_download(ms(50))
        .mark_results_consumed_at(t0 + ms(400));
    let log = s.finish_at(t0 + ms(410));
    let event = &log.entry().sql_driver_log;
    assert_eq!(event.sql_statement_id.as_deref(), Some("stmt-1"));
    assert_eq!(event.operation_latency_ms, Some(410));
    let op = event.sql_operation.as_ref().unwrap();
    assert_eq!(op.statement_type, Some(StatementType::Query));
    assert_eq!(
        op.execution_result,
        Some(ExecutionResultFormat::ExternalLinks)
    );
    assert_eq!(op.is_compressed, Some(true));
    assert_eq!(op.retry_count, Some(2));
    assert_eq!(
        op.chunk_details,
        Some(ChunkDetails {
            initial_chunk_latency_millis: Some(30),
            slowest_chunk_latency_millis: Some(90),
            total_chunks_present: Some(4),
            total_chunks_iterated: Some(3),
            sum_chunks_download_time_millis: Some(170),
        })
    );
    assert_eq!(
        op.result_latency,
        Some(ResultLatency {
            result_set_ready_latency_millis: Some(100),
            result_set_consumption_latency_millis: Some(300),
        })
    );
    let d = op.operation_detail.as_ref().unwrap();
    assert_eq!(d.n_operation_status_calls, Some(3));
    assert_eq!(d.operation_status_latency_millis, Some(45));
    assert_eq!(d.is_internal_call, Some(false));
}

#[test]
fn an_event_carries_only_what_was_recorded() {
    let session = TelemetrySessionContext::builder("d", "1").build();
    let t0 = Instant::now();
    let log = StatementTelemetryContext::begin_at(&session, OperationType::CloseStatement, t0)
        .finish_at(t0);
    let json = serde_json::to_value(&log.entry().sql_driver_log).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "operation_latency_ms",
            "sql_operation",
            "system_configuration"
        ]
    );
    assert_eq!(
        json["sql_operation"],
        serde_json::json!({"operation_detail": {"operation_type": "CLOSE_STATEMENT"}})
    );
}

#[test]
fn instants_before_the_start_count_as_zero() {
    let session = session();
    let t0 = Instant::now() + Duration::from_secs(5);
    let log = StatementTelemetryContext::begin_at(&session, OperationType::ExecuteStatement, t0)
        .finish_at(t0 - Duration::from_secs(1));
    assert_eq!(log.entry().sql_driver_log.operation_latency_ms, Some(0));
}

/// A secret planted somewhere a careless driver could put it.
fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-f0-9]{32}".prop_map(|h| format!("dapi{h}")),
        "[A-Za-z0-9]{10,20}".prop_map(|p| format!("eyJhbGciOiJIUzI1NiJ9.eyJ{p}.sig{p}")),
        "[a-z]{6,12}".prop_map(|t| format!("SELECT secret_{t} FROM table_{t}")),
        "[a-z]{6,12}".prop_map(|u| format!("/home/user_{u}/.databrickscfg")),
        "[a-z]{6,12}".prop_map(|u| format!("/Users/user_{u}/Library")),
        "[a-z]{6,12}".prop_map(|p| format!("password=pw_{p}")),
        "[a-z]{6,12}".prop_map(|p| format!("Authorization: Bearer tok_{p}")),
    ]
}

/// The part of a planted secret that must never appear in what is sent.
fn secret_core(planted: &str) -> String {
    for marker in ["secret_", "user_", "pw_", "tok_"] {
        if let Some(i) = planted.find(marker) {
            return planted[i..].split([' ', '/']).next().unwrap().to_owned();
        }
    }
    planted.to_owned()
}

fn any_operation() -> impl Strategy<Value = OperationType> {
    prop::sample::select(OperationType::ALL.to_vec())
}

proptest! {
    #[test]
    fn logs_from_contexts_round_trip_and_never_carry_planted_secrets(
        op in any_operation(),
        planted in secret(),
        frame in "[a-z_]{1,12}(::[a-z_]{1,12}){0,3}",
        polls in prop::collection::vec(0u64..5_000, 0..5),
        chunks in prop::collection::vec(0u64..5_000, 0..5),
        retries in 0usize..4,
        latency_ms in 0u64..1_000_000,
        error_prefix in "[A-Z][a-zA-Z]{0,15}",
        put_in_name in any::<bool>(),
    ) {
        let session = session();
        let t0 = Instant::now();
        let mut s = StatementTelemetryContext::begin_at(&session, op, t0);
        s.set_statement_id("stmt");
        for p in &polls { s.record_status_poll(Duration::from_millis(*p)); }
        for c in &chunks { s.record_chunk_download(Duration::from_millis(*c)); }
        for _ in 0..retries { s.record_retry(); }
        let name = if put_in_name { format!("{error_prefix}: {planted}") } else { error_prefix.clone() };
        let trace = format!("at {frame}\n  {planted}\nat {frame}::inner");
        s.record_error(ErrorInfo::new(&name).with_stack_trace(&trace));
        let log = s.finish_at(t0 + Duration::from_millis(latency_ms));

        let text = serde_json::to_string(&log).unwrap();
        let back: FrontendLog = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &log);

        let core = secret_core(&planted);
        prop_assert!(!text.contains(&core), "planted {:?} leaked: {}", core, text);
        prop_assert!(!text.contains(&planted), "planted {:?} leaked: {}", planted, text);
        // The harmless frames survive redaction.
        prop_assert!(text.contains(&format!("at {frame}")), "{}", text);
    }
}

/// `auth_type` in the C# ADBC spellings, and the `auth_mech`/`auth_flow` each implies.
#[test]
fn auth_types_use_the_csharp_adbc_spellings() {
    let expected = [
        (TelemetryAuthType::Pat, "pat", DriverAuthMech::Pat, None),
        (
            TelemetryAuthType::OAuthM2m,
            "oauth-client_credentials",
            DriverAuthMech::Oauth,
            Some(DriverAuthFlow::ClientCredentials),
        ),
        (
            TelemetryAuthType::OAuthU2m,
            "oauth-authorization_code",
            DriverAuthMech::Oauth,
            Some(DriverAuthFlow::BrowserBasedAuthentication),
        ),
        (
            TelemetryAuthType::OAuthAccessToken,
            "oauth-access_token",
            DriverAuthMech::Oauth,
            Some(DriverAuthFlow::TokenPassthrough),
        ),
        (
            TelemetryAuthType::Other,
            "other",
            DriverAuthMech::Other,
            None,
        ),
    ];
    assert_eq!(expected.len(), TelemetryAuthType::ALL.len());
    for ((auth, name, mech, flow), listed) in expected.into_iter().zip(TelemetryAuthType::ALL) {
        assert_eq!(auth, listed);
        assert_eq!(auth.as_str(), name);
        assert_ne!(name, "oauth-u2m", "no driver sends it");

        let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
            .with_auth_type(auth)
            .with_connection_parameters(DriverConnectionParameters::default())
            .build();
        let log = session.connection_opened(Duration::from_millis(1));
        let event = &log.entry().sql_driver_log;
        assert_eq!(event.auth_type.as_deref(), Some(name));
        let params = event.driver_connection_params.as_ref().unwrap();
        assert_eq!(params.auth_mech, Some(mech), "{name}");
        assert_eq!(params.auth_flow, flow, "{name}");
    }
}

/// The builder fills only what the library knows and the driver left unset; it never
/// overrides the driver, never invents the rest, and adds no parameters the driver did not give.
#[test]
fn the_builder_fills_known_connection_parameters_and_nothing_else() {
    let given = DriverConnectionParameters {
        auth_mech: Some(DriverAuthMech::Other),
        async_poll_interval_millis: Some(100),
        ..Default::default()
    };
    let session = TelemetrySessionContext::builder("d", "1")
        .with_auth_type(TelemetryAuthType::OAuthM2m)
        .with_connection_parameters(given.clone())
        .build();
    let params = session.connection_parameters().unwrap();
    assert_eq!(
        **params,
        DriverConnectionParameters {
            auth_flow: Some(DriverAuthFlow::ClientCredentials),
            ..given
        },
        "auth_mech kept as the driver gave it; only auth_flow filled"
    );

    let session = TelemetrySessionContext::builder("d", "1")
        .with_auth_type(TelemetryAuthType::Pat)
        .build();
    assert!(session.connection_parameters().is_none());

    let session = TelemetrySessionContext::builder("d", "1")
        .with_connection_parameters(DriverConnectionParameters::default())
        .build();
    assert_eq!(
        **session.connection_parameters().unwrap(),
        DriverConnectionParameters::default(),
        "without an auth type nothing is known, nothing is filled"
    );
}
