//! Validation of upload bodies against the [`schema`](crate::schema) table, strict or tolerant.
//!
//! Each frontend log is parsed once, straight from its text, by a visitor driven by the schema
//! table: no `serde_json::Value` tree is built, strings without escapes are borrowed, and a path
//! is only written out when something is reported.
//!
//! Every departure from the contract is a [`Deviation`] of a [`DeviationKind`]. In
//! [`Mode::Strict`] any deviation rejects the whole upload. In [`Mode::Tolerant`] (what the real
//! service does) the kinds a protobuf JSON reader tolerates are warnings: unknown fields are
//! ignored, unknown enum values are read as unset, `context.timestamp_millis` (the C# layout) is
//! read, a missing `items` or required field is allowed, unauthenticated uploads may carry
//! session fields; a log with a value of the wrong type, or that is not JSON, is rejected alone
//! and the rest of the upload is accepted. In both modes 64-bit (and 32-bit) integers may be JSON
//! numbers or decimal strings, as the protobuf JSON mapping allows.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::schema::{
    FieldType, MessageSchema, DRIVER_ERROR_INFO, FRONTEND_LOG, FRONTEND_LOG_CONTEXT,
    OSS_SQL_DRIVER_TELEMETRY_LOG,
};

/// How strictly uploads are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The exact contract: any [`Deviation`] rejects the whole upload (`400`), and a key given
    /// twice in one object is refused.
    #[default]
    Strict,
    /// What the real service accepts: deviations a protobuf JSON reader tolerates are warnings;
    /// a log that cannot be read is rejected alone.
    Tolerant,
}

/// What kind of departure from the contract a [`Deviation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviationKind {
    /// A field the contract does not have (ignored when tolerant).
    UnknownField,
    /// An enum value outside the contract's list (read as unset when tolerant).
    UnknownEnumValue,
    /// A required field is absent (allowed when tolerant).
    MissingField,
    /// `context.timestamp_millis` directly under `context`, as the C# ADBC driver writes it
    /// (read when tolerant).
    TimestampUnderContext,
    /// `items` is not an empty array (ignored when tolerant).
    UnexpectedItems,
    /// A session id, system configuration or connection parameters on `/telemetry-unauth`
    /// (allowed when tolerant: Python and JDBC send them).
    UnauthPrivateField,
    /// A non-empty stack trace on `/telemetry-unauth` (allowed when tolerant).
    UnauthStackTrace,
    /// A key given twice in one object (the last one counts when tolerant).
    DuplicateKey,
    /// A value of the wrong type: the log is rejected, alone when tolerant.
    WrongType,
    /// A `protoLogs` element that is not a string holding a JSON object: the log is rejected,
    /// alone when tolerant.
    InvalidLog,
}

impl DeviationKind {
    /// The kind's name in `/stats` and answers, e.g. `unknown_field`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviationKind::UnknownField => "unknown_field",
            DeviationKind::UnknownEnumValue => "unknown_enum_value",
            DeviationKind::MissingField => "missing_field",
            DeviationKind::TimestampUnderContext => "timestamp_under_context",
            DeviationKind::UnexpectedItems => "unexpected_items",
            DeviationKind::UnauthPrivateField => "unauth_private_field",
            DeviationKind::UnauthStackTrace => "unauth_stack_trace",
            DeviationKind::DuplicateKey => "duplicate_key",
            DeviationKind::WrongType => "wrong_type",
            DeviationKind::InvalidLog => "invalid_log",
        }
    }

    /// Whether a tolerant check rejects the log that carries it (the others are warnings).
    pub const fn rejects_log(self) -> bool {
        matches!(self, DeviationKind::WrongType | DeviationKind::InvalidLog)
    }
}

impl fmt::Display for DeviationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One departure from the contract: its kind, where it is, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// What kind of departure it is.
    pub kind: DeviationKind,
    /// Where: a JSONPath-like location that continues into the decoded frontend log, e.g.
    /// `$.protoLogs[3].entry.sql_driver_log.sql_operation.statement_type`.
    pub path: String,
    /// What is wrong and what was expected, human readable.
    pub message: String,
}

