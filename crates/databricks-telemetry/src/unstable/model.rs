//! The wire model behind [`FrontendLog`]: the parts of an event, the upload body and the
//! service's answer, for this workspace's endpoint, CLI and tests.
//!
//! - [`TelemetryRequest`] is the upload body; each element of its `protoLogs` is a
//!   [`FrontendLog`] serialised to a JSON string (double encoded).
//! - [`SqlDriverLog`] is the event itself, with the session's
//!   [`DriverSystemConfiguration`](crate::model::DriverSystemConfiguration) and
//!   [`DriverConnectionParameters`](crate::model::DriverConnectionParameters),
//!   [`SqlExecutionEvent`], [`VolumeOperationEvent`] and [`DriverErrorInfo`].
//! - [`FrontendLogFields`] reads and writes a [`FrontendLog`]'s parts.

use crate::model::FrontendLog;

pub use crate::model::driver_log::SqlDriverLog;
pub use crate::model::enums::VolumeOperationType;
pub use crate::model::error_info::DriverErrorInfo;
pub use crate::model::event_id::EventId;
pub use crate::model::frontend_log::{ClientContext, FrontendLogContext, FrontendLogEntry};
pub use crate::model::request::{EmptyItems, TelemetryRequest, TelemetryResponse};
pub use crate::model::sql_execution::{
    ChunkDetails, OperationDetail, ResultLatency, SqlExecutionEvent,
};
pub use crate::model::volume_operation::VolumeOperationEvent;

/// The parts of a [`FrontendLog`], by their wire names.
///
/// ```
/// use databricks_telemetry::model::FrontendLog;
/// use databricks_telemetry::unstable::model::FrontendLogFields;
///
/// let mut log = FrontendLog::default();
/// *log.frontend_log_event_id_mut() = "e-1".into();
/// log.entry_mut().sql_driver_log.operation_latency_ms = Some(7);
/// assert_eq!(log.frontend_log_event_id(), &"e-1");
/// assert_eq!(log.entry().sql_driver_log.operation_latency_ms, Some(7));
/// ```
pub trait FrontendLogFields {
    /// The event's id (`frontend_log_event_id`).
    fn frontend_log_event_id(&self) -> &EventId;
    /// The event's id, to change.
    fn frontend_log_event_id_mut(&mut self) -> &mut EventId;
    /// The workspace id, when known.
    fn workspace_id(&self) -> Option<i64>;
    /// The workspace id, to change.
    fn workspace_id_mut(&mut self) -> &mut Option<i64>;
    /// When and by whom the event was made.
    fn context(&self) -> &FrontendLogContext;
    /// The context, to change.
    fn context_mut(&mut self) -> &mut FrontendLogContext;
    /// The driver event.
    fn entry(&self) -> &FrontendLogEntry;
    /// The driver event, to change.
    fn entry_mut(&mut self) -> &mut FrontendLogEntry;
}

impl FrontendLogFields for FrontendLog {
    fn frontend_log_event_id(&self) -> &EventId {
        &self.frontend_log_event_id
    }

    fn frontend_log_event_id_mut(&mut self) -> &mut EventId {
        &mut self.frontend_log_event_id
    }

    fn workspace_id(&self) -> Option<i64> {
        self.workspace_id
    }

    fn workspace_id_mut(&mut self) -> &mut Option<i64> {
        &mut self.workspace_id
    }

    fn context(&self) -> &FrontendLogContext {
        &self.context
    }

    fn context_mut(&mut self) -> &mut FrontendLogContext {
        &mut self.context
    }

    fn entry(&self) -> &FrontendLogEntry {
        &self.entry
    }

    fn entry_mut(&mut self) -> &mut FrontendLogEntry {
        &mut self.entry
    }
}

/// A [`FrontendLog`] made of its parts.
pub fn frontend_log(
    frontend_log_event_id: EventId,
    workspace_id: Option<i64>,
    context: FrontendLogContext,
    entry: FrontendLogEntry,
) -> FrontendLog {
    FrontendLog {
        frontend_log_event_id,
        workspace_id,
        context,
        entry,
    }
}
