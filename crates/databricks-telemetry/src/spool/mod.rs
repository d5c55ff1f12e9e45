//! The spool (`spool_dir`, cargo feature `spool`): where a lane's events wait on disk while its
//! host cannot take them, so a long outage, a full lane or a process that exits mid-outage loses
//! nothing; read back by the lane of the same (host, identity), in this process or a later one.
//!
//! # What the pipeline does with it
//!
//! Nothing on a producer's path touches the disk: the lane's worker does all of it.
//! - **Spill**: while a lane cannot send (its host's breaker is open or half-open, or its
//!   failed batch waits for a retry), the worker writes what the lane holds in memory (queued
//!   events and the failed batch) to the spool, once per [`SPILL_INTERVAL`] and at once when
//!   the queue reaches half of `max_queue_size`. So producers see `queue_full` only when the
//!   spool cannot take more.
//! - **Instead of dropping**: a batch that used its `max_export_attempts` on retryable
//!   failures, and what a lane still holds at its close or shutdown deadline (including a copy
//!   of the batch whose request has not returned), is written instead of counted as
//!   `export_failed` or `closed_before_delivery`; the write at a deadline is bounded by
//!   [`DEADLINE_WRITE_BUDGET`]. Refusals (a 400, 413, ...), partial deliveries, the server's
//!   flag turning telemetry off and credential failures are not spooled.
//! - **Replay**: when the lane can send (no failed batch waiting, breaker closed), the worker
//!   reads a batch of spooled records, oldest first, and sends it with the lane's live
//!   credentials through the same breaker and retry rules; once it is delivered (or refused
//!   for good), its records are marked consumed (the segment's header, synced) and a segment
//!   read to its end is deleted. At least once: a process killed between the delivery and the
//!   mark sends that one batch again.
//!
//! # On disk
//!
//! Segment files of at most 1 MiB, `DIGEST-NANOS-PID-SEQ.seg`, mode 0600, in a directory of
//! mode 0700 that must be the user's own and not writable by the group or others. `DIGEST` is
//! an HMAC-SHA256 of the host and the identity under the directory's own random key
//! (`spool.key`, 0600), so a file name says nothing about either to whoever lacks the key. A
//! record is one frontend log as the service receives it (JSON: no credential is ever in it or
//! anywhere in the directory). Each write's records are compressed together (LZ4) in blocks of
//! up to 256 KiB before compression, each block with its time, its record count and CRC-32s of
//! its header and of its payload (`record.rs`): the events of one session repeat most of their
//! JSON, so a block stores it about once (1/5 to 1/10 of the JSON's size). The format is
//! versioned by the file's magic; a segment of the uncompressed version 1 is not read: it is
//! counted as one `spool_corrupt` and deleted. Each write (one spill, one batch) is synced (`fdatasync`) before the events count as spooled: a crash loses what was in memory
//! only (at most the last [`SPILL_INTERVAL`] of events while the host is down, and the batch
//! being sent).
//!
//! Only identities that mean the same in a later process have a spool: a
//! [`ClientIdentity::unique`](crate::ClientIdentity::unique) one never does (its lane is memory
//! only); a [`from_credential`](crate::ClientIdentity::from_credential) one is keyed by a
//! SHA-256 of its kind and secret (in memory only), the same in every process. Room is made a
//! whole segment at a time (the directory's oldest, of any identity, that no one holds).
//!
//! Each segment has one writer and one replayer at a time: an exclusive `flock` held while it
//! is written or read back. A crashed writer's lock goes with its process, so the next
//! replayer takes the file over; a torn block at its end is skipped and counted as one
//! `spool_corrupt`, a whole block whose payload fails its checksum as its number of records.

//!
//! # Why a segment log and not SQLite
//!
//! Measured side by side (BENCHMARKS.md, "Issue 21"): at the same sync policy both write and
//! read back over 200,000 events a second here, but `rusqlite` with its bundled SQLite adds
//! about 2 MB to a driver and a C build (the spool adds 0.29 MB, no C), and the segment log's
//! crash behaviour is ours to test: a torn tail is skipped and counted, a torn consumed mark
//! resends a batch rather than losing it, a dead writer's lock goes with it.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often (clock time) a lane that cannot send writes what it holds to the spool.
pub(crate) const SPILL_INTERVAL: Duration = Duration::from_secs(1);

