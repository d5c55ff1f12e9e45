//! Session and statement contexts: what a driver records, turned into frontend logs.
//!
//! - [`TelemetrySessionContext`] holds what is constant for a connection and makes the
//!   `CREATE_SESSION` and `DELETE_SESSION` events.
//! - [`StatementRecorder`] measures one operation (`EXECUTE_STATEMENT(_ASYNC)`,
//!   `CLOSE_STATEMENT`, `CANCEL_STATEMENT`, each `LIST_*` metadata call) and makes its event,
//!   recording from any number of tasks and threads (a clone per CloudFetch download, one in
//!   the status poller) without a lock.
//! - [`StatementTelemetryContext`] (in `unstable`) records the same as a single-owner `&mut`
//!   builder and finishes into the same event for the same recordings (both end in one
//!   `Tally`).
//! - [`ErrorInfo`] marks any of them as failed.
//!
//! Privacy: no API here takes SQL text, parameter values or credentials. The only free text,
//! the error name and the stack trace, is reduced and redacted by [`ErrorInfo`].

mod error;
mod event;
mod recorder;
mod redact;
mod session;
mod statement;
mod system;

pub use error::ErrorInfo;
pub use recorder::StatementRecorder;
pub use session::{SessionContextBuilder, TelemetryAuthType, TelemetrySessionContext};
pub use statement::StatementTelemetryContext;
