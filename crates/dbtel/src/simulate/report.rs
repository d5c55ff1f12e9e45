//! The report of a run, the accounting check, and the text form.
//!
//! The accounting check holds when, after the manager's final `shutdown`:
//!
//! - `generated == enqueued`: every event the workload made reached the library;
//! - `enqueued == exported + dropped + pending` over every lane, and per host, with
//!   `pending == 0` (the shutdown delivered or counted everything);
//! - the hosts' accountings add up to the manager's;
//! - with the embedded endpoints, for each host: the distinct events the endpoint accepted
//!   (`endpoint_received - endpoint_duplicates`) are at least `exported`, and at most
//!   `exported + closed_before_delivery` (a batch taken whose answer was cut off, not retried
//!   before its lane's deadline);
//! - once every connection was open, the manager had one lane per (host, identity).

use std::fmt::Write as _;

use databricks_telemetry::unstable::BreakerSnapshot;
use databricks_telemetry::{CloseResult, DroppedEvents, TelemetryStats};
use serde::Serialize;

use super::environment::SettingOrigin;

/// What one host's lanes did, as the manager kept it after the shutdown.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostOutcome {
    /// The normalised host.
    pub(crate) host: String,
    /// The accounting of every lane the host had; `None` when the manager does not know the
    /// host.
    pub(crate) stats: Option<TelemetryStats>,
    /// The host's breaker at the end.
    pub(crate) breaker: Option<BreakerSnapshot>,
    /// Lanes (identities) the host was given connections for.
    pub(crate) lanes: usize,
    /// What the host's embedded endpoint counted; `None` for an external endpoint.
    pub(crate) endpoint: Option<EndpointCounts>,
}

/// What an embedded endpoint counted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EndpointCounts {
    /// Frontend logs in accepted uploads.
    pub(crate) logs_accepted: u64,
    /// Accepted logs whose event id it had seen before.
    pub(crate) duplicates: u64,
    /// Accepted logs whose event id was not checked: the endpoint tracks at most
    /// `MAX_TRACKED_EVENT_IDS` distinct ones (so `duplicates` is exact while this is 0).
    pub(crate) unchecked: u64,
    /// Accepted logs it still kept in memory at the end (none unless `--capture`).
    pub(crate) kept: u64,
    /// Upload requests received.
    pub(crate) upload_requests: u64,
}

