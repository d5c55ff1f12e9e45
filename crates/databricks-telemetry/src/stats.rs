//! The client's accounting: every event offered to it ends up counted exactly once.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of a client's accounting.
///
/// At any quiescent point (no enqueue, flush or close running), and always after
/// [`close`](crate::TelemetryClient::close) has returned:
///
/// `enqueued == exported + dropped.total() + pending`
///
/// and once close has returned, `pending == 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TelemetryStats {
    /// Events offered to [`enqueue`](crate::TelemetryClient::enqueue), accepted or not.
    pub enqueued: u64,
    /// Events the service accepted.
    pub exported: u64,
    /// Events queued or being exported.
    pub pending: u64,
    /// Events dropped, by reason.
    pub dropped: DroppedEvents,
    /// Batches handed to the exporter that it tried to send (not counting those an open breaker
    /// or the feature flag held back).
    pub batches_sent: u64,
    /// Batches that were not wholly delivered.
    pub batches_failed: u64,
}

impl TelemetryStats {
    /// Whether `enqueued == exported + dropped.total() + pending`.
    pub fn is_balanced(&self) -> bool {
        self.enqueued == self.exported + self.dropped.total() + self.pending
    }
}

/// Events dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DroppedEvents {
    /// The queue was full when the event was offered.
    pub queue_full: u64,
    /// The host's circuit breaker was open.
    pub circuit_open: u64,
    /// The export failed (after any retries), or the service accepted only part of a batch.
    pub export_failed: u64,
    /// Close's deadline passed before the event could be delivered.
    pub closed_before_delivery: u64,
    /// The event was offered after close began.
    pub after_close: u64,
    /// The server's feature flag turned telemetry off for the host, or could not be had (a
    /// failed fetch counts as "off" until it is retried).
    pub disabled_by_server: u64,
}

impl DroppedEvents {
    /// All dropped events.
    pub fn total(&self) -> u64 {
        self.queue_full
            + self.circuit_open
            + self.export_failed
            + self.closed_before_delivery
            + self.after_close
            + self.disabled_by_server
    }
}

/// Drops counted on the producers' side, without a lock.
#[derive(Debug, Default)]
pub(crate) struct ProducerDrops {
    pub(crate) queue_full: AtomicU64,
    pub(crate) after_close: AtomicU64,
}

/// What the worker (and a closer) counted: kept under one mutex, touched once per batch.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Events taken off the queue.
    pub(crate) received: u64,
    pub(crate) exported: u64,
    pub(crate) circuit_open: u64,
    pub(crate) export_failed: u64,
    pub(crate) disabled_by_server: u64,
    pub(crate) closed_before_delivery: u64,
    /// Events that slipped into the queue after the final drain (a producer racing close).
    pub(crate) after_close: u64,
    pub(crate) batches_sent: u64,
    pub(crate) batches_failed: u64,
    /// A closer gave up waiting and counted what the worker still held.
    pub(crate) abandoned: bool,
    /// Nothing more will be exported; every event received is counted.
    pub(crate) finished: bool,
}

impl Ledger {
    /// Events received and not yet counted as exported or dropped: the batch being exported.
    pub(crate) fn in_flight(&self) -> u64 {
        self.received
            - self.exported
            - self.circuit_open
            - self.export_failed
            - self.disabled_by_server
            - self.closed_before_delivery
            - self.after_close
    }

    pub(crate) fn snapshot(&self, drops: &ProducerDrops, queued: u64) -> TelemetryStats {
        let queue_full = drops.queue_full.load(Ordering::Relaxed);
        let after_close = drops.after_close.load(Ordering::Relaxed);
        TelemetryStats {
            enqueued: self.received + queued + queue_full + after_close,
            exported: self.exported,
            pending: queued + self.in_flight(),
            dropped: DroppedEvents {
                queue_full,
                circuit_open: self.circuit_open,
                export_failed: self.export_failed,
                closed_before_delivery: self.closed_before_delivery,
                after_close: after_close + self.after_close,
                disabled_by_server: self.disabled_by_server,
            },
            batches_sent: self.batches_sent,
            batches_failed: self.batches_failed,
        }
    }
}
