//! Fast encoding of an upload body: each frontend log is serialised once, straight into the body
//! as a JSON string (a formatter writes the escaped form directly, so there is no second pass),
//! and each session's constant parts (system configuration, connection parameters) are
//! serialised once per batch instead of once per log.
//!
//! The bytes are exactly those of `serde_json::to_vec(&TelemetryRequest::from_logs(..))`; the
//! tests in `tests/model/model_encode.rs` hold the two paths to that.

use std::io;
use std::sync::Arc;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, Serializer};
use serde_json::value::RawValue;

use super::connection_params::DriverConnectionParameters;
use super::driver_log::SqlDriverLog;
use super::error_info::DriverErrorInfo;
use super::event_id::EventId;
use super::frontend_log::{FrontendLog, FrontendLogContext, FrontendLogEntry};
use super::sql_execution::SqlExecutionEvent;
use super::system_configuration::DriverSystemConfiguration;
use super::volume_operation::VolumeOperationEvent;

/// Serialises the frontend logs of one batch, sharing the JSON of session-constant parts between
/// the logs of the batch that share the same `Arc`.
///
/// Two logs that hold the same `Arc` (pointer equality) hold the same value: the batch borrows
/// every log, so no `Arc` can be freed (and its address reused) or mutated while the encoder
/// lives.
pub(crate) struct LogEncoder<'a> {
    system_configurations: SharedJson<'a, DriverSystemConfiguration>,
    connection_parameters: SharedJson<'a, DriverConnectionParameters>,
}

impl<'a> LogEncoder<'a> {
    pub(crate) fn new() -> Self {
        LogEncoder {
            system_configurations: SharedJson::default(),
            connection_parameters: SharedJson::default(),
        }
    }

    /// `log` as a JSON string, as `serde_json::to_string(log)` writes it.
    pub(crate) fn json_text(&mut self, log: &'a FrontendLog) -> Result<String, serde_json::Error> {
        let shared = self.intern(log)?;
        serde_json::to_string(&self.view(log, shared))
    }

    /// Appends `log`, serialised to JSON, to `out` as a JSON string literal (double encoded),
    /// as `serde_json` would write the string `serde_json::to_string(log)`.
    pub(crate) fn push_as_json_string(
        &mut self,
        log: &'a FrontendLog,
        out: &mut Vec<u8>,
    ) -> Result<(), serde_json::Error> {
        let shared = self.intern(log)?;
        let wire = self.view(log, shared);
        let formatter = DoubleEncoded {
            shared: [
                &self.system_configurations.parts,
                &self.connection_parameters.parts,
            ],
        };
        out.push(b'"');
        wire.serialize(&mut Serializer::with_formatter(&mut *out, formatter))?;
        out.push(b'"');
        Ok(())
    }

    /// The indices of `log`'s session-constant parts, serialising those not seen before.
    fn intern(&mut self, log: &'a FrontendLog) -> Result<SharedIndices, serde_json::Error> {
        let driver_log = &log.entry.sql_driver_log;
        Ok(SharedIndices {
            system_configuration: driver_log
                .system_configuration
                .as_ref()
                .map(|c| self.system_configurations.index_of(c))
                .transpose()?,
            connection_parameters: driver_log
                .driver_connection_params
                .as_ref()
                .map(|p| self.connection_parameters.index_of(p))
                .transpose()?,
        })
    }

    /// A borrowed view of `log` that serialises exactly like it, with the session-constant
    /// parts taken from the batch's cache.
    fn view<'b>(&'b self, log: &'b FrontendLog, shared: SharedIndices) -> WireLog<'b> {
        // Exhaustive destructuring: a field added to the model fails to compile here until the
        // view below writes it too.
        let FrontendLog {
            frontend_log_event_id,
            workspace_id,
            context,
            entry: FrontendLogEntry { sql_driver_log },
        } = log;
        let SqlDriverLog {
            session_id,
            sql_statement_id,
            system_configuration: _,
            driver_connection_params: _,
            auth_type,
            vol_operation,
            sql_operation,
            error_info,
            operation_latency_ms,
        } = sql_driver_log;
        WireLog {
            frontend_log_event_id,
            workspace_id: *workspace_id,
            context,
            entry: WireEntry {
                sql_driver_log: WireDriverLog {
                    session_id: session_id.as_deref(),
                    sql_statement_id: sql_statement_id.as_deref(),
                    system_configuration: shared
                        .system_configuration
                        .map(|i| &*self.system_configurations.parts[i].json),
                    driver_connection_params: shared
                        .connection_parameters
                        .map(|i| &*self.connection_parameters.parts[i].json),
                    auth_type: auth_type.as_deref(),
                    vol_operation: vol_operation.as_ref(),
                    sql_operation: sql_operation.as_ref(),
                    error_info: error_info.as_ref(),
                    operation_latency_ms: *operation_latency_ms,
                },
            },
        }
    }
}

