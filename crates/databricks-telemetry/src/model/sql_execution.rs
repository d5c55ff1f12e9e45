//! `SqlExecutionEvent` and its parts: what a statement did and how long each phase took.

use serde::{Deserialize, Serialize};

use super::enums::{ExecutionResultFormat, OperationType, StatementType};
use super::proto_int;

/// CloudFetch chunk downloads of one statement (`ChunkDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkDetails {
    /// Latency of the first chunk's download.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub initial_chunk_latency_millis: Option<i64>,
    /// Latency of the slowest chunk's download.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub slowest_chunk_latency_millis: Option<i64>,
    /// Chunks the result has.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub total_chunks_present: Option<i32>,
    /// Chunks the driver read.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub total_chunks_iterated: Option<i32>,
    /// Sum of all chunks' download times.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub sum_chunks_download_time_millis: Option<i64>,
}

/// When results became ready and how long reading them took (`ResultLatency`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultLatency {
    /// From execution start until the first results were ready.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub result_set_ready_latency_millis: Option<i64>,
    /// From results ready until the caller had consumed them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub result_set_consumption_latency_millis: Option<i64>,
}

/// The operation and its status polls (`OperationDetail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationDetail {
    /// How many times the driver polled the operation's status.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub n_operation_status_calls: Option<i32>,
    /// Total time spent in status polls.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub operation_status_latency_millis: Option<i64>,
    /// The operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<OperationType>,
    /// Whether the driver made the call for itself rather than for the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_internal_call: Option<bool>,
}

/// One statement or metadata call (`SqlExecutionEvent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlExecutionEvent {
    /// The kind of statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_type: Option<StatementType>,
    /// Whether results were compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_compressed: Option<bool>,
    /// How results were returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_result: Option<ExecutionResultFormat>,
    /// The chunk this event is about, for per-chunk events.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub chunk_id: Option<i64>,
    /// How many times the operation was retried.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub retry_count: Option<i64>,
    /// CloudFetch chunk figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_details: Option<ChunkDetails>,
    /// Result latencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_latency: Option<ResultLatency>,
    /// The operation and its polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_detail: Option<OperationDetail>,
    /// JDBC only: whether a patched Arrow was used. Kept for parsing; this crate never sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub java_uses_patched_arrow: Option<bool>,
}
