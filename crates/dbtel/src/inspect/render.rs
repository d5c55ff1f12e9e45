//! The text form of an [`InspectReport`].

use std::io::{self, Write};
use std::path::Path;

use super::percentiles::Percentiles;
use super::summary::{InspectReport, Summary, MAX_ERROR_NAMES, MAX_SESSIONS, MAX_SHOWN_BYTES};
use crate::terminal::escaped;

/// Writes the readable summary of `summary` (read from `file`), listing at most `max_sessions`
/// sessions.
pub(crate) fn write_text(
    out: &mut impl Write,
    file: &Path,
    summary: &Summary,
    max_sessions: usize,
) -> io::Result<()> {
    let report = summary.report(file);
    write_overview(out, &report)?;
    write_operations(out, &report)?;
    write_latencies(out, &report)?;
    write_errors(out, &report)?;
    write_cloudfetch(out, &report)?;
    write_sessions(out, &report, max_sessions)
}

fn write_overview(out: &mut impl Write, report: &InspectReport) -> io::Result<()> {
    writeln!(out, "capture: {}", escaped(&report.file))?;
    let span = report
        .span_ms
        .map(|ms| format!(" over {:.1} s", ms as f64 / 1000.0))
        .unwrap_or_default();
    writeln!(
        out,
        "events: {}{span}, {} sessions ({} events without a session)",
        report.events, report.session_count, report.events_without_session
    )?;
    if let Some(first) = &report.first_skipped_line {
        writeln!(
            out,
            "skipped lines: {} (first: line {}: {})",
            report.skipped_lines,
            first.line,
            escaped(&first.reason)
        )?;
    }
    let folded = &report.folded;
    if folded.any() {
        let parts: Vec<String> = [
            (
                folded.session_events,
                format!("events of sessions past the first {MAX_SESSIONS} counted under (other sessions)"),
            ),
            (
                folded.error_events,
                format!("errors with names past the first {MAX_ERROR_NAMES} counted under (other errors)"),
            ),
            (
                folded.statement_ids_untracked,
                "statement ids not tracked".to_owned(),
            ),
            (
                folded.strings_cut,
                format!("strings cut to {MAX_SHOWN_BYTES} bytes"),
            ),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, what)| format!("{count} {what}"))
        .collect();
        writeln!(out, "folded to stay bounded: {}", parts.join("; "))?;
    }
    Ok(())
}

fn write_operations(out: &mut impl Write, report: &InspectReport) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{:<26} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "operation type", "events", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"
    )?;
    for operation in &report.operations {
        let latency = &operation.latency_ms;
        writeln!(
            out,
            "{:<26} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8}",
            escaped(&operation.operation_type),
            operation.events,
            operation.errors,
            cell(latency.p50),
            cell(latency.p90),
            cell(latency.p99),
            cell(latency.max),
        )?;
    }
    Ok(())
}

fn write_latencies(out: &mut impl Write, report: &InspectReport) -> io::Result<()> {
    if !report.statement_types.is_empty() {
        writeln!(out)?;
        let types: Vec<String> = report
            .statement_types
            .iter()
            .map(|(kind, count)| format!("{} {count}", escaped(kind)))
            .collect();
        writeln!(out, "statement types: {}", types.join(", "))?;
    }
    let shown: Vec<_> = report
        .latency_histograms
        .iter()
        .filter(|histogram| {
            histogram.percentiles.samples > 0 && histogram.name != "operation_latency"
        })
        .collect();
    if !shown.is_empty() {
        writeln!(out)?;
        for histogram in shown {
            write_percentile_line(out, histogram.name, &histogram.percentiles)?;
        }
    }
    Ok(())
}

fn write_errors(out: &mut impl Write, report: &InspectReport) -> io::Result<()> {
    writeln!(out)?;
    if report.errors.is_empty() {
        return writeln!(out, "errors: none");
    }
    let total: u64 = report.errors.iter().map(|e| e.count).sum();
    writeln!(out, "errors by name ({total} in all):")?;
    for error in &report.errors {
        writeln!(
            out,
            "  {:<40} {:>8}",
            escaped(&error.error_name),
            error.count
        )?;
    }
    Ok(())
}

fn write_cloudfetch(out: &mut impl Write, report: &InspectReport) -> io::Result<()> {
    writeln!(out)?;
    if !report.result_formats.is_empty() {
        let formats: Vec<String> = report
            .result_formats
            .iter()
            .map(|(format, count)| format!("{} {count}", escaped(format)))
            .collect();
        writeln!(out, "result formats: {}", formats.join(", "))?;
    }
    let cloudfetch = &report.cloudfetch;
    if cloudfetch.statements == 0 {
        return writeln!(out, "CloudFetch: no statement with chunk details");
    }
    writeln!(
        out,
        "CloudFetch: {} statements, {} chunks iterated of {} present, {:.1} s downloading",
        cloudfetch.statements,
        cloudfetch.chunks_iterated,
        cloudfetch.chunks_present,
        cloudfetch.download_ms_total as f64 / 1000.0
    )?;
    write_percentile_line(
        out,
        "chunks per statement",
        &cloudfetch.chunks_per_statement,
    )?;
    write_percentile_line(
        out,
        "initial chunk ms",
        &cloudfetch.initial_chunk_latency_ms,
    )?;
    write_percentile_line(
        out,
        "slowest chunk ms",
        &cloudfetch.slowest_chunk_latency_ms,
    )
}

fn write_percentile_line(out: &mut impl Write, label: &str, p: &Percentiles) -> io::Result<()> {
    writeln!(
        out,
        "  {label:<22} p50 {:>6}  p90 {:>6}  p99 {:>6}  max {:>6}",
        cell(p.p50),
        cell(p.p90),
        cell(p.p99),
        cell(p.max)
    )
}

fn write_sessions(
    out: &mut impl Write,
    report: &InspectReport,
    max_sessions: usize,
) -> io::Result<()> {
    writeln!(out)?;
    if report.sessions.is_empty() {
        return writeln!(out, "sessions: none");
    }
    let shown = report.sessions.len().min(max_sessions);
    if shown < report.sessions.len() {
        writeln!(
            out,
            "sessions (the busiest {shown} of {}):",
            report.sessions.len()
        )?;
    } else {
        writeln!(out, "sessions:")?;
    }
    writeln!(
        out,
        "  {:<38} {:>8} {:>11} {:>7}",
        "session id", "events", "statements", "errors"
    )?;
    for session in report.sessions.iter().take(shown) {
        writeln!(
            out,
            "  {:<38} {:>8} {:>11} {:>7}",
            escaped(&session.session_id),
            session.events,
            session.statements,
            session.errors
        )?;
    }
    Ok(())
}

/// A table cell for an optional number: the number, or `-`.
fn cell(value: Option<i64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}
