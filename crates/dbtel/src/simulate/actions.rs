//! What a simulated connection does, as the driver would record it: session open and close, and
//! one action per statement (a query, an update, a metadata call, a cancel, a failure).
//!
//! Latencies are drawn at random and applied to synthetic instants (`begin_at`, `finish_at`, ...)
//! so the events carry realistic timings without the simulation sleeping for them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::model::{
    DriverAuthFlow, DriverAuthMech, DriverConnectionParameters, DriverMode, ExecutionResultFormat,
    FrontendLog, HostDetails, OperationType, StatementType,
};
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::{ErrorInfo, TelemetryAuthType, TelemetrySessionContext};

/// The driver name the simulated sessions report.
pub(crate) const SIMULATED_DRIVER_NAME: &str = "dbtel-simulate";

/// Metadata calls, each as likely as the others.
const METADATA_CALLS: &[OperationType] = &[
    OperationType::ListCatalogs,
    OperationType::ListSchemas,
    OperationType::ListTables,
    OperationType::ListColumns,
    OperationType::ListTableTypes,
    OperationType::ListTypeInfo,
    OperationType::ListFunctions,
    OperationType::ListPrimaryKeys,
    OperationType::ListImportedKeys,
    OperationType::ListExportedKeys,
    OperationType::ListCrossReferences,
];

/// Error classes a driver reports, with a stack trace the library redacts.
const FAILURES: &[(&str, &str)] = &[
    (
        "SqlExecutionError",
        "at adbc_databricks::statement::execute (src/statement.rs:214)\nat adbc_databricks::connection::run (src/connection.rs:88)",
    ),
    (
        "OperationTimeout",
        "at adbc_databricks::poll::wait (src/poll.rs:51)",
    ),
    (
        "NetworkError",
        "at hyper::client::connect (/home/alice/.cargo/registry/hyper/src/client.rs:120)",
    ),
    (
        "CloudFetchDownloadError",
        "at adbc_databricks::cloudfetch::download (src/cloudfetch.rs:301)",
    ),
    (
        "PermissionDenied",
        "at adbc_databricks::statement::execute (src/statement.rs:214)",
    ),
];

/// One statement's worth of driver work; each produces one or two events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// A query, inline or through CloudFetch, then closing the statement.
    Query,
    /// An update, then closing the statement.
    Update,
    /// A metadata call (`LIST_*`).
    Metadata,
    /// An asynchronous query that the application cancels.
    Cancel,
    /// A statement that fails.
    Failure,
}

impl Action {
    /// Picks an action: 40% queries, 15% updates, 30% metadata calls, 5% cancels, 10% failures.
    pub(crate) fn pick(rng: &mut fastrand::Rng) -> Action {
        match rng.u32(0..100) {
            0..40 => Action::Query,
            40..55 => Action::Update,
            55..85 => Action::Metadata,
            85..90 => Action::Cancel,
            _ => Action::Failure,
        }
    }

    /// How many events the action records.
    pub(crate) fn event_count(self) -> u64 {
        match self {
            Action::Query | Action::Update | Action::Cancel => 2,
            Action::Metadata | Action::Failure => 1,
        }
    }
}

/// One simulated connection's telemetry session.
#[derive(Debug)]
pub(crate) struct SimulatedSession {
    session: Arc<TelemetrySessionContext>,
    rng: fastrand::Rng,
}

impl SimulatedSession {
    /// A session on workspace host `host` (`host:port`) with its own random stream.
    pub(crate) fn new(host: &str, workspace_id: i64, mut rng: fastrand::Rng) -> Self {
        let (host_url, port) = match host.rsplit_once(':') {
            Some((name, port)) => (name.to_owned(), port.parse().ok()),
            None => (host.to_owned(), Some(443)),
        };
        let parameters = DriverConnectionParameters {
            http_path: Some(format!("/sql/1.0/warehouses/{:016x}", rng.u64(..))),
            mode: Some(DriverMode::Sea),
            host_info: Some(HostDetails {
                host_url: Some(host_url),
                port,
                ..HostDetails::default()
            }),
            auth_mech: Some(DriverAuthMech::Pat),
            auth_flow: Some(DriverAuthFlow::TokenPassthrough),
            enable_arrow: Some(true),
            enable_direct_results: Some(true),
            rows_fetched_per_block: Some(100_000),
            socket_timeout: Some(900),
            auto_commit: Some(true),
            ..DriverConnectionParameters::default()
        };
        let session =
            TelemetrySessionContext::builder(SIMULATED_DRIVER_NAME, env!("CARGO_PKG_VERSION"))
                .with_session_id(random_id(&mut rng))
                .with_workspace_id(workspace_id)
                .with_auth_type(TelemetryAuthType::Pat)
                .with_client_app_name("dbtel simulate")
                .with_connection_parameters(parameters)
                .build();
        SimulatedSession { session, rng }
    }

