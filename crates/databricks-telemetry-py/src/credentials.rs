//! A Python callable as the library's credentials provider.
//!
//! The library calls a provider that may block on a helper thread of its export worker,
//! bounded by the host's `request_timeout_ms`; this one takes the GIL there, calls the callable
//! and reads the `Authorization` header value it returns. Whatever goes wrong (an exception,
//! a value that is not a string, a panic, an exiting interpreter) is a
//! [`CredentialsError`], which the pipeline retries and finally counts as
//! `credentials_failed`: nothing is raised into the driver.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, PoisonError};

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsError, CredentialsProvider,
};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::generation;

/// Calls a Python callable for the `Authorization` header value (e.g. `"Bearer dapi…"`).
pub(crate) struct PythonCredentials {
    callable: Py<PyAny>,
    /// The value the callable gave when the connection acquired its handle, on the caller's
    /// thread, until the library takes it (at once, as it does for a provider that never
    /// blocks). A connection released before an export thread could take the GIL still leaves
    /// its lane something to send with; every later call runs the callable again.
    primed: Mutex<Option<AuthorizationValue>>,
    /// The fork generation it was made in: a child never calls its parent's callable.
    generation: u64,
}

impl PythonCredentials {
    /// `callable()` must return the `Authorization` header value as a string. It is called
    /// once now, on the caller's thread (with the GIL `py` holds); a failure then is not
    /// raised, and the export thread asks again.
    pub(crate) fn new(py: Python<'_>, callable: Py<PyAny>) -> Self {
        let primed = catch_unwind(AssertUnwindSafe(|| Self::call_with(py, &callable)))
            .ok()
            .and_then(Result::ok);
        PythonCredentials {
            callable,
            primed: Mutex::new(primed),
            generation: generation::current(),
        }
    }

    fn primed(&self) -> std::sync::MutexGuard<'_, Option<AuthorizationValue>> {
        self.primed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call(&self) -> Result<AuthorizationValue, CredentialsError> {
        Python::with_gil(|py| Self::call_with(py, &self.callable))
    }

    fn call_with(
        py: Python<'_>,
        callable: &Py<PyAny>,
    ) -> Result<AuthorizationValue, CredentialsError> {
        {
            let value = callable.call0(py).map_err(|error| {
                CredentialsError::new(format!(
                    "the credentials callable raised {}",
                    error
                        .get_type(py)
                        .name()
                        .map_or_else(|_| "an exception".to_owned(), |name| name.to_string())
                ))
            })?;
            let text = value.downcast_bound::<PyString>(py).map_err(|_| {
                CredentialsError::new(
                    "the credentials callable returned something other than a string",
                )
            })?;
            let text = text.to_cow().map_err(|_| {
                CredentialsError::new(
                    "the credentials callable returned a string that is not UTF-8",
                )
            })?;
            Ok(AuthorizationValue::new(text.into_owned()))
        }
    }
}

impl CredentialsProvider for PythonCredentials {
    fn authorization(&self) -> Result<AuthorizationValue, CredentialsError> {
        if generation::exiting() {
            return Err(CredentialsError::new(
                "the interpreter is exiting: Python is not called any more",
            ));
        }
        if !generation::is_current(self.generation) {
            return Err(CredentialsError::new("made before a fork"));
        }
        if let Some(value) = self.primed().take() {
            return Ok(value);
        }
        catch_unwind(AssertUnwindSafe(|| self.call())).unwrap_or_else(|_| {
            Err(CredentialsError::new(
                "the credentials callable panicked in Rust",
            ))
        })
    }

    fn may_block(&self) -> bool {
        // The primed value is handed over at once (the library then calls this provider on the
        // acquiring thread, without the GIL); afterwards it takes the GIL and runs Python:
        // always on the library's helper thread, bounded by the request timeout.
        self.primed().is_none()
    }
}

impl fmt::Debug for PythonCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PythonCredentials(..)")
    }
}
