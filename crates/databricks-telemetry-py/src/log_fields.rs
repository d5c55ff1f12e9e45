//! An event given field by field, as a driver with its own event model holds it (the
//! connector's dataclasses): read by attribute, each attribute named as its wire field.
//!
//! The values are taken as they are (a field the object leaves `None` is not sent), so the
//! event carries exactly what the driver's own telemetry would have sent. Enum fields may be
//! Python `Enum`s (their `.value`) or strings; a name the wire model does not know (the
//! connector's `StatementType.NONE`) is left unset, which is how the service reads it.

use databricks_telemetry::unstable::model::{
    ChunkDetails, OperationDetail, ResultLatency, SqlExecutionEvent,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde::de::DeserializeOwned;

/// `object.name` (or `object[name]` for a dict), `None` when missing or `None`. The names are
/// interned once per process (`intern!` at each call site): no string is made per event.
fn field<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    let value = match object.downcast::<PyDict>() {
        Ok(dict) => dict.get_item(name).ok().flatten(),
        Err(_) => object.getattr(name).ok(),
    }?;
    (!value.is_none()).then_some(value)
}

fn int<'py, T: for<'a> FromPyObject<'a>>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<T> {
    field(object, name).and_then(|value| value.extract().ok())
}

fn boolean<'py>(object: &Bound<'py, PyAny>, name: &Bound<'py, PyString>) -> Option<bool> {
    field(object, name).and_then(|value| value.extract().ok())
}

/// An enum field: an `Enum`'s `.value`, or a string, parsed as its wire name.
fn wire_enum<'py, T: DeserializeOwned>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<T> {
    let value = field(object, name)?;
    let text = if value.is_instance_of::<PyString>() {
        value
    } else {
        value.getattr(intern!(object.py(), "value")).ok()?
    };
    let text = text
        .downcast::<PyString>()
        .ok()?
        .to_cow()
        .ok()?
        .into_owned();
    serde_json::from_value(serde_json::Value::String(text)).ok()
}

/// The `sql_operation` of an event, from an object with the wire fields as attributes.
pub(crate) fn sql_operation(object: &Bound<'_, PyAny>) -> SqlExecutionEvent {
    let py = object.py();
    SqlExecutionEvent {
        statement_type: wire_enum(object, intern!(py, "statement_type")),
        is_compressed: boolean(object, intern!(py, "is_compressed")),
        execution_result: wire_enum(object, intern!(py, "execution_result")),
        chunk_id: int(object, intern!(py, "chunk_id")),
        retry_count: int(object, intern!(py, "retry_count")),
        chunk_details: field(object, intern!(py, "chunk_details")).map(|c| ChunkDetails {
            initial_chunk_latency_millis: int(&c, intern!(py, "initial_chunk_latency_millis")),
            slowest_chunk_latency_millis: int(&c, intern!(py, "slowest_chunk_latency_millis")),
            total_chunks_present: int(&c, intern!(py, "total_chunks_present")),
            total_chunks_iterated: int(&c, intern!(py, "total_chunks_iterated")),
            sum_chunks_download_time_millis: int(
                &c,
                intern!(py, "sum_chunks_download_time_millis"),
            ),
        }),
        result_latency: field(object, intern!(py, "result_latency")).map(|r| ResultLatency {
            result_set_ready_latency_millis: int(
                &r,
                intern!(py, "result_set_ready_latency_millis"),
            ),
            result_set_consumption_latency_millis: int(
                &r,
                intern!(py, "result_set_consumption_latency_millis"),
            ),
        }),
        operation_detail: field(object, intern!(py, "operation_detail")).map(|o| OperationDetail {
            n_operation_status_calls: int(&o, intern!(py, "n_operation_status_calls")),
            operation_status_latency_millis: int(
                &o,
                intern!(py, "operation_status_latency_millis"),
            ),
            operation_type: wire_enum(&o, intern!(py, "operation_type")),
            is_internal_call: boolean(&o, intern!(py, "is_internal_call")),
        }),
        java_uses_patched_arrow: None,
    }
}

/// A JSON text of `object`: a string as it is, an object's `to_json()` (the connector's
/// dataclasses), or `json.dumps(object)` (a dict).
pub(crate) fn json_text(object: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = object.downcast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    if let Ok(to_json) = object.getattr("to_json") {
        return to_json.call0()?.extract();
    }
    object
        .py()
        .import("json")?
        .getattr("dumps")?
        .call1((object,))?
        .extract()
}
