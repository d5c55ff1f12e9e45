//! [`Summary`]: what a capture holds, tallied one frontend log at a time, and its report.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::unstable::model::SqlDriverLog;
use serde::Serialize;

use super::percentiles::{Bucket, Distribution, Percentiles};
use super::SkippedLines;

/// The name used for events that carry no operation type.
pub(crate) const NO_OPERATION: &str = "(none)";

/// The name used for errors that carry no `error_name`.
pub(crate) const NO_ERROR_NAME: &str = "(unnamed)";

/// How many seconds [`InspectReport::events_per_second`] covers: the latest ones with events.
pub(crate) const MAX_TIMELINE_SECONDS: usize = 3_600;

/// Tallies of a capture, filled by [`add`](Self::add); [`report`](Self::report) turns them
/// into the report.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    events: u64,
    operations: BTreeMap<String, OperationTally>,
    errors: BTreeMap<String, u64>,
    result_formats: BTreeMap<String, u64>,
    statement_types: BTreeMap<String, u64>,
    operation_latency_ms: Distribution,
    result_ready_ms: Distribution,
    result_consumption_ms: Distribution,
    events_per_second: BTreeMap<i64, u64>,
    cloudfetch: CloudFetchTally,
    sessions: BTreeMap<String, SessionTally>,
    events_without_session: u64,
    first_timestamp_ms: Option<i64>,
    last_timestamp_ms: Option<i64>,
    skipped: SkippedLines,
    recent: VecDeque<RecentEvent>,
    max_recent: usize,
}

/// One of the latest events, as sent, with the warnings it raised when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecentEvent {
    /// The frontend log exactly as sent (one `protoLogs` string).
    pub(crate) json: String,
    /// The departures from the contract it showed: known for what an endpoint accepted,
    /// `None` for a capture line (worked out when the page is written).
    pub(crate) warnings: Option<Vec<EventWarning>>,
}

/// One departure from the contract in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EventWarning {
    /// Its kind, e.g. `unknown_field`.
    pub(crate) kind: String,
    /// Where, e.g. `$.entry().sql_driver_log.surprise`.
    pub(crate) path: String,
    /// What is wrong.
    pub(crate) message: String,
}

#[derive(Debug, Default)]
struct OperationTally {
    events: u64,
    errors: u64,
    latencies_ms: Distribution,
}

#[derive(Debug, Default)]
struct CloudFetchTally {
    statements: u64,
    chunks_present: i64,
    chunks_iterated: i64,
    download_ms_total: i64,
    chunks_per_statement: Distribution,
    initial_chunk_latency_ms: Distribution,
    slowest_chunk_latency_ms: Distribution,
    download_ms: Distribution,
}

#[derive(Debug, Default)]
struct SessionTally {
    events: u64,
    errors: u64,
    statements: BTreeSet<String>,
}

impl Summary {
    /// An empty summary that also keeps the latest `max_recent` events given to
    /// [`remember`](Self::remember).
    pub(crate) fn keeping_recent(max_recent: usize) -> Self {
        Summary {
            max_recent,
            ..Summary::default()
        }
    }

    /// Keeps `json` among the latest events (the oldest kept is dropped past the limit given to
    /// [`keeping_recent`](Self::keeping_recent); nothing is kept without one).
    pub(crate) fn remember(&mut self, json: &str, warnings: Option<Vec<EventWarning>>) {
        if self.max_recent == 0 {
            return;
        }
        if self.recent.len() == self.max_recent {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentEvent {
            json: json.to_owned(),
            warnings,
        });
    }

    /// Logs given so far: counted ones and skipped ones.
    pub(crate) fn seen(&self) -> u64 {
        self.events + self.skipped.count
    }

    /// The latest events remembered, oldest first.
    pub(crate) fn recent(&self) -> impl Iterator<Item = &RecentEvent> {
        self.recent.iter()
    }

