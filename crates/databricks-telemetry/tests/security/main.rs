//! Hostile endpoints, hostile host strings, and TLS certificate verification.

#[path = "../http_support/mod.rs"]
mod http_support;
#[path = "../tls_support/mod.rs"]
mod tls_support;

mod security_hostile_endpoint;
mod security_hosts;
mod security_tls;