/// The longest a close or shutdown deadline spends writing what one lane holds to the spool;
/// what is left then is counted as `closed_before_delivery`. A shutdown's writes, all lanes
/// together, also end by the shutdown's own deadline ([`DeadlineWrites`]).
pub(crate) const DEADLINE_WRITE_BUDGET: Duration = Duration::from_millis(500);

/// When the spool writes of lanes at their close or shutdown deadline must end, shared by a
/// manager's lanes: each within [`DEADLINE_WRITE_BUDGET`] of its start, and, once a shutdown
/// has begun, all of them by the shutdown's deadline (so many lanes cannot add up past it).
#[derive(Debug, Default)]
pub(crate) struct DeadlineWrites {
    shutdown: Mutex<Option<Instant>>,
}

impl DeadlineWrites {
    /// From now on, no write at a deadline goes on past `deadline` (the earliest given wins).
    pub(crate) fn end_by(&self, deadline: Instant) {
        let mut shutdown = self.shutdown.lock().unwrap_or_else(PoisonError::into_inner);
        *shutdown = Some(shutdown.map_or(deadline, |d| d.min(deadline)));
    }

    /// When a write at a deadline starting `now` must stop.
    pub(crate) fn until(&self, now: Instant) -> Instant {
        let own = now + DEADLINE_WRITE_BUDGET;
        let shutdown = *self.shutdown.lock().unwrap_or_else(PoisonError::into_inner);
        shutdown.map_or(own, |deadline| deadline.min(own))
    }

    /// How much earlier than a shutdown's deadline (of `timeout`) its lanes with a spool stop
    /// draining, to leave their writes time: [`DEADLINE_WRITE_BUDGET`], or half the timeout
    /// when that is shorter.
    pub(crate) fn reserve(timeout: Duration) -> Duration {
        DEADLINE_WRITE_BUDGET.min(timeout / 2)
    }
}

/// Where and how much a lane may spool: from the `spool_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolSettings {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Duration,
}

#[cfg(all(feature = "spool", unix))]
pub(crate) mod bench;
#[cfg(all(feature = "spool", unix))]
mod crc32;
#[cfg(all(feature = "spool", unix))]
pub(crate) mod directory;
#[cfg(all(feature = "spool", unix))]
pub(crate) mod inspect;
#[cfg(all(feature = "spool", unix))]
pub(crate) mod record;
#[cfg(all(feature = "spool", unix))]
pub(crate) mod segment;
#[cfg(all(feature = "spool", unix))]
mod store;
#[cfg(all(feature = "spool", unix))]
mod warn;

#[cfg(all(feature = "spool", unix))]
pub(crate) use store::{LaneSpool, Replay, SpoolMark, Written};

#[cfg(not(all(feature = "spool", unix)))]
mod off;
#[cfg(not(all(feature = "spool", unix)))]
pub(crate) use off::{LaneSpool, Replay, SpoolMark, Written};

/// The lane spool for `settings` (when a `spool_dir` is set) and an identity that means the
/// same in a later process; without the `spool` feature (or off Unix) a warning, once.
pub(crate) fn lane_spool(
    settings: Option<&SpoolSettings>,
    host: &str,
    identity: Option<String>,
) -> Option<LaneSpool> {
    let settings = settings?;
    let identity = identity?;
    #[cfg(all(feature = "spool", unix))]
    {
        Some(LaneSpool::new(settings.clone(), host.to_owned(), identity))
    }
    #[cfg(not(all(feature = "spool", unix)))]
    {
        let _ = (settings, host, identity);
        off::warn_unsupported();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_writes_end_within_their_budget_and_by_a_shutdowns_deadline() {
        let writes = DeadlineWrites::default();
        let now = Instant::now();
        assert_eq!(writes.until(now), now + DEADLINE_WRITE_BUDGET);
        writes.end_by(now + Duration::from_millis(100));
        writes.end_by(now + Duration::from_secs(9));
        assert_eq!(writes.until(now), now + Duration::from_millis(100));
        assert_eq!(
            DeadlineWrites::reserve(Duration::from_millis(200)),
            Duration::from_millis(100)
        );
        assert_eq!(
            DeadlineWrites::reserve(Duration::from_secs(10)),
            DEADLINE_WRITE_BUDGET
        );
    }
}
