//! The wire contract transcribed by hand from the wire-format document, as the tests' own
//! expectation. The endpoint's schema table must match it exactly.

/// Field types as the document writes them: `string`, `bool`, `int32`, `int64`,
/// `repeated string`, `enum NAME`, `message NAME`. A leading `!` marks a required field.
pub(crate) type Field = (&'static str, &'static str);

/// A message: its name, where one instance sits in a frontend log, and its fields in order.
pub(crate) struct Message {
    pub(crate) name: &'static str,
    pub(crate) location: &'static [&'static str],
    pub(crate) fields: &'static [Field],
}

const DRIVER_LOG: &[&str] = &["entry", "sql_driver_log"];

pub(crate) const MESSAGES: &[Message] = &[
    Message {
        name: "FrontendLog",
        location: &[],
        fields: &[
            ("frontend_log_event_id", "!string"),
            ("workspace_id", "int64"),
            ("context", "!message FrontendLogContext"),
            ("entry", "!message FrontendLogEntry"),
        ],
    },
    Message {
        name: "FrontendLogContext",
        location: &["context"],
        fields: &[("client_context", "!message TelemetryClientContext")],
    },
    Message {
        name: "TelemetryClientContext",
        location: &["context", "client_context"],
        fields: &[("timestamp_millis", "!int64"), ("user_agent", "!string")],
    },
    Message {
        name: "FrontendLogEntry",
        location: &["entry"],
        fields: &[("sql_driver_log", "!message OssSqlDriverTelemetryLog")],
    },
    Message {
        name: "OssSqlDriverTelemetryLog",
        location: DRIVER_LOG,
        fields: &[
            ("session_id", "string"),
            ("sql_statement_id", "string"),
            ("system_configuration", "message DriverSystemConfiguration"),
            (
                "driver_connection_params",
                "message DriverConnectionParameters",
            ),
            ("auth_type", "string"),
            ("vol_operation", "message VolumeOperationEvent"),
            ("sql_operation", "message SqlExecutionEvent"),
            ("error_info", "message DriverErrorInfo"),
            ("operation_latency_ms", "int64"),
        ],
    },
    Message {
        name: "DriverSystemConfiguration",
        location: &["entry", "sql_driver_log", "system_configuration"],
        fields: &[
            ("driver_version", "string"),
            ("runtime_name", "string"),
            ("runtime_version", "string"),
            ("runtime_vendor", "string"),
            ("os_name", "string"),
            ("os_version", "string"),
            ("os_arch", "string"),
            ("driver_name", "string"),
            ("client_app_name", "string"),
            ("locale_name", "string"),
            ("char_set_encoding", "string"),
            ("process_name", "string"),
        ],
    },
    Message {
        name: "DriverConnectionParameters",
        location: &["entry", "sql_driver_log", "driver_connection_params"],
        fields: &[
            ("http_path", "string"),
            ("mode", "enum DriverMode"),
            ("host_info", "message HostDetails"),
            ("use_proxy", "bool"),
            ("auth_mech", "enum DriverAuthMech"),
            ("auth_flow", "enum DriverAuthFlow"),
            ("auth_scope", "string"),
            ("use_system_proxy", "bool"),
            ("non_proxy_hosts", "repeated string"),
            ("use_cf_proxy", "bool"),
            ("proxy_host_info", "message HostDetails"),
            ("cf_proxy_host_info", "message HostDetails"),
            ("discovery_mode_enabled", "bool"),
            ("discovery_url", "string"),
            ("use_empty_metadata", "bool"),
            ("support_many_parameters", "bool"),
            ("ssl_trust_store_type", "string"),
            ("check_certificate_revocation", "bool"),
            ("accept_undetermined_certificate_revocation", "bool"),
            ("google_service_account", "string"),
            ("google_credential_file_path", "string"),
            ("http_connection_pool_size", "int64"),
            ("enable_sea_hybrid_results", "bool"),
            ("enable_complex_datatype_support", "bool"),
            ("allow_self_signed_support", "bool"),
            ("use_system_trust_store", "bool"),
            ("rows_fetched_per_block", "int64"),
            ("azure_workspace_resource_id", "string"),
            ("azure_tenant_id", "string"),
            ("string_column_length", "int32"),
            ("enable_token_cache", "bool"),
            ("async_poll_interval_millis", "int64"),
            ("token_endpoint", "string"),
            ("auth_endpoint", "string"),
            ("enable_arrow", "bool"),
            ("enable_direct_results", "bool"),
            ("enable_jwt_assertion", "bool"),
            ("jwt_key_file", "string"),
            ("jwt_algorithm", "string"),
            ("socket_timeout", "int64"),
            ("allowed_volume_ingestion_paths", "string"),
            ("query_tags", "string"),
            ("enable_metric_view_metadata", "bool"),
            ("auto_commit", "bool"),
            ("fetch_auto_commit_from_server", "bool"),
            ("enable_geospatial_support", "bool"),
        ],
    },
    Message {
        name: "HostDetails",
        location: &[
            "entry",
            "sql_driver_log",
            "driver_connection_params",
            "proxy_host_info",
        ],
        fields: &[
            ("host_url", "string"),
            ("port", "int32"),
            ("proxy_auth_type", "enum DriverProxyAuth"),
        ],
    },
    Message {
        name: "SqlExecutionEvent",
        location: &["entry", "sql_driver_log", "sql_operation"],
        fields: &[
            ("statement_type", "enum StatementType"),
            ("is_compressed", "bool"),
            ("execution_result", "enum ExecutionResultFormat"),
            ("chunk_id", "int64"),
            ("retry_count", "int64"),
            ("chunk_details", "message ChunkDetails"),
            ("result_latency", "message ResultLatency"),
            ("operation_detail", "message OperationDetail"),
            ("java_uses_patched_arrow", "bool"),
        ],
    },
    Message {
        name: "ChunkDetails",
        location: &["entry", "sql_driver_log", "sql_operation", "chunk_details"],
        fields: &[
            ("initial_chunk_latency_millis", "int64"),
            ("slowest_chunk_latency_millis", "int64"),
            ("total_chunks_present", "int32"),
            ("total_chunks_iterated", "int32"),
            ("sum_chunks_download_time_millis", "int64"),
        ],
    },
    Message {
        name: "ResultLatency",
        location: &["entry", "sql_driver_log", "sql_operation", "result_latency"],
        fields: &[
            ("result_set_ready_latency_millis", "int64"),
            ("result_set_consumption_latency_millis", "int64"),
        ],
    },
    Message {
        name: "OperationDetail",
        location: &[
            "entry",
            "sql_driver_log",
            "sql_operation",
            "operation_detail",
        ],
        fields: &[
            ("n_operation_status_calls", "int32"),
            ("operation_status_latency_millis", "int64"),
            ("operation_type", "enum OperationType"),
            ("is_internal_call", "bool"),
        ],
    },
    Message {
        name: "VolumeOperationEvent",
        location: &["entry", "sql_driver_log", "vol_operation"],
        fields: &[
            ("volume_operation_type", "enum VolumeOperationType"),
            ("volume_path", "string"),
            ("local_file", "string"),
        ],
    },
    Message {
        name: "DriverErrorInfo",
        location: &["entry", "sql_driver_log", "error_info"],
        fields: &[("error_name", "string"), ("stack_trace", "string")],
    },
];

