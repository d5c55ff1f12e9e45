//! Without the `spool` feature (or off Unix): no lane ever has a spool. The types exist so the
//! pipeline's code is the same in both builds; none can be made.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::FrontendLog;

/// A lane's spool: none can exist in this build.
#[derive(Debug)]
pub(crate) enum LaneSpool {}

/// How far a replayed batch reaches: never made in this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolMark;

/// What a write did (never made in this build).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) written: usize,
    pub(crate) refused: usize,
    pub(crate) evicted: usize,
    pub(crate) expired: usize,
    pub(crate) corrupt: usize,
}

/// A batch read back (never made in this build).
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub(crate) logs: Vec<FrontendLog>,
    pub(crate) mark: Option<SpoolMark>,
    pub(crate) expired: usize,
    pub(crate) corrupt: usize,
}

impl LaneSpool {
    pub(crate) fn has_waiting(&self) -> bool {
        match *self {}
    }
    pub(crate) fn usable(&self) -> bool {
        match *self {}
    }
    pub(crate) fn is_broken(&self) -> bool {
        match *self {}
    }
    pub(crate) fn write(&self, _: &[FrontendLog]) -> Written {
        match *self {}
    }
    pub(crate) fn read(&self, _: usize) -> Replay {
        match *self {}
    }
    pub(crate) fn ack(&self, _: &SpoolMark) {
        match *self {}
    }
    pub(crate) fn release(&self, _: &SpoolMark) {
        match *self {}
    }
    pub(crate) fn let_go(&self) {
        match *self {}
    }
}

/// Warns once that `spool_dir` is set in a build that cannot spool.
pub(crate) fn warn_unsupported() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!("telemetry spool_dir is set, but this build has no spool (cargo feature `spool`, Unix only); events wait in memory only");
    }
}
