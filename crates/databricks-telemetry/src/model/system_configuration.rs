//! `DriverSystemConfiguration`: what the driver runs on.

use serde::{Deserialize, Serialize};

/// The driver and the process it runs in (`DriverSystemConfiguration`). All fields are strings;
/// an unset field is omitted from the wire.
///
/// [`TelemetrySessionContext`](crate::TelemetrySessionContext) can fill this in from the running
/// process with [`DriverSystemConfiguration::detect`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverSystemConfiguration {
    /// The driver's version, e.g. `0.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
    /// The language runtime, e.g. `rust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_name: Option<String>,
    /// The runtime's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// Who made the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_vendor: Option<String>,
    /// The operating system, e.g. `linux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    /// The operating system's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// The processor architecture, e.g. `x86_64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_arch: Option<String>,
    /// The driver's name, e.g. `Databricks ADBC Rust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_name: Option<String>,
    /// The application that uses the driver, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_app_name: Option<String>,
    /// The process locale, e.g. `en_US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale_name: Option<String>,
    /// The character encoding, e.g. `UTF-8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub char_set_encoding: Option<String>,
    /// The process's executable name (never its full path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_name: Option<String>,
}
