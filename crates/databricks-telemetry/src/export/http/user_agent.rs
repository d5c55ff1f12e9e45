//! [`UserAgent`]: the `User-Agent` header naming the driver.

use std::fmt;

/// The `User-Agent` sent to the telemetry service: `<driver name>/<driver version>`, then an
/// optional entry from the connection after a space, e.g.
/// `DatabricksAdbcRust/0.1.0 PowerBI/2.1`.
///
/// Spaces are removed from the driver name (as the session context does for the user agent in
/// each log), so `Databricks ADBC Rust` becomes `DatabricksADBCRust`.
///
/// # Example
///
/// ```
/// use databricks_telemetry::export::UserAgent;
///
/// let agent = UserAgent::new("DatabricksAdbcRust", "0.1.0")?.with_entry("PowerBI/2.1")?;
/// assert_eq!(agent.to_string(), "DatabricksAdbcRust/0.1.0 PowerBI/2.1");
/// assert_eq!(agent.driver_version(), "0.1.0");
/// assert!(UserAgent::new("Driver", "1.0\r\nX-Injected: 1").is_err());
/// # Ok::<(), databricks_telemetry::export::UserAgentError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserAgent {
    driver_name: String,
    driver_version: String,
    entry: Option<String>,
}

impl UserAgent {
    /// `<driver_name without spaces>/<driver_version>`.
    ///
    /// # Errors
    ///
    /// [`UserAgentError`] when the name or version is empty, or holds a `/`, whitespace (the
    /// version), a control character or a non-ASCII character.
    pub fn new(driver_name: &str, driver_version: &str) -> Result<Self, UserAgentError> {
        let driver_name: String = driver_name.chars().filter(|&c| c != ' ').collect();
        check_token("driver name", &driver_name)?;
        let driver_version = driver_version.trim();
        check_token("driver version", driver_version)?;
        Ok(UserAgent {
            driver_name,
            driver_version: driver_version.to_owned(),
            entry: None,
        })
    }

    /// Appends the connection's user-agent entry (trimmed; an empty entry is ignored).
    ///
    /// # Errors
    ///
    /// [`UserAgentError`] when the entry holds a control character or a non-ASCII character.
    pub fn with_entry(mut self, entry: &str) -> Result<Self, UserAgentError> {
        let entry = entry.trim();
        if let Some(character) = entry.chars().find(|&c| !(c == ' ' || c.is_ascii_graphic())) {
            return Err(UserAgentError {
                part: "user-agent entry",
                value: entry.to_owned(),
                problem: format!("it contains {character:?}"),
            });
        }
        self.entry = (!entry.is_empty()).then(|| entry.to_owned());
        Ok(self)
    }

    /// The driver name, without spaces.
    pub fn driver_name(&self) -> &str {
        &self.driver_name
    }

    /// The driver version (also the version segment of the feature-flag URL).
    pub fn driver_version(&self) -> &str {
        &self.driver_version
    }

    /// The connection's entry, when given.
    pub fn entry(&self) -> Option<&str> {
        self.entry.as_deref()
    }
}

impl fmt::Display for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.driver_name, self.driver_version)?;
        if let Some(entry) = &self.entry {
            write!(f, " {entry}")?;
        }
        Ok(())
    }
}

/// A driver name, version or entry that cannot go into a `User-Agent` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {part} {value:?} for the User-Agent header: {problem}; expected printable ASCII")]
pub struct UserAgentError {
    part: &'static str,
    value: String,
    problem: String,
}

/// A product token: non-empty printable ASCII without `/` or whitespace.
fn check_token(part: &'static str, value: &str) -> Result<(), UserAgentError> {
    let problem = if value.is_empty() {
        Some("it is empty".to_owned())
    } else {
        value
            .chars()
            .find(|&c| c == '/' || !c.is_ascii_graphic())
            .map(|character| format!("it contains {character:?}"))
    };
    match problem {
        Some(problem) => Err(UserAgentError {
            part,
            value: value.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}
