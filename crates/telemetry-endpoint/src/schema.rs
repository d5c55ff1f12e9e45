//! The wire schema the endpoint validates against, written as plain data.
//!
//! This table is the endpoint's own reading of the wire contract (every message, every field
//! with its type, every enum with its names). It deliberately does not reuse the driver
//! library's serde model, so that a mistake in one is caught by the other.

/// One enum of the wire format, written on the wire by the names in [`EnumSchema::values`].
#[derive(Debug, PartialEq, Eq)]
pub struct EnumSchema {
    /// The enum's name in the wire contract, e.g. `StatementType`.
    pub name: &'static str,
    /// Every accepted name, in declaration order.
    pub values: &'static [&'static str],
}

/// The JSON type a field must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A JSON `true` or `false`.
    Bool,
    /// A 32-bit signed integer: a JSON integer or a decimal string, within `i32` range.
    Int32,
    /// A 64-bit signed integer: a JSON integer or a decimal string, within `i64` range.
    Int64,
    /// A JSON array whose elements are all strings (`repeated string`).
    RepeatedString,
    /// One of the names of an enum, as a JSON string.
    Enum(&'static EnumSchema),
    /// A nested message, as a JSON object.
    Message(&'static MessageSchema),
}

impl FieldType {
    /// A short human-readable description of what the type accepts, used in error messages.
    pub fn describe(&self) -> String {
        match self {
            FieldType::String => "a string".to_owned(),
            FieldType::Bool => "a boolean".to_owned(),
            FieldType::Int32 => {
                "an int32 (a JSON integer or decimal string from -2147483648 to 2147483647)"
                    .to_owned()
            }
            FieldType::Int64 => "an int64 (a JSON integer or decimal string)".to_owned(),
            FieldType::RepeatedString => "an array of strings".to_owned(),
            FieldType::Enum(schema) => {
                format!("{} (one of {})", schema.name, schema.values.join(", "))
            }
            FieldType::Message(schema) => format!("a {} object", schema.name),
        }
    }
}

/// One field of a message.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldSchema {
    /// The field's JSON name (snake_case, exactly as on the wire).
    pub name: &'static str,
    /// What the field must hold.
    pub ty: FieldType,
    /// Whether the field must be present.
    pub required: bool,
}

/// One message of the wire format: a JSON object with exactly these fields.
#[derive(Debug, PartialEq, Eq)]
pub struct MessageSchema {
    /// The message's name in the wire contract, e.g. `SqlExecutionEvent`.
    pub name: &'static str,
    /// Every field the message may carry; any other key is rejected.
    pub fields: &'static [FieldSchema],
}

impl MessageSchema {
    /// The field named `name`, if the message has one.
    pub fn field(&self, name: &str) -> Option<&'static FieldSchema> {
        self.fields.iter().find(|field| field.name == name)
    }
}

const fn opt(name: &'static str, ty: FieldType) -> FieldSchema {
    FieldSchema {
        name,
        ty,
        required: false,
    }
}

const fn req(name: &'static str, ty: FieldType) -> FieldSchema {
    FieldSchema {
        name,
        ty,
        required: true,
    }
}

use FieldType::{Bool, Enum, Int32, Int64, Message, RepeatedString, String as Str};

/// `DriverMode`.
pub static DRIVER_MODE: EnumSchema = EnumSchema {
    name: "DriverMode",
    values: &["TYPE_UNSPECIFIED", "THRIFT", "SEA"],
};

/// `StatementType`.
pub static STATEMENT_TYPE: EnumSchema = EnumSchema {
    name: "StatementType",
    values: &[
        "TYPE_UNSPECIFIED",
        "QUERY",
        "SQL",
        "UPDATE",
        "METADATA",
        "VOLUME",
    ],
};

