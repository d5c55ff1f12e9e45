//! What a connection chose for its host beyond the configuration (its transport, its org id):
//! a host keeps its first acquirer's choices, and a later acquirer that chose otherwise is told,
//! as for the other settings.
//!
//! Why told rather than kept apart: a host's uploads share one worker, one circuit breaker and
//! one connection pool for one service; a second host entry per transport or org id would send
//! to the same service under two breakers, and `breaker(host)` or `host_stats(host)` would no
//! longer name one thing. What goes wrong when a later connection's choice is not applied is
//! that nobody knows, so the difference is reported: a `debug` log naming the key, and the key in
//! the handle's `settings_conflicts`.

use std::fmt;
use std::sync::Arc;

use crate::export::Transport;

/// One acquirer's choices for its host, or (kept by the host) its first acquirer's.
#[derive(Clone, Default)]
pub(crate) struct HostChoices {
    /// The transport given, or (kept by the host) the one it sends through; `None`: the
    /// exporter's default client, or a transport still to be built.
    pub(crate) transport: Option<Arc<dyn Transport>>,
    /// The acquirer brought a function that builds its transport (run only for a new host).
    pub(crate) builds_transport: bool,
    /// What the transport is built from, as the driver describes it (e.g. its proxy and CA
    /// file): compared instead of the transport itself when both sides have one.
    pub(crate) transport_settings: Option<String>,
    /// The org id sent as `x-databricks-org-id` (with the configuration's `endpoint`, every
    /// workspace's connections share the endpoint's host, and its first acquirer's org id).
    pub(crate) org_id: Option<String>,
}

impl HostChoices {
    /// The keys (`transport`, `org_id`) for which `later` chose otherwise than these, the host's.
    /// A later acquirer that chose nothing (the default client, no org id) asked for nothing
    /// that is not applied.
    pub(crate) fn differences(&self, later: &HostChoices) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.transport_differs(later) {
            keys.push("transport");
        }
        if later.org_id.is_some() && later.org_id != self.org_id {
            keys.push("org_id");
        }
        keys
    }

    fn transport_differs(&self, later: &HostChoices) -> bool {
        let brings = later.transport.is_some() || later.builds_transport;
        if !brings {
            return false;
        }
        if self.transport_settings.is_some() || later.transport_settings.is_some() {
            return self.transport_settings != later.transport_settings;
        }
        match (&self.transport, &later.transport) {
            // The host sends through the default client: whatever the acquirer brings is not
            // used.
            (None, _) => true,
            (Some(kept), Some(brought)) => !Arc::ptr_eq(kept, brought),
            // A function and nothing to tell what it would build: not comparable.
            (Some(_), None) => false,
        }
    }
}

impl fmt::Debug for HostChoices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostChoices")
            .field("transport", &self.transport.is_some())
            .field("builds_transport", &self.builds_transport)
            .field("transport_settings", &self.transport_settings)
            .field("org_id", &self.org_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_a_later_acquirer_chose_and_does_not_get_differs() {
        let host = HostChoices {
            org_id: Some("1".into()),
            ..HostChoices::default()
        };
        let builds = HostChoices {
            builds_transport: true,
            ..HostChoices::default()
        };
        assert_eq!(
            host.differences(&HostChoices::default()),
            Vec::<&str>::new()
        );
        assert_eq!(host.differences(&builds), ["transport"]);
        let other_org = HostChoices {
            org_id: Some("2".into()),
            ..HostChoices::default()
        };
        assert_eq!(host.differences(&other_org), ["org_id"]);

        let described = |settings: &str| HostChoices {
            builds_transport: true,
            transport_settings: Some(settings.into()),
            ..HostChoices::default()
        };
        let kept = described("proxy=a");
        assert_eq!(kept.differences(&described("proxy=a")), Vec::<&str>::new());
        assert_eq!(kept.differences(&described("proxy=b")), ["transport"]);
        assert_eq!(kept.differences(&builds), ["transport"]);
    }
}
