//! Library values as Python values (stats and close outcomes as dicts) and Python names as
//! library enums.

use databricks_telemetry::model::{ExecutionResultFormat, OperationType, StatementType};
use databricks_telemetry::{CloseOutcome, CloseResult, TelemetryAuthType, TelemetryStats};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::de::DeserializeOwned;

use crate::error::TelemetryError;

/// The stats as a dict: `enqueued`, `exported`, `pending`, `dropped` (by reason),
/// `dropped_total`, `batches_sent`, `batches_failed`, `balanced`.
pub(crate) fn stats<'py>(py: Python<'py>, stats: &TelemetryStats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("enqueued", stats.enqueued)?;
    dict.set_item("exported", stats.exported)?;
    dict.set_item("pending", stats.pending)?;
    let dropped = PyDict::new(py);
    for (reason, count) in stats.dropped.by_reason() {
        dropped.set_item(reason, count)?;
    }
    dict.set_item("dropped", dropped)?;
    dict.set_item("dropped_total", stats.dropped.total())?;
    dict.set_item("batches_sent", stats.batches_sent)?;
    dict.set_item("batches_failed", stats.batches_failed)?;
    dict.set_item("balanced", stats.is_balanced())?;
    Ok(dict)
}

/// The name of a close result: `completed`, `timed_out`, `breaker_open`, `request_stuck`,
/// `retry_pending`.
pub(crate) fn close_result_name(result: CloseResult) -> &'static str {
    match result {
        CloseResult::Completed => "completed",
        CloseResult::TimedOut => "timed_out",
        CloseResult::BreakerOpen => "breaker_open",
        CloseResult::RequestStuck => "request_stuck",
        CloseResult::RetryPending => "retry_pending",
        _ => "other",
    }
}

/// A close outcome as a dict: `result` (see [`close_result_name`]), `stalled` and `stats`.
pub(crate) fn outcome<'py>(
    py: Python<'py>,
    outcome: &CloseOutcome,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("result", close_result_name(outcome.result))?;
    dict.set_item("stalled", outcome.result.is_stalled())?;
    dict.set_item("stats", stats(py, &outcome.stats)?)?;
    Ok(dict)
}

/// A wire enum from its wire name (`"LIST_TABLES"`), as the model parses it.
fn wire_enum<T: DeserializeOwned>(kind: &str, name: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| TelemetryError::new_err(format!("unknown {kind} {name:?}")))
}

/// An operation type from its wire name, e.g. `"EXECUTE_STATEMENT"`.
pub(crate) fn operation(name: &str) -> PyResult<OperationType> {
    wire_enum("operation type", name)
}

/// A statement type from its wire name, e.g. `"QUERY"`.
pub(crate) fn statement_type(name: &str) -> PyResult<StatementType> {
    wire_enum("statement type", name)
}

/// A result format from its wire name, e.g. `"EXTERNAL_LINKS"`.
pub(crate) fn result_format(name: &str) -> PyResult<ExecutionResultFormat> {
    wire_enum("result format", name)
}

/// An auth type from its wire name (`pat`, `oauth-client_credentials`, ...).
pub(crate) fn auth_type(name: &str) -> PyResult<TelemetryAuthType> {
    TelemetryAuthType::ALL
        .into_iter()
        .find(|auth| auth.as_str() == name)
        .ok_or_else(|| {
            let known: Vec<&str> = TelemetryAuthType::ALL.iter().map(|a| a.as_str()).collect();
            TelemetryError::new_err(format!(
                "unknown auth type {name:?}; one of {}",
                known.join(", ")
            ))
        })
}
