//! [`ClientIdentity`]: whose credentials a lane's events are sent with.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Whose credentials a lane's events are sent with.
///
/// Connections with equal identities (on one host) share a lane; a different identity gets its
/// own, so no event is ever sent with the credentials of a connection that does not share its
/// identity. Use something stable that names the principal (a user or service principal id),
/// or [`from_credential`](Self::from_credential); never the credential itself. When the
/// principal cannot be known, [`unique`](Self::unique) gives the connection a lane of its own.
/// `Debug` does not print it.
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
pub struct ClientIdentity(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Anonymous,
    Named(String),
    /// From [`ClientIdentity::from_credential`]: the per-process digest, and (with the `spool`
    /// feature, on Unix) a SHA-256 of the kind and the secret, the same in every process, which
    /// only the spool uses (kept in memory; a spool file's name is an HMAC of it under the
    /// spool directory's own key).
    Credential {
        name: String,
        stable: Option<[u8; 32]>,
    },
    /// From [`ClientIdentity::unique`]: a number this process hands out once.
    Unique(u64),
}

impl ClientIdentity {
    /// The identity named `id`.
    pub fn new(id: impl Into<String>) -> Self {
        ClientIdentity(Repr::Named(id.into()))
    }

    /// The identity of whoever holds `secret` (a token, or an OAuth client id and secret
    /// joined), of kind `kind` (e.g. `pat`, `oauth-m2m`): a 128-bit keyed digest, so the secret
    /// is never stored, and equal secrets give equal identities within the process. The keys
    /// are random per process, so the digest means nothing outside it. With the `spool`
    /// feature the identity also keeps (in memory only) a SHA-256 of `kind` and `secret`, the
    /// same in every process, so that a later process with the same credential replays what
    /// this one left in the spool; a spool file is named by an HMAC of it under the spool
    /// directory's own random key.
    pub fn from_credential(kind: &str, secret: &str) -> Self {
        static KEYS: OnceLock<[std::collections::hash_map::RandomState; 2]> = OnceLock::new();
        let keys = KEYS.get_or_init(Default::default);
        let digest = |key: &std::collections::hash_map::RandomState| key.hash_one((kind, secret));
        ClientIdentity(Repr::Credential {
            name: format!("{kind}:{:016x}{:016x}", digest(&keys[0]), digest(&keys[1])),
            stable: stable_digest(kind, secret),
        })
    }

    /// An identity equal to no other (only to its own clones): the connection acquiring with
    /// it gets a lane of its own, which finishes when the connection's handle goes.
    ///
    /// For credentials whose principal the driver cannot name and whose secret is not a stable
    /// name of it either: OAuth U2M (the user behind the browser flow's token is unknown
    /// without decoding the token, and the token changes at every refresh), or a token a
    /// provider hands out afresh. Sharing a lane there could send one user's events with
    /// another's token; a unique identity never shares. Prefer
    /// [`from_credential`](Self::from_credential) (or [`new`](Self::new) with a principal id)
    /// whenever equal credentials do mean the same principal (a PAT, OAuth M2M's client id and
    /// secret): connections then share one lane and its batches. A unique identity costs a
    /// lane per connection (a few KiB, and that connection's batches are sent on their own).
    ///
    /// ```
    /// use databricks_telemetry::ClientIdentity;
    ///
    /// let a = ClientIdentity::unique();
    /// assert_eq!(a, a.clone());
    /// assert_ne!(a, ClientIdentity::unique());
    /// assert!(!a.is_anonymous());
    /// ```
    pub fn unique() -> Self {
        // 2^64 identities: a process cannot hand out them all.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        ClientIdentity(Repr::Unique(NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    /// No credentials: events go to the unauthenticated endpoint.
    pub fn anonymous() -> Self {
        ClientIdentity(Repr::Anonymous)
    }

    /// The identity as the spool keys it (never written: only in a keyed digest): `None` for a
    /// [`unique`](Self::unique) one, which means nothing to a later process.
    pub(crate) fn spool_name(&self) -> Option<String> {
        match &self.0 {
            Repr::Anonymous => Some("anonymous".to_owned()),
            Repr::Named(name) => Some(format!("named:{name}")),
            Repr::Credential {
                stable: Some(stable),
                ..
            } => Some(format!(
                "credential:{}",
                stable
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )),
            Repr::Credential { name, stable: None } => Some(format!("named:{name}")),
            Repr::Unique(_) => None,
        }
    }

    /// Whether this is the anonymous identity.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.0, Repr::Anonymous)
    }
}

/// SHA-256 of `kind` and `secret` (each length-prefixed): what a spool keys a
/// [`from_credential`](ClientIdentity::from_credential) identity on, the same in every process.
#[cfg(all(feature = "spool", unix))]
fn stable_digest(kind: &str, secret: &str) -> Option<[u8; 32]> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [kind, secret] {
        context.update(&(part.len() as u64).to_le_bytes());
        context.update(part.as_bytes());
    }
    context.finish().as_ref().try_into().ok()
}

/// Without a spool nothing needs an identity that outlives the process.
#[cfg(not(all(feature = "spool", unix)))]
fn stable_digest(_kind: &str, _secret: &str) -> Option<[u8; 32]> {
    None
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Named(_) | Repr::Credential { .. } => f.write_str("ClientIdentity(<identified>)"),
            Repr::Unique(n) => write!(f, "ClientIdentity(<unique #{n}>)"),
            Repr::Anonymous => f.write_str("ClientIdentity(<anonymous>)"),
        }
    }
}
