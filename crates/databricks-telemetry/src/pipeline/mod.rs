//! The engine: lanes, host workers, and how everything ends.
//!
//! # The protocol
//!
//! - **Who owns what.** A [manager](crate::TelemetryClientManager) owns one engine. The
//!   engine owns one *host* per normalised host name, and each host one *lane* per
//!   [identity](crate::ClientIdentity). A
//!   [handle](crate::TelemetryClientHandle) holds its lane and its host. A host owns
//!   its circuit breaker, its exporter (one HTTP connection pool) and, while it has work, one
//!   export thread (`dbx-telemetry`).
//! - **How an event travels.** `enqueue` checks the lane's bound and the manager's, and pushes
//!   the event onto the lane's unbounded queue: no lock, no I/O. The lane's first event (or a
//!   whole batch) wakes the host's worker, starting it if the host had none. The worker serves
//!   the host's lanes round-robin, one batch per lane per turn: a lane is due once it holds
//!   `batch_size` events, when its flush interval has passed since its first waiting event,
//!   while someone flushes it, or once its last handle is gone. For each batch the worker gets
//!   the lane's authorization (from a live connection's credentials provider, or the one it
//!   kept), asks the host's feature flag (authenticated lanes only, unless `force_enabled`),
//!   asks the breaker, and sends once. A batch that fails with a retryable error goes back to
//!   the front of its lane and waits (backoff, or the breaker); every send counts against its
//!   `max_export_attempts`.
//! - **How it ends.** Releasing a handle returns at once. The lane of the last handle drains in
//!   the background until it is empty (then it finishes) or its close timeout passes (then what
//!   it still holds is counted as `closed_before_delivery`); the host's worker ends once it has
//!   had nothing to do for a second. A new acquire of a draining lane takes it back.
//!   [`shutdown`](crate::TelemetryClientManager::shutdown) closes every lane and
//!   waits for them within its timeout, counting whatever a hanging host still holds.
//!
//! # The breaker, as a lane sees it
//!
//! ```text
//!                 threshold consecutive failures (any lane of the host)
//!     ┌────────┐ ───────────────────────────────────────────────► ┌──────┐
//!     │ closed │                                                   │ open │  lanes keep their
//!     └────────┘ ◄──────────┐                        ┌──────────── └──────┘  events and wait
//!        ▲  sends freely    │ probe delivered         │ probe failed:  │
//!        │                  │ (backlog drains)        │ open time x2   │ open time over
//!        │             ┌───────────┐ ─────────────────┘ (jittered, up  ▼ (1 s at first)
//!        └──────────── │ half-open │   to circuit_breaker_timeout)
//!                      └───────────┘ ◄──────────────────────────────────
//!                      one lane (in turn) sends one probe: one request, no retries
//! ```
//!
//! A `Retry-After` holds it open at least that long (capped by `circuit_breaker_max_open_ms`).
//! Credentials failures (a provider error, 401, 403) are the lane's own and never count against
//! the breaker.

mod authorizer;
pub(crate) mod engine;
pub(crate) mod host;
pub(crate) mod lane;
pub(crate) mod settings;
pub(crate) mod threads;
pub(crate) mod wait;
mod worker;

pub use threads::{thread_stats, ThreadStats};
pub use wait::{CloseFuture, CloseOutcome, CloseResult, FlushResult};
