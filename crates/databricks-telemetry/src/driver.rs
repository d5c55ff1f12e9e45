//! [`DriverInfo`]: the driver's name and version, given once.

use std::fmt;

use crate::context::SessionContextBuilder;
use crate::export::{UserAgent, UserAgentError};
use crate::TelemetrySessionContext;

/// The driver's name and version, given once: the `User-Agent` of every upload and flag fetch,
/// the feature-flag route's version, and each session's system configuration come from it.
///
/// # Example
///
/// ```
/// use databricks_telemetry::DriverInfo;
///
/// let driver = DriverInfo::new("Databricks ADBC Rust", "0.1.0")?;
/// assert_eq!(driver.user_agent().to_string(), "DatabricksADBCRust/0.1.0");
/// let session = driver.session().with_session_id("01f0-...").build();
/// assert_eq!(session.session_id(), Some("01f0-..."));
/// # Ok::<(), databricks_telemetry::export::UserAgentError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DriverInfo {
    name: String,
    version: String,
    user_agent: UserAgent,
}

impl DriverInfo {
    /// The driver `name` (e.g. `Databricks ADBC Rust`) at `version`.
    ///
    /// # Errors
    ///
    /// [`UserAgentError`] when either cannot go into a `User-Agent` header (empty, a `/`, a
    /// control or non-ASCII character, whitespace in the version).
    pub fn new(name: &str, version: &str) -> Result<Self, UserAgentError> {
        Ok(DriverInfo {
            user_agent: UserAgent::new(name, version)?,
            name: name.to_owned(),
            version: version.trim().to_owned(),
        })
    }

    /// Appends the connection's user-agent entry (e.g. `PowerBI/2.1`) to the `User-Agent`.
    ///
    /// # Errors
    ///
    /// [`UserAgentError`] when the entry holds a control or non-ASCII character.
    pub fn with_user_agent_entry(mut self, entry: &str) -> Result<Self, UserAgentError> {
        self.user_agent = self.user_agent.with_entry(entry)?;
        Ok(self)
    }

    /// The driver's name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The driver's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(&self) -> &UserAgent {
        &self.user_agent
    }

    /// A session context builder for this driver (see [`TelemetrySessionContext::builder`]).
    pub fn session(&self) -> SessionContextBuilder {
        TelemetrySessionContext::builder(&self.name, &self.version)
    }
}

impl fmt::Debug for DriverInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DriverInfo({} {})", self.name, self.version)
    }
}