/// What `dbtel simulate --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SimulationReport {
    /// Events the simulated driver made.
    pub(crate) generated: u64,
    /// Events offered to the library's lanes.
    pub(crate) enqueued: u64,
    /// Events the endpoints accepted, as the library counted them.
    pub(crate) exported: u64,
    /// Events dropped, by reason.
    pub(crate) dropped: DroppedEvents,
    /// Events still pending after the shutdown (0 when everything is accounted for).
    pub(crate) pending: u64,
    /// HTTP upload requests: as the embedded endpoints counted them, or batches sent for
    /// external endpoints.
    pub(crate) requests: u64,
    /// Upload requests the library made (retries and probes each count).
    pub(crate) batches_sent: u64,
    /// Of which did not deliver their whole batch.
    pub(crate) batches_failed: u64,
    /// From the first event to the last connection closed, in seconds.
    pub(crate) elapsed_s: f64,
    /// From the first event to the last export the library counted, in seconds (`null` when
    /// nothing was exported).
    pub(crate) last_export_s: Option<f64>,
    /// Events exported per second, until the last export (`last_export_s`).
    pub(crate) events_per_s: f64,
    /// How the final shutdown ended: `completed`, or `timed_out` (what was left was counted as
    /// `closed_before_delivery`).
    pub(crate) shutdown: String,
    /// How long the final shutdown took (the lanes draining after the last connection closed),
    /// in seconds.
    pub(crate) shutdown_s: f64,
    /// Frontend logs the embedded endpoints accepted; `null` with external endpoints.
    pub(crate) endpoint_received: Option<u64>,
    /// Of which repeated an event id already received; `null` with external endpoints.
    pub(crate) endpoint_duplicates: Option<u64>,
    /// Accepted events whose id the embedded endpoints did not check for repeats (past the
    /// distinct ids they track): `endpoint_duplicates` is then a lower bound. Absent when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) endpoint_unchecked: u64,
    /// Accepted logs the embedded endpoints kept in memory at the end: 0 unless `--capture`
    /// (they keep counts, not logs); `null` with external endpoints.
    pub(crate) endpoint_logs_kept: Option<u64>,
    /// Per host.
    pub(crate) hosts: Vec<HostReport>,
    /// Connections simulated.
    pub(crate) connections: u32,
    /// Identities (lanes) per host.
    pub(crate) identities: u32,
    /// Lanes the manager had once every connection was open.
    pub(crate) lanes: usize,
    /// The most threads the telemetry library had running at once (its own count, taken when
    /// it starts each).
    pub(crate) telemetry_threads_peak: usize,
    /// The whole process's peak resident memory (embedded endpoints included), in MiB; `null`
    /// where the system does not say.
    pub(crate) rss_peak_mib: Option<f64>,
    /// The longest a simulated connection's release of its handle took, on its own thread, in
    /// milliseconds.
    pub(crate) release_ms_max: f64,
    /// Statements run over all connections.
    pub(crate) statements: u64,
    /// The outage, if one was asked for.
    pub(crate) outage: Option<OutageReport>,
    /// The capture written, if one was asked for.
    pub(crate) capture: Option<CaptureReport>,
    /// The signal that stopped the workload early (`SIGINT` or `SIGTERM`); `null` when it ran
    /// to its end.
    pub(crate) interrupted: Option<String>,
    /// Whether telemetry was on (`enabled`, which `DATABRICKS_TELEMETRY_ENABLED` can turn
    /// off): when off, every handle is disabled and nothing is enqueued or sent.
    pub(crate) telemetry_enabled: bool,
    /// The settings a `DATABRICKS_TELEMETRY_*` variable can set: each one's value and where it
    /// came from (flag, environment or default).
    pub(crate) settings: Vec<SettingOrigin>,
    /// Events written to the spool (`--spool`): they wait on disk for the next run.
    pub(crate) spooled: u64,
    /// Spool records read back (left by earlier runs, or by this one during an outage).
    pub(crate) replayed: u64,
    /// The spool, with `--spool`.
    #[cfg(unix)]
    pub(crate) spool: Option<super::spool::SpoolReport>,
    /// When fewer than half of the enqueued events were exported: the drop reason that took
    /// the most events, how many, and what usually causes it; `null` otherwise.
    pub(crate) main_failure: Option<String>,
    /// Whether every event is accounted for.
    pub(crate) accounted: bool,
    /// What does not add up, one sentence each (empty when `accounted`).
    pub(crate) problems: Vec<String>,
}

/// One host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct HostReport {
    /// The normalised host, e.g. `127.0.0.1:41234`.
    pub(crate) host: String,
    /// Times the host's breaker opened.
    pub(crate) breaker_opened: u64,
    /// Times it half-opened.
    pub(crate) breaker_half_opened: u64,
    /// Times it closed again.
    pub(crate) breaker_closed: u64,
    /// Times it turned a batch away (the batch waited in its lane).
    pub(crate) breaker_rejected_batches: u64,
    /// Its state at the end (`closed`, `open` or `half-open`).
    pub(crate) breaker_state: Option<String>,
    /// Events offered to the host's lanes.
    pub(crate) enqueued: u64,
    /// Events exported to the host.
    pub(crate) exported: u64,
    /// Events dropped for the host, all reasons.
    pub(crate) dropped: u64,
    /// Frontend logs the host's embedded endpoint accepted; `null` for an external endpoint.
    pub(crate) endpoint_received: Option<u64>,
    /// The host's lanes (one per identity); the same as `lanes`, kept from when each was a
    /// client of its own.
    pub(crate) clients: usize,
    /// The host's lanes (one per identity).
    pub(crate) lanes: usize,
    /// 1 when a close deadline passed before the host's lanes delivered everything (their
    /// events counted as `closed_before_delivery`), else 0.
    pub(crate) closes_timed_out: u64,
}

/// The outage, as asked for and as it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OutageReport {
    /// The spec, normalised (`503:2000ms@1000ms`).
    pub(crate) spec: String,
    /// What the endpoints did: an HTTP status, `hang` or `reset`.
    pub(crate) kind: String,
    /// When the fault was installed, in seconds from the run start; `null` when the run ended
    /// first.
    pub(crate) started_at_s: Option<f64>,
    /// How long it lasted, in seconds.
    pub(crate) duration_s: f64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The capture file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CaptureReport {
    /// Where it was written.
    pub(crate) path: String,
    /// How many frontend logs it holds.
    pub(crate) events: u64,
}

