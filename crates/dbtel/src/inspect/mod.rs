//! `dbtel inspect FILE`: summarise a capture (one frontend log JSON per line).
//!
//! A capture is what `dbtel serve --capture` and `dbtel simulate --capture` write: every accepted
//! frontend log, one JSON document per line, exactly as the driver sent it. Each line is parsed
//! with the library's wire model ([`FrontendLog`]), so a capture this command reads is one the
//! library can produce.
//!
//! Blank lines are ignored. A line that is not a frontend log is an error naming its line number,
//! unless `--skip-invalid` is given: then such lines are skipped, counted, and the first one's
//! line number and reason are reported.

mod percentiles;
mod render;
#[cfg(unix)]
mod spool;
mod summary;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use databricks_telemetry::model::FrontendLog;

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

    /// Skip lines that are not frontend logs (and count them) instead of failing on the first.
    #[arg(long)]
    skip_invalid: bool,

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
    let summary = read_capture(&args.file, args.skip_invalid, recent)?;
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

/// Parses every line of the capture at `path` into a [`Summary`] that keeps the last `recent`
/// events.
///
/// # Errors
///
/// [`InspectError::Read`] when the file cannot be read; [`InspectError::InvalidLine`] for the
/// first line that is not a frontend log, unless `skip_invalid`.
pub(crate) fn read_capture(
    path: &Path,
    skip_invalid: bool,
    recent: usize,
) -> Result<Summary, InspectError> {
    let read_error = |source| InspectError::Read {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(read_error)?);
    let mut summary = Summary::keeping_recent(recent);
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<FrontendLog>(&line) {
            Ok(log) => {
                summary.add(&log);
                summary.remember(&line, None);
            }
            Err(error) if skip_invalid => summary.skip_line(index + 1, error.to_string()),
            Err(error) => {
                return Err(InspectError::InvalidLine {
                    path: path.to_owned(),
                    line: index + 1,
                    reason: error.to_string(),
                })
            }
        }
    }
    Ok(summary)
}
