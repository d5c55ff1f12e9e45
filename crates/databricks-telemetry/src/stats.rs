//! The accounting: every event offered to a lane ends up counted exactly once.

use serde::Serialize;

/// A snapshot of the accounting of one lane (a handle's [`stats`]), or of every lane of a
/// manager (its [`stats`], which keeps the totals of lanes already gone).
///
/// At any quiescent point (no enqueue, flush or close running), and always after a lane has
/// finished or [`shutdown`] has returned:
///
/// `enqueued + replayed == exported + dropped.total() + pending + spooled`
///
/// and once a lane has finished (drained, or its close deadline passed), `pending == 0`.
/// Without a spool (`spool_dir`), `replayed` and `spooled` are 0 and this is
/// `enqueued == exported + dropped.total() + pending`.
///
/// # With a spool
///
/// An event written to the spool leaves this process's memory for the disk, where this process
/// or a later one reads it back: `spooled` counts it where it left (as `exported` does for the
/// service), and `replayed` counts every record read back from the spool where it came in (as
/// `enqueued` does for a producer's event), whatever then becomes of it (sent, or dropped as
/// `spool_expired`, `spool_corrupt` or `spool_full`). So the events still on disk, spooled but
/// not yet read back, are the pending ones no process holds; summed over the processes that
/// shared a spool (a run that exited mid-outage, then the next):
///
/// `Σ enqueued == Σ exported + Σ dropped.total() + Σ pending + (Σ spooled − Σ replayed)`
///
/// where the last term is what the spool still holds (`dbtel inspect --spool DIR` counts it).
///
/// An export still running when a deadline counted its batch as `closed_before_delivery` is
/// not counted again when it returns, even if the service took it: the accounting keeps what
/// it said at the deadline.
///
/// [`stats`]: crate::TelemetryClientHandle::stats
/// [`shutdown`]: crate::TelemetryClientManager::shutdown
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TelemetryStats {
    /// Events offered to `enqueue`, accepted or not.
    pub enqueued: u64,
    /// Events the service accepted.
    pub exported: u64,
    /// Events queued, waiting for a retry, or being exported.
    pub pending: u64,
    /// Events dropped, by reason.
    pub dropped: DroppedEvents,
    /// Upload requests made (retries and probes each count).
    pub batches_sent: u64,
    /// Upload requests that did not deliver their whole batch.
    pub batches_failed: u64,
    /// Events written to the spool (`spool_dir`): they wait on disk for this process or the
    /// next one. Counted where they left memory; see "With a spool" above.
    pub spooled: u64,
    /// Records read back from the spool: sent again, or dropped as `spool_expired`,
    /// `spool_corrupt` or `spool_full`. Counted as a source, like `enqueued`.
    pub replayed: u64,
}

impl TelemetryStats {
    /// Whether `enqueued + replayed == exported + dropped.total() + pending + spooled`.
    pub fn is_balanced(&self) -> bool {
        self.enqueued + self.replayed
            == self.exported + self.dropped.total() + self.pending + self.spooled
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &TelemetryStats) {
        self.enqueued += other.enqueued;
        self.exported += other.exported;
        self.pending += other.pending;
        self.batches_sent += other.batches_sent;
        self.batches_failed += other.batches_failed;
        self.spooled += other.spooled;
        self.replayed += other.replayed;
        self.dropped.add(&other.dropped);
    }
}

/// Events dropped, by reason.
///
/// An open circuit breaker never drops: while it is open, events wait in their lanes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DroppedEvents {
    /// The lane held `max_queue_size` events, or the manager `max_pending_events`, when the
    /// event was offered.
    pub queue_full: u64,
    /// The service refused the batch (a 400, 413, ...), accepted only part of it, or it used
    /// its whole `max_export_attempts` (with a spool, a batch that used its attempts is spooled
    /// instead).
    pub export_failed: u64,
    /// The lane's close deadline (or the manager's shutdown deadline) passed before the event
    /// could be delivered.
    pub closed_before_delivery: u64,
    /// The event was offered after the lane closed (the manager shut down), or through a
    /// handle after one of its clones [closed](crate::TelemetryClientHandle::close) it (a bound
    /// statement recorder sending its event late included). Counted on the lane the handle
    /// was on: in that handle's [`stats`](crate::TelemetryClientHandle::stats), and in its
    /// manager's while the lane is live; a lane's totals in the manager are final once it has
    /// finished.
    pub after_close: u64,
    /// The server's feature flag turned telemetry off for the host.
    pub disabled_by_server: u64,
    /// The lane had no credentials to send with (its connections are gone and it never got an
    /// authorization, or the service refused the one it kept), or its credentials provider kept
    /// failing until the batch used its attempts.
    pub credentials_failed: u64,
    /// Spool records dropped for room (`spool_max_bytes`: the oldest of the lane's records
    /// go first), or events that could not be written (the spool's directory full, unwritable
    /// or refused).
    pub spool_full: u64,
    /// Spool records older than `spool_max_age` when read back, dropped unsent.
    pub spool_expired: u64,
    /// Spool records that failed their checksum or were cut short (a torn write), skipped: one
    /// each.
    pub spool_corrupt: u64,
}