/// Everything the report is made from.
#[derive(Debug)]
pub(crate) struct RunOutcome {
    /// Events the workload made.
    pub(crate) generated: u64,
    /// Statements run.
    pub(crate) statements: u64,
    /// Connections simulated.
    pub(crate) connections: u32,
    /// Identities per host.
    pub(crate) identities: u32,
    /// The manager's final accounting, from its shutdown.
    pub(crate) total: TelemetryStats,
    /// How the shutdown ended, and how long it took in seconds.
    pub(crate) shutdown: (CloseResult, f64),
    /// Per host, in host order.
    pub(crate) hosts: Vec<HostOutcome>,
    /// Lanes the manager had once every connection was open.
    pub(crate) lanes: usize,
    /// Seconds from the start to the last close.
    pub(crate) elapsed_s: f64,
    /// Seconds from the start to the last export, if any.
    pub(crate) last_export_s: Option<f64>,
    /// The library's peak thread count.
    pub(crate) telemetry_threads_peak: usize,
    /// The process's peak resident memory, in MiB.
    pub(crate) rss_peak_mib: Option<f64>,
    /// The longest release, in seconds.
    pub(crate) release_max_s: f64,
    /// The outage, if any.
    pub(crate) outage: Option<OutageReport>,
    /// The capture written, if any: its path and how many events it holds.
    pub(crate) capture: Option<(String, u64)>,
    /// The signal that stopped the workload early, if one did.
    pub(crate) interrupted: Option<&'static str>,
    /// Whether telemetry was on.
    pub(crate) telemetry_enabled: bool,
    /// Where the settings a variable can set came from.
    pub(crate) settings: Vec<SettingOrigin>,
    /// The spool, with `--spool`.
    #[cfg(unix)]
    pub(crate) spool: Option<super::spool::SpoolReport>,
    #[cfg(not(unix))]
    pub(crate) spool: Option<std::convert::Infallible>,
}