/// `OperationType`.
pub static OPERATION_TYPE: EnumSchema = EnumSchema {
    name: "OperationType",
    values: &[
        "TYPE_UNSPECIFIED",
        "CREATE_SESSION",
        "DELETE_SESSION",
        "EXECUTE_STATEMENT",
        "EXECUTE_STATEMENT_ASYNC",
        "CLOSE_STATEMENT",
        "CANCEL_STATEMENT",
        "LIST_TYPE_INFO",
        "LIST_CATALOGS",
        "LIST_SCHEMAS",
        "LIST_TABLES",
        "LIST_TABLE_TYPES",
        "LIST_COLUMNS",
        "LIST_FUNCTIONS",
        "LIST_PRIMARY_KEYS",
        "LIST_IMPORTED_KEYS",
        "LIST_EXPORTED_KEYS",
        "LIST_CROSS_REFERENCES",
    ],
};

/// `ExecutionResultFormat`.
pub static EXECUTION_RESULT_FORMAT: EnumSchema = EnumSchema {
    name: "ExecutionResultFormat",
    values: &[
        "FORMAT_UNSPECIFIED",
        "INLINE_ARROW",
        "INLINE_JSON",
        "EXTERNAL_LINKS",
        "COLUMNAR_INLINE",
    ],
};

/// `VolumeOperationType`.
pub static VOLUME_OPERATION_TYPE: EnumSchema = EnumSchema {
    name: "VolumeOperationType",
    values: &["TYPE_UNSPECIFIED", "PUT", "GET", "DELETE", "LIST", "QUERY"],
};

/// `DriverProxyAuth`.
pub static DRIVER_PROXY_AUTH: EnumSchema = EnumSchema {
    name: "DriverProxyAuth",
    values: &["AUTH_UNSPECIFIED", "NONE", "BASIC", "SPNEGO"],
};

/// `DriverAuthMech`.
pub static DRIVER_AUTH_MECH: EnumSchema = EnumSchema {
    name: "DriverAuthMech",
    values: &["TYPE_UNSPECIFIED", "OTHER", "PAT", "OAUTH"],
};

/// `DriverAuthFlow`.
pub static DRIVER_AUTH_FLOW: EnumSchema = EnumSchema {
    name: "DriverAuthFlow",
    values: &[
        "TYPE_UNSPECIFIED",
        "TOKEN_PASSTHROUGH",
        "CLIENT_CREDENTIALS",
        "BROWSER_BASED_AUTHENTICATION",
    ],
};

/// Every enum of the wire format.
pub static ENUMS: &[&EnumSchema] = &[
    &DRIVER_MODE,
    &STATEMENT_TYPE,
    &OPERATION_TYPE,
    &EXECUTION_RESULT_FORMAT,
    &VOLUME_OPERATION_TYPE,
    &DRIVER_PROXY_AUTH,
    &DRIVER_AUTH_MECH,
    &DRIVER_AUTH_FLOW,
];

/// `DriverSystemConfiguration`: all strings.
pub static DRIVER_SYSTEM_CONFIGURATION: MessageSchema = MessageSchema {
    name: "DriverSystemConfiguration",
    fields: &[
        opt("driver_version", Str),
        opt("runtime_name", Str),
        opt("runtime_version", Str),
        opt("runtime_vendor", Str),
        opt("os_name", Str),
        opt("os_version", Str),
        opt("os_arch", Str),
        opt("driver_name", Str),
        opt("client_app_name", Str),
        opt("locale_name", Str),
        opt("char_set_encoding", Str),
        opt("process_name", Str),
    ],
};

/// `HostDetails`.
pub static HOST_DETAILS: MessageSchema = MessageSchema {
    name: "HostDetails",
    fields: &[
        opt("host_url", Str),
        opt("port", Int32),
        opt("proxy_auth_type", Enum(&DRIVER_PROXY_AUTH)),
    ],
};

