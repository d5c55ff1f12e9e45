//! The accounting: every event offered to a lane ends up counted exactly once.

use serde::Serialize;

/// A snapshot of the accounting of one lane (a handle's [`stats`]), or of every lane of a
/// manager (its [`stats`], which keeps the totals of lanes already gone).
///
/// At any quiescent point (no enqueue, flush or close running), and always after a lane has
/// finished or [`shutdown`] has returned:
///
/// `enqueued == exported + dropped.total() + pending`
///
/// and once a lane has finished (drained, or its close deadline passed), `pending == 0`.
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
}

impl TelemetryStats {
    /// Whether `enqueued == exported + dropped.total() + pending`.
    pub fn is_balanced(&self) -> bool {
        self.enqueued == self.exported + self.dropped.total() + self.pending
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &TelemetryStats) {
        self.enqueued += other.enqueued;
        self.exported += other.exported;
        self.pending += other.pending;
        self.batches_sent += other.batches_sent;
        self.batches_failed += other.batches_failed;
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
    /// its whole `max_export_attempts`.
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
    }

    /// Every reason with its count, in a fixed order (for reports).
    pub fn by_reason(&self) -> [(&'static str, u64); 6] {
        [
            ("queue_full", self.queue_full),
            ("export_failed", self.export_failed),
            ("closed_before_delivery", self.closed_before_delivery),
            ("after_close", self.after_close),
            ("disabled_by_server", self.disabled_by_server),
            ("credentials_failed", self.credentials_failed),
        ]
    }

    fn add(&mut self, other: &DroppedEvents) {
        self.queue_full += other.queue_full;
        self.export_failed += other.export_failed;
        self.closed_before_delivery += other.closed_before_delivery;
        self.after_close += other.after_close;
        self.disabled_by_server += other.disabled_by_server;
        self.credentials_failed += other.credentials_failed;
    }
}

/// What a lane's worker (and a closer) counted: kept under the lane's lock, touched once per
/// batch.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Events taken off the queue.
    pub(crate) received: u64,
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
    /// Events received and counted as exported or dropped.
    pub(crate) fn settled(&self) -> u64 {
        self.exported
            + self.export_failed
            + self.disabled_by_server
            + self.credentials_failed
            + self.closed_before_delivery
            + self.after_close
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
            enqueued: self.received + queued + queue_full + after_close,
            exported: self.exported,
            pending: queued + self.in_flight(),
            dropped: DroppedEvents {
                queue_full,
                export_failed: self.export_failed,
                closed_before_delivery: self.closed_before_delivery,
                after_close: after_close + self.after_close,
                disabled_by_server: self.disabled_by_server,
                credentials_failed: self.credentials_failed,
            },
            batches_sent: self.batches_sent,
            batches_failed: self.batches_failed,
        }
    }
}
