//! No credential reaches a log: a `log` logger, a `tracing` subscriber bridging `log`, and every
//! error, output and log line when something goes wrong.

#[path = "../http_support/mod.rs"]
mod http_support;
#[path = "../log_support/mod.rs"]
mod log_support;
#[path = "../own_process/mod.rs"]
mod own_process;

// Each test in a process of its own: installs the global subscriber, searches all it captured.
mod http_redaction;
// Each test in a process of its own: installs the global subscriber and `log` logger.
mod log_bridge_redaction;
// Each test in a process of its own: installs the global `log` logger.
mod log_redaction;
