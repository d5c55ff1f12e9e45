//! SIGINT and SIGTERM during `dbtel simulate`: the first stops the workload (the run then
//! closes within its close timeout and prints the report it has); a second ends the process at
//! once.
//!
//! The handlers are [`StopSignals`], `serve`'s too, driven by a one-thread runtime on a thread of their own, since the
//! simulation itself is synchronous. They are installed before the workload starts, so a
//! signal sent as soon as the run begins is not lost.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

pub(crate) use crate::stop_signals::StopSignal;
use crate::stop_signals::StopSignals;

/// Whether (and by which signal) the run was asked to stop; shared with the workload.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopFlag(Arc<AtomicU8>);

impl StopFlag {
    /// The first signal received, if any.
    pub(crate) fn signal(&self) -> Option<StopSignal> {
        from_code(self.0.load(Ordering::Acquire))
    }

    /// Whether a stop was asked for.
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire) != 0
    }

    /// Records `signal` unless one came before; whether it was the first.
    pub(crate) fn set(&self, signal: StopSignal) -> bool {
        self.0
            .compare_exchange(0, code(signal), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Installs the handlers; from then on the first SIGINT or SIGTERM sets the returned flag and a
/// second exits the process with the first one's status.
///
/// # Errors
///
/// When the runtime or a handler cannot be set up, or the thread cannot start.
pub(crate) fn install() -> io::Result<StopFlag> {
    let flag = StopFlag::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut signals = {
        let _context = runtime.enter();
        StopSignals::install()?
    };
    let watched = flag.clone();
    std::thread::Builder::new()
        .name("dbtel-signals".to_owned())
        .spawn(move || {
            runtime.block_on(async {
                loop {
                    let signal = signals.recv().await;
                    if !watched.set(signal) {
                        let first = watched.signal().unwrap_or(signal);
                        eprintln!("dbtel: {} again: exiting at once", signal.name());
                        std::process::exit(i32::from(first.exit_code()));
                    }
                    eprintln!(
                        "dbtel: {}: stopping the workload; closing within the close timeout (again to exit at once)",
                        signal.name()
                    );
                }
            });
        })?;
    Ok(flag)
}

/// The flag's encoding of a signal (0: none).
fn code(signal: StopSignal) -> u8 {
    match signal {
        StopSignal::Interrupt => 1,
        StopSignal::Terminate => 2,
    }
}

fn from_code(code: u8) -> Option<StopSignal> {
    match code {
        1 => Some(StopSignal::Interrupt),
        2 => Some(StopSignal::Terminate),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_is_kept() {
        let flag = StopFlag::default();
        assert!(!flag.is_set());
        assert_eq!(flag.signal(), None);
        assert!(flag.set(StopSignal::Terminate));
        assert!(!flag.set(StopSignal::Interrupt));
        assert_eq!(flag.signal(), Some(StopSignal::Terminate));
        assert_eq!(StopSignal::Terminate.exit_code(), 143);
        assert_eq!(StopSignal::Interrupt.exit_code(), 130);
    }
}
