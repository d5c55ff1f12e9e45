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

    /// [`new`](Self::new) that cannot fail, for a driver's own constants (e.g.
    /// `env!("CARGO_PKG_VERSION")`): characters a `User-Agent` cannot carry become `_`, and an
    /// empty name or version becomes `unknown`.
    ///
    /// ```
    /// use databricks_telemetry::DriverInfo;
    ///
    /// let driver = DriverInfo::new_lossy("Databricks ADBC Rust", env!("CARGO_PKG_VERSION"));
    /// assert_eq!(driver.name(), "Databricks ADBC Rust");
    /// assert_eq!(DriverInfo::new_lossy("a/b", "1 .0").user_agent().to_string(), "a_b/1_.0");
    /// assert_eq!(DriverInfo::new_lossy("", "é").user_agent().to_string(), "unknown/_");
    /// ```
    pub fn new_lossy(name: &str, version: &str) -> Self {
        let name = usable(name, |c| c != '/');
        let version = usable(version.trim(), |c| c != '/' && !c.is_whitespace());
        // Both are non-empty printable ASCII without `/` (and the version without whitespace):
        // what `new` accepts.
        match Self::new(&name, &version) {
            Ok(driver) => driver,
            // Not reached (see above); `unknown/unknown` is valid by the same rule.
            Err(_) => Self::new("unknown", "unknown")
                .unwrap_or_else(|_| unreachable!("`unknown` is a valid driver name and version")),
        }
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

/// `text` with each character outside printable ASCII, or refused by `keep`, replaced by `_`;
/// `unknown` when empty.
fn usable(text: &str, keep: impl Fn(char) -> bool) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && keep(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if kept.trim().is_empty() {
        "unknown".to_owned()
    } else {
        kept
    }
}