impl Deviation {
    /// The JSON form used in answers: `{"kind": "...", "error": "...", "path": "..."}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "kind": self.kind.as_str(), "error": self.message, "path": self.path })
    }
}

/// Why an upload was rejected: the first problem (what is wrong, and where), and every problem
/// found when there were several.
///
/// The location continues into the decoded frontend log, e.g.
/// `$.protoLogs[3].entry.sql_driver_log.sql_operation.statement_type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// What is wrong and what was expected, human readable.
    pub message: String,
    /// Where in the body the problem is; `$` is the body itself.
    pub path: String,
    /// Every deviation found, the first one included; empty when the body could not be read
    /// at all (not JSON, no `protoLogs`, ...).
    pub problems: Vec<Deviation>,
}

impl ValidationError {
    fn fatal(path: &str, message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
            path: path.to_owned(),
            problems: Vec::new(),
        }
    }

    fn from_problems(problems: Vec<Deviation>) -> Self {
        let first = &problems[0];
        ValidationError {
            message: first.message.clone(),
            path: first.path.clone(),
            problems,
        }
    }

    /// The JSON body of the 400 answer: `{"error": "...", "path": "..."}`, plus
    /// `"problems": [{"kind", "error", "path"}, ...]` listing all of them when there are several.
    pub fn to_json(&self) -> Value {
        let mut json = serde_json::json!({ "error": self.message, "path": self.path });
        if self.problems.len() > 1 {
            json["problems"] = self.problems.iter().map(Deviation::to_json).collect();
        }
        json
    }
}

/// One accepted frontend log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLog {
    /// Exactly the `protoLogs` string as it was sent.
    pub json: String,
    /// Its `frontend_log_event_id` (empty when a tolerant check let it be absent).
    pub event_id: String,
}

/// An upload body that passed strict validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidUpload {
    /// `uploadTime`, milliseconds since the Unix epoch.
    pub upload_time_ms: u64,
    /// The frontend logs, in the order they were sent.
    pub logs: Vec<ValidLog>,
}

/// One frontend log a tolerant check rejected, alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLog {
    /// Its index in `protoLogs`.
    pub index: usize,
    /// The first problem that rejected it.
    pub error: Deviation,
}

/// What a check made of an upload it did not refuse outright.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadReport {
    /// `uploadTime`, milliseconds since the Unix epoch (0 when a tolerant check let it be absent).
    pub upload_time_ms: u64,
    /// The accepted frontend logs, in the order they were sent.
    pub logs: Vec<ValidLog>,
    /// The logs rejected alone (tolerant only; a strict check rejects the whole upload instead).
    pub rejected: Vec<RejectedLog>,
    /// Every deviation found, including those that rejected a log.
    pub deviations: Vec<Deviation>,
}

impl UploadReport {
    /// The index in `protoLogs` of each accepted log, in the order of [`logs`](Self::logs).
    pub fn log_indexes(&self) -> Vec<usize> {
        let mut rejected = self.rejected.iter().map(|log| log.index).peekable();
        let mut indexes = Vec::with_capacity(self.logs.len());
        let mut index = 0;
        while indexes.len() < self.logs.len() {
            if rejected.peek() == Some(&index) {
                rejected.next();
            } else {
                indexes.push(index);
            }
            index += 1;
        }
        indexes
    }

