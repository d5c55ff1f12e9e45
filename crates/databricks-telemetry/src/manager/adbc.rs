//! ADBC-shaped helpers on a connection's handle (the `adbc` feature): one call each for a
//! connection opened or failed, a connection closed, a statement failed, whatever the outcome.
//! Each takes the driver's own error type, when it converts into an ADBC error (cloned, only
//! when an event is recorded).

use std::time::Duration;

use adbc_core::error::Error as AdbcError;

use super::TelemetryClientHandle;
use crate::context::{ErrorInfo, StatementRecorder};
use crate::pipeline::CloseOutcome;

impl TelemetryClientHandle {
    /// Records how opening the connection ended, `took` after it began: on success (the
    /// server's session id) the connection's session is kept (as
    /// [`open_session`](Self::open_session) does) and `CREATE_SESSION` is sent; on failure,
    /// `CREATE_SESSION` with the error's status ([`ErrorInfo::from_adbc`]). The error is any
    /// that converts into an ADBC error (e.g. the driver's own). A no-op on a handle that
    /// records nothing or was acquired without a [`DriverInfo`](crate::DriverInfo).
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use databricks_telemetry::TelemetryClientHandle;
    /// use adbc_core::error::{Error, Status};
    ///
    /// # let telemetry = TelemetryClientHandle::disabled();
    /// let started = Instant::now();
    /// let opened: Result<String, Error> = Ok("01f0-session".to_owned()); // the driver's open
    /// telemetry.connection_opened(opened.as_deref(), started.elapsed());
    /// ```
    pub fn connection_opened<E>(&self, result: Result<&str, &E>, took: Duration)
    where
        E: Clone + Into<AdbcError>,
    {
        match result {
            Ok(session_id) => {
                if let Some(session) = self.open_session(|s| s.with_session_id(session_id)) {
                    self.enqueue(session.connection_opened(took));
                }
            }
            Err(error) => {
                if !self.is_enabled() {
                    return;
                }
                if let Some(builder) = self.session() {
                    let session = builder.build();
                    self.enqueue(session.connection_open_failed(took, &error_info(error)));
                }
            }
        }
    }

    /// Records how closing the connection ended (`DELETE_SESSION`, with the error's status on
    /// failure), `took` after it began, then closes the handle within its configured
    /// `close_timeout_ms` ([`close_configured`](Self::close_configured): at once while the
    /// service is down) and returns what the close came to. Nothing is recorded before a
    /// session was opened. The error is any that converts into an ADBC error.
    pub fn connection_closed<E>(&self, result: Result<(), &E>, took: Duration) -> CloseOutcome
    where
        E: Clone + Into<AdbcError>,
    {
        if let Some(session) = self.session_context().filter(|_| self.is_enabled()) {
            let event = match result {
                Ok(()) => session.connection_closed(took),
                Err(error) => session.connection_close_failed(took, &error_info(error)),
            };
            self.enqueue(event);
        }
        self.close_configured()
    }
}

impl StatementRecorder {
    /// The statement failed with `error`: records the error's status
    /// ([`ErrorInfo::from_adbc`]) and [`submit`](Self::submit)s the event now. True when this
    /// call sent it (false on an inert recorder or one already finished). The error is any
    /// that converts into an ADBC error (e.g. the driver's own).
    pub fn failed<E>(&self, error: &E) -> bool
    where
        E: Clone + Into<AdbcError>,
    {
        if self.is_inert() || self.is_finished() {
            return false;
        }
        self.record_error(error_info(error));
        self.submit()
    }

    /// Passes `result` through unchanged, recording it as the statement's failure
    /// ([`failed`](Self::failed)) when it is an error: a driver wraps each fallible step of a
    /// statement (execute, poll, read) in it, where it would have used `?` alone.
    ///
    /// ```
    /// use adbc_core::error::{Error, Status};
    /// use databricks_telemetry::StatementRecorder;
    ///
    /// # let statement = StatementRecorder::default();
    /// let polled: Result<u32, Error> = Err(Error::with_message_and_status("timed out", Status::Timeout));
    /// assert!(statement.observe(polled).is_err()); // recorded, and returned as it was
    /// ```
    pub fn observe<T, E>(&self, result: Result<T, E>) -> Result<T, E>
    where
        E: Clone + Into<AdbcError>,
    {
        if let Err(error) = &result {
            self.failed(error);
        }
        result
    }
}

/// `error` (the driver's own, or an ADBC error) as telemetry reports it.
fn error_info<E: Clone + Into<AdbcError>>(error: &E) -> ErrorInfo {
    ErrorInfo::from_adbc(&error.clone().into())
}

impl ErrorInfo {
    /// An ADBC error as telemetry reports it: its status (e.g. `Unauthenticated`, `IO`,
    /// `Timeout`), never its message, which may hold SQL text or a host name.
    ///
    /// ```
    /// use adbc_core::error::{Error, Status};
    /// use databricks_telemetry::ErrorInfo;
    ///
    /// let error = Error::with_message_and_status("token dapi-secret expired", Status::Unauthenticated);
    /// assert_eq!(ErrorInfo::from_adbc(&error).name(), "Unauthenticated");
    /// ```
    pub fn from_adbc(error: &AdbcError) -> Self {
        ErrorInfo::new(&format!("{:?}", error.status))
    }
}
