//! The HTTPS exporter over loopback: delivery, the fault matrix, retries, the environment's proxy,
//! and the feature flag.

#[path = "../http_support/mod.rs"]
mod http_support;
#[path = "../own_process/mod.rs"]
mod own_process;

mod feature_flags;
mod http_delivery;
mod http_exporter;
mod http_faults;
// Each test in a process of its own: sets HTTPS_PROXY for the process.
mod http_proxy;
mod http_retry;
