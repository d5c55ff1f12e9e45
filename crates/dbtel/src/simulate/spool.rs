//! `dbtel simulate --spool DIR`: the library's spool in DIR, and what simulate keeps beside it
//! (`dbtel-simulate.json`) so that the next run can say where its replayed events came from:
//! the ports of the embedded endpoints (the next run listens on the same ones, so its hosts,
//! and so its lanes' spools, are the same) and one line per run.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use databricks_telemetry::unstable::spool::inspect;
use databricks_telemetry::TelemetryStats;
use serde::{Deserialize, Serialize};

/// The file simulate keeps in the spool directory (the library reads only its own files).
pub(crate) const STATE_FILE: &str = "dbtel-simulate.json";

/// What simulate remembers between runs.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    /// The embedded endpoints' ports, host by host.
    ports: Vec<u16>,
    /// Every run, oldest first.
    runs: Vec<RunRecord>,
}

/// One run that used the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// Its number (1 for the first run with this directory).
    pub(crate) run: u64,
    /// When it started, in ms since the Unix epoch.
    pub(crate) started_unix_ms: u64,
    /// Whether it reached its end (false: killed, or still running).
    pub(crate) finished: bool,
    /// Events it spooled.
    pub(crate) spooled: u64,
    /// Spool records it read back.
    pub(crate) replayed: u64,
    /// Records on disk when it ended.
    pub(crate) left_on_disk: u64,
}

/// The spool part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SpoolReport {
    /// The directory.
    pub(crate) dir: String,
    /// This run's number.
    pub(crate) run: u64,
    /// Records on disk when the run started.
    pub(crate) on_disk_at_start: u64,
    /// Records read back (sent again, or dropped as expired, corrupt or for room).
    pub(crate) replayed: u64,
    /// Events written to the spool.
    pub(crate) spooled: u64,
    /// Records on disk at the end, for the next run.
    pub(crate) left_on_disk: u64,
    /// The earlier runs that left what was on disk at the start (killed runs included).
    pub(crate) from_runs: Vec<RunRecord>,
}

/// A run with a spool directory.
#[derive(Debug)]
pub(crate) struct SpoolRun {
    dir: PathBuf,
    state: State,
    run: u64,
    on_disk_at_start: u64,
    from_runs: Vec<RunRecord>,
}

/// Records waiting in `dir`.
pub(crate) fn on_disk(dir: &Path) -> u64 {
    inspect(dir, false)
        .map(|segments| segments.iter().map(|s| s.records).sum())
        .unwrap_or(0)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

impl SpoolRun {
    /// Makes `dir` (0700) if needed and reads what earlier runs left in it.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        let dir = std::path::absolute(dir)?;
        // The library's own rules (0700, this user's alone): a directory it would refuse is an
        // error here, not a run that silently keeps everything in memory.
        databricks_telemetry::unstable::spool::prepare_directory(&dir)?;
        let state: State = match std::fs::read(dir.join(STATE_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => State::default(),
            Err(error) => return Err(error),
        };
        let on_disk_at_start = on_disk(&dir);
        // The runs since the last one that finished with nothing left.
        let from_runs = state
            .runs
            .iter()
            .rev()
            .take_while(|run| !(run.finished && run.left_on_disk == 0))
            .cloned()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let run = state.runs.last().map_or(1, |last| last.run + 1);
        Ok(SpoolRun {
            dir,
            state,
            run,
            on_disk_at_start,
            from_runs,
        })
    }

    /// The directory, absolute (the library's `spool_dir`).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ports the embedded endpoints listened on last time, host by host.
    pub(crate) fn ports(&self) -> &[u16] {
        &self.state.ports
    }

    /// Notes this run (unfinished) and its endpoints' ports, before any event.
    pub(crate) fn start(&mut self, ports: Vec<u16>) -> io::Result<()> {
        if !ports.is_empty() {
            self.state.ports = ports;
        }
        self.state.runs.push(RunRecord {
            run: self.run,
            started_unix_ms: now_ms(),
            finished: false,
            spooled: 0,
            replayed: 0,
            left_on_disk: self.on_disk_at_start,
        });
        self.save()
    }

    /// Notes the run's end and makes its report.
    pub(crate) fn finish(mut self, total: &TelemetryStats) -> io::Result<SpoolReport> {
        let left_on_disk = on_disk(&self.dir);
        if let Some(record) = self.state.runs.last_mut() {
            record.finished = true;
            record.spooled = total.spooled;
            record.replayed = total.replayed;
            record.left_on_disk = left_on_disk;
        }
        self.save()?;
        Ok(SpoolReport {
            dir: self.dir.display().to_string(),
            run: self.run,
            on_disk_at_start: self.on_disk_at_start,
            replayed: total.replayed,
            spooled: total.spooled,
            left_on_disk,
            from_runs: self.from_runs,
        })
    }

    fn save(&self) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(io::Error::other)?;
        let temporary = self.dir.join(format!("{STATE_FILE}.tmp"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        io::Write::write_all(&mut file, &bytes)?;
        std::fs::rename(&temporary, self.dir.join(STATE_FILE))
    }
}

impl SpoolReport {
    /// The report's lines.
    pub(crate) fn to_text(&self) -> String {
        let from = if self.from_runs.is_empty() {
            String::new()
        } else {
            let runs: Vec<String> = self
                .from_runs
                .iter()
                .map(|run| {
                    if run.finished {
                        format!("run {} (left {})", run.run, run.left_on_disk)
                    } else {
                        format!("run {} (did not finish: killed?)", run.run)
                    }
                })
                .collect();
            format!(" from {}", runs.join(", "))
        };
        format!(
            "spool     {} (run {}): {} on disk at start{from}; replayed {}, spooled {}, {} left on disk",
            self.dir, self.run, self.on_disk_at_start, self.replayed, self.spooled, self.left_on_disk
        )
    }

    /// What does not add up on disk: what was there, less what was read back, plus what was
    /// written, is what is there now (when no other process used the directory meanwhile).
    pub(crate) fn problem(&self) -> Option<String> {
        let expected = (self.on_disk_at_start + self.spooled).checked_sub(self.replayed);
        (expected != Some(self.left_on_disk)).then(|| {
            format!(
                "spool: {} on disk at start + {} spooled - {} replayed != {} left on disk (did another process use {}?)",
                self.on_disk_at_start, self.spooled, self.replayed, self.left_on_disk, self.dir
            )
        })
    }
}
