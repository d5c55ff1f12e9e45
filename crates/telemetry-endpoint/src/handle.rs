//! [`EndpointHandle`]: the endpoint's shared state, and the calls to read and steer it.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::auth::BearerToken;
use crate::fault::ActiveFault;
use crate::validate::{Deviation, ValidLog};
use crate::{EndpointConfig, EndpointStats, FaultKind, FeatureFlagAnswer, RecordedRequest};
use crate::{Extension, Fault, Mode, PathStats};

/// How many distinct paths the request counts keep; requests on further paths are counted
/// together under [`OTHER_PATHS`], so random paths cannot grow the stats without bound.
pub const MAX_DISTINCT_PATHS: usize = 64;

/// The stats key for requests on paths beyond [`MAX_DISTINCT_PATHS`].
pub const OTHER_PATHS: &str = "(other paths)";

/// How many distinct (kind, path) pairs the warning counts keep; further paths of a kind are
/// counted under [`OTHER_PATHS`], so unknown field names cannot grow the stats without bound.
pub const MAX_WARNING_PATHS: usize = 256;

/// The longest warning path kept in the stats, in bytes: a longer one (a long unknown field
/// name) is cut at a character boundary and ends in `…`, so a few uploads cannot make the
/// warning counts large.
pub const MAX_WARNING_PATH_BYTES: usize = 256;

/// How many requests [`EndpointHandle::requests`] keeps; older ones are dropped.
pub const MAX_RECORDED_REQUESTS: usize = 100_000;

/// The most bytes of accepted logs kept in memory (besides the count limit of
/// [`EndpointConfig::with_max_stored_logs`]); the oldest are evicted first.
pub const MAX_STORED_LOG_BYTES: usize = 96 * 1024 * 1024;

/// The most bytes the request log keeps (each request's method, path and recorded headers);
/// the oldest requests are dropped first.
pub const MAX_RECORDED_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// The most distinct event ids remembered for duplicate detection; later new ids are counted in
/// `event_ids_untracked`.
pub const MAX_TRACKED_EVENT_IDS: usize = 500_000;

/// A cheap, cloneable handle on a running endpoint's state: what it has received, and its
/// fault and feature-flag settings.
///
/// [`TelemetryEndpoint`](crate::TelemetryEndpoint) offers the same calls; use a handle directly
/// with [`serve_on`](crate::serve_on) on your own runtime.
#[derive(Clone)]
pub struct EndpointHandle {
    shared: Arc<Shared>,
}

/// Shows the counters only: the stored logs and requests can be large, and the token is secret.
impl fmt::Debug for EndpointHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("EndpointHandle")
            .field("token", &self.shared.token)
            .field("max_stored_logs", &self.shared.max_stored_logs)
            .field("logs_stored", &inner.logs.len())
            .field("requests_recorded", &inner.requests.len())
            .field("fault", &inner.fault)
            .field("feature_flags", &inner.feature_flags)
            .field("header_read_timeout", &self.shared.header_read_timeout)
            .field("body_read_timeout", &self.shared.body_read_timeout)
            .finish()
    }
}

/// A body being read: counted in `bodies_being_read` until dropped.
#[derive(Debug)]
pub(crate) struct BodyBeingRead(EndpointHandle);

impl Drop for BodyBeingRead {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.stats.bodies_being_read = inner.stats.bodies_being_read.saturating_sub(1);
    }
}

struct Shared {
    token: Option<BearerToken>,
    max_stored_logs: usize,
    mode: Mode,
    extension: Option<Arc<dyn Extension>>,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    max_connections: usize,
    body_budget_bytes: usize,
    min_body_rate: u64,
    min_body_rate_window: Duration,
    local_requests_only: bool,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    stats: EndpointStats,
    event_ids: HashSet<String>,
    logs: VecDeque<String>,
    log_bytes: usize,
    requests: VecDeque<RecordedRequest>,
    request_bytes: usize,
    fault: Option<ActiveFault>,
    feature_flags: FeatureFlagAnswer,
}

impl EndpointHandle {
    /// Fresh state for `config` (a configured fault is installed now).
    pub fn new(config: &EndpointConfig) -> Self {
        let now = Instant::now();
        let mut stats = EndpointStats::default();
        let fault = config.fault.clone().map(|fault| {
            stats.active_fault = Some(fault.to_string());
            ActiveFault::new(fault, now)
        });
        EndpointHandle {
            shared: Arc::new(Shared {
                token: config.token.clone().map(BearerToken::new),
                max_stored_logs: config.max_stored_logs,
                mode: config.mode,
                extension: config.extension.clone(),
                header_read_timeout: config.header_read_timeout,
                body_read_timeout: config.body_read_timeout,
                max_connections: config.max_connections,
                body_budget_bytes: config.body_budget_bytes,
                min_body_rate: config.min_body_rate,
                min_body_rate_window: config.min_body_rate_window,
                local_requests_only: config.local_requests_only,
                inner: Mutex::new(Inner {
                    stats,
                    event_ids: HashSet::new(),
                    logs: VecDeque::new(),
                    log_bytes: 0,
                    requests: VecDeque::new(),
                    request_bytes: 0,
                    fault,
                    feature_flags: config.feature_flags.clone(),
                }),
            }),
        }
    }

