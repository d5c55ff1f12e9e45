//! [`EndpointStats`]: what the endpoint has seen, as served by `GET /stats`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counters of everything the endpoint has seen since it started.
///
/// Serialised as the body of `GET /stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// Every request received, on any path.
    pub requests_total: u64,
    /// Requests by path (as requested, without the query), then by status answered.
    pub requests: BTreeMap<String, PathStats>,
    /// Upload requests answered 200 after validation.
    pub uploads_accepted: u64,
    /// Upload requests refused for their body: 400 by validation, 413 (too large), 408 (too
    /// slow) or a body that could not be read.
    pub uploads_rejected: u64,
    /// Upload requests answered 401.
    pub uploads_unauthorized: u64,
    /// Frontend logs in accepted uploads.
    pub logs_accepted: u64,
    /// Frontend logs (`protoLogs` elements, when countable) in rejected uploads, and logs a
    /// tolerant check rejected alone.
    pub logs_rejected: u64,
    /// Distinct `frontend_log_event_id`s among accepted logs (evicted ones included).
    pub distinct_event_ids: u64,
    /// Accepted logs whose `frontend_log_event_id` had been seen before.
    pub duplicate_event_ids: u64,
    /// Accepted logs currently kept in memory.
    pub logs_stored: u64,
    /// Accepted logs evicted from memory because the store was full.
    pub logs_evicted: u64,
    /// Feature-flag requests (any answer).
    pub feature_flag_requests: u64,
    /// Upload requests that a fault was applied to.
    pub faults_injected: u64,
    /// The installed fault in spec syntax, if one is active; a `*N` scope shows what is left.
    pub active_fault: Option<String>,
    /// Connections closed at once because [`max_connections`](crate::EndpointConfig::max_connections)
    /// were open, every one of them answering a request.
    #[serde(default)]
    pub connections_refused: u64,
    /// Idle connections closed to make room for a new one when
    /// [`max_connections`](crate::EndpointConfig::max_connections) were open.
    #[serde(default)]
    pub connections_evicted: u64,
    /// Request bodies being read now (a gauge, not a count since start): bodies are read
    /// concurrently, each within the body timeout and the minimum rate.
    #[serde(default)]
    pub bodies_being_read: u64,
    /// Accepted logs whose event id was not remembered (the id set was full), so neither
    /// counted distinct nor checked for duplicates.
    #[serde(default)]
    pub event_ids_untracked: u64,
    /// Departures from the contract in uploads a tolerant check accepted (see
    /// [`DeviationKind`](crate::DeviationKind)), by kind (`unknown_field`, ...), then by path
    /// with log indexes written `[*]` (`$.protoLogs[*].entry.sql_driver_log.mode`). At most
    /// [`MAX_WARNING_PATHS`](crate::MAX_WARNING_PATHS) paths are kept; further ones are counted
    /// under [`OTHER_PATHS`](crate::OTHER_PATHS).
    #[serde(default)]
    pub warnings: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every warning counted in [`warnings`](Self::warnings).
    #[serde(default)]
    pub warnings_total: u64,
}

/// Requests on one path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStats {
    /// Every request on the path.
    pub total: u64,
    /// Requests by the status they were answered with.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests not answered with a complete response (hung or reset by a fault).
    pub unanswered: u64,
}

impl EndpointStats {
    /// How many requests on `path` were answered with `status`.
    pub fn count(&self, path: &str, status: u16) -> u64 {
        self.requests
            .get(path)
            .and_then(|path_stats| path_stats.by_status.get(&status))
            .copied()
            .unwrap_or(0)
    }

    /// How many requests on `path` were received.
    pub fn total(&self, path: &str) -> u64 {
        self.requests
            .get(path)
            .map_or(0, |path_stats| path_stats.total)
    }

    /// How many warnings of `kind` (e.g. `unknown_field`) were counted, on any path.
    pub fn warnings_of(&self, kind: &str) -> u64 {
        self.warnings
            .get(kind)
            .map_or(0, |paths| paths.values().sum())
    }

    /// The warnings as lines for terminals, `kind path count`, the most frequent first.
    pub fn warning_lines(&self) -> Vec<String> {
        let mut rows: Vec<(&str, &str, u64)> = self
            .warnings
            .iter()
            .flat_map(|(kind, paths)| {
                paths
                    .iter()
                    .map(move |(path, count)| (kind.as_str(), path.as_str(), *count))
            })
            .collect();
        rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)).then(a.1.cmp(b.1)));
        rows.into_iter()
            .map(|(kind, path, count)| format!("{count:>8}  {kind:<24} {path}"))
            .collect()
    }

    /// A one-line summary for terminals.
    pub fn summary_line(&self) -> String {
        format!(
            "requests {} | uploads ok {} rejected {} unauthorized {} | logs accepted {} rejected {} duplicates {} | warnings {} | flag requests {} | faults injected {}{}",
            self.requests_total,
            self.uploads_accepted,
            self.uploads_rejected,
            self.uploads_unauthorized,
            self.logs_accepted,
            self.logs_rejected,
            self.duplicate_event_ids,
            self.warnings_total,
            self.feature_flag_requests,
            self.faults_injected,
            self.active_fault
                .as_ref()
                .map(|fault| format!(" (active: {fault})"))
                .unwrap_or_default(),
        )
    }
}
