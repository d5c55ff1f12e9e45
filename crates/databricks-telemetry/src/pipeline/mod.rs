//! The engine: lanes, host workers, and how everything ends.
//!
//! The protocol (who owns what, how an event travels, how it ends, the breaker as a lane sees
//! it) is described in the crate docs, under "How it works". What the code here relies on:
//!
//! # Lane states
//!
//! A lane ([`lane::Lane`]) belongs to one (host, identity) and lives in its host's list
//! ([`host::LaneEntry`]) until it is retired:
//!
//! 1. **Held**: `handles > 0`, no drain deadline. Accepts events; the worker sends a batch when
//!    it is full, its flush timer expires, or a flush waits.
//! 2. **Draining**: the last handle went while it held events (or shutdown began): it has a
//!    drain deadline (clock time) and sends whatever it holds. An acquire of the same identity
//!    takes it back to held.
//! 3. **Finished** (`ledger.finished`): out of the host's list (drained, past its deadline, or
//!    cut off by shutdown); what it still held is counted as `closed_before_delivery`, a late
//!    export result is ignored, later events count as `after_close`. Done by
//!    [`host::Host::retire`], once.
//! 4. **Retired** (`retired`): its accounting is in the host's and the manager's totals; who
//!    waits for the lane's end is woken. Then only `Arc`s keep it.
//!
//! A lane with nothing to send when its last handle goes skips draining. Separately, a lane is
//! *closed* (an atomic) from finishing or shutdown on: admission refuses.
//!
//! # Lock order
//!
//! **registry → host → lane**, each taken only after the ones before it:
//! [`engine::Engine::acquire`] holds the registry and the host while it updates a lane; the
//! worker holds its host's lock while it looks at lanes (their due times, retiring them).
//! Besides these:
//! - the totals (`Host::retired`, the engine's retired stats), the breaker, the feature-flag
//!   cache and a close future's slot are leaves but for reading the clock (a manual clock's
//!   lock, the last of all): they may be taken under the locks above, and nothing else is
//!   taken while one is held;
//! - the credentials runner pool (`authorizer::Authorizer::runners`) is taken with no other
//!   lock held: the worker lets go of the lane's lock before it hands a provider that may
//!   block to a runner, and a runner takes the lane's lock alone. It is not after "lane" in
//!   the order; it is never nested with the others.
//! - A manual clock's `advance` tells the hosts (their lock) after letting go of its own.
//! - A lane's spool ([`crate::spool`], feature `spool`) is a leaf after the lane, and its disk
//!   I/O happens with neither the host's nor the lane's lock held: the worker takes events off
//!   the lane (or decides to replay) under the lane's lock, marks the lane `spilling`, lets go,
//!   writes or reads, and settles the ledger under the lock again; a finish (at a drain,
//!   close or shutdown deadline) waits while the lane is `spilling`, then marks it finished,
//!   lets go and writes what it held within `DEADLINE_WRITE_BUDGET`, the close timeout and, in
//!   a shutdown, the shutdown's own deadline (`DeadlineWrites`: lanes with a spool stop
//!   draining up to that budget early, so their writes fit before it; many lanes do not add up
//!   past it). The worker retires finished lanes with the host's lock let go. Only cheap spool
//!   calls (letting a segment go) are made under the lane's lock. Under the spool's own lock,
//!   a process-wide leaf (`DIRECTORY_WRITES`) serializes counting the directory and writing.
//!
//! # Two-step enqueue
//!
//! A producer first **admits** ([`lane::Lane::admit`]: atomics only; the lane's `pending` and
//! the manager's budget each take one, or the event is counted as dropped), then **pushes**
//! the event into the lane's queue ([`lane::Lane::push`]: a lock-free channel send). Between
//! the two the lane counts an event its queue does not show yet: the worker treats such a
//! lane as transient and looks again in a moment, and a lane finishing meanwhile counts a late
//! push as `after_close` (or gives its room back when it is dropped). Otherwise room is given
//! back by [`lane::Lane::settle`], under the lane's lock, right after the ledger counts the
//! events, so whoever sees them counted also sees the room free.
//!
//! # Who may block where
//!
//! - **Producers** (`enqueue`, the recorders) never wait: admit and push are lock-free; the
//!   wake-up of a lane's first event or full batch takes the lane's and then the host's lock
//!   for a few assignments (starting the worker thread when the host has none), and usually
//!   no lock at all while the worker runs.
//! - **Acquire** takes the registry, host and lane locks for a few assignments, builds a new
//!   host's exporter under the registry lock (no I/O), and calls a credentials provider only
//!   if it says it never blocks (under the lane's lock).
//! - **The worker** blocks in its exporter's request (bounded by the request timeout and the
//!   lane's drain deadline), in credentials (a provider that may block runs on a runner
//!   thread, waited for at most the request timeout), in the feature-flag fetch (the flag
//!   timeout), and parks on its host's condition variable while nothing is due. It holds no
//!   lock while it blocks.
//! - **Release** never waits. **Flush, close and shutdown** wait on a lane's condition
//!   variable, each within its deadline, and return when it passes (what the lane still holds
//!   is then counted, or keeps draining in the background).

mod authorizer;
pub(crate) mod breaker;
pub(crate) mod circuit;
pub(crate) mod engine;
pub(crate) mod host;
pub(crate) mod host_choices;
pub(crate) mod lane;
pub(crate) mod retry;
pub(crate) mod settings;
pub(crate) mod stall;
pub(crate) mod wait;
mod worker;

pub use crate::threads::{thread_stats, ThreadStats};
pub(crate) use wait::CloseFuture;
pub use wait::{CloseOutcome, CloseResult, FlushResult};