impl SimulationReport {
    /// Builds the report and runs the accounting check.
    pub(crate) fn new(outcome: &RunOutcome) -> Self {
        let mut problems = Vec::new();
        let total = outcome.total;
        let mut host_sum = TelemetryStats::default();
        let mut hosts = Vec::with_capacity(outcome.hosts.len());
        for host in &outcome.hosts {
            hosts.push(host_report(host, outcome.telemetry_enabled, &mut problems));
            if let Some(stats) = &host.stats {
                host_sum.add(stats);
            }
        }
        #[cfg(unix)]
        if let Some(problem) = outcome.spool.as_ref().and_then(|s| s.problem()) {
            problems.push(problem);
        }
        // Telemetry off: every handle is disabled, so nothing reaches a lane.
        let expected_enqueued = if outcome.telemetry_enabled {
            outcome.generated
        } else {
            0
        };
        if expected_enqueued != total.enqueued {
            problems.push(format!(
                "the workload generated {} events (telemetry {}) but the library counted {} enqueued",
                outcome.generated,
                if outcome.telemetry_enabled { "on" } else { "off" },
                total.enqueued
            ));
        }
        if !total.is_balanced() {
            problems.push(format!(
                "enqueued {} != exported {} + dropped {} + pending {}{}",
                total.enqueued,
                total.exported,
                total.dropped.total(),
                total.pending,
                spool_terms(&total)
            ));
        }
        if total.pending != 0 {
            problems.push(format!(
                "{} events still pending after the shutdown",
                total.pending
            ));
        }
        if host_sum != total {
            problems.push(format!(
                "the hosts' accountings (enqueued {}, exported {}, dropped {}) do not add up to the manager's (enqueued {}, exported {}, dropped {})",
                host_sum.enqueued,
                host_sum.exported,
                host_sum.dropped.total(),
                total.enqueued,
                total.exported,
                total.dropped.total()
            ));
        }
        let expected_lanes: usize = if outcome.telemetry_enabled {
            outcome.hosts.iter().map(|h| h.lanes).sum()
        } else {
            0
        };
        if outcome.lanes != expected_lanes {
            problems.push(format!(
                "the manager had {} lanes once every connection was open; {} hosts x identities need {expected_lanes}",
                outcome.lanes,
                outcome.hosts.len()
            ));
        }
        let embedded: Option<Vec<EndpointCounts>> =
            outcome.hosts.iter().map(|h| h.endpoint).collect();
        let endpoint_received = embedded
            .as_ref()
            .map(|counts| counts.iter().map(|c| c.logs_accepted).sum());
        let endpoint_duplicates = embedded
            .as_ref()
            .map(|counts| counts.iter().map(|c| c.duplicates).sum());
        let endpoint_logs_kept = embedded
            .as_ref()
            .map(|counts| counts.iter().map(|c| c.kept).sum());
        let endpoint_unchecked = embedded
            .as_ref()
            .map_or(0, |counts| counts.iter().map(|c| c.unchecked).sum());
        let requests = match &embedded {
            Some(counts) => counts.iter().map(|c| c.upload_requests).sum(),
            None => total.batches_sent,
        };
        let until = outcome
            .last_export_s
            .filter(|&s| s > 0.0)
            .unwrap_or(outcome.elapsed_s);
        let events_per_s = if until > 0.0 {
            total.exported as f64 / until
        } else {
            0.0
        };
        let (shutdown, shutdown_s) = outcome.shutdown;
        SimulationReport {
            generated: outcome.generated,
            enqueued: total.enqueued,
            exported: total.exported,
            dropped: total.dropped,
            pending: total.pending,
            requests,
            batches_sent: total.batches_sent,
            batches_failed: total.batches_failed,
            elapsed_s: round3(outcome.elapsed_s),
            last_export_s: outcome.last_export_s.map(round3),
            events_per_s: round3(events_per_s),
            shutdown: match shutdown {
                CloseResult::Completed => "completed",
                CloseResult::TimedOut => "timed_out",
                // CloseResult is #[non_exhaustive]: a result this dbtel does not know yet.
                _ => "unknown",
            }
            .to_owned(),
            shutdown_s: round3(shutdown_s),
            endpoint_received,
            endpoint_duplicates,
            endpoint_unchecked,
            endpoint_logs_kept,
            hosts,
            connections: outcome.connections,
            identities: outcome.identities,
            lanes: outcome.lanes,
            telemetry_threads_peak: outcome.telemetry_threads_peak,
            rss_peak_mib: outcome.rss_peak_mib.map(|mib| (mib * 10.0).round() / 10.0),
            release_ms_max: round3(outcome.release_max_s * 1000.0),
            statements: outcome.statements,
            outage: outcome.outage.clone(),
            capture: outcome
                .capture
                .clone()
                .map(|(path, events)| CaptureReport { path, events }),
            interrupted: outcome.interrupted.map(str::to_owned),
            telemetry_enabled: outcome.telemetry_enabled,
            settings: outcome.settings.clone(),
            spooled: total.spooled,
            replayed: total.replayed,
            #[cfg(unix)]
            spool: outcome.spool.clone(),
            main_failure: main_failure(&total),
            accounted: problems.is_empty(),
            problems,
        }
    }