impl DroppedEvents {
    /// All dropped events.
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.export_failed
            + self.closed_before_delivery
            + self.after_close
            + self.disabled_by_server
            + self.credentials_failed
            + self.spool_full
            + self.spool_expired
            + self.spool_corrupt
    }

    /// Every reason with its count, in a fixed order (for reports).
    pub fn by_reason(&self) -> [(&'static str, u64); 9] {
        [
            ("queue_full", self.queue_full),
            ("export_failed", self.export_failed),
            ("closed_before_delivery", self.closed_before_delivery),
            ("after_close", self.after_close),
            ("disabled_by_server", self.disabled_by_server),
            ("credentials_failed", self.credentials_failed),
            ("spool_full", self.spool_full),
            ("spool_expired", self.spool_expired),
            ("spool_corrupt", self.spool_corrupt),
        ]
    }

    fn add(&mut self, other: &DroppedEvents) {
        self.queue_full += other.queue_full;
        self.export_failed += other.export_failed;
        self.closed_before_delivery += other.closed_before_delivery;
        self.after_close += other.after_close;
        self.disabled_by_server += other.disabled_by_server;
        self.credentials_failed += other.credentials_failed;
        self.spool_full += other.spool_full;
        self.spool_expired += other.spool_expired;
        self.spool_corrupt += other.spool_corrupt;
    }
}

/// What a lane's worker (and a closer) counted: kept under the lane's lock, touched once per
/// batch.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Events taken off the queue, and records read back from the spool (`replayed`).
    pub(crate) received: u64,
    /// Records read back from the spool (part of `received`).
    pub(crate) replayed: u64,
    /// Events written to the spool.
    pub(crate) spooled: u64,
    pub(crate) spool_full: u64,
    pub(crate) spool_expired: u64,
    pub(crate) spool_corrupt: u64,
    pub(crate) exported: u64,
    pub(crate) export_failed: u64,
    pub(crate) disabled_by_server: u64,
    pub(crate) credentials_failed: u64,
    pub(crate) closed_before_delivery: u64,
    /// Events that slipped into the queue after the lane finished (a producer racing close).
    pub(crate) after_close: u64,
    pub(crate) batches_sent: u64,
    pub(crate) batches_failed: u64,
    /// Nothing more will be exported; every event received is counted.
    pub(crate) finished: bool,
}

impl Ledger {
    /// Events received and counted as exported, dropped or spooled.
    pub(crate) fn settled(&self) -> u64 {
        self.exported
            + self.export_failed
            + self.disabled_by_server
            + self.credentials_failed
            + self.closed_before_delivery
            + self.after_close
            + self.spooled
            + self.spool_full
            + self.spool_expired
            + self.spool_corrupt
    }

    /// Events received and not yet counted: the batch being exported or waiting for a retry.
    pub(crate) fn in_flight(&self) -> u64 {
        self.received - self.settled()
    }

    /// The snapshot, given what producers counted and what is still queued.
    pub(crate) fn snapshot(
        &self,
        queue_full: u64,
        after_close: u64,
        queued: u64,
    ) -> TelemetryStats {
        TelemetryStats {
            enqueued: self.received - self.replayed + queued + queue_full + after_close,
            exported: self.exported,
            pending: queued + self.in_flight(),
            dropped: DroppedEvents {
                queue_full,
                export_failed: self.export_failed,
                closed_before_delivery: self.closed_before_delivery,
                after_close: after_close + self.after_close,
                disabled_by_server: self.disabled_by_server,
                credentials_failed: self.credentials_failed,
                spool_full: self.spool_full,
                spool_expired: self.spool_expired,
                spool_corrupt: self.spool_corrupt,
            },
            batches_sent: self.batches_sent,
            batches_failed: self.batches_failed,
            spooled: self.spooled,
            replayed: self.replayed,
        }
    }
}
