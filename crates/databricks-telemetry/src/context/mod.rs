//! Session and statement contexts: what a driver records, turned into frontend logs.
//!
//! - [`TelemetrySessionContext`] holds what is constant for a connection and makes the
//!   `CREATE_SESSION` and `DELETE_SESSION` events.
//! - [`StatementTelemetryContext`] measures one operation (`EXECUTE_STATEMENT(_ASYNC)`,
//!   `CLOSE_STATEMENT`, `CANCEL_STATEMENT`, each `LIST_*` metadata call) and makes its event.
//! - [`ErrorInfo`] marks any of them as failed.
//!
//! Privacy: no API here takes SQL text, parameter values or credentials. The only free text,
//! the error name and the stack trace, is reduced and redacted by [`ErrorInfo`].

mod error;
mod event;
mod redact;
mod session;
mod statement;
mod system;

pub use error::ErrorInfo;
pub use redact::{MAX_ERROR_NAME_BYTES, MAX_STACK_TRACE_BYTES};
pub use session::{AuthType, SessionContextBuilder, TelemetrySessionContext};
pub use statement::StatementTelemetryContext;