    /// The readable report.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        let d = &self.dropped;
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "simulated {} connections on {} hosts ({} {} per host), {} statements, in {:.2} s",
            self.connections,
            self.hosts.len(),
            self.identities,
            if self.identities == 1 {
                "identity"
            } else {
                "identities"
            },
            self.statements,
            self.elapsed_s
        );
        let _ = writeln!(
            out,
            "events    generated {}, enqueued {}, exported {}, dropped {}, pending {}",
            self.generated,
            self.enqueued,
            self.exported,
            d.total(),
            self.pending
        );
        if let Some(signal) = &self.interrupted {
            let _ = writeln!(
                out,
                "stopped   by {signal}: the workload ended early; the lanes closed as at the end of a run and this is the report so far"
            );
        }
        if !self.telemetry_enabled {
            let _ = writeln!(
                out,
                "disabled  telemetry is off (enabled false): every handle was disabled, nothing was enqueued or sent"
            );
        }
        if !self.settings.is_empty() {
            let settings: Vec<String> = self.settings.iter().map(SettingOrigin::describe).collect();
            let _ = writeln!(out, "settings  {}", settings.join(", "));
        }
        let reasons: Vec<String> = d
            .by_reason()
            .iter()
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        let _ = writeln!(out, "dropped   {}", reasons.join(", "));
        let last = self
            .last_export_s
            .map(|s| format!(" (until the last export, at {s:.2} s)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "requests  {} HTTP uploads ({} batches, {} not delivered), {:.0} events/s exported{last}",
            self.requests, self.batches_sent, self.batches_failed, self.events_per_s
        );
        if let Some(failure) = &self.main_failure {
            let _ = writeln!(out, "failure   {failure}");
        }
        match (self.endpoint_received, self.endpoint_duplicates) {
            (Some(received), Some(duplicates)) if self.endpoint_unchecked > 0 => {
                let _ = writeln!(
                    out,
                    "endpoint  received {received} events (at least {duplicates} duplicates: {} not checked, past the event ids it tracks)",
                    self.endpoint_unchecked
                );
            }
            (Some(received), Some(duplicates)) => {
                let _ = writeln!(
                    out,
                    "endpoint  received {received} events ({duplicates} duplicates)"
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "endpoint  external: its own count is not known to simulate"
                );
            }
        }
        let rss = self
            .rss_peak_mib
            .map_or_else(|| "unknown".to_owned(), |mib| format!("{mib:.1} MiB"));
        let _ = writeln!(
            out,
            "pipeline  {} lanes, at most {} telemetry threads, longest release {:.3} ms, shutdown {} in {:.2} s, peak RSS {rss}",
            self.lanes,
            self.telemetry_threads_peak,
            self.release_ms_max,
            self.shutdown.replace('_', " "),
            self.shutdown_s
        );
        #[cfg(unix)]
        if let Some(spool) = &self.spool {
            let _ = writeln!(out, "{}", spool.to_text());
        }
        if let Some(outage) = &self.outage {
            match outage.started_at_s {
                Some(started) => {
                    let hosts = self.hosts.len();
                    let opened = self.hosts.iter().filter(|h| h.breaker_opened > 0).count();
                    let recovered = self
                        .hosts
                        .iter()
                        .filter(|h| h.breaker_opened > 0 && h.breaker_closed > 0)
                        .count();
                    let _ = writeln!(
                        out,
                        "outage    {} from {started:.2} s for {:.2} s: breaker opened on {opened} of {hosts} hosts, closed again on {recovered}",
                        outage.kind, outage.duration_s
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "outage    {} never started: the run ended first",
                        outage.spec
                    );
                }
            }
        }
        if let Some(capture) = &self.capture {
            let _ = writeln!(
                out,
                "capture   wrote {} events to {}",
                capture.events, capture.path
            );
        }
        let _ = writeln!(out, "hosts");
        for host in &self.hosts {
            let _ = writeln!(
                out,
                "  {:<22} exported {:>6} of {:>6}  breaker opened {}, half-opened {}, closed {}, rejected {} batches{}",
                host.host,
                host.exported,
                host.enqueued,
                host.breaker_opened,
                host.breaker_half_opened,
                host.breaker_closed,
                host.breaker_rejected_batches,
                host.breaker_state
                    .as_ref()
                    .map(|state| format!(" (ended {state})"))
                    .unwrap_or_default()
            );
        }
        if self.accounted {
            let endpoint = match (self.endpoint_received, self.endpoint_duplicates) {
                (Some(received), Some(duplicates)) if received - duplicates == self.exported => {
                    ", exported = endpoint received - duplicates"
                }
                (Some(_), Some(_)) => {
                    ", endpoint received - duplicates between exported and exported + closed_before_delivery"
                }
                _ => "",
            };
            let _ = writeln!(
                out,
                "accounting: every event accounted for (generated = enqueued = exported + dropped + pending{}, pending 0{endpoint})",
                if self.spooled > 0 || self.replayed > 0 {
                    " + spooled - replayed"
                } else {
                    ""
                }
            );
        } else {
            let _ = writeln!(out, "accounting: FAILED");
            for problem in &self.problems {
                let _ = writeln!(out, "  - {problem}");
            }
        }
        out
    }
}