pub(crate) const ENUMS: &[(&str, &[&str])] = &[
    ("DriverMode", &["TYPE_UNSPECIFIED", "THRIFT", "SEA"]),
    (
        "StatementType",
        &[
            "TYPE_UNSPECIFIED",
            "QUERY",
            "SQL",
            "UPDATE",
            "METADATA",
            "VOLUME",
        ],
    ),
    (
        "OperationType",
        &[
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
    ),
    (
        "ExecutionResultFormat",
        &[
            "FORMAT_UNSPECIFIED",
            "INLINE_ARROW",
            "INLINE_JSON",
            "EXTERNAL_LINKS",
            "COLUMNAR_INLINE",
        ],
    ),
    (
        "VolumeOperationType",
        &["TYPE_UNSPECIFIED", "PUT", "GET", "DELETE", "LIST", "QUERY"],
    ),
    (
        "DriverProxyAuth",
        &["AUTH_UNSPECIFIED", "NONE", "BASIC", "SPNEGO"],
    ),
    (
        "DriverAuthMech",
        &["TYPE_UNSPECIFIED", "OTHER", "PAT", "OAUTH"],
    ),
    (
        "DriverAuthFlow",
        &[
            "TYPE_UNSPECIFIED",
            "TOKEN_PASSTHROUGH",
            "CLIENT_CREDENTIALS",
            "BROWSER_BASED_AUTHENTICATION",
        ],
    ),
];
