//! The statement context: one operation, measured from begin to finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{
    ChunkDetails, ExecutionResultFormat, FrontendLog, OperationDetail, OperationType,
    ResultLatency, SqlExecutionEvent, StatementType,
};

use super::error::ErrorInfo;
use super::session::TelemetrySessionContext;

/// Whole milliseconds of `d`, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Signed nanoseconds from `start` to `at` (negative before it), saturating at about 292 years.
pub(super) fn offset_nanos(start: Instant, at: Instant) -> i64 {
    match at.checked_duration_since(start) {
        Some(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        None => {
            let before = start.saturating_duration_since(at).as_nanos();
            i64::try_from(before).map_or(i64::MIN + 1, |b| -b)
        }
    }
}

/// Whole milliseconds of a span of `nanos`; a negative span is no time at all.
fn span_millis(nanos: i64) -> i64 {
    nanos.max(0) / 1_000_000
}

/// One operation (a statement, a metadata call, a close or a cancel), measured with a monotonic
/// clock from [`begin`](Self::begin) to [`finish`](Self::finish): a single-owner `&mut`
/// builder. A driver uses [`StatementRecorder`](crate::StatementRecorder) instead (from
/// [`TelemetryClientHandle::begin`](crate::TelemetryClientHandle::begin)), which makes the same
/// event for the same recordings and can be shared with tasks and threads.
///
/// It records only what the driver tells it, and the frontend log it turns into carries only
/// what was recorded. Every `*_at` method takes the instant explicitly (for tests and for
/// drivers that already hold one); the others use [`Instant::now`].
///
/// ```
/// # use databricks_telemetry::unstable::model::FrontendLogFields;
/// use std::time::{Duration, Instant};
/// use databricks_telemetry::TelemetrySessionContext;
/// use databricks_telemetry::model::{ExecutionResultFormat, OperationType};
/// use databricks_telemetry::unstable::StatementTelemetryContext;
///
/// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
/// let start = Instant::now();
/// let mut statement =
///     StatementTelemetryContext::begin_at(&session, OperationType::ExecuteStatement, start);
/// statement.set_statement_id("01f0-stmt");
/// statement.set_result_format(ExecutionResultFormat::ExternalLinks);
/// statement.record_status_poll(Duration::from_millis(15));
/// statement.mark_result_ready_at(start + Duration::from_millis(40));
/// statement.record_chunk_download(Duration::from_millis(25));
/// statement.record_chunk_download(Duration::from_millis(60));
/// statement.mark_results_consumed_at(start + Duration::from_millis(140));
/// let log = statement.finish_at(start + Duration::from_millis(150));
///
/// # let event = &log.entry().sql_driver_log;
/// # assert_eq!(event.operation_latency_ms, Some(150));
/// # let chunks = event.sql_operation.as_ref().unwrap().chunk_details.as_ref().unwrap();
/// # assert_eq!(chunks.slowest_chunk_latency_millis, Some(60));
/// # assert_eq!(chunks.total_chunks_iterated, Some(2));
/// ```
#[derive(Debug, Clone)]
#[must_use = "the operation's event is made by `finish`"]
pub struct StatementTelemetryContext {
    session: Arc<TelemetrySessionContext>,
    operation: OperationType,
    start: Instant,
    tally: Tally,
}

/// What an operation recorded between begin and finish: the part of a statement's event that
/// the single-owner [`StatementTelemetryContext`] and the shared
/// [`StatementRecorder`](super::StatementRecorder) both fill, and turn into the event the same
/// way ([`Tally::into_log`]).
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    pub(super) statement_id: Option<String>,
    pub(super) statement_type: Option<StatementType>,
    pub(super) result_format: Option<ExecutionResultFormat>,
    pub(super) compressed: Option<bool>,
    pub(super) internal_call: Option<bool>,
    pub(super) retry_count: Option<i64>,
    pub(super) status_polls: Option<(i32, Duration)>,
    /// Nanoseconds from the start ([`offset_nanos`]).
    pub(super) result_ready: Option<i64>,
    pub(super) results_consumed: Option<i64>,
    pub(super) chunks: Option<ChunkTally>,
    pub(super) error: Option<ErrorInfo>,
}

/// CloudFetch downloads seen so far.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ChunkTally {
    pub(super) initial: Option<Duration>,
    pub(super) slowest: Option<Duration>,
    pub(super) sum: Duration,
    pub(super) iterated: i32,
    pub(super) present: Option<i32>,
}

impl StatementTelemetryContext {
    /// Starts measuring one operation of `session` now.
    pub fn begin(session: &Arc<TelemetrySessionContext>, operation: OperationType) -> Self {
        Self::begin_at(session, operation, Instant::now())
    }

    /// Starts measuring one operation of `session` that began at `start` (a monotonic instant).
    pub fn begin_at(
        session: &Arc<TelemetrySessionContext>,
        operation: OperationType,
        start: Instant,
    ) -> Self {
        StatementTelemetryContext {
            session: Arc::clone(session),
            operation,
            start,
            tally: Tally::new(operation),
        }
    }

    /// The operation being measured.
    pub fn operation(&self) -> OperationType {
        self.operation
    }

    /// The session this operation belongs to.
    pub fn session(&self) -> &Arc<TelemetrySessionContext> {
        &self.session
    }

    /// The statement id the server assigned.
    pub fn set_statement_id(&mut self, id: impl Into<String>) -> &mut Self {
        self.tally.statement_id = Some(id.into());
        self
    }

