//! [`Summary`]: what a capture holds, tallied one frontend log at a time, and its report.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
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

/// The most distinct session ids tallied one by one; events of further sessions are counted
/// together under [`OTHER_SESSIONS`], so distinct ids cannot grow the tallies without bound.
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// The session row that counts the events of sessions beyond [`MAX_SESSIONS`].
pub(crate) const OTHER_SESSIONS: &str = "(other sessions)";

/// The most distinct error names tallied one by one; further ones are counted under
/// [`OTHER_ERRORS`].
pub(crate) const MAX_ERROR_NAMES: usize = 1_000;

/// The error row that counts the errors whose names are beyond [`MAX_ERROR_NAMES`].
pub(crate) const OTHER_ERRORS: &str = "(other errors)";

/// The longest session id or error name kept, in bytes: longer ones are cut (at a character
/// boundary, ending in `…`), and those alike up to the cut are counted together.
pub(crate) const MAX_SHOWN_BYTES: usize = 256;

/// The most distinct statement ids remembered (as 64-bit hashes, across all sessions) to count
/// each session's statements; later new ones are counted in `statement_ids_untracked`.
pub(crate) const MAX_TRACKED_STATEMENTS: usize = 200_000;

/// The longest latest event kept for the page, in bytes: a longer one is cut (and then shown
/// as text, not as JSON).
pub(crate) const MAX_RECENT_JSON_BYTES: usize = 64 * 1024;

/// The most warnings kept with one latest event.
pub(crate) const MAX_RECENT_WARNINGS: usize = 100;

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
    statements_tracked: usize,
    folded: FoldedReport,
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
    /// Hashes of its distinct statement ids.
    statements: HashSet<u64>,
}

/// `text` cut to [`MAX_SHOWN_BYTES`] (at a character boundary, ending in `…`), and whether it
/// was cut.
pub(crate) fn shown(text: &str) -> (String, bool) {
    if text.len() <= MAX_SHOWN_BYTES {
        return (text.to_owned(), false);
    }
    let mut end = MAX_SHOWN_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}…", &text[..end]), true)
}

