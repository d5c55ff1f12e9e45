//! The frontend log: the envelope around one driver event.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::driver_log::SqlDriverLog;
use super::event_id::EventId;
use super::proto_int;

/// One recorded event: an event id, the workspace, the client context and the driver event.
///
/// Built by the session and statement contexts and sent by enqueueing it on a handle. Its
/// contents are the wire format (`FrontendLog` in the service's schema) and are not public;
/// `Serialize` writes them, as one element of an upload's `protoLogs` is written before it is
/// encoded as a JSON string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[must_use = "an event is sent only once it is enqueued"]
pub struct FrontendLog {
    /// A UUID v4 that identifies this event (the service de-duplicates on it), kept without an
    /// allocation; any text converts into it (`"…".into()`).
    pub(crate) frontend_log_event_id: EventId,
    /// The workspace id, when known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub(crate) workspace_id: Option<i64>,
    /// When and by whom the event was made.
    #[serde(default)]
    pub(crate) context: FrontendLogContext,
    /// The event.
    #[serde(default)]
    pub(crate) entry: FrontendLogEntry,
}

/// The `context` of a frontend log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontendLogContext {
    /// The client that made the event.
    #[serde(default)]
    pub client_context: ClientContext,
}

/// The `client_context` of a frontend log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientContext {
    /// When the event was made, in milliseconds since the Unix epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub timestamp_millis: Option<i64>,
    /// The driver's user agent, e.g. `DatabricksAdbcRust/0.1.0`; shared with the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Arc<str>>,
}

/// The `entry` of a frontend log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontendLogEntry {
    /// The driver event.
    #[serde(default)]
    pub sql_driver_log: SqlDriverLog,
}