/// `DriverConnectionParameters`.
pub static DRIVER_CONNECTION_PARAMETERS: MessageSchema = MessageSchema {
    name: "DriverConnectionParameters",
    fields: &[
        opt("http_path", Str),
        opt("mode", Enum(&DRIVER_MODE)),
        opt("host_info", Message(&HOST_DETAILS)),
        opt("use_proxy", Bool),
        opt("auth_mech", Enum(&DRIVER_AUTH_MECH)),
        opt("auth_flow", Enum(&DRIVER_AUTH_FLOW)),
        opt("auth_scope", Str),
        opt("use_system_proxy", Bool),
        opt("non_proxy_hosts", RepeatedString),
        opt("use_cf_proxy", Bool),
        opt("proxy_host_info", Message(&HOST_DETAILS)),
        opt("cf_proxy_host_info", Message(&HOST_DETAILS)),
        opt("discovery_mode_enabled", Bool),
        opt("discovery_url", Str),
        opt("use_empty_metadata", Bool),
        opt("support_many_parameters", Bool),
        opt("ssl_trust_store_type", Str),
        opt("check_certificate_revocation", Bool),
        opt("accept_undetermined_certificate_revocation", Bool),
        opt("google_service_account", Str),
        opt("google_credential_file_path", Str),
        opt("http_connection_pool_size", Int64),
        opt("enable_sea_hybrid_results", Bool),
        opt("enable_complex_datatype_support", Bool),
        opt("allow_self_signed_support", Bool),
        opt("use_system_trust_store", Bool),
        opt("rows_fetched_per_block", Int64),
        opt("azure_workspace_resource_id", Str),
        opt("azure_tenant_id", Str),
        opt("string_column_length", Int32),
        opt("enable_token_cache", Bool),
        opt("async_poll_interval_millis", Int64),
        opt("token_endpoint", Str),
        opt("auth_endpoint", Str),
        opt("enable_arrow", Bool),
        opt("enable_direct_results", Bool),
        opt("enable_jwt_assertion", Bool),
        opt("jwt_key_file", Str),
        opt("jwt_algorithm", Str),
        opt("socket_timeout", Int64),
        opt("allowed_volume_ingestion_paths", Str),
        opt("query_tags", Str),
        opt("enable_metric_view_metadata", Bool),
        opt("auto_commit", Bool),
        opt("fetch_auto_commit_from_server", Bool),
        opt("enable_geospatial_support", Bool),
    ],
};

/// `ChunkDetails`.
pub static CHUNK_DETAILS: MessageSchema = MessageSchema {
    name: "ChunkDetails",
    fields: &[
        opt("initial_chunk_latency_millis", Int64),
        opt("slowest_chunk_latency_millis", Int64),
        opt("total_chunks_present", Int32),
        opt("total_chunks_iterated", Int32),
        opt("sum_chunks_download_time_millis", Int64),
    ],
};

/// `ResultLatency`.
pub static RESULT_LATENCY: MessageSchema = MessageSchema {
    name: "ResultLatency",
    fields: &[
        opt("result_set_ready_latency_millis", Int64),
        opt("result_set_consumption_latency_millis", Int64),
    ],
};

/// `OperationDetail`.
pub static OPERATION_DETAIL: MessageSchema = MessageSchema {
    name: "OperationDetail",
    fields: &[
        opt("n_operation_status_calls", Int32),
        opt("operation_status_latency_millis", Int64),
        opt("operation_type", Enum(&OPERATION_TYPE)),
        opt("is_internal_call", Bool),
    ],
};

/// `SqlExecutionEvent`.
pub static SQL_EXECUTION_EVENT: MessageSchema = MessageSchema {
    name: "SqlExecutionEvent",
    fields: &[
        opt("statement_type", Enum(&STATEMENT_TYPE)),
        opt("is_compressed", Bool),
        opt("execution_result", Enum(&EXECUTION_RESULT_FORMAT)),
        opt("chunk_id", Int64),
        opt("retry_count", Int64),
        opt("chunk_details", Message(&CHUNK_DETAILS)),
        opt("result_latency", Message(&RESULT_LATENCY)),
        opt("operation_detail", Message(&OPERATION_DETAIL)),
        opt("java_uses_patched_arrow", Bool),
    ],
};