/// Cuts `text` to at most `max` bytes at a character boundary; whether it was cut.
fn cut_to(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
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
        let end = if json.len() > MAX_RECENT_JSON_BYTES {
            self.folded.strings_cut += 1;
            let mut end = MAX_RECENT_JSON_BYTES;
            while !json.is_char_boundary(end) {
                end -= 1;
            }
            end
        } else {
            json.len()
        };
        let warnings = warnings.map(|mut warnings| {
            warnings.truncate(MAX_RECENT_WARNINGS);
            for warning in &mut warnings {
                let cut = cut_to(&mut warning.path, MAX_SHOWN_BYTES)
                    | cut_to(&mut warning.message, MAX_SHOWN_BYTES);
                self.folded.strings_cut += u64::from(cut);
            }
            warnings
        });
        self.recent.push_back(RecentEvent {
            json: json[..end].to_owned(),
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
            let (name, cut) = shown(error.error_name.as_deref().unwrap_or(NO_ERROR_NAME));
            self.folded.strings_cut += u64::from(cut);
            let key = if self.errors.contains_key(&name) || self.errors.len() < MAX_ERROR_NAMES {
                name
            } else {
                self.folded.error_events += 1;
                OTHER_ERRORS.to_owned()
            };
            *self.errors.entry(key).or_default() += 1;
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
                let (id, cut) = shown(id.as_ref());
                self.folded.strings_cut += u64::from(cut);
                let key = if self.sessions.contains_key(&id) || self.sessions.len() < MAX_SESSIONS {
                    id
                } else {
                    self.folded.session_events += 1;
                    OTHER_SESSIONS.to_owned()
                };
                let session = self.sessions.entry(key).or_default();
                session.events += 1;
                session.errors += u64::from(failed);
                if let Some(statement) = &event.sql_statement_id {
                    let mut hasher = DefaultHasher::new();
                    statement.hash(&mut hasher);
                    let hash = hasher.finish();
                    if !session.statements.contains(&hash) {
                        if self.statements_tracked < MAX_TRACKED_STATEMENTS {
                            session.statements.insert(hash);
                            self.statements_tracked += 1;
                        } else {
                            self.folded.statement_ids_untracked += 1;
                        }
                    }
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
            session_count: sessions
                .iter()
                .filter(|session| session.session_id != OTHER_SESSIONS)
                .count() as u64,
            events_without_session: self.events_without_session,
            sessions,
            folded: self.folded.clone(),
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
    /// What the bounded tallies folded together or cut.
    pub(crate) folded: FoldedReport,
}

/// What the tallies folded together or cut to stay bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct FoldedReport {
    /// Events counted under [`OTHER_SESSIONS`] (their session came after [`MAX_SESSIONS`]
    /// others).
    pub(crate) session_events: u64,
    /// Errors counted under [`OTHER_ERRORS`] (their name came after [`MAX_ERROR_NAMES`]
    /// others).
    pub(crate) error_events: u64,
    /// Statement ids not remembered (past [`MAX_TRACKED_STATEMENTS`]), so not counted in
    /// their session's statements.
    pub(crate) statement_ids_untracked: u64,
    /// Strings cut to [`MAX_SHOWN_BYTES`] (session ids, error names, warnings) or latest
    /// events cut to [`MAX_RECENT_JSON_BYTES`].
    pub(crate) strings_cut: u64,
}

impl FoldedReport {
    /// Whether anything was folded or cut.
    pub(crate) fn any(&self) -> bool {
        *self != FoldedReport::default()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn log(session: &str, error: &str, statement: &str) -> FrontendLog {
        let json = serde_json::json!({
            "frontend_log_event_id": "e",
            "context": {"client_context": {"timestamp_millis": 1}},
            "entry": {"sql_driver_log": {
                "session_id": session,
                "sql_statement_id": statement,
                "error_info": {"error_name": error}
            }}
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn distinct_sessions_and_error_names_past_the_caps_are_folded_and_counted() {
        let mut summary = Summary::default();
        let extra = 25;
        for i in 0..MAX_SESSIONS + extra {
            summary.add(&log(&format!("s{i}"), &format!("E{i}"), &format!("st{i}")));
        }
        // A session already kept still gets its own events.
        summary.add(&log("s0", "E0", "st-again"));
        let report = summary.report(Path::new("x"));
        assert_eq!(report.sessions.len(), MAX_SESSIONS + 1);
        assert_eq!(report.session_count, MAX_SESSIONS as u64);
        let other = report
            .sessions
            .iter()
            .find(|session| session.session_id == OTHER_SESSIONS)
            .unwrap();
        assert_eq!(other.events, extra as u64);
        assert_eq!(report.folded.session_events, extra as u64);
        let s0 = report
            .sessions
            .iter()
            .find(|s| s.session_id == "s0")
            .unwrap();
        assert_eq!((s0.events, s0.statements), (2, 2));
        assert_eq!(report.errors.len(), MAX_ERROR_NAMES + 1);
        let other_errors = report
            .errors
            .iter()
            .find(|error| error.error_name == OTHER_ERRORS)
            .unwrap();
        assert_eq!(
            other_errors.count,
            (MAX_SESSIONS + extra - MAX_ERROR_NAMES) as u64
        );
        assert_eq!(report.folded.error_events, other_errors.count);
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let (short, cut) = shown("abc");
        assert_eq!((short.as_str(), cut), ("abc", false));
        let long = "é".repeat(1_000);
        let (kept, cut) = shown(&long);
        assert!(cut && kept.len() <= MAX_SHOWN_BYTES && kept.ends_with('…'));
        let mut summary = Summary::keeping_recent(1);
        summary.remember(&"x".repeat(MAX_RECENT_JSON_BYTES + 10), None);
        assert_eq!(
            summary.recent().next().unwrap().json.len(),
            MAX_RECENT_JSON_BYTES
        );
        assert_eq!(summary.report(Path::new("x")).folded.strings_cut, 1);
    }
}
