//! `dbtel inspect --spool DIR`: what a spool directory holds, read without locking or changing
//! anything. The events' text is shown only with `--payloads`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use databricks_telemetry::unstable::spool::{inspect, SegmentSummary};
use serde::Serialize;

use super::InspectError;

/// One (host, identity)'s segments together.
#[derive(Debug, Default, Serialize)]
struct LaneSummary {
    /// The keyed digest of the host and identity (neither can be read from it).
    digest: String,
    segments: usize,
    bytes: u64,
    /// Events waiting to be sent.
    waiting: u64,
    /// Events already delivered, in segments not yet deleted.
    consumed: u64,
    /// Corrupt or torn records.
    corrupt: u64,
    /// Age of the oldest and newest waiting event, in seconds.
    oldest_age_s: Option<u64>,
    newest_age_s: Option<u64>,
    /// The waiting events' JSON, with `--payloads` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    payloads: Vec<String>,
}

/// The whole directory.
#[derive(Debug, Serialize)]
struct SpoolSummary {
    dir: String,
    bytes: u64,
    waiting: u64,
    lanes: Vec<LaneSummary>,
}

fn summarise(dir: &Path, segments: Vec<SegmentSummary>) -> SpoolSummary {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let age = |ms: u64| now_ms.saturating_sub(ms) / 1000;
    let mut lanes: BTreeMap<String, LaneSummary> = BTreeMap::new();
    for segment in segments {
        let lane = lanes
            .entry(segment.digest.clone())
            .or_insert_with(|| LaneSummary {
                digest: segment.digest.clone(),
                ..Default::default()
            });
        lane.segments += 1;
        lane.bytes += segment.bytes;
        lane.waiting += segment.records;
        lane.consumed += segment.consumed_records;
        lane.corrupt += segment.corrupt;
        if let Some(oldest) = segment.oldest_ms {
            let oldest = age(oldest);
            lane.oldest_age_s = Some(lane.oldest_age_s.map_or(oldest, |a| a.max(oldest)));
        }
        if let Some(newest) = segment.newest_ms {
            let newest = age(newest);
            lane.newest_age_s = Some(lane.newest_age_s.map_or(newest, |a| a.min(newest)));
        }
        lane.payloads.extend(segment.payloads);
    }
    let lanes: Vec<LaneSummary> = lanes.into_values().collect();
    SpoolSummary {
        dir: dir.display().to_string(),
        bytes: lanes.iter().map(|l| l.bytes).sum(),
        waiting: lanes.iter().map(|l| l.waiting).sum(),
        lanes,
    }
}

/// Prints what `dir` holds.
pub(crate) fn run(dir: &Path, json: bool, payloads: bool) -> Result<(), InspectError> {
    let segments = inspect(dir, payloads).map_err(|source| InspectError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let summary = summarise(dir, segments);
    let mut stdout = io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&summary)
            .map_err(|error| InspectError::Stdout(error.into()))?;
        writeln!(stdout, "{text}").map_err(InspectError::Stdout)?;
    } else {
        write_text(&mut stdout, &summary).map_err(InspectError::Stdout)?;
    }
    stdout.flush().map_err(InspectError::Stdout)
}

fn write_text(out: &mut impl Write, summary: &SpoolSummary) -> io::Result<()> {
    writeln!(
        out,
        "spool {}: {} events waiting in {} lanes, {} bytes",
        summary.dir,
        summary.waiting,
        summary.lanes.len(),
        summary.bytes
    )?;
    for lane in &summary.lanes {
        let ages = match (lane.oldest_age_s, lane.newest_age_s) {
            (Some(oldest), Some(newest)) => format!(", written {oldest} s to {newest} s ago"),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {}  {} waiting, {} delivered, {} corrupt, {} segments, {} bytes{ages}",
            lane.digest, lane.waiting, lane.consumed, lane.corrupt, lane.segments, lane.bytes
        )?;
        for payload in &lane.payloads {
            writeln!(out, "    {payload}")?;
        }
    }
    Ok(())
}