/// Where a log's session-constant parts are in the encoder's cache.
#[derive(Clone, Copy)]
struct SharedIndices {
    system_configuration: Option<usize>,
    connection_parameters: Option<usize>,
}

/// The JSON of each distinct `Arc<T>` seen in one batch (usually one: a batch rarely spans
/// sessions).
struct SharedJson<'a, T> {
    seen: Vec<&'a Arc<T>>,
    parts: Vec<SharedPart>,
}

/// One session-constant part, serialised once: as JSON, and as it reads inside a JSON string.
struct SharedPart {
    json: Box<RawValue>,
    escaped: Vec<u8>,
}

impl<T> Default for SharedJson<'_, T> {
    fn default() -> Self {
        SharedJson {
            seen: Vec::new(),
            parts: Vec::new(),
        }
    }
}

impl<'a, T: Serialize> SharedJson<'a, T> {
    /// The index of `value`'s part, serialising it the first time this `Arc` is seen.
    fn index_of(&mut self, value: &'a Arc<T>) -> Result<usize, serde_json::Error> {
        if let Some(i) = self.seen.iter().position(|seen| Arc::ptr_eq(seen, value)) {
            return Ok(i);
        }
        let json = serde_json::value::to_raw_value(&**value)?;
        let mut escaped = Vec::with_capacity(json.get().len() * 9 / 8);
        value.serialize(&mut Serializer::with_formatter(
            &mut escaped,
            DoubleEncoded { shared: [&[], &[]] },
        ))?;
        self.seen.push(value);
        self.parts.push(SharedPart { json, escaped });
        Ok(self.parts.len() - 1)
    }
}

/// A `serde_json` formatter that writes JSON as it reads inside a JSON string literal: quotes
/// and escapes get a backslash more; everything else `serde_json` writes needs none (string
/// fragments it hands over never hold a quote, a backslash or a control character).
///
/// Raw fragments (the shared parts) are written from their escaped copy when they are one of
/// `shared`, escaped on the spot otherwise.
struct DoubleEncoded<'c> {
    shared: [&'c [SharedPart]; 2],
}

impl Formatter for DoubleEncoded<'_> {
    fn begin_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\\\"")
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\\\"")
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // The escape serde_json writes, `\x`, itself escaped: `\\` then `x` escaped.
        let mut inner = Vec::with_capacity(6);
        CompactFormatter.write_char_escape(&mut inner, char_escape)?;
        for &byte in &inner {
            match byte {
                b'"' => writer.write_all(b"\\\"")?,
                b'\\' => writer.write_all(b"\\\\")?,
                _ => writer.write_all(&[byte])?,
            }
        }
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let known = self
            .shared
            .iter()
            .flat_map(|parts| parts.iter())
            .find(|part| std::ptr::eq(part.json.get(), fragment));
        match known {
            Some(part) => writer.write_all(&part.escaped),
            None => {
                let quoted = serde_json::to_vec(fragment).map_err(io::Error::other)?;
                writer.write_all(&quoted[1..quoted.len() - 1])
            }
        }
    }
}

/// [`FrontendLog`] as it is written, borrowing its parts. Field names, order and omission rules
/// are those of the model's own derive.
#[derive(Serialize)]
struct WireLog<'b> {
    frontend_log_event_id: &'b EventId,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<i64>,
    context: &'b FrontendLogContext,
    entry: WireEntry<'b>,
}

#[derive(Serialize)]
struct WireEntry<'b> {
    sql_driver_log: WireDriverLog<'b>,
}

/// [`SqlDriverLog`] as it is written, with the session-constant parts already serialised.
#[derive(Serialize)]
struct WireDriverLog<'b> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'b str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sql_statement_id: Option<&'b str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_configuration: Option<&'b RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver_connection_params: Option<&'b RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_type: Option<&'b str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vol_operation: Option<&'b VolumeOperationEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sql_operation: Option<&'b SqlExecutionEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_info: Option<&'b DriverErrorInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation_latency_ms: Option<i64>,
}
