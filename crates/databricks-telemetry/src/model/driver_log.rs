//! `sql_driver_log` (`OssSqlDriverTelemetryLog`): one driver event.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::connection_params::DriverConnectionParameters;
use super::error_info::DriverErrorInfo;
use super::proto_int;
use super::sql_execution::SqlExecutionEvent;
use super::system_configuration::DriverSystemConfiguration;
use super::volume_operation::VolumeOperationEvent;

/// One driver event (`OssSqlDriverTelemetryLog`). Unset fields are omitted from the wire.
///
/// The session-constant parts (session id, auth type, system configuration, connection
/// parameters) are behind [`Arc`], so every event of a session shares one copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlDriverLog {
    /// The session (connection) id; shared with the session, so an event only counts a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Arc<str>>,
    /// The statement id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_statement_id: Option<String>,
    /// The driver and process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_configuration: Option<Arc<DriverSystemConfiguration>>,
    /// The connection's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_connection_params: Option<Arc<DriverConnectionParameters>>,
    /// The authentication type in the C# ADBC spellings: `pat`, `oauth-<grant_type>` (e.g.
    /// `oauth-client_credentials`), `oauth-access_token`, `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<Arc<str>>,
    /// A volume operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vol_operation: Option<VolumeOperationEvent>,
    /// A statement or metadata call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_operation: Option<SqlExecutionEvent>,
    /// A failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_info: Option<DriverErrorInfo>,
    /// How long the operation took, in milliseconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub operation_latency_ms: Option<i64>,
}