    /// The session id.
    #[cfg(test)]
    pub(crate) fn id(&self) -> &str {
        self.session.session_id().unwrap_or_default()
    }

    /// The random stream of this session, to pick actions with.
    pub(crate) fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// Opening the connection: one in 30 first fails to open and is retried.
    pub(crate) fn open(&mut self) -> Vec<FrontendLog> {
        let mut events = Vec::with_capacity(2);
        if self.rng.u32(0..30) == 0 {
            let error = ErrorInfo::new("AuthenticationError")
                .with_stack_trace("at adbc_databricks::auth::login (src/auth.rs:77)");
            let latency = self.millis(200..3_000);
            events.push(self.session.connection_open_failed(latency, &error));
        }
        let latency = self.millis(80..1_500);
        events.push(self.session.connection_opened(latency));
        events
    }

    /// Closing the connection.
    pub(crate) fn close(&mut self) -> FrontendLog {
        let latency = self.millis(5..150);
        self.session.connection_closed(latency)
    }

    /// The events of `action`, [`Action::event_count`] of them.
    pub(crate) fn perform(&mut self, action: Action) -> Vec<FrontendLog> {
        match action {
            Action::Query => self.query(),
            Action::Update => self.update(),
            Action::Metadata => vec![self.metadata()],
            Action::Cancel => self.cancel(),
            Action::Failure => vec![self.failure()],
        }
    }

    fn query(&mut self) -> Vec<FrontendLog> {
        let start = Instant::now();
        let id = random_id(&mut self.rng);
        let mut statement = StatementTelemetryContext::begin_at(
            &self.session,
            OperationType::ExecuteStatement,
            start,
        );
        statement
            .set_statement_id(id.clone())
            .set_statement_type(StatementType::Query);
        let polls = self.rng.u32(0..6);
        let mut ready = self.millis(20..400);
        for _ in 0..polls {
            let poll = self.millis(30..300);
            statement.record_status_poll(poll);
            ready += poll;
        }
        statement.mark_result_ready_at(start + ready);
        let mut consumed = self.millis(5..100);
        if self.rng.u32(0..10) < 3 {
            // CloudFetch: results as external links, downloaded in chunks.
            statement
                .set_result_format(ExecutionResultFormat::ExternalLinks)
                .set_compressed(true);
            let chunks = self.rng.i32(1..=32);
            statement.set_total_chunks(chunks);
            for _ in 0..chunks {
                let download = self.millis(15..600);
                statement.record_chunk_download(download);
                consumed += download / 4;
            }
        } else {
            statement
                .set_result_format(ExecutionResultFormat::InlineArrow)
                .set_compressed(self.rng.bool());
        }
        if self.rng.u32(0..20) == 0 {
            statement.record_retry();
        }
        statement.mark_results_consumed_at(start + ready + consumed);
        let executed = statement.finish_at(start + ready + consumed);
        vec![executed, self.close_statement(id)]
    }

    fn update(&mut self) -> Vec<FrontendLog> {
        let start = Instant::now();
        let id = random_id(&mut self.rng);
        let mut statement = StatementTelemetryContext::begin_at(
            &self.session,
            OperationType::ExecuteStatement,
            start,
        );
        statement
            .set_statement_id(id.clone())
            .set_statement_type(StatementType::Update)
            .set_result_format(ExecutionResultFormat::InlineArrow);
        let mut latency = self.millis(30..800);
        for _ in 0..self.rng.u32(0..3) {
            let poll = self.millis(50..400);
            statement.record_status_poll(poll);
            latency += poll;
        }
        statement.mark_result_ready_at(start + latency);
        let executed = statement.finish_at(start + latency);
        vec![executed, self.close_statement(id)]
    }

