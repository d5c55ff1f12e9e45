//! Credentials for the telemetry service: the driver says what `Authorization` header to send.
//!
//! Each connection brings its [`CredentialsProvider`] when it acquires its handle. A lane (one
//! per host and identity) asks the newest provider of its live connections for the current
//! header value before each batch, never on a driver's thread, so a provider may refresh an
//! expired OAuth token inside [`authorization`](CredentialsProvider::authorization).
//!
//! # On which thread providers run
//!
//! - A provider that says it never blocks ([`may_block`](CredentialsProvider::may_block) is
//!   `false`, as for [`StaticBearerToken`]) is called on the host's export worker thread
//!   (`dbx-telemetry-<host>`).
//! - Every other provider is called on a helper thread (`dbx-telemetry-auth`, at most a few at
//!   once), and the worker waits for it at most `request_timeout_ms`, so a slow refresh cannot
//!   stall the host's other lanes.
//!
//! Neither thread is inside an async runtime. A driver whose credentials are async (tokio)
//! wraps them in `TokioCredentials` (feature `tokio`), which runs each call as a task on a
//! runtime the driver gives and waits for it on the helper thread. On a current-thread runtime
//! that task only runs while the runtime's thread is free: await `close_async` there, not the
//! blocking `close`, which would starve it (see `TokioCredentials`). The lane keeps the latest value: once
//! its last connection is released, it sends what it still holds with that value, and never
//! calls a released connection's provider again. A provider's error or panic, or a 401/403
//! answer, is counted as that lane's `credentials_failed`, never against the host's breaker. A secret never leaves this module in
//! printable form: [`AuthorizationValue`] and [`StaticBearerToken`] show `<redacted>` in `Debug`
//! and `Display`, and [`CredentialsError`] carries only what the provider chose to say.

use std::fmt;

#[cfg(feature = "tokio")]
mod async_provider;
#[cfg(feature = "tokio")]
pub use async_provider::{AsyncCredentialsProvider, AuthorizationFuture, TokioCredentials};

/// The value of an `Authorization` header, e.g. `Bearer dapi...`.
///
/// Its `Debug` and `Display` show `<redacted>`; only [`expose`](Self::expose) gives the value,
/// and the exporter calls it only to set the header.
///
/// # Example
///
/// ```
/// use databricks_telemetry::credentials::AuthorizationValue;
///
/// let value = AuthorizationValue::bearer("dapi-secret");
/// assert_eq!(value.expose(), "Bearer dapi-secret");
/// assert_eq!(format!("{value:?}"), "AuthorizationValue(<redacted>)");
/// assert_eq!(value.to_string(), "<redacted>");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationValue(String);

impl AuthorizationValue {
    /// A header value used exactly as given, e.g. `Basic ...` or `Bearer ...`.
    pub fn new(value: impl Into<String>) -> Self {
        AuthorizationValue(value.into())
    }

    /// `Bearer <token>`.
    pub fn bearer(token: &str) -> Self {
        AuthorizationValue(format!("Bearer {token}"))
    }

    /// The header value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthorizationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationValue(<redacted>)")
    }
}

impl fmt::Display for AuthorizationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a [`CredentialsProvider`] could not give an `Authorization` value.
///
/// The message is the provider's own; it must not contain a secret (this type never adds one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credentials unavailable: {reason}")]
pub struct CredentialsError {
    reason: String,
}

impl CredentialsError {
    /// A failure described by `reason` (e.g. `token refresh failed: HTTP 503`), which must not
    /// contain a secret.
    pub fn new(reason: impl Into<String>) -> Self {
        CredentialsError {
            reason: reason.into(),
        }
    }

    /// The provider's description.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Gives the current `Authorization` header value for requests to the telemetry service.
///
/// Called by the pipeline before each batch (each retry included), never on the driver's
/// threads, so it may block briefly to refresh a token (say so with
/// [`may_block`](Self::may_block), the default). An error makes that attempt fail without
/// sending anything.
///
/// Its `Debug` output must not show a secret.
///
/// # Example
///
/// ```
/// use databricks_telemetry::credentials::{
///     AuthorizationValue, CredentialsError, CredentialsProvider,
/// };
///
/// /// Reads the token from wherever the driver keeps its current OAuth token.
/// #[derive(Debug)]
/// struct DriverOAuth;
///
/// impl CredentialsProvider for DriverOAuth {
///     fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
///         let token = "eyJ..."; // refreshed by the driver when it expires
///         Ok(AuthorizationValue::bearer(token))
///     }
/// }
/// ```
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// The `Authorization` header value to send now.
    ///
    /// # Errors
    ///
    /// A [`CredentialsError`] when no valid credential is available (e.g. a refresh failed).
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError>;

    /// Whether [`authorization`](Self::authorization) may block (refresh a token over the
    /// network, wait for a lock). The pipeline calls a provider that may block on a helper
    /// thread, bounded by `request_timeout`, so a slow refresh cannot stall a host's other
    /// lanes; one that says it never blocks (a fixed token) is called directly on the export
    /// worker. The default is `true`.
    fn may_block(&self) -> bool {
        true
    }
}

/// A fixed bearer token: a personal access token, or a token a connection received (a newer
/// connection brings its own). It never blocks, so the pipeline calls it directly.
///
/// # Example
///
/// ```
/// use databricks_telemetry::credentials::{CredentialsProvider, StaticBearerToken};
///
/// let token = StaticBearerToken::new("dapi-secret");
/// assert_eq!(token.authorization().unwrap().expose(), "Bearer dapi-secret");
/// assert!(!format!("{token:?}").contains("dapi-secret"));
/// ```
#[derive(Clone)]
pub struct StaticBearerToken {
    value: AuthorizationValue,
}

impl StaticBearerToken {
    /// Sends `Authorization: Bearer <token>`.
    pub fn new(token: impl AsRef<str>) -> Self {
        StaticBearerToken {
            value: AuthorizationValue::bearer(token.as_ref()),
        }
    }
}

impl fmt::Debug for StaticBearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticBearerToken(<redacted>)")
    }
}

impl CredentialsProvider for StaticBearerToken {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        Ok(self.value.clone())
    }

    fn may_block(&self) -> bool {
        false
    }
}
