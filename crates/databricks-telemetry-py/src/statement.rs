//! `Statement`: one operation being recorded (the library's [`StatementRecorder`]).

use std::time::Duration;

use databricks_telemetry::{ErrorInfo, StatementRecorder};
use pyo3::prelude::*;

use crate::{convert, generation, guard};

/// One operation being recorded. Every method records and returns at once (no I/O, the GIL
/// kept); the event is sent by `submit()`, by leaving a `with` block, or when the object is
/// garbage-collected. A statement of a disabled handle records nothing.
#[pyclass(frozen, module = "databricks_telemetry._native")]
pub(crate) struct Statement {
    inner: Option<StatementRecorder>,
    generation: u64,
}

impl Statement {
    pub(crate) fn new(recorder: StatementRecorder) -> Self {
        Statement {
            inner: Some(recorder),
            generation: generation::current(),
        }
    }

    pub(crate) fn detached() -> Self {
        Self::new(StatementRecorder::detached())
    }

    fn live(&self) -> Option<&StatementRecorder> {
        self.inner
            .as_ref()
            .filter(|_| generation::is_current(self.generation))
    }

    fn record(&self, f: impl FnOnce(&StatementRecorder)) {
        guard::or((), || {
            if let Some(recorder) = self.live() {
                f(recorder);
            }
        })
    }
}

fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::ZERO)
}

#[pymethods]
impl Statement {
    /// The statement id the server assigned.
    fn set_statement_id(&self, statement_id: &str) {
        self.record(|r| {
            r.set_statement_id(statement_id);
        });
    }

    /// The statement type (`"QUERY"`, `"UPDATE"`, `"METADATA"`, ...). Raises `TelemetryError`
    /// for an unknown one.
    fn set_statement_type(&self, statement_type: &str) -> PyResult<()> {
        let kind = convert::statement_type(statement_type)?;
        self.record(|r| {
            r.set_statement_type(kind);
        });
        Ok(())
    }

    /// How results came back (`"INLINE_ARROW"`, `"EXTERNAL_LINKS"`, ...). Raises
    /// `TelemetryError` for an unknown one.
    fn set_result_format(&self, result_format: &str) -> PyResult<()> {
        let format = convert::result_format(result_format)?;
        self.record(|r| {
            r.set_result_format(format);
        });
        Ok(())
    }

    /// Whether results were compressed.
    fn set_compressed(&self, compressed: bool) {
        self.record(|r| {
            r.set_compressed(compressed);
        });
    }

    /// Whether the driver made the call for itself.
    fn set_internal_call(&self, internal: bool) {
        self.record(|r| {
            r.set_internal_call(internal);
        });
    }

    /// One retry of the operation.
    fn record_retry(&self) {
        self.record(|r| {
            r.record_retry();
        });
    }

    /// One status poll that took `latency_ms`.
    fn record_status_poll(&self, latency_ms: f64) {
        self.record(|r| {
            r.record_status_poll(millis(latency_ms));
        });
    }

    /// The results are ready (now).
    fn mark_result_ready(&self) {
        self.record(|r| {
            r.mark_result_ready();
        });
    }

    /// The caller has consumed the results (now).
    fn mark_results_consumed(&self) {
        self.record(|r| {
            r.mark_results_consumed();
        });
    }

    /// How many CloudFetch chunks the result has.
    fn set_total_chunks(&self, present: i32) {
        self.record(|r| {
            r.set_total_chunks(present);
        });
    }

    /// One chunk download that took `latency_ms`.
    fn record_chunk_download(&self, latency_ms: f64) {
        self.record(|r| {
            r.record_chunk_download(millis(latency_ms));
        });
    }

    /// The operation failed: the error's class name, and its trace (redacted).
    #[pyo3(signature = (error_name, stack_trace=None))]
    fn record_error(&self, error_name: &str, stack_trace: Option<&str>) {
        self.record(|r| {
            let error = ErrorInfo::new(error_name);
            r.record_error(match stack_trace {
                Some(trace) => error.with_stack_trace(trace),
                None => error,
            });
        });
    }

    /// Ends the operation now and sends its event; `False` if it was already sent (or records
    /// nothing).
    fn submit(&self) -> bool {
        guard::or(false, || self.live().is_some_and(|r| r.submit()))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Records the exception's class name if the block raised, then submits.
    #[pyo3(signature = (exc_type=None, _exc=None, _tb=None))]
    fn __exit__(
        &self,
        exc_type: Option<&Bound<'_, pyo3::types::PyType>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        if let Some(kind) = exc_type {
            if let Ok(name) = kind.name() {
                self.record_error(&name.to_string(), None);
            }
        }
        self.submit();
        false
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        if !generation::is_current(self.generation) {
            // Dropping the parent's recorder would enqueue onto the parent's lane: leak it.
            if let Some(recorder) = self.inner.take() {
                std::mem::forget(recorder);
            }
        }
    }
}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("generation", &self.generation)
            .finish()
    }
}