    /// See [`EndpointConfig::header_read_timeout`].
    pub(crate) fn header_read_timeout(&self) -> Duration {
        self.shared.header_read_timeout
    }

    /// See [`EndpointConfig::body_read_timeout`].
    pub(crate) fn body_read_timeout(&self) -> Duration {
        self.shared.body_read_timeout
    }

    /// See [`EndpointConfig::max_connections`].
    pub(crate) fn max_connections(&self) -> usize {
        self.shared.max_connections
    }

    /// See [`EndpointConfig::body_budget_bytes`].
    pub(crate) fn body_budget_bytes(&self) -> usize {
        self.shared.body_budget_bytes
    }

    /// See [`EndpointConfig::min_body_rate`]: the rate and its window.
    pub(crate) fn min_body_rate(&self) -> (u64, Duration) {
        (self.shared.min_body_rate, self.shared.min_body_rate_window)
    }

    /// See [`EndpointConfig::local_requests_only`].
    pub(crate) fn local_requests_only(&self) -> bool {
        self.shared.local_requests_only
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent even if a holder panicked: every update is a few counters.
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The counters served by `GET /stats`.
    pub fn stats(&self) -> EndpointStats {
        let mut inner = self.lock();
        inner.refresh_fault(Instant::now());
        inner.stats.clone()
    }

    /// The accepted frontend logs still in memory (the `protoLogs` strings), in arrival order.
    pub fn logs(&self) -> Vec<String> {
        self.lock().logs.iter().cloned().collect()
    }

    /// The last [`MAX_RECORDED_REQUESTS`] requests, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Installs `fault` (replacing any other); a window scope starts now.
    pub fn set_fault(&self, fault: Fault) {
        tracing::debug!(%fault, "fault installed");
        let mut inner = self.lock();
        inner.stats.active_fault = Some(fault.to_string());
        inner.fault = Some(ActiveFault::new(fault, Instant::now()));
    }

    /// Removes the installed fault, if any.
    pub fn clear_fault(&self) {
        let mut inner = self.lock();
        inner.fault = None;
        inner.stats.active_fault = None;
    }

    /// Answers feature-flag requests with `answer` from now on.
    pub fn set_feature_flags(&self, answer: FeatureFlagAnswer) {
        self.lock().feature_flags = answer;
    }

    /// Writes the accepted logs still in memory to `path` as JSON lines (one `protoLogs` string
    /// per line, exactly as received) and returns how many were written.
    ///
    /// # Errors
    ///
    /// The file cannot be created or written.
    pub fn write_capture(&self, path: &Path) -> io::Result<usize> {
        let logs = self.logs();
        let mut file = BufWriter::new(File::create(path)?);
        for log in &logs {
            file.write_all(log.as_bytes())?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
        Ok(logs.len())
    }

    pub(crate) fn token(&self) -> Option<&BearerToken> {
        self.shared.token.as_ref()
    }

    pub(crate) fn feature_flags(&self) -> FeatureFlagAnswer {
        let mut inner = self.lock();
        inner.stats.feature_flag_requests += 1;
        inner.feature_flags.clone()
    }

    /// The fault to apply to an upload arriving now, if any (counted as injected).
    pub(crate) fn take_fault(&self) -> Option<FaultKind> {
        let now = Instant::now();
        let mut inner = self.lock();
        let kind = inner.fault.as_mut().and_then(|fault| fault.take(now));
        if kind.is_some() {
            inner.stats.faults_injected += 1;
            inner.stats.active_fault = inner.fault.as_ref().map(|f| f.current().to_string());
        }
        inner.refresh_fault(now);
        kind
    }

    /// Stores the logs of an accepted upload, counting duplicates and evictions.
    pub(crate) fn accept(&self, logs: Vec<ValidLog>) {
        let max = self.shared.max_stored_logs;
        let mut inner = self.lock();
        inner.stats.uploads_accepted += 1;
        for log in logs {
            inner.stats.logs_accepted += 1;
            if inner.event_ids.contains(&log.event_id) {
                inner.stats.duplicate_event_ids += 1;
            } else if inner.event_ids.len() < MAX_TRACKED_EVENT_IDS {
                inner.event_ids.insert(log.event_id);
                inner.stats.distinct_event_ids += 1;
            } else {
                inner.stats.event_ids_untracked += 1;
            }
            inner.log_bytes += log.json.len();
            inner.logs.push_back(log.json);
            while inner.logs.len() > max || inner.log_bytes > MAX_STORED_LOG_BYTES {
                let Some(evicted) = inner.logs.pop_front() else {
                    break;
                };
                inner.log_bytes -= evicted.len();
                inner.stats.logs_evicted += 1;
            }
        }
        inner.stats.logs_stored = inner.logs.len() as u64;
    }

    /// The extension running inside the endpoint, if any.
    pub(crate) fn extension(&self) -> Option<&Arc<dyn Extension>> {
        self.shared.extension.as_ref()
    }

    /// How uploads are checked.
    pub(crate) fn mode(&self) -> Mode {
        self.shared.mode
    }

    /// Counts the deviations of an upload a tolerant check accepted (logs it rejected alone
    /// included), by kind and by path with the log indexes written `[*]`.
    pub(crate) fn warn(&self, deviations: &[Deviation], rejected_logs: usize) {
        let mut inner = self.lock();
        inner.stats.logs_rejected += rejected_logs as u64;
        for deviation in deviations {
            let path = cut_path(star_indexes(&deviation.path));
            let paths_kept: usize = inner.stats.warnings.values().map(|paths| paths.len()).sum();
            let kind = inner
                .stats
                .warnings
                .entry(deviation.kind.as_str().to_owned())
                .or_default();
            let key = if kind.contains_key(&path) || paths_kept < MAX_WARNING_PATHS {
                path
            } else {
                OTHER_PATHS.to_owned()
            };
            *kind.entry(key).or_default() += 1;
            inner.stats.warnings_total += 1;
        }
    }

    /// Counts a body being read until the guard is dropped.
    pub(crate) fn body_being_read(&self) -> BodyBeingRead {
        self.lock().stats.bodies_being_read += 1;
        BodyBeingRead(self.clone())
    }

    /// Counts an upload rejected by validation.
    pub(crate) fn reject(&self, log_count: usize) {
        let mut inner = self.lock();
        inner.stats.uploads_rejected += 1;
        inner.stats.logs_rejected += log_count as u64;
    }

    /// Counts an upload answered 401.
    pub(crate) fn connection_refused(&self) {
        self.lock().stats.connections_refused += 1;
    }

    pub(crate) fn connection_evicted(&self) {
        self.lock().stats.connections_evicted += 1;
    }

    pub(crate) fn unauthorized(&self) {
        self.lock().stats.uploads_unauthorized += 1;
    }

    /// Records a request and its answer.
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut inner = self.lock();
        inner.stats.requests_total += 1;
        let known = inner.stats.requests.contains_key(&request.path);
        let key = if known || inner.stats.requests.len() < MAX_DISTINCT_PATHS {
            request.path.clone()
        } else {
            OTHER_PATHS.to_owned()
        };
        let path_stats: &mut PathStats = inner.stats.requests.entry(key).or_default();
        path_stats.total += 1;
        match request.status {
            Some(status) => *path_stats.by_status.entry(status).or_default() += 1,
            None => path_stats.unanswered += 1,
        }
        inner.request_bytes += recorded_size(&request);
        inner.requests.push_back(request);
        while inner.requests.len() > MAX_RECORDED_REQUESTS
            || inner.request_bytes > MAX_RECORDED_REQUEST_BYTES
        {
            let Some(dropped) = inner.requests.pop_front() else {
                break;
            };
            inner.request_bytes -= recorded_size(&dropped);
        }
    }
}

/// About how many bytes a recorded request holds.
fn recorded_size(request: &RecordedRequest) -> usize {
    std::mem::size_of::<RecordedRequest>()
        + request.method.len()
        + request.path.len()
        + request.fault.as_ref().map_or(0, String::len)
        + request
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 2 * std::mem::size_of::<String>())
            .sum::<usize>()
}

impl Inner {
    /// Drops a fault whose scope is used up or over.
    fn refresh_fault(&mut self, now: Instant) {
        if self.fault.as_ref().is_some_and(|fault| fault.is_spent(now)) {
            self.fault = None;
            self.stats.active_fault = None;
        }
    }
}

/// `path` cut to [`MAX_WARNING_PATH_BYTES`], ending in `…` when cut.
fn cut_path(mut path: String) -> String {
    if path.len() <= MAX_WARNING_PATH_BYTES {
        return path;
    }
    let mut end = MAX_WARNING_PATH_BYTES - '…'.len_utf8();
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    path.truncate(end);
    path.push('…');
    path
}

/// `path` with every array index written `[*]`, so one field's warnings share a key.
fn star_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        match rest.find(']') {
            Some(close) if rest[..close].bytes().all(|b| b.is_ascii_digit()) => {
                out.push('*');
                rest = &rest[close..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn indexes_are_starred() {
        assert_eq!(
            super::star_indexes("$.protoLogs[12].a.b[3]"),
            "$.protoLogs[*].a.b[*]"
        );
        assert_eq!(super::star_indexes("$.x[y]"), "$.x[y]");
        assert_eq!(super::star_indexes("$"), "$");
    }
}
