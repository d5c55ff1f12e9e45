//! The endpoint's validator before issue 14 (commit 4bc14d3), kept only so that the `validate`
//! bench measures the old and the new side by side in one run. It parses each log into a
//! `serde_json::Value` tree and walks it; strict only. Not used anywhere else.

#![allow(dead_code)]

use serde_json::{Map, Value};

use telemetry_endpoint::schema::{FieldType, MessageSchema, FRONTEND_LOG};

/// Why an upload was rejected: what is wrong, and where (a JSONPath-like location).
///
/// The location continues into the decoded frontend log, e.g.
/// `$.protoLogs[3].entry.sql_driver_log.sql_operation.statement_type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub(crate) struct ValidationError {
    /// What is wrong and what was expected, human readable.
    pub(crate) message: String,
    /// Where in the body the problem is; `$` is the body itself.
    pub(crate) path: String,
}

impl ValidationError {
    fn new(path: &str, message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
            path: path.to_owned(),
        }
    }

    /// The JSON body of the 400 answer: `{"error": "...", "path": "..."}`.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({ "error": self.message, "path": self.path })
    }
}

/// One accepted frontend log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidLog {
    /// Exactly the `protoLogs` string as it was sent.
    pub(crate) json: String,
    /// Its `frontend_log_event_id`.
    pub(crate) event_id: String,
}

/// An upload body that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidUpload {
    /// `uploadTime`, milliseconds since the Unix epoch.
    pub(crate) upload_time_ms: u64,
    /// The frontend logs, in the order they were sent.
    pub(crate) logs: Vec<ValidLog>,
}

/// Which upload route a body arrived on; the unauthenticated one has extra rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadRoute {
    /// `POST /telemetry-ext`.
    Authenticated,
    /// `POST /telemetry-unauth`: logs must carry no session ids, system configuration,
    /// connection parameters or stack traces.
    Unauthenticated,
}

/// Validates a body sent to `POST /telemetry-ext`.
///
/// # Errors
///
/// The first problem found, with its location; the whole upload is rejected.
///
pub(crate) fn validate_upload(body: &[u8]) -> Result<ValidUpload, ValidationError> {
    validate_upload_for(body, UploadRoute::Authenticated)
}

/// Validates a body sent to `POST /telemetry-unauth` (the schema plus the unauthenticated rules).
///
/// # Errors
///
/// The first problem found, with its location; the whole upload is rejected.
pub(crate) fn validate_unauth_upload(body: &[u8]) -> Result<ValidUpload, ValidationError> {
    validate_upload_for(body, UploadRoute::Unauthenticated)
}

/// Validates an upload body for the given route.
///
/// # Errors
///
/// The first problem found, with its location; the whole upload is rejected.
pub(crate) fn validate_upload_for(
    body: &[u8],
    route: UploadRoute,
) -> Result<ValidUpload, ValidationError> {
    let root: Value = serde_json::from_slice(body).map_err(|error| {
        ValidationError::new("$", format!("the body is not valid JSON: {error}"))
    })?;
    let Value::Object(root) = root else {
        return Err(ValidationError::new(
            "$",
            format!(
                "expected the body to be a JSON object with uploadTime, items and protoLogs, found {}",
                describe(&root)
            ),
        ));
    };
    for key in root.keys() {
        if !matches!(key.as_str(), "uploadTime" | "items" | "protoLogs") {
            return Err(ValidationError::new(
                &format!("$.{key}"),
                format!(
                    "unknown field \"{key}\" in the upload body; expected only uploadTime, items and protoLogs"
                ),
            ));
        }
    }
    let upload_time_ms = match root.get("uploadTime") {
        None => return Err(missing("$.uploadTime", "uploadTime", "the upload body")),
        Some(value) => value.as_u64().ok_or_else(|| {
            ValidationError::new(
                "$.uploadTime",
                format!(
                    "expected milliseconds since the Unix epoch as a non-negative JSON integer, found {}",
                    describe(value)
                ),
            )
        })?,
    };
    match root.get("items") {
        None => return Err(missing("$.items", "items", "the upload body")),
        Some(Value::Array(items)) if items.is_empty() => {}
        Some(Value::Array(items)) => {
            return Err(ValidationError::new(
                "$.items",
                format!(
                    "expected an empty array, found an array of {} elements",
                    items.len()
                ),
            ))
        }
        Some(other) => {
            return Err(ValidationError::new(
                "$.items",
                format!("expected an empty array, found {}", describe(other)),
            ))
        }
    }
    let proto_logs = match root.get("protoLogs") {
        None => return Err(missing("$.protoLogs", "protoLogs", "the upload body")),
        Some(Value::Array(proto_logs)) => proto_logs,
        Some(other) => {
            return Err(ValidationError::new(
                "$.protoLogs",
                format!(
                    "expected an array of strings (frontend logs as JSON), found {}",
                    describe(other)
                ),
            ))
        }
    };
    let mut logs = Vec::with_capacity(proto_logs.len());
    for (index, element) in proto_logs.iter().enumerate() {
        let path = format!("$.protoLogs[{index}]");
        let Value::String(json) = element else {
            return Err(ValidationError::new(
                &path,
                format!(
                    "expected a string holding one frontend log as JSON, found {}",
                    describe(element)
                ),
            ));
        };
        let event_id = validate_frontend_log_at(json, route, &path)?;
        logs.push(ValidLog {
            json: json.clone(),
            event_id,
        });
    }
    Ok(ValidUpload {
        upload_time_ms,
        logs,
    })
}

