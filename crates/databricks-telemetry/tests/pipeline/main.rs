//! The pipeline and the manager: lanes, the breaker, handles, async credentials, and the whole
//! stack through the manager over loopback.

#[path = "../http_support/mod.rs"]
mod http_support;
#[path = "../own_process/mod.rs"]
mod own_process;

mod adbc;
mod breaker;
mod close_stall;
mod credentials_async;
mod handle;
mod manager;
mod manager_databricks;
// Each test in a process of its own: counts the process's worker threads.
mod manager_stress;
mod pipeline;
#[cfg(all(feature = "spool", unix))]
mod spool;
