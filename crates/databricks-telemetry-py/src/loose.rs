//! Arguments of the recording calls taken as the caller passes them, never raising.
//!
//! A driver hands its own values to `Handle.export_log` (the connector: an exception's
//! message, a latency it measured). PyO3's typed arguments are converted before the method's
//! body runs, so a value of the wrong type (or a `str` with lone surrogates, which is not
//! UTF-8) would raise into the driver. These take any object: text is read lossily, a number
//! that does not fit is clamped, anything else is left out of the event.

use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyString};

/// The text of `value`: a `str` with lone surrogates replaced by U+FFFD, any other object as
/// its `str()`; `None` when even that raises.
pub(crate) fn text(value: &Bound<'_, PyAny>) -> Option<String> {
    match value.downcast::<PyString>() {
        Ok(string) => Some(string.to_string_lossy().into_owned()),
        Err(_) => value
            .str()
            .ok()
            .map(|string| string.to_string_lossy().into_owned()),
    }
}

/// Whole milliseconds from an `int` or a `float` (rounded), clamped to the `i64` range; NaN
/// and any other type give `None`.
pub(crate) fn millis(value: &Bound<'_, PyAny>) -> Option<i64> {
    if value.is_instance_of::<PyInt>() {
        return Some(match value.extract::<i64>() {
            Ok(millis) => millis,
            Err(_) if value.lt(0).unwrap_or(false) => i64::MIN,
            Err(_) => i64::MAX,
        });
    }
    if value.is_instance_of::<PyFloat>() {
        let millis = value.extract::<f64>().ok()?;
        // `as` saturates at the i64 range; NaN has no value to send.
        return (!millis.is_nan()).then(|| millis.round() as i64);
    }
    None
}

/// `value` unless it is Python's `None`.
pub(crate) fn given<'a, 'py>(
    value: Option<&'a Bound<'py, PyAny>>,
) -> Option<&'a Bound<'py, PyAny>> {
    value.filter(|value| !value.is_none())
}
