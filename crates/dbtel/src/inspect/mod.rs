//! `dbtel inspect FILE`: summarise a capture (one frontend log JSON per line).
//!
//! A capture is what `dbtel serve --capture` and `dbtel simulate --capture` write: every accepted
//! frontend log, one JSON document per line, exactly as the driver sent it. Each line is parsed
//! with the library's wire model ([`FrontendLog`]), so a capture this command reads is one the
//! library can produce.
//!
//! Blank lines are ignored. A line that is not a frontend log (including one that is not UTF-8,
//! or longer than `--max-line-bytes`, 64 MiB by default, which is never held in memory) is an
//! error naming its line number, unless `--skip-invalid` is given: then such lines are skipped,
//! counted, and the first one's line number and reason are reported.

mod lines;
mod percentiles;
mod render;
#[cfg(unix)]
mod spool;
mod summary;

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use databricks_telemetry::model::FrontendLog;

use lines::{CaptureLine, CaptureLines, MAX_LINE_BYTES};
pub(crate) use summary::{EventWarning, InspectReport, Summary};

/// Arguments of `dbtel inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The capture to read: one frontend log JSON per line.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,

    /// Skip lines that are not frontend logs (and count them) instead of failing on the first:
    /// lines that are not JSON frontend logs, not UTF-8, or longer than --max-line-bytes.
    #[arg(long)]
    skip_invalid: bool,

    /// The longest line read, in bytes (64 MiB, the endpoint's largest body, by default); a
    /// longer line is never held in memory: it is an error, or skipped with --skip-invalid.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_LINE_BYTES)]
    max_line_bytes: usize,

    /// How many sessions the text summary lists (the busiest first); `--json` lists all.
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_sessions: usize,

    /// Write the summary as a self-contained web page (the one `dbtel serve` shows live) to
    /// OUT, instead of printing it.
    #[arg(long, value_name = "OUT", conflicts_with = "json")]
    html: Option<PathBuf>,

    /// FILE is a spool directory (the library's `spool_dir`, `dbtel simulate --spool`): list
    /// what it holds per host and identity digest, without the events' text (Unix).
    #[arg(long, conflicts_with_all = ["html", "skip_invalid"])]
    spool: bool,

    /// With --spool: print each waiting event's JSON too.
    #[arg(long, requires = "spool")]
    payloads: bool,
}

/// Why `dbtel inspect` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InspectError {
    /// The capture could not be opened or read.
    #[error("cannot read the capture {}: {source}", path.display())]
    Read {
        /// The capture file.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// A line is not a frontend log.
    #[error(
        "{}:{line}: not a frontend log: {reason} (use --skip-invalid to skip such lines)",
        path.display()
    )]
    InvalidLine {
        /// The capture file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the parser said.
        reason: String,
    },
    /// Writing to stdout failed.
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] io::Error),
    /// The page could not be written.
    #[error("cannot write the page {}: {source}", path.display())]
    Page {
        /// The page asked for.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
}

/// Lines that were skipped under `--skip-invalid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SkippedLines {
    /// How many lines were skipped.
    pub(crate) count: u64,
    /// The first skipped line's number (1-based) and why it was skipped.
    pub(crate) first: Option<(usize, String)>,
}

/// Reads and summarises the capture, then prints the summary.
pub(crate) fn run(args: InspectArgs) -> Result<(), InspectError> {
    if args.spool {
        #[cfg(unix)]
        return spool::run(&args.file, args.json, args.payloads);
        #[cfg(not(unix))]
        return Err(InspectError::Read {
            path: args.file.clone(),
            source: io::Error::other("--spool needs a Unix system"),
        });
    }
    let recent = if args.html.is_some() {
        crate::page::RECENT_EVENTS
    } else {
        0
    };
    let summary = read_capture(&args.file, args.skip_invalid, recent, args.max_line_bytes)?;
    let mut stdout = io::stdout().lock();
    if let Some(out) = &args.html {
        let data = crate::page::PageData::of_capture(&args.file, &summary);
        std::fs::write(out, crate::page::static_html(&data)).map_err(|source| {
            InspectError::Page {
                path: out.clone(),
                source,
            }
        })?;
        writeln!(
            stdout,
            "wrote the page for {} events to {}",
            data.events(),
            out.display()
        )
        .map_err(InspectError::Stdout)?;
    } else if args.json {
        let text = serde_json::to_string_pretty(&summary.report(&args.file))
            .map_err(|error| InspectError::Stdout(error.into()))?;
        writeln!(stdout, "{text}").map_err(InspectError::Stdout)?;
    } else {
        render::write_text(&mut stdout, &args.file, &summary, args.max_sessions)
            .map_err(InspectError::Stdout)?;
    }
    stdout.flush().map_err(InspectError::Stdout)
}

/// Parses every line of the capture at `path` (each at most `max_line_bytes`) into a
/// [`Summary`] that keeps the last `recent` events.
///
/// # Errors
///
/// [`InspectError::Read`] when the file cannot be read; [`InspectError::InvalidLine`] for the
/// first line that is not a frontend log (or not UTF-8, or too long), unless `skip_invalid`.
pub(crate) fn read_capture(
    path: &Path,
    skip_invalid: bool,
    recent: usize,
    max_line_bytes: usize,
) -> Result<Summary, InspectError> {
    let read_error = |source| InspectError::Read {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(read_error)?);
    let mut lines = CaptureLines::new(reader, max_line_bytes);
    let mut summary = Summary::keeping_recent(recent);
    let mut index = 0;
    while let Some(line) = lines.next_line().map_err(read_error)? {
        index += 1;
        let reason = match line {
            CaptureLine::Text(text) if text.trim().is_empty() => continue,
            CaptureLine::Text(text) => match serde_json::from_str::<FrontendLog>(&text) {
                Ok(log) => {
                    summary.add(&log);
                    summary.remember(&text, None);
                    continue;
                }
                Err(error) => error.to_string(),
            },
            CaptureLine::TooLong(length) => format!(
                "the line is {length} bytes, longer than {max_line_bytes} (--max-line-bytes)"
            ),
            CaptureLine::NotUtf8 => "the line is not UTF-8".to_owned(),
        };
        if !skip_invalid {
            return Err(InspectError::InvalidLine {
                path: path.to_owned(),
                line: index,
                reason,
            });
        }
        summary.skip_line(index, reason);
    }
    Ok(summary)
}
