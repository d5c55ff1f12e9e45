//! [`ClientIdentity`]: whose credentials a lane's events are sent with.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// Whose credentials a lane's events are sent with.
///
/// Connections with equal identities (on one host) share a lane; a different identity gets its
/// own, so no event is ever sent with the credentials of a connection that does not share its
/// identity. Use something stable that names the principal (a user or service principal id),
/// or [`from_credential`](Self::from_credential); never the credential itself. `Debug` does
/// not print it.
///
/// # Example
///
/// ```
/// use databricks_telemetry::ClientIdentity;
///
/// let a = ClientIdentity::from_credential("pat", "dapi-secret");
/// assert_eq!(a, ClientIdentity::from_credential("pat", "dapi-secret"));
/// assert_ne!(a, ClientIdentity::from_credential("pat", "dapi-other"));
/// assert!(!format!("{a:?}").contains("dapi-secret"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity(Option<String>);

impl ClientIdentity {
    /// The identity named `id`.
    pub fn new(id: impl Into<String>) -> Self {
        ClientIdentity(Some(id.into()))
    }

    /// The identity of whoever holds `secret` (a token, or an OAuth client id and secret
    /// joined), of kind `kind` (e.g. `pat`, `oauth-m2m`): a 128-bit keyed digest, so the secret
    /// is never stored, and equal secrets give equal identities within the process. The keys
    /// are random per process, so the digest means nothing outside it.
    pub fn from_credential(kind: &str, secret: &str) -> Self {
        static KEYS: OnceLock<[std::collections::hash_map::RandomState; 2]> = OnceLock::new();
        let keys = KEYS.get_or_init(Default::default);
        let digest = |key: &std::collections::hash_map::RandomState| key.hash_one((kind, secret));
        ClientIdentity(Some(format!(
            "{kind}:{:016x}{:016x}",
            digest(&keys[0]),
            digest(&keys[1])
        )))
    }

    /// No credentials: events go to the unauthenticated endpoint.
    pub fn anonymous() -> Self {
        ClientIdentity(None)
    }

    /// Whether this is the anonymous identity.
    pub fn is_anonymous(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("ClientIdentity(<identified>)"),
            None => f.write_str("ClientIdentity(<anonymous>)"),
        }
    }
}
