//! [`TransportSetupError`]: why the settings of a transport (its proxy, its CA certificates)
//! were refused.

/// Why a transport's settings were refused: a [`ProxyConfig`](super::ProxyConfig) URL, CA
/// certificates added to a `UreqTransport`, or either refused when the transport is built.
/// Never shows a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportSetupError {
    /// The proxy URL is not `http://[user[:password]@]host[:port]`, or the HTTP client refused
    /// the proxy.
    #[error("invalid proxy URL (not shown; it may hold a password): {reason}")]
    InvalidProxy {
        /// What is wrong.
        reason: &'static str,
    },
    /// The proxy URL has another scheme than `http`.
    #[error("unsupported proxy scheme {scheme:?}: expected http")]
    UnsupportedProxyScheme {
        /// The scheme given (at most 16 characters).
        scheme: String,
    },
    /// The PEM text holds no `CERTIFICATE` block.
    #[error("no certificate found in the PEM text")]
    NoCertificate,
    /// A PEM block does not decode.
    #[error("malformed PEM text")]
    MalformedCertificate,
    /// A certificate cannot be used as a trust root.
    #[error("a certificate cannot be used as a trusted root")]
    UnusableCertificate,
}
