//! `Handle`: one connection's telemetry (the library's [`TelemetryClientHandle`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::model::{DriverConnectionParameters, DriverSystemConfiguration};
use databricks_telemetry::unstable::model::{
    frontend_log, ClientContext, DriverErrorInfo, EventId, FrontendLogContext, FrontendLogEntry,
    SqlDriverLog,
};
use databricks_telemetry::{
    ErrorInfo, FlushResult, TelemetryClientHandle, TelemetrySessionContext,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::TelemetryError;
use crate::manager::seconds;
use crate::statement::Statement;
use crate::{convert, generation, guard, log_fields, loose};

/// One connection's telemetry: clones of it go nowhere (Python shares the object); statements
/// begun from it belong to its session. Closing it (or leaving a `with` block) waits, within a
/// deadline, for its events to be delivered; dropping it returns at once and the lane drains in
/// the background.
#[pyclass(frozen, module = "databricks_telemetry._native")]
pub(crate) struct Handle {
    inner: Option<TelemetryClientHandle>,
    generation: u64,
}

impl Handle {
    pub(crate) fn new(handle: TelemetryClientHandle) -> Self {
        Handle {
            inner: Some(handle),
            generation: generation::current(),
        }
    }

    /// A handle that records nothing.
    pub(crate) fn disabled() -> Self {
        Self::new(TelemetryClientHandle::disabled())
    }

    /// The library's handle, unless it belongs to the parent of a fork.
    fn live(&self) -> Option<&TelemetryClientHandle> {
        self.inner
            .as_ref()
            .filter(|_| generation::is_current(self.generation))
    }
}

impl Handle {
    /// Sends a session event (opened or closed: `ok`, or `failed` with `error_name`) through this
    /// handle; whether it was recorded.
    fn session_event(
        &self,
        latency_ms: f64,
        error_name: Option<&str>,
        stack_trace: Option<&str>,
        ok: fn(&TelemetrySessionContext, Duration) -> FrontendLog,
        failed: fn(&TelemetrySessionContext, Duration, &ErrorInfo) -> FrontendLog,
    ) -> bool {
        guard::or(false, || {
            let Some(handle) = self.live() else {
                return false;
            };
            let Some(session) = handle.session_context() else {
                return false;
            };
            let log = match error_name {
                None => ok(&session, millis(latency_ms)),
                Some(name) => failed(&session, millis(latency_ms), &error(name, stack_trace)),
            };
            handle.enqueue(log);
            true
        })
    }
}

/// Milliseconds (as Python hands them over) as a duration; negative ones count as zero.
fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::ZERO)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[pymethods]
impl Handle {
    /// Starts the connection's session: every event from now on carries its id, the system
    /// configuration and the connection parameters. Those two are JSON texts, dicts, or objects
    /// with `to_json()` (the connector's), in the wire's field names; without a system
    /// configuration it is detected from the process. Raises `TelemetryError` if one does not
    /// parse.
    #[pyo3(signature = (*, session_id=None, system_configuration=None, connection_parameters=None, user_agent=None))]
    fn open_session(
        &self,
        session_id: Option<&str>,
        system_configuration: Option<&Bound<'_, PyAny>>,
        connection_parameters: Option<&Bound<'_, PyAny>>,
        user_agent: Option<&str>,
    ) -> PyResult<bool> {
        guard::result(|| {
            let system: Option<DriverSystemConfiguration> = system_configuration
                .map(|value| parse("system_configuration", value))
                .transpose()?;
            let params: Option<DriverConnectionParameters> = connection_parameters
                .map(|value| parse("connection_parameters", value))
                .transpose()?;
            let Some(handle) = self.live() else {
                return Ok(false);
            };
            let session = handle.open_session(|mut builder| {
                if let Some(id) = session_id {
                    builder = builder.with_session_id(id);
                }
                if let Some(system) = system {
                    builder = builder.with_system_configuration(system);
                }
                if let Some(params) = params {
                    builder = builder.with_connection_parameters(params);
                }
                if let Some(agent) = user_agent {
                    builder = builder.with_user_agent(agent, None);
                }
                builder
            });
            Ok(session.is_some())
        })
    }

    /// `CREATE_SESSION`: the connection opened after `latency_ms`; with `error_name`, it
    /// failed (the stack trace is redacted).
    #[pyo3(signature = (latency_ms, *, error_name=None, stack_trace=None))]
    fn connection_opened(
        &self,
        latency_ms: f64,
        error_name: Option<&str>,
        stack_trace: Option<&str>,
    ) -> bool {
        self.session_event(
            latency_ms,
            error_name,
            stack_trace,
            TelemetrySessionContext::connection_opened,
            TelemetrySessionContext::connection_open_failed,
        )
    }

    /// `DELETE_SESSION`: the connection closed after `latency_ms` (failed, with `error_name`).
    #[pyo3(signature = (latency_ms, *, error_name=None, stack_trace=None))]
    fn connection_closed(
        &self,
        latency_ms: f64,
        error_name: Option<&str>,
        stack_trace: Option<&str>,
    ) -> bool {
        self.session_event(
            latency_ms,
            error_name,
            stack_trace,
            TelemetrySessionContext::connection_closed,
            TelemetrySessionContext::connection_close_failed,
        )
    }

    /// Starts recording one operation (`"EXECUTE_STATEMENT"`, `"LIST_TABLES"`, ...) now; the
    /// statement sends its event when submitted, or when it is garbage-collected. Raises
    /// `TelemetryError` for an unknown operation.
    fn begin(&self, operation: &str) -> PyResult<Statement> {
        guard::result(|| {
            let operation = convert::operation(operation)?;
            Ok(match self.live() {
                Some(handle) => Statement::new(handle.begin(operation)),
                None => Statement::detached(),
            })
        })
    }

