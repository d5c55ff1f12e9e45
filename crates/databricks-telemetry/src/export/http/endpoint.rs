//! [`ServiceEndpoint`]: where the telemetry service is, and the rule that keeps it on HTTPS.

use std::fmt;

use crate::host::{HostError, HostKey};

/// How requests reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// TLS, the only scheme used for real workspaces.
    Https,
    /// Plain HTTP: only to a loopback host, and only with `allow_insecure_http` set (tests and
    /// the local endpoint).
    Http,
}

impl Scheme {
    /// `https` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The telemetry service of one workspace: a scheme and a normalised [`HostKey`].
///
/// Only [`ServiceEndpoint::parse`] and [`ServiceEndpoint::http_loopback`] can make a plain-HTTP
/// endpoint, and both refuse unless they are given `allow_insecure_http` (the setting of that
/// name) and the host is loopback (`localhost`, `127.0.0.0/8`, `::1`).
///
/// # Example
///
/// ```
/// use databricks_telemetry::unstable::{Scheme, ServiceEndpoint};
///
/// let endpoint = ServiceEndpoint::parse("Adb-123.azuredatabricks.net", false)?;
/// assert_eq!(endpoint.scheme(), Scheme::Https);
/// assert_eq!(endpoint.url("/telemetry-ext"), "https://adb-123.azuredatabricks.net/telemetry-ext");
///
/// // Plain HTTP needs `allow_insecure_http` and a loopback host.
/// assert!(ServiceEndpoint::parse("http://127.0.0.1:8080", false).is_err());
/// assert!(ServiceEndpoint::parse("http://127.0.0.1:8080", true).is_ok());
/// assert!(ServiceEndpoint::parse("http://example.com", true).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceEndpoint {
    scheme: Scheme,
    host: HostKey,
}

impl ServiceEndpoint {
    /// The HTTPS endpoint of `host`.
    pub fn https(host: HostKey) -> Self {
        ServiceEndpoint {
            scheme: Scheme::Https,
            host,
        }
    }

    /// The plain-HTTP endpoint of a loopback `host`.
    ///
    /// # Errors
    ///
    /// [`ServiceEndpointError::InsecureHttpNotAllowed`] without `allow_insecure_http`;
    /// [`ServiceEndpointError::InsecureHttpNotLoopback`] unless the host is loopback.
    pub fn http_loopback(
        host: HostKey,
        allow_insecure_http: bool,
    ) -> Result<Self, ServiceEndpointError> {
        if !host.is_loopback() {
            return Err(ServiceEndpointError::InsecureHttpNotLoopback {
                host: host.to_string(),
            });
        }
        if !allow_insecure_http {
            return Err(ServiceEndpointError::InsecureHttpNotAllowed {
                host: host.to_string(),
            });
        }
        Ok(ServiceEndpoint {
            scheme: Scheme::Http,
            host,
        })
    }

    /// Parses a workspace host as a driver has it: `host`, `host:port` or `https://host` mean
    /// HTTPS; `http://host[:port]` means plain HTTP, subject to the rules of
    /// [`http_loopback`](Self::http_loopback).
    ///
    /// # Errors
    ///
    /// [`ServiceEndpointError::InvalidHost`] when the host does not parse (see
    /// [`HostKey::parse`]); the plain-HTTP errors of [`http_loopback`](Self::http_loopback).
    pub fn parse(input: &str, allow_insecure_http: bool) -> Result<Self, ServiceEndpointError> {
        let host = HostKey::parse(input)?;
        let trimmed = input.trim_start();
        let is_http = trimmed
            .get(..7)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("http://"));
        if is_http {
            Self::http_loopback(host, allow_insecure_http)
        } else {
            Ok(Self::https(host))
        }
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host (and port, when not 443).
    pub fn host(&self) -> &HostKey {
        &self.host
    }

    /// The URL of `path` (which starts with `/`) on this endpoint.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.host, path)
    }
}

impl fmt::Display for ServiceEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)
    }
}

/// Why a [`ServiceEndpoint`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceEndpointError {
    /// The host does not parse.
    #[error(transparent)]
    InvalidHost(#[from] HostError),
    /// Plain HTTP was asked for without `allow_insecure_http`.
    #[error(
        "plain http to {host} is not allowed: telemetry uses https; set \
         adbc.databricks.telemetry.allow_insecure_http=true to allow http to a loopback host"
    )]
    InsecureHttpNotAllowed {
        /// The host asked for.
        host: String,
    },
    /// Plain HTTP was asked for to a host that is not this machine.
    #[error(
        "plain http to {host} is not allowed: http is only ever used for loopback hosts \
         (localhost, 127.0.0.0/8, ::1); use https"
    )]
    InsecureHttpNotLoopback {
        /// The host asked for.
        host: String,
    },
}
