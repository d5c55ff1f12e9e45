//! The report of a run, the accounting check, and the text form.
//!
//! The accounting check holds when, summed over every client the run created:
//!
//! - `generated == enqueued`: every event the workload made reached the library;
//! - `enqueued == exported + dropped + pending` for each client, and `pending == 0` after close;
//! - with the embedded endpoints, for each host: `exported` equals the distinct events the
//!   endpoint accepted (`endpoint_received - endpoint_duplicates`).

use std::fmt::Write as _;

use databricks_telemetry::export::BreakerSnapshot;
use databricks_telemetry::{DroppedEvents, TelemetryStats};
use serde::Serialize;

/// What one host's clients did, as collected from their final releases.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostOutcome {
    /// The normalised host.
    pub(crate) host: String,
    /// Final accounting of each client of the host.
    pub(crate) clients: Vec<TelemetryStats>,
    /// The breaker as each client left it.
    pub(crate) breakers: Vec<BreakerSnapshot>,
    /// Clients whose close hit its timeout.
    pub(crate) closes_timed_out: u64,
    /// What the host's embedded endpoint counted: (logs accepted, duplicate event ids, upload
    /// requests); `None` for an external endpoint.
    pub(crate) endpoint: Option<EndpointCounts>,
}

/// What an embedded endpoint counted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EndpointCounts {
    /// Frontend logs in accepted uploads.
    pub(crate) logs_accepted: u64,
    /// Accepted logs whose event id it had seen before.
    pub(crate) duplicates: u64,
    /// Upload requests received.
    pub(crate) upload_requests: u64,
}

impl HostOutcome {
    fn total(&self) -> TelemetryStats {
        self.clients
            .iter()
            .fold(TelemetryStats::default(), |sum, s| add(&sum, s))
    }
}

/// What `dbtel simulate --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SimulationReport {
    /// Events the simulated driver made.
    pub(crate) generated: u64,
    /// Events offered to the library's clients.
    pub(crate) enqueued: u64,
    /// Events the endpoints accepted, as the library counted them.
    pub(crate) exported: u64,
    /// Events dropped, by reason.
    pub(crate) dropped: DroppedEvents,
    /// Events still queued after close (0 when everything is accounted for).
    pub(crate) pending: u64,
    /// HTTP upload requests (retries included) as the embedded endpoints counted them; `null`
    /// with external endpoints, whose requests `simulate` cannot see (`batches_sent` counts
    /// batches, each of which may take several requests).
    pub(crate) requests: Option<u64>,
    /// Batches the library handed to its exporters.
    pub(crate) batches_sent: u64,
    /// Of which were not wholly delivered.
    pub(crate) batches_failed: u64,
    /// From the first event to the last client closed, in seconds.
    pub(crate) elapsed_s: f64,
    /// Events exported per second of `elapsed_s`.
    pub(crate) events_per_s: f64,
    /// Frontend logs the embedded endpoints accepted; `null` with external endpoints.
    pub(crate) endpoint_received: Option<u64>,
    /// Of which repeated an event id already received; `null` with external endpoints.
    pub(crate) endpoint_duplicates: Option<u64>,
    /// Per host.
    pub(crate) hosts: Vec<HostReport>,
    /// Connections simulated.
    pub(crate) connections: u32,
    /// Statements run over all connections.
    pub(crate) statements: u64,
    /// The outage, if one was asked for.
    pub(crate) outage: Option<OutageReport>,
    /// The capture written, if one was asked for.
    pub(crate) capture: Option<CaptureReport>,
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
    /// Batches it turned away.
    pub(crate) breaker_rejected_batches: u64,
    /// Its state when the host's last client closed (`closed`, `open` or `half-open`).
    pub(crate) breaker_state: Option<String>,
    /// Events offered to the host's clients.
    pub(crate) enqueued: u64,
    /// Events exported to the host.
    pub(crate) exported: u64,
    /// Events dropped for the host, all reasons.
    pub(crate) dropped: u64,
    /// Frontend logs the host's embedded endpoint accepted; `null` for an external endpoint.
    pub(crate) endpoint_received: Option<u64>,
    /// Clients the host had over the run (normally 1).
    pub(crate) clients: usize,
    /// Clients whose close ran out of time.
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
    /// Per host, in host order.
    pub(crate) hosts: Vec<HostOutcome>,
    /// Seconds from the start to the last close.
    pub(crate) elapsed_s: f64,
    /// The outage, if any.
    pub(crate) outage: Option<OutageReport>,
    /// The capture written, if any: its path and how many events it holds.
    pub(crate) capture: Option<(String, u64)>,
}