    /// Counts one frontend log.
    pub(crate) fn add(&mut self, log: &FrontendLog) {
        let event = &log.entry().sql_driver_log;
        self.events += 1;
        if let Some(at) = log.context().client_context.timestamp_millis {
            self.first_timestamp_ms = Some(self.first_timestamp_ms.map_or(at, |t| t.min(at)));
            self.last_timestamp_ms = Some(self.last_timestamp_ms.map_or(at, |t| t.max(at)));
            *self
                .events_per_second
                .entry(at.div_euclid(1000))
                .or_default() += 1;
            if self.events_per_second.len() > MAX_TIMELINE_SECONDS {
                self.events_per_second.pop_first();
            }
        }

        let failed = event.error_info.is_some();
        let operation = self.operations.entry(operation_name(event)).or_default();
        operation.events += 1;
        operation.errors += u64::from(failed);
        if let Some(latency) = event.operation_latency_ms {
            operation.latencies_ms.add(latency);
            self.operation_latency_ms.add(latency);
        }

        if let Some(error) = &event.error_info {
            let name = error.error_name.as_deref().unwrap_or(NO_ERROR_NAME);
            *self.errors.entry(name.to_owned()).or_default() += 1;
        }

        if let Some(sql) = &event.sql_operation {
            if let Some(statement_type) = sql.statement_type {
                *self
                    .statement_types
                    .entry(statement_type.as_str().to_owned())
                    .or_default() += 1;
            }
            if let Some(latency) = &sql.result_latency {
                if let Some(ready) = latency.result_set_ready_latency_millis {
                    self.result_ready_ms.add(ready);
                }
                if let Some(consumption) = latency.result_set_consumption_latency_millis {
                    self.result_consumption_ms.add(consumption);
                }
            }
            if let Some(format) = sql.execution_result {
                *self
                    .result_formats
                    .entry(format.as_str().to_owned())
                    .or_default() += 1;
            }
            if let Some(chunks) = &sql.chunk_details {
                let tally = &mut self.cloudfetch;
                tally.statements += 1;
                tally.chunks_present += i64::from(chunks.total_chunks_present.unwrap_or(0));
                let iterated = i64::from(chunks.total_chunks_iterated.unwrap_or(0));
                tally.chunks_iterated += iterated;
                tally.chunks_per_statement.add(iterated);
                tally.download_ms_total = tally
                    .download_ms_total
                    .saturating_add(chunks.sum_chunks_download_time_millis.unwrap_or(0));
                if let Some(download) = chunks.sum_chunks_download_time_millis {
                    tally.download_ms.add(download);
                }
                if let Some(initial) = chunks.initial_chunk_latency_millis {
                    tally.initial_chunk_latency_ms.add(initial);
                }
                if let Some(slowest) = chunks.slowest_chunk_latency_millis {
                    tally.slowest_chunk_latency_ms.add(slowest);
                }
            }
        }

        match &event.session_id {
            Some(id) => {
                let session = self.sessions.entry(id.to_string()).or_default();
                session.events += 1;
                session.errors += u64::from(failed);
                if let Some(statement) = &event.sql_statement_id {
                    session.statements.insert(statement.clone());
                }
            }
            None => self.events_without_session += 1,
        }
    }

    /// Counts a line that was skipped, remembering the first.
    pub(crate) fn skip_line(&mut self, line: usize, reason: String) {
        self.skipped.count += 1;
        self.skipped.first.get_or_insert((line, reason));
    }

