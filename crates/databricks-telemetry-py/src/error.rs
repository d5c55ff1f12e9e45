//! `TelemetryError`: what the Python API raises for bad input (a `ValueError`).

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;

create_exception!(
    _native,
    TelemetryError,
    PyValueError,
    "Bad input to databricks_telemetry: an unknown or out-of-range option, a bad host or name."
);
