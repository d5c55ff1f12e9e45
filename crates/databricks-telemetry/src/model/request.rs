//! The upload body and the service's answer.

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::encode::LogEncoder;
use super::frontend_log::FrontendLog;

/// About what one statement event takes in an upload body, to size the buffer once.
const ESTIMATED_LOG_BYTES: usize = 1_600;

/// The body of `POST /telemetry-ext` and `POST /telemetry-unauth`.
///
/// ```
/// use databricks_telemetry::unstable::model::TelemetryRequest;
///
/// let request = TelemetryRequest::new(1_764_160_000_000, vec![r#"{"a":1}"#.to_owned()]);
/// assert_eq!(
///     serde_json::to_string(&request).unwrap(),
///     r#"{"uploadTime":1764160000000,"items":[],"protoLogs":["{\"a\":1}"]}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryRequest {
    /// When the upload was made, in milliseconds since the Unix epoch.
    #[serde(rename = "uploadTime")]
    pub upload_time: i64,
    /// Always an empty array on the wire.
    pub items: EmptyItems,
    /// Each element is one [`FrontendLog`] serialised to JSON, embedded as a string.
    #[serde(rename = "protoLogs")]
    pub proto_logs: Vec<String>,
}

impl TelemetryRequest {
    /// An upload of already serialised frontend logs.
    pub fn new(upload_time: i64, proto_logs: Vec<String>) -> Self {
        TelemetryRequest {
            upload_time,
            items: EmptyItems,
            proto_logs,
        }
    }

    /// Serialises each log and wraps them in an upload.
    ///
    /// # Errors
    ///
    /// Only if a log cannot be serialised, which the model's types never cause.
    pub fn from_logs(upload_time: i64, logs: &[FrontendLog]) -> Result<Self, serde_json::Error> {
        let mut encoder = LogEncoder::new();
        let proto_logs = logs
            .iter()
            .map(|log| encoder.json_text(log))
            .collect::<Result<_, _>>()?;
        Ok(TelemetryRequest::new(upload_time, proto_logs))
    }

    /// The upload body for `logs`, as JSON bytes: the same bytes as
    /// `serde_json::to_vec(&TelemetryRequest::from_logs(upload_time, logs)?)`, made in one pass.
    /// Each log is written straight into the body as a JSON string, and the system
    /// configuration and connection parameters that logs share (the same `Arc`) are serialised
    /// once per call rather than once per log.
    ///
    /// ```
    /// use databricks_telemetry::model::FrontendLog;
    /// use databricks_telemetry::unstable::model::TelemetryRequest;
    ///
    /// let logs = vec![FrontendLog::default(); 2];
    /// let body = TelemetryRequest::encode_logs(1_764_160_000_000, &logs).unwrap();
    /// let expected =
    ///     serde_json::to_vec(&TelemetryRequest::from_logs(1_764_160_000_000, &logs).unwrap());
    /// assert_eq!(body, expected.unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// Only if a log cannot be serialised, which the model's types never cause.
    pub fn encode_logs(
        upload_time: i64,
        logs: &[FrontendLog],
    ) -> Result<Vec<u8>, serde_json::Error> {
        let mut body = Vec::with_capacity(64 + logs.len() * ESTIMATED_LOG_BYTES);
        body.extend_from_slice(b"{\"uploadTime\":");
        body.extend_from_slice(upload_time.to_string().as_bytes());
        body.extend_from_slice(b",\"items\":[],\"protoLogs\":[");
        let mut encoder = LogEncoder::new();
        for (i, log) in logs.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            encoder.push_as_json_string(log, &mut body)?;
        }
        body.extend_from_slice(b"]}");
        Ok(body)
    }

    /// Parses each element of `protoLogs` back into a [`FrontendLog`].
    ///
    /// # Errors
    ///
    /// The first element that is not a valid frontend log, with its index.
    pub fn decode_logs(&self) -> Result<Vec<FrontendLog>, (usize, serde_json::Error)> {
        self.proto_logs
            .iter()
            .enumerate()
            .map(|(i, s)| serde_json::from_str(s).map_err(|e| (i, e)))
            .collect()
    }
}

/// The `items` field: always present and always `[]` (the service requires it). Parsing accepts
/// any array and ignores its elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyItems;

impl Serialize for EmptyItems {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_seq(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for EmptyItems {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemsVisitor;
        impl<'de> Visitor<'de> for ItemsVisitor {
            type Value = EmptyItems;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EmptyItems, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EmptyItems)
            }
        }
        deserializer.deserialize_seq(ItemsVisitor)
    }
}

/// The service's answer to an upload. Every field is optional; a 2xx with a missing or
/// malformed body counts as success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryResponse {
    /// Errors the service reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<serde_json::Value>,
    /// Items accepted.
    #[serde(
        rename = "numSuccess",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_success: Option<u64>,
    /// Frontend logs accepted; fewer than were sent is a partial failure.
    #[serde(
        rename = "numProtoSuccess",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_proto_success: Option<u64>,
    /// Realtime items accepted.
    #[serde(
        rename = "numRealtimeSuccess",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_realtime_success: Option<u64>,
}
