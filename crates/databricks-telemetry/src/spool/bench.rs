//! One lane's spool on its own, for the write and replay measurements of the storage comparison
//! (`docs/spool-storage-comparison`): the same code the pipeline uses, without a pipeline
//! around it.

use std::path::PathBuf;
use std::time::Duration;

use super::{LaneSpool, SpoolSettings};
use crate::model::FrontendLog;

/// A spool in `dir` for one (host, identity).
#[derive(Debug)]
pub struct SpoolBench {
    spool: LaneSpool,
}

impl SpoolBench {
    /// The spool of (`host`, `identity`) in `dir`, bounded by `max_bytes` and `max_age`.
    pub fn new(
        dir: PathBuf,
        max_bytes: u64,
        max_age: Duration,
        host: &str,
        identity: &str,
    ) -> Self {
        SpoolBench {
            spool: LaneSpool::new(
                SpoolSettings {
                    dir,
                    max_bytes,
                    max_age,
                },
                host.to_owned(),
                identity.to_owned(),
            ),
        }
    }

    /// Writes `logs` as one synced write (one spill); returns how many were written.
    pub fn write(&self, logs: &[FrontendLog]) -> usize {
        self.spool.write(logs).written
    }

    /// Reads back up to `max` events and marks them consumed at once (as a delivered batch);
    /// returns how many.
    pub fn replay(&self, max: usize) -> usize {
        let replay = self.spool.read(max);
        if let Some(mark) = &replay.mark {
            self.spool.ack(mark);
        }
        replay.logs.len()
    }
}