    /// Sends one event given field by field, as a driver with its own event model has it
    /// (the connector adapter): the session's id (or `session_id`), system configuration,
    /// connection parameters and user agent, with the given statement id, latency,
    /// `sql_operation` (an object or dict with the wire's field names, taken as it is) and
    /// error (its message goes into `stack_trace`, redacted). Never raises: any argument is
    /// taken (text lossily, any object as its `str()`; a latency as an `int` or `float`,
    /// clamped; a value of no use is left out).
    #[pyo3(signature = (session_id=None, statement_id=None, latency_ms=None, sql_operation=None, error_name=None, error_message=None))]
    fn export_log(
        &self,
        session_id: Option<&Bound<'_, PyAny>>,
        statement_id: Option<&Bound<'_, PyAny>>,
        latency_ms: Option<&Bound<'_, PyAny>>,
        sql_operation: Option<&Bound<'_, PyAny>>,
        error_name: Option<&Bound<'_, PyAny>>,
        error_message: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        guard::or(false, || {
            let Some(handle) = self.live() else {
                return false;
            };
            let session_id = loose::given(session_id).and_then(loose::text);
            let error_name = loose::given(error_name).and_then(loose::text);
            let error_message = loose::given(error_message).and_then(loose::text);
            let session = handle.session_context();
            let session = session.as_deref();
            let log = SqlDriverLog {
                session_id: session_id
                    .as_deref()
                    .or_else(|| session.and_then(|s| s.session_id()))
                    .map(Arc::from),
                sql_statement_id: loose::given(statement_id).and_then(loose::text),
                system_configuration: session.map(|s| Arc::clone(s.system_configuration())),
                driver_connection_params: session.and_then(|s| s.connection_parameters().cloned()),
                auth_type: session
                    .and_then(|s| s.auth_type())
                    .map(|a| Arc::from(a.as_str())),
                vol_operation: None,
                sql_operation: loose::given(sql_operation).map(log_fields::sql_operation),
                error_info: error_name.map(|name| {
                    let error = error(&name, error_message.as_deref());
                    DriverErrorInfo {
                        error_name: Some(error.name().to_owned()),
                        stack_trace: error.stack_trace().map(str::to_owned),
                    }
                }),
                operation_latency_ms: loose::given(latency_ms).and_then(loose::millis),
            };
            let context = FrontendLogContext {
                client_context: ClientContext {
                    timestamp_millis: Some(now_millis()),
                    user_agent: session.map(|s| Arc::from(s.user_agent())),
                },
            };
            let entry = FrontendLogEntry {
                sql_driver_log: log,
            };
            handle.enqueue(frontend_log(EventId::random(), None, context, entry));
            true
        })
    }

    /// Waits, at most `timeout` seconds, until what this connection enqueued so far has been
    /// exported or dropped; `True` if it completed. The GIL is released meanwhile.
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        guard::result(|| {
            let timeout = seconds(timeout)?;
            let Some(handle) = self.live() else {
                return Ok(true);
            };
            let result = py.allow_threads(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.flush(timeout)))
            });
            Ok(matches!(result, Ok(FlushResult::Completed)))
        })
    }

    /// Closes the handle (for every user of it) and waits, at most `timeout` seconds (the
    /// configured `close_timeout_ms` when `None`), for its events to be delivered. It returns
    /// at once while the service is down or hangs (`stalled`); the lane drains on in the
    /// background. Returns `{"result", "stalled", "stats"}`. The GIL is released meanwhile.
    #[pyo3(signature = (timeout=None))]
    fn close<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        guard::result(|| {
            let timeout = timeout.map(seconds).transpose()?;
            let handle = self.live().ok_or_else(|| {
                TelemetryError::new_err("this handle belongs to the parent of a fork")
            })?;
            let outcome = py.allow_threads(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match timeout {
                    Some(timeout) => handle.close(timeout),
                    None => handle.close_configured(),
                }))
            });
            match outcome {
                Ok(outcome) => convert::outcome(py, &outcome),
                Err(_) => Err(TelemetryError::new_err(
                    "internal error while closing (caught)",
                )),
            }
        })
    }

    /// This connection's lane's accounting (shared with the connections of the same host and
    /// identity).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard::result(|| convert::stats(py, &self.live().map(|h| h.stats()).unwrap_or_default()))
    }

    /// Whether events recorded through this handle go anywhere.
    #[getter]
    fn is_enabled(&self) -> bool {
        guard::or(false, || self.live().is_some_and(|h| h.is_enabled()))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        if self.live().is_some() {
            self.close(py, None)?;
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        match self.live() {
            Some(handle) if handle.is_enabled() => format!(
                "<databricks_telemetry.Handle {}>",
                handle.host().map_or_else(String::new, |h| h.to_string())
            ),
            Some(_) => "<databricks_telemetry.Handle disabled>".to_owned(),
            None => "<databricks_telemetry.Handle from before a fork>".to_owned(),
        }
    }
}

/// An error by name, with its message or trace redacted by the library.
fn error(name: &str, stack_trace: Option<&str>) -> ErrorInfo {
    let error = ErrorInfo::new(name);
    match stack_trace {
        Some(trace) => error.with_stack_trace(trace),
        None => error,
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let text = log_fields::json_text(value)?;
    serde_json::from_str(&text)
        .map_err(|error| TelemetryError::new_err(format!("{what} does not parse: {error}")))
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !generation::is_current(self.generation) {
            // The parent's handle: releasing it would touch the parent's lanes. Leak it.
            if let Some(handle) = self.inner.take() {
                std::mem::forget(handle);
            }
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("generation", &self.generation)
            .finish()
    }
}
