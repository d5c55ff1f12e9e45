//! The engine: lanes, host workers, and how everything ends.
//!
//! The protocol (who owns what, how an event travels, how it ends, the breaker as a lane sees
//! it) is described in the crate docs, under "How it works".

mod authorizer;
pub(crate) mod engine;
pub(crate) mod host;
pub(crate) mod host_choices;
pub(crate) mod lane;
pub(crate) mod settings;
pub(crate) mod stall;
pub(crate) mod threads;
pub(crate) mod wait;
mod worker;

pub use threads::{thread_stats, ThreadStats};
pub use wait::{CloseFuture, CloseOutcome, CloseResult, FlushResult};