    /// The report, naming `file`.
    pub(crate) fn report(&self, file: &Path) -> InspectReport {
        let mut operations: Vec<OperationReport> = self
            .operations
            .iter()
            .map(|(name, tally)| OperationReport {
                operation_type: name.clone(),
                events: tally.events,
                errors: tally.errors,
                latency_ms: tally.latencies_ms.percentiles(),
            })
            .collect();
        operations.sort_by(|a, b| {
            b.events
                .cmp(&a.events)
                .then(a.operation_type.cmp(&b.operation_type))
        });

        let mut errors: Vec<ErrorReport> = self
            .errors
            .iter()
            .map(|(name, &count)| ErrorReport {
                error_name: name.clone(),
                count,
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.error_name.cmp(&b.error_name)));

        let mut sessions: Vec<SessionReport> = self
            .sessions
            .iter()
            .map(|(id, tally)| SessionReport {
                session_id: id.clone(),
                events: tally.events,
                statements: tally.statements.len() as u64,
                errors: tally.errors,
            })
            .collect();
        sessions.sort_by(|a, b| {
            b.events
                .cmp(&a.events)
                .then(a.session_id.cmp(&b.session_id))
        });

        let cloudfetch = &self.cloudfetch;
        InspectReport {
            file: file.display().to_string(),
            events: self.events,
            skipped_lines: self.skipped.count,
            first_skipped_line: self
                .skipped
                .first
                .clone()
                .map(|(line, reason)| SkippedLineReport { line, reason }),
            span_ms: self
                .first_timestamp_ms
                .zip(self.last_timestamp_ms)
                .map(|(first, last)| last - first),
            operations,
            errors,
            result_formats: self.result_formats.clone(),
            cloudfetch: CloudFetchReport {
                statements: cloudfetch.statements,
                chunks_present: cloudfetch.chunks_present,
                chunks_iterated: cloudfetch.chunks_iterated,
                download_ms_total: cloudfetch.download_ms_total,
                chunks_per_statement: cloudfetch.chunks_per_statement.percentiles(),
                initial_chunk_latency_ms: cloudfetch.initial_chunk_latency_ms.percentiles(),
                slowest_chunk_latency_ms: cloudfetch.slowest_chunk_latency_ms.percentiles(),
            },
            statement_types: self.statement_types.clone(),
            latency_histograms: vec![
                LatencyHistogram::of(
                    "operation_latency",
                    "operation latency (operation_latency_ms)",
                    &self.operation_latency_ms,
                ),
                LatencyHistogram::of(
                    "result_ready",
                    "result ready (result_set_ready_latency_millis)",
                    &self.result_ready_ms,
                ),
                LatencyHistogram::of(
                    "result_consumption",
                    "result consumption (result_set_consumption_latency_millis)",
                    &self.result_consumption_ms,
                ),
                LatencyHistogram::of(
                    "chunk_download",
                    "chunk download per statement (sum_chunks_download_time_millis)",
                    &cloudfetch.download_ms,
                ),
            ],
            events_per_second: self
                .events_per_second
                .iter()
                .map(|(&second, &count)| [second, count as i64])
                .collect(),
            session_count: sessions.len() as u64,
            events_without_session: self.events_without_session,
            sessions,
        }
    }
}

/// The operation type an event is counted under: its `operation_detail.operation_type`, else
/// `VOLUME_<type>` for a volume operation, else [`NO_OPERATION`].
fn operation_name(event: &SqlDriverLog) -> String {
    let operation = event
        .sql_operation
        .as_ref()
        .and_then(|sql| sql.operation_detail.as_ref())
        .and_then(|detail| detail.operation_type);
    if let Some(operation) = operation {
        return operation.as_str().to_owned();
    }
    match event
        .vol_operation
        .as_ref()
        .and_then(|v| v.volume_operation_type)
    {
        Some(volume) => format!("VOLUME_{}", volume.as_str()),
        None => NO_OPERATION.to_owned(),
    }
}

