//! [`EndpointError`]: why an endpoint could not start.

use std::io;
use std::net::SocketAddr;

/// Why a [`TelemetryEndpoint`](crate::TelemetryEndpoint) could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The listening socket could not be bound (address in use, not local, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// The token is empty (or only spaces): no request could ever present it.
    #[error("the token is empty: give a non-empty token, or none to accept every request")]
    EmptyToken,
    /// The endpoint's tokio runtime or its thread could not be started.
    #[error("cannot start the endpoint's runtime thread: {0}")]
    Runtime(#[source] io::Error),
}