/// Validates one frontend log (one decoded `protoLogs` string) and returns its event id.
///
/// # Errors
///
/// The first problem found; the path starts at `$`, the log itself.
pub(crate) fn validate_frontend_log(
    json: &str,
    route: UploadRoute,
) -> Result<String, ValidationError> {
    validate_frontend_log_at(json, route, "$")
}

fn validate_frontend_log_at(
    json: &str,
    route: UploadRoute,
    path: &str,
) -> Result<String, ValidationError> {
    let log: Value = serde_json::from_str(json).map_err(|error| {
        ValidationError::new(
            path,
            format!("the frontend log string is not valid JSON: {error}"),
        )
    })?;
    validate_message(&log, &FRONTEND_LOG, path)?;
    if route == UploadRoute::Unauthenticated {
        check_unauthenticated(&log, path)?;
    }
    Ok(log["frontend_log_event_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Checks `value` against `schema`: an object with only known fields of the right types and
/// every required field present.
///
/// # Errors
///
/// The first problem found, located below `path`.
pub(crate) fn validate_message(
    value: &Value,
    schema: &MessageSchema,
    path: &str,
) -> Result<(), ValidationError> {
    let Value::Object(object) = value else {
        return Err(ValidationError::new(
            path,
            format!(
                "expected a {} object, found {}",
                schema.name,
                describe(value)
            ),
        ));
    };
    for (key, field_value) in object {
        let field_path = format!("{path}.{key}");
        let Some(field) = schema.field(key) else {
            let known: Vec<&str> = schema.fields.iter().map(|field| field.name).collect();
            return Err(ValidationError::new(
                &field_path,
                format!(
                    "unknown field \"{key}\" in {}; expected one of: {}",
                    schema.name,
                    known.join(", ")
                ),
            ));
        };
        validate_field(field_value, field.ty, &field_path)?;
    }
    check_required(object, schema, path)
}

fn check_required(
    object: &Map<String, Value>,
    schema: &MessageSchema,
    path: &str,
) -> Result<(), ValidationError> {
    match schema
        .fields
        .iter()
        .find(|field| field.required && !object.contains_key(field.name))
    {
        Some(field) => Err(missing(
            &format!("{path}.{}", field.name),
            field.name,
            schema.name,
        )),
        None => Ok(()),
    }
}

fn validate_field(value: &Value, ty: FieldType, path: &str) -> Result<(), ValidationError> {
    let ok = match ty {
        FieldType::String => value.is_string(),
        FieldType::Bool => value.is_boolean(),
        FieldType::Int32 => parse_integer(value).is_some_and(|n| i32::try_from(n).is_ok()),
        FieldType::Int64 => parse_integer(value).is_some(),
        FieldType::RepeatedString => {
            if let Value::Array(elements) = value {
                if let Some((index, bad)) = elements
                    .iter()
                    .enumerate()
                    .find(|(_, element)| !element.is_string())
                {
                    return Err(ValidationError::new(
                        &format!("{path}[{index}]"),
                        format!("expected a string, found {}", describe(bad)),
                    ));
                }
                true
            } else {
                false
            }
        }
        FieldType::Enum(schema) => value
            .as_str()
            .is_some_and(|name| schema.values.contains(&name)),
        FieldType::Message(schema) => return validate_message(value, schema, path),
    };
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            path,
            format!("expected {}, found {}", ty.describe(), describe(value)),
        ))
    }
}

/// An integer written as a JSON integer or as a decimal string (the protobuf JSON mapping).
fn parse_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse().ok()
        }
        _ => None,
    }
}

fn check_unauthenticated(log: &Value, path: &str) -> Result<(), ValidationError> {
    let driver_log = &log["entry"]["sql_driver_log"];
    let driver_log_path = format!("{path}.entry.sql_driver_log");
    for forbidden in [
        "session_id",
        "system_configuration",
        "driver_connection_params",
    ] {
        if driver_log.get(forbidden).is_some() {
            return Err(ValidationError::new(
                &format!("{driver_log_path}.{forbidden}"),
                format!(
                    "{forbidden} is not allowed on /telemetry-unauth: unauthenticated uploads must carry no session ids, system configuration, connection parameters or stack traces"
                ),
            ));
        }
    }
    if let Some(trace) = driver_log["error_info"]["stack_trace"].as_str() {
        if !trace.is_empty() {
            return Err(ValidationError::new(
                &format!("{driver_log_path}.error_info.stack_trace"),
                format!(
                    "stack_trace must be empty on /telemetry-unauth, found {} characters",
                    trace.chars().count()
                ),
            ));
        }
    }
    Ok(())
}

fn missing(path: &str, field: &str, container: &str) -> ValidationError {
    ValidationError::new(
        path,
        format!("missing required field \"{field}\" in {container}"),
    )
}

/// A short description of a JSON value for error messages: scalars as written (long strings
/// cut), containers by kind.
fn describe(value: &Value) -> String {
    const MAX_CHARS: usize = 60;
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) if text.chars().count() > MAX_CHARS => {
            let cut: String = text.chars().take(MAX_CHARS).collect();
            format!("{}...", Value::String(cut))
        }
        Value::String(_) => value.to_string(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