/// What `dbtel inspect --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InspectReport {
    /// The capture read.
    pub(crate) file: String,
    /// Frontend logs read.
    pub(crate) events: u64,
    /// Lines skipped under `--skip-invalid`.
    pub(crate) skipped_lines: u64,
    /// The first skipped line, if any.
    pub(crate) first_skipped_line: Option<SkippedLineReport>,
    /// Milliseconds from the earliest to the latest event timestamp.
    pub(crate) span_ms: Option<i64>,
    /// Events, errors and latency per operation type, the most frequent first.
    pub(crate) operations: Vec<OperationReport>,
    /// Failed events by error name, the most frequent first.
    pub(crate) errors: Vec<ErrorReport>,
    /// Statements by result format (`execution_result`).
    pub(crate) result_formats: BTreeMap<String, u64>,
    /// CloudFetch chunk figures over the statements that carry `chunk_details`.
    pub(crate) cloudfetch: CloudFetchReport,
    /// Distinct session ids.
    pub(crate) session_count: u64,
    /// Events that carry no session id.
    pub(crate) events_without_session: u64,
    /// Per-session counts, the busiest first.
    pub(crate) sessions: Vec<SessionReport>,
    /// Statements by `statement_type`.
    pub(crate) statement_types: BTreeMap<String, u64>,
    /// Distributions of four latencies, in milliseconds: operation latency (every event),
    /// result set ready and consumption, and chunk download time per CloudFetch statement.
    pub(crate) latency_histograms: Vec<LatencyHistogram>,
    /// `[unix second, events]` by event timestamp, for the latest
    /// [`MAX_TIMELINE_SECONDS`] seconds that had events, in order.
    pub(crate) events_per_second: Vec<[i64; 2]>,
}

/// One latency's distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LatencyHistogram {
    /// A stable name, e.g. `result_ready`.
    pub(crate) name: &'static str,
    /// What it measures, for people.
    pub(crate) label: &'static str,
    /// Its percentiles.
    pub(crate) percentiles: Percentiles,
    /// Its buckets (see [`Distribution::histogram`]).
    pub(crate) buckets: Vec<Bucket>,
}

impl LatencyHistogram {
    fn of(name: &'static str, label: &'static str, distribution: &Distribution) -> Self {
        LatencyHistogram {
            name,
            label,
            percentiles: distribution.percentiles(),
            buckets: distribution.histogram(),
        }
    }
}

/// A skipped line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SkippedLineReport {
    /// Its 1-based number.
    pub(crate) line: usize,
    /// Why it is not a frontend log.
    pub(crate) reason: String,
}

/// One operation type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OperationReport {
    /// The wire name, e.g. `EXECUTE_STATEMENT`.
    pub(crate) operation_type: String,
    /// Events of this type.
    pub(crate) events: u64,
    /// Of which carried `error_info`.
    pub(crate) errors: u64,
    /// `operation_latency_ms` percentiles.
    pub(crate) latency_ms: Percentiles,
}

/// One error name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ErrorReport {
    /// `error_info.error_name`.
    pub(crate) error_name: String,
    /// Events that carried it.
    pub(crate) count: u64,
}

/// CloudFetch chunk figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CloudFetchReport {
    /// Statements with `chunk_details`.
    pub(crate) statements: u64,
    /// Sum of `total_chunks_present`.
    pub(crate) chunks_present: i64,
    /// Sum of `total_chunks_iterated`.
    pub(crate) chunks_iterated: i64,
    /// Sum of `sum_chunks_download_time_millis`.
    pub(crate) download_ms_total: i64,
    /// Chunks iterated per statement.
    pub(crate) chunks_per_statement: Percentiles,
    /// `initial_chunk_latency_millis` percentiles.
    pub(crate) initial_chunk_latency_ms: Percentiles,
    /// `slowest_chunk_latency_millis` percentiles.
    pub(crate) slowest_chunk_latency_ms: Percentiles,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SessionReport {
    /// The session id.
    pub(crate) session_id: String,
    /// Events of the session.
    pub(crate) events: u64,
    /// Distinct statement ids among them.
    pub(crate) statements: u64,
    /// Events that carried `error_info`.
    pub(crate) errors: u64,
}
