//! Keeps Rust panics out of Python.
//!
//! PyO3 turns a panic in a method into a `PanicException`, a `BaseException` that a driver's
//! `except Exception` does not catch. Every entry point runs its body through one of these
//! instead: recording calls answer a neutral value, management calls raise a
//! `TelemetryError`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::PyResult;

use crate::error::TelemetryError;

/// Runs `f`; a panic gives `fallback` (recording calls: telemetry never fails the caller).
pub(crate) fn or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(_) => {
            tracing::debug!(target: "databricks_telemetry::python", "a telemetry call panicked");
            fallback
        }
    }
}

/// Runs `f`; a panic becomes a `TelemetryError` (management calls).
pub(crate) fn result<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(_) => Err(TelemetryError::new_err(
            "internal error in databricks_telemetry (a Rust panic, caught)",
        )),
    }
}
