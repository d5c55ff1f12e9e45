//! The event a driver records, and what it describes the connection with.
//!
//! - [`FrontendLog`] is one recorded event. The session and statement contexts build it
//!   ([`TelemetrySessionContext`](crate::TelemetrySessionContext),
//!   [`StatementRecorder`](crate::StatementRecorder)) and a handle enqueues it; its contents are
//!   the wire format and are not public.
//! - [`OperationType`], [`StatementType`] and [`ExecutionResultFormat`] say what a statement
//!   event reports.
//! - [`DriverSystemConfiguration`] (what the driver runs on) and [`DriverConnectionParameters`]
//!   with [`HostDetails`], [`DriverMode`], [`DriverAuthMech`], [`DriverAuthFlow`] and
//!   [`DriverProxyAuth`] (how a connection was configured) go into a session's events.
//!
//! Conventions, the same for every type:
//! - field names are exactly the wire names (snake_case);
//! - `None` is omitted; `Some(0)`, `Some(false)` and `Some("")` are written;
//! - enums are written by name and an unknown name fails to parse;
//! - integers are written as JSON numbers; parsing also accepts decimal strings (as C# sends).

pub(crate) mod connection_params;
pub(crate) mod driver_log;
mod encode;
pub(crate) mod enums;
pub(crate) mod error_info;
pub(crate) mod event_id;
pub(crate) mod frontend_log;
mod proto_int;
pub(crate) mod request;
pub(crate) mod sql_execution;
pub(crate) mod system_configuration;
mod uuid_text;
pub(crate) mod volume_operation;

pub use connection_params::{DriverConnectionParameters, HostDetails};
pub use enums::{
    DriverAuthFlow, DriverAuthMech, DriverMode, DriverProxyAuth, ExecutionResultFormat,
    OperationType, StatementType,
};
pub use frontend_log::FrontendLog;
pub use system_configuration::DriverSystemConfiguration;

pub(crate) use driver_log::SqlDriverLog;
pub(crate) use error_info::DriverErrorInfo;
pub(crate) use event_id::EventId;
pub(crate) use frontend_log::{ClientContext, FrontendLogContext, FrontendLogEntry};
pub(crate) use request::TelemetryRequest;
pub(crate) use sql_execution::{ChunkDetails, OperationDetail, ResultLatency, SqlExecutionEvent};
