//! `VolumeOperationEvent`: a Unity Catalog volume operation.

use serde::{Deserialize, Serialize};

use super::enums::VolumeOperationType;

/// A volume operation (`VolumeOperationEvent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeOperationEvent {
    /// The operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_operation_type: Option<VolumeOperationType>,
    /// The volume path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_path: Option<String>,
    /// The local file involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_file: Option<String>,
}
