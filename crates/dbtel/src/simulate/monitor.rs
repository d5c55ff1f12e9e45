//! Watching a run from the side: when the library counted its last export, and the process's
//! peak resident memory.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use databricks_telemetry::TelemetryClientManager;

/// How often the exported count is looked at.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// A thread that notes when the manager's exported count last grew, until
/// [`finish`](Self::finish).
#[derive(Debug)]
pub(crate) struct ExportWatch {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<(u64, Option<Duration>)>,
    start: Instant,
}

impl ExportWatch {
    /// Starts watching `manager`, timing from `start`.
    pub(crate) fn start(manager: TelemetryClientManager, start: Instant) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dbtel-export-watch".to_owned())
            .spawn(move || {
                let mut seen = 0;
                let mut last = None;
                loop {
                    let exported = manager.stats().exported;
                    if exported > seen {
                        seen = exported;
                        last = Some(start.elapsed());
                    }
                    match stopped.recv_timeout(SAMPLE_EVERY) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return (seen, last),
                    }
                }
            })?;
        Ok(ExportWatch {
            stop,
            thread,
            start,
        })
    }

    /// Stops watching; given the final exported count, says when (from the start) the last
    /// export was counted, to within [`SAMPLE_EVERY`]: `None` when nothing was exported.
    pub(crate) fn finish(self, exported: u64) -> Option<Duration> {
        let _ = self.stop.send(());
        let (seen, last) = self.thread.join().unwrap_or((0, None));
        if exported > seen {
            // Exported after the last look: just now, at the latest.
            Some(self.start.elapsed())
        } else {
            last
        }
    }
}

/// The process's peak resident memory so far (`VmHWM` of `/proc/self/status`), in MiB; `None`
/// where the system does not say.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let mib = peak_rss_mib().expect("VmHWM on Linux");
            assert!(mib > 0.0 && mib < 64.0 * 1024.0, "{mib}");
        }
    }

    #[test]
    fn nothing_exported_has_no_last_export() {
        let watch = ExportWatch::start(TelemetryClientManager::new(), Instant::now()).unwrap();
        assert_eq!(watch.finish(0), None);
    }
}