impl SimulationReport {
    /// Builds the report and runs the accounting check.
    pub(crate) fn new(outcome: &RunOutcome) -> Self {
        let mut problems = Vec::new();
        let mut total = TelemetryStats::default();
        let mut hosts = Vec::with_capacity(outcome.hosts.len());
        for host in &outcome.hosts {
            hosts.push(host_report(host, &mut problems));
            total = add(&total, &host.total());
        }
        if outcome.generated != total.enqueued {
            problems.push(format!(
                "the workload generated {} events but the clients counted {} enqueued",
                outcome.generated, total.enqueued
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
        let requests = embedded
            .as_ref()
            .map(|counts| counts.iter().map(|c| c.upload_requests).sum());
        let events_per_s = if outcome.elapsed_s > 0.0 {
            total.exported as f64 / outcome.elapsed_s
        } else {
            0.0
        };
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
            events_per_s: round3(events_per_s),
            endpoint_received,
            endpoint_duplicates,
            hosts,
            connections: outcome.connections,
            statements: outcome.statements,
            outage: outcome.outage.clone(),
            capture: outcome
                .capture
                .clone()
                .map(|(path, events)| CaptureReport { path, events }),
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
            "simulated {} connections on {} hosts, {} statements, in {:.2} s",
            self.connections,
            self.hosts.len(),
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
        let _ = writeln!(
            out,
            "dropped   queue_full {}, circuit_open {}, export_failed {}, closed_before_delivery {}, after_close {}, disabled_by_server {}",
            d.queue_full,
            d.circuit_open,
            d.export_failed,
            d.closed_before_delivery,
            d.after_close,
            d.disabled_by_server
        );
        match self.requests {
            Some(requests) => {
                let _ = writeln!(
                    out,
                    "requests  {requests} HTTP uploads ({} batches, {} not delivered), {:.0} events/s exported",
                    self.batches_sent, self.batches_failed, self.events_per_s
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "requests  {} batches sent ({} not delivered; HTTP requests, retries included, are not counted with external endpoints), {:.0} events/s exported",
                    self.batches_sent, self.batches_failed, self.events_per_s
                );
            }
        }
        if let Some(failure) = &self.main_failure {
            let _ = writeln!(out, "failure   {failure}");
        }
        match (self.endpoint_received, self.endpoint_duplicates) {
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
            let endpoint = if self.endpoint_received.is_some() {
                ", exported = endpoint received - duplicates"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "accounting: every event accounted for (generated = enqueued = exported + dropped + pending, pending 0{endpoint})"
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
    let d = &total.dropped;
    let reasons = [
        ("export_failed", d.export_failed, "uploads failed or were refused: a wrong, expired or unsendable token (HTTP 401/403, or a value with control or non-ASCII characters), another 4xx, or an endpoint that cannot be reached; RUST_LOG=databricks_telemetry=debug shows each upload's reason"),
        ("circuit_open", d.circuit_open, "the host's circuit breaker stayed open: the endpoint kept failing"),
        ("queue_full", d.queue_full, "events came faster than the endpoint took them"),
        ("closed_before_delivery", d.closed_before_delivery, "close's deadline passed before the queue drained"),
        ("disabled_by_server", d.disabled_by_server, "the server's feature flag said off, or could not be fetched (a wrong, expired or unsendable token, an endpoint that cannot be reached), which keeps telemetry off; RUST_LOG=databricks_telemetry=debug shows the fetch's reason"),
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

fn host_report(host: &HostOutcome, problems: &mut Vec<String>) -> HostReport {
    let total = host.total();
    if host.clients.is_empty() {
        problems.push(format!(
            "host {}: no client reported a final close",
            host.host
        ));
    }
    for (index, stats) in host.clients.iter().enumerate() {
        if !stats.is_balanced() {
            problems.push(format!(
                "host {} client {index}: enqueued {} != exported {} + dropped {} + pending {}",
                host.host,
                stats.enqueued,
                stats.exported,
                stats.dropped.total(),
                stats.pending
            ));
        }
        if stats.pending != 0 {
            problems.push(format!(
                "host {} client {index}: {} events still pending after close",
                host.host, stats.pending
            ));
        }
    }
    if let Some(endpoint) = host.endpoint {
        let distinct = endpoint.logs_accepted - endpoint.duplicates.min(endpoint.logs_accepted);
        if distinct != total.exported {
            problems.push(format!(
                "host {}: the library counted {} events exported but the endpoint accepted {} distinct events",
                host.host, total.exported, distinct
            ));
        }
    }
    let sum = |f: fn(&BreakerSnapshot) -> u64| host.breakers.iter().map(f).sum::<u64>();
    HostReport {
        host: host.host.clone(),
        breaker_opened: sum(|b| b.opened),
        breaker_half_opened: sum(|b| b.half_opened),
        breaker_closed: sum(|b| b.closed),
        breaker_rejected_batches: sum(|b| b.rejected_batches),
        breaker_state: host.breakers.last().map(|b| b.state.to_string()),
        enqueued: total.enqueued,
        exported: total.exported,
        dropped: total.dropped.total(),
        endpoint_received: host.endpoint.map(|e| e.logs_accepted),
        clients: host.clients.len(),
        closes_timed_out: host.closes_timed_out,
    }
}

/// The field-by-field sum of two accountings.
fn add(a: &TelemetryStats, b: &TelemetryStats) -> TelemetryStats {
    let (x, y) = (&a.dropped, &b.dropped);
    TelemetryStats {
        enqueued: a.enqueued + b.enqueued,
        exported: a.exported + b.exported,
        pending: a.pending + b.pending,
        dropped: DroppedEvents {
            queue_full: x.queue_full + y.queue_full,
            circuit_open: x.circuit_open + y.circuit_open,
            export_failed: x.export_failed + y.export_failed,
            closed_before_delivery: x.closed_before_delivery + y.closed_before_delivery,
            after_close: x.after_close + y.after_close,
            disabled_by_server: x.disabled_by_server + y.disabled_by_server,
        },
        batches_sent: a.batches_sent + b.batches_sent,
        batches_failed: a.batches_failed + b.batches_failed,
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
        TelemetryStats {
            enqueued,
            exported,
            pending,
            dropped: DroppedEvents {
                export_failed: failed,
                ..DroppedEvents::default()
            },
            ..TelemetryStats::default()
        }
    }

    fn outcome(generated: u64, clients: Vec<TelemetryStats>, received: u64) -> RunOutcome {
        RunOutcome {
            generated,
            statements: 1,
            connections: 1,
            hosts: vec![HostOutcome {
                host: "127.0.0.1:1".to_owned(),
                clients,
                breakers: Vec::new(),
                closes_timed_out: 0,
                endpoint: Some(EndpointCounts {
                    logs_accepted: received,
                    duplicates: 0,
                    upload_requests: 2,
                }),
            }],
            elapsed_s: 2.0,
            outage: None,
            capture: None,
        }
    }

    #[test]
    fn balanced_run_is_accounted() {
        let report = SimulationReport::new(&outcome(10, vec![stats(10, 8, 2, 0)], 8));
        assert!(report.accounted, "{:?}", report.problems);
        assert_eq!(report.events_per_s, 4.0);
        assert_eq!(report.requests, Some(2));
        assert!(report.to_text().contains("every event accounted for"));
    }

    #[test]
    fn each_mismatch_is_named() {
        for (run, needle) in [
            (outcome(11, vec![stats(10, 8, 2, 0)], 8), "generated 11"),
            (
                outcome(10, vec![stats(10, 7, 2, 0)], 7),
                "enqueued 10 != exported 7",
            ),
            (
                outcome(10, vec![stats(10, 7, 2, 1)], 7),
                "1 events still pending",
            ),
            (
                outcome(10, vec![stats(10, 8, 2, 0)], 9),
                "endpoint accepted 9",
            ),
            (outcome(0, vec![], 0), "no client reported"),
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