    fn metadata(&mut self) -> FrontendLog {
        let start = Instant::now();
        let operation = METADATA_CALLS[self.rng.usize(..METADATA_CALLS.len())];
        let mut call = StatementTelemetryContext::begin_at(&self.session, operation, start);
        call.set_statement_id(random_id(&mut self.rng))
            .set_result_format(ExecutionResultFormat::InlineArrow);
        if operation == OperationType::ListTypeInfo {
            call.set_internal_call(true);
        }
        call.finish_at(start + self.millis(5..250))
    }

    fn cancel(&mut self) -> Vec<FrontendLog> {
        let start = Instant::now();
        let id = random_id(&mut self.rng);
        let mut statement = StatementTelemetryContext::begin_at(
            &self.session,
            OperationType::ExecuteStatementAsync,
            start,
        );
        statement
            .set_statement_id(id.clone())
            .set_statement_type(StatementType::Query);
        let mut latency = self.millis(20..200);
        for _ in 0..self.rng.u32(1..5) {
            let poll = self.millis(100..500);
            statement.record_status_poll(poll);
            latency += poll;
        }
        let executed = statement.finish_at(start + latency);
        let cancel_start = start + latency;
        let mut cancel = StatementTelemetryContext::begin_at(
            &self.session,
            OperationType::CancelStatement,
            cancel_start,
        );
        cancel.set_statement_id(id);
        let cancelled = cancel.finish_at(cancel_start + self.millis(5..120));
        vec![executed, cancelled]
    }

    fn failure(&mut self) -> FrontendLog {
        let start = Instant::now();
        let (name, trace) = FAILURES[self.rng.usize(..FAILURES.len())];
        let mut statement = StatementTelemetryContext::begin_at(
            &self.session,
            OperationType::ExecuteStatement,
            start,
        );
        statement
            .set_statement_id(random_id(&mut self.rng))
            .set_statement_type(StatementType::Query)
            .record_error(ErrorInfo::new(name).with_stack_trace(trace));
        if self.rng.bool() {
            statement.record_retry();
        }
        statement.finish_at(start + self.millis(10..5_000))
    }

    fn close_statement(&mut self, id: String) -> FrontendLog {
        let start = Instant::now();
        let mut close = StatementTelemetryContext::begin_at(
            &self.session,
            OperationType::CloseStatement,
            start,
        );
        close.set_statement_id(id);
        close.finish_at(start + self.millis(1..40))
    }

    fn millis(&mut self, range: std::ops::Range<u64>) -> Duration {
        Duration::from_millis(self.rng.u64(range))
    }
}

/// A random UUID-shaped id (version 4 layout).
fn random_id(rng: &mut fastrand::Rng) -> String {
    let value = rng.u128(..);
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        8 + (value & 0x3) as u8,
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use databricks_telemetry::unstable::model::FrontendLogFields;

    #[test]
    fn each_action_records_its_event_count() {
        let mut session = SimulatedSession::new("127.0.0.1:8080", 7, fastrand::Rng::with_seed(3));
        for action in [
            Action::Query,
            Action::Update,
            Action::Metadata,
            Action::Cancel,
            Action::Failure,
        ] {
            for _ in 0..20 {
                let events = session.perform(action);
                assert_eq!(events.len() as u64, action.event_count(), "{action:?}");
                for event in &events {
                    let log = &event.entry().sql_driver_log;
                    assert_eq!(log.session_id.as_deref(), Some(session.id()));
                    assert!(log.operation_latency_ms.is_some());
                }
            }
        }
        let failure = session.perform(Action::Failure).remove(0);
        let error = failure.entry().sql_driver_log.error_info.clone().unwrap();
        assert!(FAILURES
            .iter()
            .any(|(name, _)| error.error_name.as_deref() == Some(name)));
        assert!(!error.stack_trace.unwrap_or_default().contains("alice"));
    }

    #[test]
    fn ids_look_like_uuid_v4() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            let id = random_id(&mut rng);
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{id}"
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(
                matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
                "{id}"
            );
        }
    }
}
