//! Python bindings of [`databricks_telemetry`]: the native module `databricks_telemetry._native`.
//!
//! A thin layer over the library's manager, handles and statement recorders; the Python package
//! around it (`python/databricks_telemetry`) adds the process-wide manager, the `atexit`
//! shutdown, the fork handler and the adapter for `databricks-sql-connector`.
//!
//! The rules a native extension keeps here:
//! - the GIL is released while the library may wait (acquire, flush, close, shutdown);
//! - a Python credentials callable runs on the library's export thread with the GIL taken
//!   ([`credentials`]); what it raises is a credentials failure, never raised into the caller;
//! - no Rust panic crosses into Python ([`guard`]);
//! - after `os.fork()` the child never touches the parent's pipeline: objects made before the
//!   fork become inert and are leaked, never dropped ([`generation`]).

mod convert;
mod credentials;
mod error;
mod generation;
mod guard;
mod handle;
mod log_fields;
mod loose;
mod manager;
mod statement;

use pyo3::prelude::*;

/// The native module: `Manager`, `Handle`, `Statement`, `TelemetryError` and the fork and
/// exit hooks the package calls.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<manager::Manager>()?;
    m.add_class::<handle::Handle>()?;
    m.add_class::<statement::Statement>()?;
    m.add("TelemetryError", m.py().get_type::<error::TelemetryError>())?;
    m.add_function(wrap_pyfunction!(generation::after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(generation::interpreter_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(generation::fork_generation, m)?)?;
    Ok(())
}