/// The main reason events were lost, when fewer than half of the enqueued ones were exported.
fn main_failure(total: &TelemetryStats) -> Option<String> {
    if total.enqueued == 0 || total.exported.saturating_mul(2) >= total.enqueued {
        return None;
    }
    if total.spooled > 0 && total.dropped.total() == 0 {
        // Not lost: on disk for the next run (`--spool`).
        return None;
    }
    let d = &total.dropped;
    let reasons = [
        ("export_failed", d.export_failed, "uploads were refused (a 4xx other than 401/403), or kept failing until each batch used its attempts (an endpoint that cannot be reached); RUST_LOG=databricks_telemetry=debug shows each upload's reason"),
        ("credentials_failed", d.credentials_failed, "the token was refused or could not be used (HTTP 401/403 on an upload or the feature-flag fetch, a provider error, a value with control or non-ASCII characters); RUST_LOG=databricks_telemetry=debug shows each upload's reason"),
        ("queue_full", d.queue_full, "events came faster than the endpoint took them"),
        ("closed_before_delivery", d.closed_before_delivery, "the close or shutdown deadline passed before the lanes drained (the endpoint was down or hanging: events were held until then)"),
        ("disabled_by_server", d.disabled_by_server, "the server's feature flag said off for the host; RUST_LOG=databricks_telemetry=debug shows the fetch"),
        ("after_close", d.after_close, "events were recorded after their client closed"),
    ];
    let (name, count, cause) = reasons.into_iter().max_by_key(|(_, count, _)| *count)?;
    if count == 0 {
        return Some(format!(
            "only {} of {} events exported, with {} still pending",
            total.exported, total.enqueued, total.pending
        ));
    }
    Some(format!(
        "only {} of {} events exported; most lost to {name} ({count}): {cause}",
        total.exported, total.enqueued
    ))
}

/// The spool's terms of the balance, when it took part: ` + spooled S - replayed R`.
fn spool_terms(total: &TelemetryStats) -> String {
    if total.spooled == 0 && total.replayed == 0 {
        String::new()
    } else {
        format!(" + spooled {} - replayed {}", total.spooled, total.replayed)
    }
}

fn host_report(host: &HostOutcome, enabled: bool, problems: &mut Vec<String>) -> HostReport {
    let total = match host.stats {
        Some(stats) => stats,
        // Telemetry off: no handle had a host, so the manager never knew one.
        None if !enabled => TelemetryStats::default(),
        None => {
            problems.push(format!(
                "host {}: the manager kept no accounting for it",
                host.host
            ));
            TelemetryStats::default()
        }
    };
    if !total.is_balanced() {
        problems.push(format!(
            "host {}: enqueued {} != exported {} + dropped {} + pending {}{}",
            host.host,
            total.enqueued,
            total.exported,
            total.dropped.total(),
            total.pending,
            spool_terms(&total)
        ));
    }
    if total.pending != 0 {
        problems.push(format!(
            "host {}: {} events still pending after the shutdown",
            host.host, total.pending
        ));
    }
    if let Some(endpoint) = host.endpoint {
        let distinct = endpoint.logs_accepted - endpoint.duplicates.min(endpoint.logs_accepted);
        // A batch the endpoint took whose answer never arrived (a connection reset after the
        // upload) waits for a retry; if its lane's deadline comes first it is counted as
        // closed before delivery: the endpoint may hold up to that many more.
        // With a spool, such a batch (and one whose request had not returned at the deadline)
        // was spooled instead: the next run sends it again.
        let taken_unanswered = total.dropped.closed_before_delivery + total.spooled;
        if distinct < total.exported || distinct > total.exported + taken_unanswered {
            problems.push(format!(
                "host {}: the library counted {} events exported ({} closed before delivery) but the endpoint accepted {} distinct events",
                host.host, total.exported, taken_unanswered, distinct
            ));
        }
    }
    let breaker = host.breaker;
    let count = |f: fn(&BreakerSnapshot) -> u64| breaker.as_ref().map_or(0, f);
    HostReport {
        host: host.host.clone(),
        breaker_opened: count(|b| b.opened),
        breaker_half_opened: count(|b| b.half_opened),
        breaker_closed: count(|b| b.closed),
        breaker_rejected_batches: count(|b| b.rejected_batches),
        breaker_state: breaker.map(|b| b.state.to_string()),
        enqueued: total.enqueued,
        exported: total.exported,
        dropped: total.dropped.total(),
        endpoint_received: host.endpoint.map(|e| e.logs_accepted),
        clients: host.lanes,
        lanes: host.lanes,
        closes_timed_out: u64::from(total.dropped.closed_before_delivery > 0),
    }
}

