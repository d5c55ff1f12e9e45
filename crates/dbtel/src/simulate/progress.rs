//! The progress bar on stderr, shown only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::workload::Progress;

/// How often the bar is redrawn.
const REFRESH: Duration = Duration::from_millis(100);

/// What the bar measures.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProgressGoal {
    /// This many statements in all.
    Statements(u64),
    /// This long a run.
    Duration(Duration),
}

/// A progress bar redrawn on its own thread until [`finish`](Self::finish).
#[derive(Debug)]
pub(crate) struct ProgressView {
    running: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl ProgressView {
    /// Starts the bar when stderr is a terminal; otherwise does nothing. `status` gives the end
    /// of the bar's message (e.g. the breakers' states) at each redraw.
    pub(crate) fn start(
        goal: ProgressGoal,
        progress: Arc<Progress>,
        start: Instant,
        status: impl Fn() -> String + Send + 'static,
    ) -> Self {
        if !std::io::stderr().is_terminal() {
            return ProgressView { running: None };
        }
        let (length, template) = match goal {
            ProgressGoal::Statements(total) => (
                total,
                "{elapsed_precise} [{bar:40}] {pos}/{len} statements, {msg}",
            ),
            ProgressGoal::Duration(duration) => (
                duration.as_millis() as u64,
                "{elapsed_precise} [{bar:40}] {percent}% of the run, {msg}",
            ),
        };
        let bar = ProgressBar::new(length);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dbtel-progress".to_owned())
            .spawn(move || loop {
                let position = match goal {
                    ProgressGoal::Statements(_) => progress.statements.load(Ordering::Relaxed),
                    ProgressGoal::Duration(_) => start.elapsed().as_millis() as u64,
                };
                bar.set_position(position.min(length));
                bar.set_message(format!(
                    "{} events, {}",
                    progress.generated.load(Ordering::Relaxed),
                    status()
                ));
                match stopped.recv_timeout(REFRESH) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                        bar.finish_and_clear();
                        return;
                    }
                }
            });
        ProgressView {
            // Without its thread, the run simply shows no bar.
            running: thread.ok().map(|thread| (stop, thread)),
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(self) {
        if let Some((stop, thread)) = self.running {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}
