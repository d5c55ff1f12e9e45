//! Warnings the spool gives at most once per cause in a process.

use std::sync::atomic::{AtomicBool, Ordering};

/// Why the spool could not be used.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cause {
    /// The directory is missing and cannot be made, unreadable, or refused.
    Directory,
    /// A write failed (the disk full, a read-only file system).
    Write,
}

static WARNED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// Warns with `message` the first time `cause` happens in the process; later ones at debug.
pub(crate) fn warn_once(cause: Cause, message: &str) {
    if !WARNED[cause as usize].swap(true, Ordering::Relaxed) {
        tracing::warn!("telemetry spool: {message}; events wait in memory only");
    } else {
        tracing::debug!("telemetry spool: {message}");
    }
}