/// Rounds to milliseconds' precision for the report.
pub(crate) fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(enqueued: u64, exported: u64, failed: u64, pending: u64) -> TelemetryStats {
        let mut dropped = DroppedEvents::default();
        dropped.export_failed = failed;
        let mut stats = TelemetryStats::default();
        stats.enqueued = enqueued;
        stats.exported = exported;
        stats.pending = pending;
        stats.dropped = dropped;
        stats
    }

    fn outcome(generated: u64, host: Option<TelemetryStats>, received: u64) -> RunOutcome {
        RunOutcome {
            generated,
            statements: 1,
            connections: 1,
            identities: 1,
            total: host.unwrap_or_default(),
            shutdown: (CloseResult::Completed, 0.1),
            hosts: vec![HostOutcome {
                host: "127.0.0.1:1".to_owned(),
                stats: host,
                breaker: None,
                lanes: 1,
                endpoint: Some(EndpointCounts {
                    logs_accepted: received,
                    duplicates: 0,
                    unchecked: 0,
                    kept: 0,
                    upload_requests: 2,
                }),
            }],
            lanes: 1,
            elapsed_s: 1.0,
            last_export_s: Some(2.0),
            telemetry_threads_peak: 1,
            rss_peak_mib: Some(12.34),
            release_max_s: 0.000_02,
            outage: None,
            capture: None,
            interrupted: None,
            telemetry_enabled: true,
            settings: Vec::new(),
            spool: None,
        }
    }

    #[test]
    fn a_run_with_telemetry_off_expects_nothing_enqueued_and_says_so() {
        let mut off = outcome(10, None, 0);
        off.telemetry_enabled = false;
        off.lanes = 0;
        let report = SimulationReport::new(&off);
        assert!(report.accounted, "{:?}", report.problems);
        assert!(report.to_text().contains("telemetry is off"));
        // Had it been on, the same counts would not add up.
        off.telemetry_enabled = true;
        assert!(!SimulationReport::new(&off).accounted);
    }

    #[test]
    fn an_interrupted_run_says_by_what() {
        let mut stopped = outcome(10, Some(stats(10, 8, 2, 0)), 8);
        stopped.interrupted = Some("SIGTERM");
        let report = SimulationReport::new(&stopped);
        assert_eq!(report.interrupted.as_deref(), Some("SIGTERM"));
        assert!(report.to_text().contains("stopped   by SIGTERM"));
    }

    #[test]
    fn balanced_run_is_accounted() {
        let report = SimulationReport::new(&outcome(10, Some(stats(10, 8, 2, 0)), 8));
        assert!(report.accounted, "{:?}", report.problems);
        // Counted until the last export, not the workload's second.
        assert_eq!(report.events_per_s, 4.0);
        assert_eq!(report.requests, 2);
        assert_eq!(report.rss_peak_mib, Some(12.3));
        assert_eq!(report.release_ms_max, 0.02);
        assert_eq!(report.shutdown, "completed");
        let text = report.to_text();
        assert!(text.contains("every event accounted for"), "{text}");
        assert!(text.contains("credentials_failed 0"), "{text}");
        assert!(
            text.contains("1 lanes, at most 1 telemetry threads"),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["dropped"]["credentials_failed"], 0);
        assert!(json["dropped"].get("circuit_open").is_none());
        assert!(report.main_failure.is_none());
    }

    #[test]
    fn each_mismatch_is_named() {
        let mut host_disagrees = outcome(10, Some(stats(10, 8, 2, 0)), 8);
        host_disagrees.total = stats(10, 9, 1, 0);
        let mut lanes_missing = outcome(10, Some(stats(10, 8, 2, 0)), 8);
        lanes_missing.lanes = 0;
        for (run, needle) in [
            (outcome(11, Some(stats(10, 8, 2, 0)), 8), "generated 11"),
            (
                outcome(10, Some(stats(10, 7, 2, 0)), 7),
                "enqueued 10 != exported 7",
            ),
            (
                outcome(10, Some(stats(10, 7, 2, 1)), 7),
                "1 events still pending",
            ),
            (
                outcome(10, Some(stats(10, 8, 2, 0)), 7),
                "endpoint accepted 7",
            ),
            (outcome(0, None, 0), "no accounting"),
            (host_disagrees, "do not add up"),
            (lanes_missing, "had 0 lanes"),
        ] {
            let report = SimulationReport::new(&run);
            assert!(!report.accounted);
            assert!(
                report.problems.iter().any(|p| p.contains(needle)),
                "{needle}: {:?}",
                report.problems
            );
            assert!(report.to_text().contains("accounting: FAILED"));
        }
    }
}
