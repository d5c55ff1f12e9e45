//! `DriverConnectionParameters` and `HostDetails`: how a connection was configured.

use serde::{Deserialize, Serialize};

use super::enums::{DriverAuthFlow, DriverAuthMech, DriverMode, DriverProxyAuth};
use super::proto_int;

/// A host and port (`HostDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDetails {
    /// The host's URL or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_url: Option<String>,
    /// The port.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub port: Option<i32>,
    /// How a proxy at this host authenticates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_auth_type: Option<DriverProxyAuth>,
}

/// The connection's settings (`DriverConnectionParameters`). Every field is optional; an unset
/// field is omitted from the wire, a set one is written even when it holds its type's default.
///
/// Never put credentials here: there is no field for them, and string fields such as
/// `auth_scope` or `jwt_key_file` must carry names, never secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverConnectionParameters {
    /// The warehouse or cluster HTTP path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    /// The protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DriverMode>,
    /// The workspace host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_info: Option<HostDetails>,
    /// Whether a proxy is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_proxy: Option<bool>,
    /// The authentication mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_mech: Option<DriverAuthMech>,
    /// The authentication flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_flow: Option<DriverAuthFlow>,
    /// The OAuth scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_scope: Option<String>,
    /// Whether the system proxy is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_system_proxy: Option<bool>,
    /// Hosts that bypass the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_proxy_hosts: Option<Vec<String>>,
    /// Whether a CloudFetch proxy is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_cf_proxy: Option<bool>,
    /// The proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_host_info: Option<HostDetails>,
    /// The CloudFetch proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cf_proxy_host_info: Option<HostDetails>,
    /// Whether OIDC discovery is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_mode_enabled: Option<bool>,
    /// The OIDC discovery URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_url: Option<String>,
    /// Whether empty metadata is returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_empty_metadata: Option<bool>,
    /// Whether many parameters are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_many_parameters: Option<bool>,
    /// The trust store type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_trust_store_type: Option<String>,
    /// Whether certificate revocation is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_certificate_revocation: Option<bool>,
    /// Whether an undetermined revocation status is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_undetermined_certificate_revocation: Option<bool>,
    /// The Google service account (a name, not a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_service_account: Option<String>,
    /// The Google credential file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_credential_file_path: Option<String>,
    /// The HTTP connection pool size.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub http_connection_pool_size: Option<i64>,
    /// Whether SEA hybrid results are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_sea_hybrid_results: Option<bool>,
    /// Whether complex types are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_complex_datatype_support: Option<bool>,
    /// Whether self-signed certificates are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_self_signed_support: Option<bool>,
    /// Whether the system trust store is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_system_trust_store: Option<bool>,
    /// Rows fetched per block.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub rows_fetched_per_block: Option<i64>,
    /// The Azure workspace resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_workspace_resource_id: Option<String>,
    /// The Azure tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_tenant_id: Option<String>,
    /// The default string column length.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub string_column_length: Option<i32>,
    /// Whether tokens are cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_token_cache: Option<bool>,
    /// How often a running statement's status is polled, in milliseconds (JDBC, Python and C#
    /// send it on every connection).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub async_poll_interval_millis: Option<i64>,
    /// The OAuth token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The OAuth authorisation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_endpoint: Option<String>,
    /// Whether Arrow results are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_arrow: Option<bool>,
    /// Whether direct results are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_direct_results: Option<bool>,
    /// Whether JWT assertion is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_jwt_assertion: Option<bool>,
    /// The JWT key file (a path, not a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_key_file: Option<String>,
    /// The JWT algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_algorithm: Option<String>,
    /// The socket timeout.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "proto_int::deserialize"
    )]
    pub socket_timeout: Option<i64>,
    /// Allowed volume ingestion paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_volume_ingestion_paths: Option<String>,
    /// Query tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_tags: Option<String>,
    /// Whether metric-view metadata is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_metric_view_metadata: Option<bool>,
    /// Whether auto-commit is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_commit: Option<bool>,
    /// Whether auto-commit is read from the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_auto_commit_from_server: Option<bool>,
    /// Whether geospatial types are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_geospatial_support: Option<bool>,
}