    /// The kind of statement (metadata calls are `METADATA` already).
    pub fn set_statement_type(&mut self, statement_type: StatementType) -> &mut Self {
        self.tally.statement_type = Some(statement_type);
        self
    }

    /// How results came back.
    pub fn set_result_format(&mut self, format: ExecutionResultFormat) -> &mut Self {
        self.tally.result_format = Some(format);
        self
    }

    /// Whether results were compressed.
    pub fn set_compressed(&mut self, compressed: bool) -> &mut Self {
        self.tally.compressed = Some(compressed);
        self
    }

    /// Whether the driver made this call for itself rather than for the application.
    pub fn set_internal_call(&mut self, internal: bool) -> &mut Self {
        self.tally.internal_call = Some(internal);
        self
    }

    /// One retry of the operation.
    pub fn record_retry(&mut self) -> &mut Self {
        *self.tally.retry_count.get_or_insert(0) += 1;
        self
    }

    /// One status poll that took `latency`.
    pub fn record_status_poll(&mut self, latency: Duration) -> &mut Self {
        let (count, total) = self.tally.status_polls.get_or_insert((0, Duration::ZERO));
        *count = count.saturating_add(1);
        *total = total.saturating_add(latency);
        self
    }

    /// The first results are ready now.
    pub fn mark_result_ready(&mut self) -> &mut Self {
        self.mark_result_ready_at(Instant::now())
    }

    /// The first results were ready at `at`.
    pub fn mark_result_ready_at(&mut self, at: Instant) -> &mut Self {
        self.tally.result_ready = Some(offset_nanos(self.start, at));
        self
    }

    /// The caller has consumed the results now.
    pub fn mark_results_consumed(&mut self) -> &mut Self {
        self.mark_results_consumed_at(Instant::now())
    }

    /// The caller had consumed the results at `at`.
    pub fn mark_results_consumed_at(&mut self, at: Instant) -> &mut Self {
        self.tally.results_consumed = Some(offset_nanos(self.start, at));
        self
    }

    /// How many CloudFetch chunks the result has.
    pub fn set_total_chunks(&mut self, present: i32) -> &mut Self {
        self.tally
            .chunks
            .get_or_insert_with(ChunkTally::default)
            .present = Some(present);
        self
    }

    /// One CloudFetch chunk was downloaded in `latency`. The first one is the initial chunk.
    pub fn record_chunk_download(&mut self, latency: Duration) -> &mut Self {
        let tally = self.tally.chunks.get_or_insert_with(ChunkTally::default);
        tally.initial.get_or_insert(latency);
        tally.slowest = Some(tally.slowest.map_or(latency, |s| s.max(latency)));
        tally.sum = tally.sum.saturating_add(latency);
        tally.iterated = tally.iterated.saturating_add(1);
        self
    }

    /// The operation failed.
    pub fn record_error(&mut self, error: ErrorInfo) -> &mut Self {
        self.tally.error = Some(error);
        self
    }

    /// Ends the measurement now and builds the event.
    pub fn finish(self) -> FrontendLog {
        self.finish_at(Instant::now())
    }

    /// Ends the measurement at `end` and builds the event. Instants before `start` count as no
    /// time at all.
    pub fn finish_at(self, end: Instant) -> FrontendLog {
        self.tally
            .into_log(&self.session, self.operation, self.start, end)
    }
}

impl Tally {
    /// Nothing recorded yet: metadata calls are `METADATA` statements from the start.
    pub(super) fn new(operation: OperationType) -> Self {
        Tally {
            statement_type: operation.is_metadata().then_some(StatementType::Metadata),
            ..Tally::default()
        }
    }

    /// The event of `operation`, begun at `start` and ended at `end`, carrying what was recorded.
    /// Instants before `start` count as no time at all.
    pub(super) fn into_log(
        self,
        session: &TelemetrySessionContext,
        operation: OperationType,
        start: Instant,
        end: Instant,
    ) -> FrontendLog {
        let result_latency =
            (self.result_ready.is_some() || self.results_consumed.is_some()).then(|| {
                ResultLatency {
                    result_set_ready_latency_millis: self.result_ready.map(span_millis),
                    result_set_consumption_latency_millis: self
                        .results_consumed
                        .map(|c| span_millis(c.saturating_sub(self.result_ready.unwrap_or(0)))),
                }
            });
        let chunk_details = self.chunks.map(|t| ChunkDetails {
            initial_chunk_latency_millis: t.initial.map(millis),
            slowest_chunk_latency_millis: t.slowest.map(millis),
            total_chunks_present: t.present,
            total_chunks_iterated: (t.iterated > 0 || t.present.is_some()).then_some(t.iterated),
            sum_chunks_download_time_millis: (t.iterated > 0).then(|| millis(t.sum)),
        });
        let operation_detail = OperationDetail {
            n_operation_status_calls: self.status_polls.map(|(n, _)| n),
            operation_status_latency_millis: self.status_polls.map(|(_, total)| millis(total)),
            operation_type: Some(operation),
            is_internal_call: self.internal_call,
        };

        // One expression, so the event is built where it is returned rather than copied into
        // its envelope.
        let sql_operation = SqlExecutionEvent {
            statement_type: self.statement_type,
            is_compressed: self.compressed,
            execution_result: self.result_format,
            chunk_id: None,
            retry_count: self.retry_count,
            chunk_details,
            result_latency,
            operation_detail: Some(operation_detail),
            java_uses_patched_arrow: None,
        };
        session.statement_log(
            self.statement_id,
            Some(span_millis(offset_nanos(start, end))),
            sql_operation,
            self.error.map(ErrorInfo::into_wire),
            end,
        )
    }
}
