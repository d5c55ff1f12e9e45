//! `DriverErrorInfo`: a failure, by name, with no message.

use serde::{Deserialize, Serialize};

/// A failure (`DriverErrorInfo`). There is deliberately no message field: `error_name` is the
/// error's class or category, and `stack_trace` is empty or redacted.
///
/// Build it through [`ErrorInfo`](crate::ErrorInfo) in the contexts, which enforces both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverErrorInfo {
    /// The error's class or category, e.g. `NetworkError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    /// A redacted stack trace, or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
}
