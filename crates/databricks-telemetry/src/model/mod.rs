//! The wire model: serde types for exactly what the Databricks telemetry service accepts.
//!
//! - [`TelemetryRequest`] is the upload body; each element of its `protoLogs` is a
//!   [`FrontendLog`] serialised to a JSON string (double encoded).
//! - [`SqlDriverLog`] is the event itself, with [`DriverSystemConfiguration`],
//!   [`DriverConnectionParameters`], [`SqlExecutionEvent`], [`VolumeOperationEvent`] and
//!   [`DriverErrorInfo`].
//!
//! Conventions, the same for every type:
//! - field names are exactly the wire names (snake_case);
//! - `None` is omitted; `Some(0)`, `Some(false)` and `Some("")` are written;
//! - enums are written by name and an unknown name fails to parse, naming the accepted ones;
//! - integers are written as JSON numbers; parsing also accepts decimal strings (as C# sends).

mod connection_params;
mod driver_log;
mod encode;
mod enums;
mod error_info;
mod event_id;
mod frontend_log;
mod proto_int;
mod request;
mod sql_execution;
mod system_configuration;
mod uuid_text;
mod volume_operation;

pub use connection_params::{DriverConnectionParameters, HostDetails};
pub use driver_log::SqlDriverLog;
pub use enums::{
    DriverAuthFlow, DriverAuthMech, DriverMode, DriverProxyAuth, ExecutionResultFormat,
    OperationType, StatementType, UnknownEnumName, VolumeOperationType,
};
pub use error_info::DriverErrorInfo;
pub use event_id::EventId;
pub use frontend_log::{ClientContext, FrontendLog, FrontendLogContext, FrontendLogEntry};
pub use request::{EmptyItems, TelemetryRequest, TelemetryResponse};
pub use sql_execution::{ChunkDetails, OperationDetail, ResultLatency, SqlExecutionEvent};
pub use system_configuration::DriverSystemConfiguration;
pub use volume_operation::VolumeOperationEvent;