    /// The deviations found in the log at `index` of `protoLogs` (those whose path starts with
    /// `$.protoLogs[index]`).
    pub fn deviations_of(&self, index: usize) -> impl Iterator<Item = &Deviation> {
        let prefix = format!("$.protoLogs[{index}]");
        self.deviations.iter().filter(move |deviation| {
            deviation
                .path
                .strip_prefix(&prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }
}

/// Which upload route a body arrived on; the unauthenticated one has extra rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadRoute {
    /// `POST /telemetry-ext`.
    Authenticated,
    /// `POST /telemetry-unauth`: logs must carry no session ids, system configuration,
    /// connection parameters or stack traces (strict; tolerated with a warning otherwise).
    Unauthenticated,
}

/// Validates a body sent to `POST /telemetry-ext`, strictly.
///
/// # Errors
///
/// The first problem found, with its location (and all of them in
/// [`problems`](ValidationError::problems)); the whole upload is rejected.
///
/// # Examples
///
/// ```
/// let log = r#"{"frontend_log_event_id":"e1","context":{"client_context":{"timestamp_millis":1,"user_agent":"x/1"}},"entry":{"sql_driver_log":{"sql_operation":{"statement_type":"SELECT"}}}}"#;
/// let body = serde_json::json!({"uploadTime": 1, "items": [], "protoLogs": [log]});
/// let error = telemetry_endpoint::validate_upload(body.to_string().as_bytes()).unwrap_err();
/// assert_eq!(error.path, "$.protoLogs[0].entry.sql_driver_log.sql_operation.statement_type");
/// ```
pub fn validate_upload(body: &[u8]) -> Result<ValidUpload, ValidationError> {
    validate_upload_for(body, UploadRoute::Authenticated)
}

/// Validates a body sent to `POST /telemetry-unauth` strictly (the schema plus the
/// unauthenticated rules).
///
/// # Errors
///
/// The first problem found, with its location; the whole upload is rejected.
pub fn validate_unauth_upload(body: &[u8]) -> Result<ValidUpload, ValidationError> {
    validate_upload_for(body, UploadRoute::Unauthenticated)
}

/// Validates an upload body for the given route, strictly.
///
/// # Errors
///
/// The first problem found, with its location; the whole upload is rejected.
pub fn validate_upload_for(
    body: &[u8],
    route: UploadRoute,
) -> Result<ValidUpload, ValidationError> {
    let report = check_upload(body, route, Mode::Strict)?;
    Ok(ValidUpload {
        upload_time_ms: report.upload_time_ms,
        logs: report.logs,
    })
}

/// Checks an upload body for the given route in `mode`.
///
/// # Errors
///
/// In both modes, a body that cannot be read as an upload at all: not JSON, not an object, no
/// `protoLogs` array, an `uploadTime` that is not a non-negative integer. In [`Mode::Strict`],
/// also any [`Deviation`].
///
/// # Examples
///
/// ```
/// use telemetry_endpoint::{check_upload, DeviationKind, Mode, UploadRoute};
///
/// let good = r#"{"frontend_log_event_id":"e1","context":{"client_context":{"timestamp_millis":1,"user_agent":"x/1"}},"entry":{"sql_driver_log":{"sql_operation":{"statement_type":"NONE"}}}}"#;
/// let bad = r#"{"frontend_log_event_id":"e2","workspace_id":true}"#;
/// let body = serde_json::json!({"uploadTime": 1, "protoLogs": [good, bad]}).to_string();
/// let report = check_upload(body.as_bytes(), UploadRoute::Authenticated, Mode::Tolerant)?;
/// assert_eq!(report.logs.len(), 1);
/// assert_eq!(report.rejected[0].index, 1);
/// let kinds: Vec<DeviationKind> = report.deviations.iter().map(|d| d.kind).collect();
/// assert!(kinds.contains(&DeviationKind::UnknownEnumValue));
/// assert!(check_upload(body.as_bytes(), UploadRoute::Authenticated, Mode::Strict).is_err());
/// # Ok::<(), telemetry_endpoint::ValidationError>(())
/// ```
pub fn check_upload(
    body: &[u8],
    route: UploadRoute,
    mode: Mode,
) -> Result<UploadReport, ValidationError> {
    let mut envelope = Envelope::default();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let read = EnvelopeSeed {
        envelope: &mut envelope,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Err(error) = read {
        return Err(envelope.fatal.take().unwrap_or_else(|| {
            ValidationError::fatal("$", format!("the body is not valid JSON: {error}"))
        }));
    }
    if let Some(fatal) = envelope.fatal {
        return Err(fatal);
    }
    let Some(elements) = envelope.proto_logs else {
        return Err(ValidationError::fatal(
            "$.protoLogs",
            r#"missing required field "protoLogs" in the upload body"#,
        ));
    };
    let mut deviations = envelope.deviations;
    if !envelope.seen.upload_time {
        deviations.push(missing("$.uploadTime", "uploadTime", "the upload body"));
    }
    if !envelope.seen.items {
        deviations.push(missing("$.items", "items", "the upload body"));
    }
    let mut report = UploadReport {
        upload_time_ms: envelope.upload_time_ms,
        logs: Vec::with_capacity(elements.len()),
        rejected: Vec::new(),
        deviations: Vec::new(),
    };
    let mut base = String::with_capacity(24);
    for (index, element) in elements.into_iter().enumerate() {
        base.clear();
        base.push_str("$.protoLogs[");
        base.push_str(&index.to_string());
        base.push(']');
        let first_new = deviations.len();
        let event_id = match element {
            Element::Log(json) => {
                let event_id = check_log(&json, route, &base, &mut deviations);
                (event_id, Some(json))
            }
            Element::Other(found) => {
                deviations.push(Deviation {
                    kind: DeviationKind::InvalidLog,
                    path: base.clone(),
                    message: format!(
                        "expected a string holding one frontend log as JSON, found {found}"
                    ),
                });
                (String::new(), None)
            }
        };
        match deviations[first_new..]
            .iter()
            .find(|deviation| deviation.kind.rejects_log())
        {
            Some(error) => report.rejected.push(RejectedLog {
                index,
                error: error.clone(),
            }),
            None => {
                if let (event_id, Some(json)) = event_id {
                    report.logs.push(ValidLog { json, event_id });
                }
            }
        }
    }
    if mode == Mode::Strict && !deviations.is_empty() {
        return Err(ValidationError::from_problems(deviations));
    }
    report.deviations = deviations;
    Ok(report)
}

/// Validates one frontend log (one decoded `protoLogs` string) strictly and returns its event
/// id.
///
/// # Errors
///
/// The first problem found; the path starts at `$`, the log itself.
pub fn validate_frontend_log(json: &str, route: UploadRoute) -> Result<String, ValidationError> {
    let mut deviations = Vec::new();
    let event_id = check_log(json, route, "$", &mut deviations);
    if deviations.is_empty() {
        Ok(event_id)
    } else {
        Err(ValidationError::from_problems(deviations))
    }
}

/// Checks `value` strictly against `schema`: an object with only known fields of the right
/// types and every required field present.
///
/// # Errors
///
/// The first problem found, located below `path`.
pub fn validate_message(
    value: &Value,
    schema: &'static MessageSchema,
    path: &str,
) -> Result<(), ValidationError> {
    let mut checker = Checker::new(UploadRoute::Authenticated, path);
    let read = MessageSeed {
        checker: &mut checker,
        schema,
    }
    .deserialize(value);
    if let Err(error) = read {
        return Err(ValidationError::fatal(path, error.to_string()));
    }
    if checker.deviations.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::from_problems(checker.deviations))
    }
}

/// Checks one log, appending its deviations; returns its event id (empty when absent).
fn check_log(
    json: &str,
    route: UploadRoute,
    base: &str,
    deviations: &mut Vec<Deviation>,
) -> String {
    let mut checker = Checker::new(route, base);
    checker.deviations = std::mem::take(deviations);
    let first_new = checker.deviations.len();
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let read = MessageSeed {
        checker: &mut checker,
        schema: &FRONTEND_LOG,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Err(error) = read {
        // What was found before the syntax error says little: report the log as unreadable.
        checker.deviations.truncate(first_new);
        checker.deviations.push(Deviation {
            kind: DeviationKind::InvalidLog,
            path: base.to_owned(),
            message: format!("the frontend log string is not valid JSON: {error}"),
        });
    }
    *deviations = checker.deviations;
    checker.event_id.unwrap_or_default()
}

fn missing(path: &str, field: &str, container: &str) -> Deviation {
    Deviation {
        kind: DeviationKind::MissingField,
        path: path.to_owned(),
        message: format!("missing required field \"{field}\" in {container}"),
    }
}

// ---- the upload envelope ----

#[derive(Default)]
struct Seen {
    upload_time: bool,
    items: bool,
    proto_logs: bool,
}

#[derive(Default)]
struct Envelope {
    upload_time_ms: u64,
    proto_logs: Option<Vec<Element>>,
    seen: Seen,
    deviations: Vec<Deviation>,
    /// A problem that refuses the upload in any mode.
    fatal: Option<ValidationError>,
}

/// One `protoLogs` element: the log's text, or a description of what was there instead.
enum Element {
    Log(String),
    Other(String),
}

struct EnvelopeSeed<'e> {
    envelope: &'e mut Envelope,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an upload body")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let envelope = self.envelope;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let seen = match &*key {
                "uploadTime" => &mut envelope.seen.upload_time,
                "items" => &mut envelope.seen.items,
                "protoLogs" => &mut envelope.seen.proto_logs,
                other => {
                    envelope.deviations.push(Deviation {
                        kind: DeviationKind::UnknownField,
                        path: format!("$.{other}"),
                        message: format!(
                            "unknown field \"{other}\" in the upload body; expected only uploadTime, items and protoLogs"
                        ),
                    });
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if std::mem::replace(seen, true) {
                envelope.deviations.push(Deviation {
                    kind: DeviationKind::DuplicateKey,
                    path: format!("$.{key}"),
                    message: format!("\"{key}\" is given twice in the upload body"),
                });
            }
            match &*key {
                "uploadTime" => match map.next_value_seed(ScalarSeed)? {
                    Scalar::U64(ms) => envelope.upload_time_ms = ms,
                    Scalar::I64(ms) if ms >= 0 => envelope.upload_time_ms = ms.unsigned_abs(),
                    other => {
                        envelope.fatal.get_or_insert(ValidationError::fatal(
                            "$.uploadTime",
                            format!(
                                "expected milliseconds since the Unix epoch as a non-negative JSON integer, found {other}"
                            ),
                        ));
                    }
                },
                "items" => {
                    let items: Value = map.next_value()?;
                    let found = match &items {
                        Value::Array(items) if items.is_empty() => None,
                        Value::Array(items) => {
                            Some(format!("an array of {} elements", items.len()))
                        }
                        other => Some(Scalar::describe_value(other)),
                    };
                    if let Some(found) = found {
                        envelope.deviations.push(Deviation {
                            kind: DeviationKind::UnexpectedItems,
                            path: "$.items".to_owned(),
                            message: format!("expected an empty array, found {found}"),
                        });
                    }
                }
                _ => {
                    let logs = map.next_value_seed(ProtoLogsSeed)?;
                    match logs {
                        Ok(elements) => envelope.proto_logs = Some(elements),
                        Err(found) => {
                            envelope.fatal.get_or_insert(ValidationError::fatal(
                                "$.protoLogs",
                                format!(
                                    "expected an array of strings (frontend logs as JSON), found {found}"
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        IgnoredAny.visit_seq(seq)?;
        self.not_an_object("an array".to_owned());
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.not_an_object(Scalar::Bool(v).to_string());
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.not_an_object(Scalar::I64(v).to_string());
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.not_an_object(Scalar::U64(v).to_string());
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.not_an_object(Scalar::F64(v).to_string());
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.not_an_object(Scalar::Str(Cow::Borrowed(v)).to_string());
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null".to_owned());
        Ok(())
    }
}

impl EnvelopeSeed<'_> {
    fn not_an_object(self, found: String) {
        self.envelope.fatal = Some(ValidationError::fatal(
            "$",
            format!(
                "expected the body to be a JSON object with uploadTime, items and protoLogs, found {found}"
            ),
        ));
    }
}

/// `protoLogs`: the elements, or what was found instead of an array.
struct ProtoLogsSeed;

impl<'de> DeserializeSeed<'de> for ProtoLogsSeed {
    type Value = Result<Vec<Element>, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match deserializer.deserialize_any(ProtoLogsVisitor)? {
            Ok(elements) => Ok(Ok(elements)),
            Err(scalar) => Ok(Err(scalar.to_string())),
        }
    }
}

struct ProtoLogsVisitor;

impl<'de> Visitor<'de> for ProtoLogsVisitor {
    type Value = Result<Vec<Element>, Scalar<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(scalar) = seq.next_element_seed(ScalarSeed)? {
            elements.push(match scalar {
                Scalar::Str(text) => Element::Log(text.into_owned()),
                other => Element::Other(other.to_string()),
            });
        }
        Ok(Ok(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ScalarVisitor.visit_map(map).map(Err)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Err(Scalar::I64(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Err(Scalar::U64(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Err(Scalar::F64(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Str(Cow::Owned(v.to_owned()))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err(Scalar::Null))
    }
}

// ---- one frontend log, driven by the schema ----

/// The state of one log's check.
struct Checker<'b> {
    route: UploadRoute,
    /// Where the log is: `$` or `$.protoLogs[N]`.
    base: &'b str,
    /// The fields from the log down to where the check is.
    stack: Vec<&'static str>,
    deviations: Vec<Deviation>,
    event_id: Option<String>,
}

impl<'b> Checker<'b> {
    fn new(route: UploadRoute, base: &'b str) -> Self {
        Checker {
            route,
            base,
            stack: Vec::with_capacity(8),
            deviations: Vec::new(),
            event_id: None,
        }
    }

    /// The current location, with `tail` appended when given.
    fn path(&self, tail: Option<&str>) -> String {
        let mut path = String::from(self.base);
        for field in self.stack.iter().copied().chain(tail) {
            path.push('.');
            path.push_str(field);
        }
        path
    }

    fn report(&mut self, kind: DeviationKind, tail: Option<&str>, message: String) {
        let path = self.path(tail);
        self.deviations.push(Deviation {
            kind,
            path,
            message,
        });
    }
}

/// Reads an object key, borrowed when it holds no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// One message of the schema.
struct MessageSeed<'c, 'b> {
    checker: &'c mut Checker<'b>,
    schema: &'static MessageSchema,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The unauthenticated route's private fields of `sql_driver_log`.
const UNAUTH_PRIVATE_FIELDS: [&str; 3] = [
    "session_id",
    "system_configuration",
    "driver_connection_params",
];

impl MessageSeed<'_, '_> {
    fn wrong_type(self, found: String) {
        let message = format!("expected a {} object, found {found}", self.schema.name);
        self.checker.report(DeviationKind::WrongType, None, message);
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} object", self.schema.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let MessageSeed { checker, schema } = self;
        let mut seen: u64 = 0;
        // Writers emit fields in declaration order: try the one after the last field first.
        let mut next = 0usize;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let found = match schema.fields.get(next) {
                Some(field) if field.name == key => Some(next),
                _ => schema.fields.iter().position(|field| field.name == key),
            };
            let Some(index) = found else {
                if std::ptr::eq(schema, &FRONTEND_LOG_CONTEXT) && key == "timestamp_millis" {
                    checker.report(
                        DeviationKind::TimestampUnderContext,
                        Some("timestamp_millis"),
                        "timestamp_millis belongs in context.client_context (the C# ADBC driver writes it directly under context)".to_owned(),
                    );
                    checker.stack.push("timestamp_millis");
                    map.next_value_seed(FieldSeed {
                        checker: &mut *checker,
                        ty: FieldType::Int64,
                        capture: false,
                    })?;
                    checker.stack.pop();
                    continue;
                }
                let known: Vec<&str> = schema.fields.iter().map(|field| field.name).collect();
                let message = format!(
                    "unknown field \"{key}\" in {}; expected one of: {}",
                    schema.name,
                    known.join(", ")
                );
                checker.report(DeviationKind::UnknownField, Some(&key), message);
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            next = index + 1;
            let field = &schema.fields[index];
            let bit = 1u64 << (index % 64);
            if seen & bit != 0 {
                let message = format!("\"{}\" is given twice in {}", field.name, schema.name);
                checker.report(DeviationKind::DuplicateKey, Some(field.name), message);
            }
            seen |= bit;
            let capture = std::ptr::eq(schema, &FRONTEND_LOG)
                && field.name == "frontend_log_event_id"
                || std::ptr::eq(schema, &DRIVER_ERROR_INFO) && field.name == "stack_trace";
            checker.stack.push(field.name);
            let captured = map.next_value_seed(FieldSeed {
                checker: &mut *checker,
                ty: field.ty,
                capture,
            })?;
            checker.stack.pop();
            if checker.route == UploadRoute::Unauthenticated {
                if std::ptr::eq(schema, &OSS_SQL_DRIVER_TELEMETRY_LOG)
                    && UNAUTH_PRIVATE_FIELDS.contains(&field.name)
                {
                    let message = format!(
                        "{} is not allowed on /telemetry-unauth: unauthenticated uploads must carry no session ids, system configuration, connection parameters or stack traces",
                        field.name
                    );
                    checker.report(DeviationKind::UnauthPrivateField, Some(field.name), message);
                }
                if let Some(Captured { chars, .. }) = &captured {
                    if std::ptr::eq(schema, &DRIVER_ERROR_INFO) && *chars > 0 {
                        let message = format!(
                            "stack_trace must be empty on /telemetry-unauth, found {chars} characters"
                        );
                        checker.report(DeviationKind::UnauthStackTrace, Some(field.name), message);
                    }
                }
            }
            if let Some(Captured {
                text: Some(text), ..
            }) = captured
            {
                if std::ptr::eq(schema, &FRONTEND_LOG) {
                    checker.event_id = Some(text);
                }
            }
        }
        for (index, field) in schema.fields.iter().enumerate() {
            if field.required && seen & (1u64 << (index % 64)) == 0 {
                let message = format!(
                    "missing required field \"{}\" in {}",
                    field.name, schema.name
                );
                checker.report(DeviationKind::MissingField, Some(field.name), message);
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        IgnoredAny.visit_seq(seq)?;
        self.wrong_type("an array".to_owned());
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.wrong_type(Scalar::Bool(v).to_string());
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.wrong_type(Scalar::I64(v).to_string());
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.wrong_type(Scalar::U64(v).to_string());
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.wrong_type(Scalar::F64(v).to_string());
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.wrong_type(Scalar::Str(Cow::Borrowed(v)).to_string());
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.wrong_type("null".to_owned());
        Ok(())
    }
}

/// What a string field held, when asked for: its length in characters, and its text.
struct Captured {
    chars: usize,
    text: Option<String>,
}

/// One field's value, of type `ty`.
struct FieldSeed<'c, 'b> {
    checker: &'c mut Checker<'b>,
    ty: FieldType,
    /// Return what a string field holds.
    capture: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
    type Value = Option<Captured>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let FieldSeed {
            checker,
            ty,
            capture,
        } = self;
        match ty {
            FieldType::Message(schema) => {
                MessageSeed { checker, schema }.deserialize(deserializer)?;
                Ok(None)
            }
            FieldType::RepeatedString => {
                deserializer.deserialize_any(RepeatedStringVisitor { checker })?;
                Ok(None)
            }
            _ => {
                let scalar = ScalarSeed.deserialize(deserializer)?;
                let ok = match (&scalar, ty) {
                    (Scalar::Str(text), FieldType::String) => {
                        if capture {
                            return Ok(Some(Captured {
                                chars: text.chars().count(),
                                text: Some(text.clone().into_owned()),
                            }));
                        }
                        true
                    }
                    (Scalar::Bool(_), FieldType::Bool) => true,
                    (_, FieldType::Int32) => {
                        scalar.integer().is_some_and(|n| i32::try_from(n).is_ok())
                    }
                    (_, FieldType::Int64) => scalar.integer().is_some(),
                    (Scalar::Str(name), FieldType::Enum(schema)) => {
                        if !schema.values.contains(&name.as_ref()) {
                            let message = format!("expected {}, found {scalar}", ty.describe());
                            checker.report(DeviationKind::UnknownEnumValue, None, message);
                        }
                        true
                    }
                    _ => false,
                };
                if !ok {
                    let message = format!("expected {}, found {scalar}", ty.describe());
                    checker.report(DeviationKind::WrongType, None, message);
                }
                Ok(None)
            }
        }
    }
}

/// A `repeated string`: an array whose elements are each checked.
struct RepeatedStringVisitor<'c, 'b> {
    checker: &'c mut Checker<'b>,
}

impl<'de> Visitor<'de> for RepeatedStringVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(element) = seq.next_element_seed(ScalarSeed)? {
            if !matches!(element, Scalar::Str(_)) {
                let mut path = self.checker.path(None);
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
                self.checker.deviations.push(Deviation {
                    kind: DeviationKind::WrongType,
                    path,
                    message: format!("expected a string, found {element}"),
                });
            }
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let found = ScalarVisitor.visit_map(map)?;
        self.wrong(found);
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.wrong(Scalar::Bool(v));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.wrong(Scalar::I64(v));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.wrong(Scalar::U64(v));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.wrong(Scalar::F64(v));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.wrong(Scalar::Str(Cow::Borrowed(v)));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.wrong(Scalar::Null);
        Ok(())
    }
}

impl RepeatedStringVisitor<'_, '_> {
    fn wrong(self, found: Scalar<'_>) {
        let message = format!(
            "expected {}, found {found}",
            FieldType::RepeatedString.describe()
        );
        self.checker.report(DeviationKind::WrongType, None, message);
    }
}

// ---- scalars ----

/// A JSON value as far as a check needs it: scalars as they are (strings borrowed when
/// possible), containers read and skipped.
enum Scalar<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl Scalar<'_> {
    /// An integer written as a JSON integer or as a decimal string (the protobuf JSON mapping).
    fn integer(&self) -> Option<i64> {
        match self {
            Scalar::I64(n) => Some(*n),
            Scalar::U64(n) => i64::try_from(*n).ok(),
            Scalar::Str(text) => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse().ok()
            }
            _ => None,
        }
    }

    fn describe_value(value: &Value) -> String {
        match value {
            Value::Null => Scalar::Null.to_string(),
            Value::Bool(flag) => Scalar::Bool(*flag).to_string(),
            Value::Number(number) => number.to_string(),
            Value::String(text) => Scalar::Str(Cow::Borrowed(text)).to_string(),
            Value::Array(_) => Scalar::Array.to_string(),
            Value::Object(_) => Scalar::Object.to_string(),
        }
    }
}

/// A short description for messages: scalars as written (long strings cut), containers by kind.
impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_CHARS: usize = 60;
        match self {
            Scalar::Null => f.write_str("null"),
            Scalar::Bool(flag) => write!(f, "{flag}"),
            Scalar::I64(n) => write!(f, "{n}"),
            Scalar::U64(n) => write!(f, "{n}"),
            Scalar::F64(n) => write!(f, "{}", Value::from(*n)),
            Scalar::Str(text) if text.chars().count() > MAX_CHARS => {
                let cut: String = text.chars().take(MAX_CHARS).collect();
                write!(f, "{}...", Value::String(cut))
            }
            Scalar::Str(text) => write!(f, "{}", Value::String(text.to_string())),
            Scalar::Array => f.write_str("an array"),
            Scalar::Object => f.write_str("an object"),
        }
    }
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Scalar::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(Scalar::Object)
    }
}
