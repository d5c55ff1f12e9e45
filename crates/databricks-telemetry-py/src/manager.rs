//! `Manager`: one pipeline (the library's [`TelemetryClientManager`]) for a process.

use std::sync::Arc;
use std::time::Duration;

use databricks_telemetry::{
    AcquireOptions, ClientIdentity, ConfigValue, DriverInfo, TelemetryClientManager,
    TelemetryOptions,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use crate::credentials::PythonCredentials;
use crate::error::TelemetryError;
use crate::handle::Handle;
use crate::{convert, generation, guard};

/// One telemetry pipeline: its hosts, lanes and export threads. The package keeps one per
/// process (`databricks_telemetry.manager()`), and makes a new one in a forked child.
#[pyclass(frozen, module = "databricks_telemetry._native")]
pub(crate) struct Manager {
    inner: Arc<TelemetryClientManager>,
    generation: u64,
}

impl Manager {
    /// The library's manager, unless it belongs to the parent of a fork.
    fn live(&self) -> Option<&TelemetryClientManager> {
        generation::is_current(self.generation).then_some(&*self.inner)
    }
}

/// A timeout in seconds as a duration (a clear error for a negative or not-a-number one).
pub(crate) fn seconds(timeout: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(timeout)
        .map_err(|_| TelemetryError::new_err(format!("bad timeout {timeout} s")))
}

/// The telemetry options of a dict (`databricks.telemetry.*` keys, values of any type the
/// option takes), each checked as it is set.
fn telemetry_options(options: Option<&Bound<'_, PyDict>>) -> PyResult<TelemetryOptions> {
    let mut kept = TelemetryOptions::new();
    let Some(options) = options else {
        return Ok(kept);
    };
    for (key, value) in options.iter() {
        let key: String = key
            .extract()
            .map_err(|_| TelemetryError::new_err("option keys must be strings"))?;
        let value = if value.is_instance_of::<PyBool>() {
            ConfigValue::from(value.extract::<bool>()?)
        } else if value.is_instance_of::<PyInt>() {
            ConfigValue::from(value.extract::<i64>()?)
        } else if value.is_instance_of::<PyFloat>() {
            ConfigValue::from(value.extract::<f64>()?)
        } else if value.is_instance_of::<PyString>() {
            ConfigValue::from(value.extract::<String>()?)
        } else {
            return Err(TelemetryError::new_err(format!(
                "option {key}: a str, bool, int or float, not {}",
                value.get_type().name()?
            )));
        };
        match kept.set(&key, value) {
            Ok(true) => {}
            Ok(false) => {
                return Err(TelemetryError::new_err(format!(
                    "{key} is not a telemetry option (they start with databricks.telemetry.)"
                )))
            }
            Err(error) => return Err(TelemetryError::new_err(error.to_string())),
        }
    }
    Ok(kept)
}

#[pymethods]
impl Manager {
    /// A new pipeline, with no hosts yet.
    #[new]
    fn new() -> Self {
        Manager {
            inner: Arc::new(TelemetryClientManager::new()),
            generation: generation::current(),
        }
    }

    /// Acquires the telemetry handle of one connection to `host`.
    ///
    /// `credentials` is a callable returning the `Authorization` header value (e.g.
    /// `"Bearer dapi…"`); it runs on the export thread, with the GIL, bounded by the request
    /// timeout, and what it raises is counted as `credentials_failed`. Without it, events go
    /// to the unauthenticated route. Connections with the same `identity` share a lane
    /// (`secret_identity=True` hashes it first: pass a token itself); without one, each
    /// connection has its own. `options` holds `databricks.telemetry.*` settings.
    ///
    /// Raises `TelemetryError` for a bad host, name or option. The GIL is released meanwhile.
    #[pyo3(signature = (host, *, driver_name, driver_version, credentials=None, identity=None,
        secret_identity=false, options=None, org_id=None, auth_type=None, user_agent_entry=None))]
    #[allow(clippy::too_many_arguments)]
    fn acquire(
        &self,
        py: Python<'_>,
        host: &str,
        driver_name: &str,
        driver_version: &str,
        credentials: Option<Py<PyAny>>,
        identity: Option<&str>,
        secret_identity: bool,
        options: Option<&Bound<'_, PyDict>>,
        org_id: Option<&str>,
        auth_type: Option<&str>,
        user_agent_entry: Option<&str>,
    ) -> PyResult<Handle> {
        guard::result(|| {
            let mut driver = DriverInfo::new(driver_name, driver_version)
                .map_err(|error| TelemetryError::new_err(error.to_string()))?;
            if let Some(entry) = user_agent_entry {
                driver = driver
                    .with_user_agent_entry(entry)
                    .map_err(|error| TelemetryError::new_err(error.to_string()))?;
            }
            let mut acquire =
                AcquireOptions::new(host, driver).with_options(&telemetry_options(options)?);
            if let Some(callable) = credentials {
                let identity = match identity {
                    Some(id) if secret_identity => ClientIdentity::from_credential("secret", id),
                    Some(id) => ClientIdentity::new(id),
                    None => ClientIdentity::unique(),
                };
                acquire = acquire
                    .with_credentials(identity, Arc::new(PythonCredentials::new(py, callable)));
            }
            if let Some(org_id) = org_id {
                acquire = acquire.with_org_id(org_id);
            }
            if let Some(name) = auth_type {
                acquire = acquire.with_auth_type(convert::auth_type(name)?);
            }
            let Some(manager) = self.live() else {
                return Ok(Handle::disabled());
            };
            let handle = py
                .allow_threads(|| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        manager.acquire_databricks(&acquire)
                    }))
                })
                .map_err(|_| TelemetryError::new_err("internal error while acquiring (caught)"))?
                .map_err(|error| TelemetryError::new_err(error.to_string()))?;
            Ok(Handle::new(handle))
        })
    }

    /// Closes every handle and waits, at most `timeout` seconds, for what is queued to be
    /// delivered; afterwards the manager hands out nothing. Returns `{"result", "stalled",
    /// "stats"}`. The GIL is released meanwhile.
    fn shutdown<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyDict>> {
        guard::result(|| {
            let timeout = seconds(timeout)?;
            let Some(manager) = self.live() else {
                return Err(TelemetryError::new_err(
                    "this manager belongs to the parent of a fork",
                ));
            };
            let outcome = py.allow_threads(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| manager.shutdown(timeout)))
            });
            match outcome {
                Ok(outcome) => convert::outcome(py, &outcome),
                Err(_) => Err(TelemetryError::new_err(
                    "internal error while shutting down (caught)",
                )),
            }
        })
    }

    /// The accounting over every lane: `enqueued == exported + dropped_total + pending`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard::result(|| {
            let stats = self.live().map(|m| m.stats()).unwrap_or_default();
            convert::stats(py, &stats)
        })
    }

    /// Lanes (one per host and identity) the manager has now.
    fn lane_count(&self) -> usize {
        guard::or(0, || self.live().map_or(0, |m| m.lane_count()))
    }

    /// Hosts the manager has now.
    fn host_count(&self) -> usize {
        guard::or(0, || self.live().map_or(0, |m| m.host_count()))
    }

    /// Whether this manager belongs to this process (not to the parent of a fork).
    #[getter]
    fn is_current(&self) -> bool {
        generation::is_current(self.generation)
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        if !generation::is_current(self.generation) {
            // The parent's pipeline: its threads are gone and its locks may be held for ever.
            // Never drop it in the child; one more reference, never released, leaks it.
            std::mem::forget(Arc::clone(&self.inner));
        }
    }
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("generation", &self.generation)
            .finish()
    }
}
