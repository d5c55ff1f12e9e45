//! The transports: the contract over both shipped transports (`--all-features` for the reqwest
//! adapter), explicit proxies, the threads they start.

#[path = "../http_support/mod.rs"]
mod http_support;
#[path = "../log_support/mod.rs"]
mod log_support;
#[path = "../own_process/mod.rs"]
mod own_process;
#[path = "../tls_support/mod.rs"]
mod tls_support;

mod transport_contract;
// Each test in a process of its own: process-wide thread counts.
mod transport_own_runtime;
mod transport_proxy;
// Each test in a process of its own: process-wide thread counts.
mod transport_threads;