/// `VolumeOperationEvent`.
pub static VOLUME_OPERATION_EVENT: MessageSchema = MessageSchema {
    name: "VolumeOperationEvent",
    fields: &[
        opt("volume_operation_type", Enum(&VOLUME_OPERATION_TYPE)),
        opt("volume_path", Str),
        opt("local_file", Str),
    ],
};

/// `DriverErrorInfo`.
pub static DRIVER_ERROR_INFO: MessageSchema = MessageSchema {
    name: "DriverErrorInfo",
    fields: &[opt("error_name", Str), opt("stack_trace", Str)],
};

/// `OssSqlDriverTelemetryLog`, the `sql_driver_log` entry.
pub static OSS_SQL_DRIVER_TELEMETRY_LOG: MessageSchema = MessageSchema {
    name: "OssSqlDriverTelemetryLog",
    fields: &[
        opt("session_id", Str),
        opt("sql_statement_id", Str),
        opt(
            "system_configuration",
            Message(&DRIVER_SYSTEM_CONFIGURATION),
        ),
        opt(
            "driver_connection_params",
            Message(&DRIVER_CONNECTION_PARAMETERS),
        ),
        opt("auth_type", Str),
        opt("vol_operation", Message(&VOLUME_OPERATION_EVENT)),
        opt("sql_operation", Message(&SQL_EXECUTION_EVENT)),
        opt("error_info", Message(&DRIVER_ERROR_INFO)),
        opt("operation_latency_ms", Int64),
    ],
};

/// `TelemetryClientContext`: `context.client_context` of a frontend log.
pub static TELEMETRY_CLIENT_CONTEXT: MessageSchema = MessageSchema {
    name: "TelemetryClientContext",
    fields: &[req("timestamp_millis", Int64), req("user_agent", Str)],
};

/// `FrontendLogContext`: the `context` of a frontend log.
pub static FRONTEND_LOG_CONTEXT: MessageSchema = MessageSchema {
    name: "FrontendLogContext",
    fields: &[req("client_context", Message(&TELEMETRY_CLIENT_CONTEXT))],
};

/// `FrontendLogEntry`: the `entry` of a frontend log.
pub static FRONTEND_LOG_ENTRY: MessageSchema = MessageSchema {
    name: "FrontendLogEntry",
    fields: &[req(
        "sql_driver_log",
        Message(&OSS_SQL_DRIVER_TELEMETRY_LOG),
    )],
};

/// `FrontendLog`: one decoded element of `protoLogs`.
pub static FRONTEND_LOG: MessageSchema = MessageSchema {
    name: "FrontendLog",
    fields: &[
        req("frontend_log_event_id", Str),
        opt("workspace_id", Int64),
        req("context", Message(&FRONTEND_LOG_CONTEXT)),
        req("entry", Message(&FRONTEND_LOG_ENTRY)),
    ],
};

/// Every message of the wire format below the upload envelope, outermost first.
pub static MESSAGES: &[&MessageSchema] = &[
    &FRONTEND_LOG,
    &FRONTEND_LOG_CONTEXT,
    &TELEMETRY_CLIENT_CONTEXT,
    &FRONTEND_LOG_ENTRY,
    &OSS_SQL_DRIVER_TELEMETRY_LOG,
    &DRIVER_SYSTEM_CONFIGURATION,
    &DRIVER_CONNECTION_PARAMETERS,
    &HOST_DETAILS,
    &SQL_EXECUTION_EVENT,
    &CHUNK_DETAILS,
    &RESULT_LATENCY,
    &OPERATION_DETAIL,
    &VOLUME_OPERATION_EVENT,
    &DRIVER_ERROR_INFO,
];
