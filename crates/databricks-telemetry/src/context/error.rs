//! A failure as telemetry reports it: a class name and a redacted stack trace, never a message.

use crate::model::DriverErrorInfo;

use super::redact;

/// A failure to attach to an event.
///
/// Holds the error's class or category (never its message), at most 128 bytes of it, and,
/// optionally, a stack trace that is redacted before it is stored: tokens, JWTs, passwords, home
/// paths and any line that could hold SQL text are removed, and it is cut to 4096 bytes.
///
/// ```
/// use databricks_telemetry::ErrorInfo;
///
/// let error = ErrorInfo::new("AuthenticationError: token dapi0123456789abcdef expired")
///     .with_stack_trace("at driver::auth (/home/alice/src/auth.rs:42)");
/// assert_eq!(error.name(), "AuthenticationError");
/// assert_eq!(error.stack_trace(), Some("at driver::auth (~/src/auth.rs:42)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    name: String,
    stack_trace: Option<String>,
}

impl ErrorInfo {
    /// An error by class or category, e.g. `NetworkError` or `std::io::Error`. Only the leading
    /// identifier is kept, so passing a whole message by mistake sends just its class.
    pub fn new(name: &str) -> Self {
        ErrorInfo {
            name: redact::error_name(name),
            stack_trace: None,
        }
    }

    /// The error named after a Rust type, e.g. `ErrorInfo::of::<std::io::Error>()`.
    pub fn of<E: ?Sized>() -> Self {
        Self::new(std::any::type_name::<E>())
    }

    /// Attaches a stack trace, redacted (see the type's docs).
    #[must_use]
    pub fn with_stack_trace(mut self, trace: &str) -> Self {
        let clean = redact::stack_trace(trace);
        self.stack_trace = Some(clean);
        self
    }

    /// The class or category name that will be sent.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The redacted stack trace that will be sent, if any.
    pub fn stack_trace(&self) -> Option<&str> {
        self.stack_trace.as_deref()
    }

    pub(crate) fn into_wire(self) -> DriverErrorInfo {
        DriverErrorInfo {
            error_name: Some(self.name),
            stack_trace: Some(self.stack_trace.unwrap_or_default()),
        }
    }

    pub(crate) fn to_wire(&self) -> DriverErrorInfo {
        DriverErrorInfo {
            error_name: Some(self.name.clone()),
            stack_trace: Some(self.stack_trace.clone().unwrap_or_default()),
        }
    }
}
