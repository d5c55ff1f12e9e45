//! An explicit proxy for the default client: its URL (credentials kept secret) and the hosts
//! that bypass it.

use std::fmt;

use super::setup_error::TransportSetupError;

/// An HTTP proxy for `UreqTransport`: HTTPS requests go through
/// it as `CONNECT` tunnels, so it sees the host and port, never a header or the body.
///
/// Built from the driver's settings (for the ADBC driver: `databricks.http.proxy.url`,
/// `.username`, `.password`, `.bypass_hosts`). The username and password are secret: `Debug`,
/// `Display` and every error show `***` in their place.
///
/// Loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) never go through a proxy.
///
/// # Example
///
/// ```
/// use databricks_telemetry::export::ProxyConfig;
///
/// let proxy = ProxyConfig::new("http://proxy.corp.example:3128")?
///     .with_credentials("svc-user", "pa55w0rd")
///     .with_bypass_hosts(["internal.example", ".corp.example"]);
/// assert!(proxy.bypasses("db.corp.example"));
/// assert!(!proxy.bypasses("adb-1.azuredatabricks.net"));
/// assert!(!format!("{proxy:?}").contains("pa55w0rd"));
/// # Ok::<(), databricks_telemetry::export::TransportSetupError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
    bypass: Vec<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("url", &format_args!("{self}"))
            .field("bypass_hosts", &self.bypass)
            .finish()
    }
}

/// The URL with `***` for the credentials: `http://***@proxy:3128`.
impl fmt::Display for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = if self.username.is_some() || self.password.is_some() {
            "***@"
        } else {
            ""
        };
        write!(f, "http://{credentials}{}:{}", self.host, self.port)
    }
}

impl ProxyConfig {
    /// A proxy at `url`: `http://host:port`, `http://user:password@host:port` (percent-encoded
    /// credentials), or `host:port` (http assumed). The port defaults to 80.
    ///
    /// # Errors
    ///
    /// [`TransportSetupError`] when the URL is not of that form: another scheme (`https`, `socks5`
    /// are not supported), no host, a path, a query, or a bad port. The error never shows the
    /// URL's credentials.
    pub fn new(url: &str) -> Result<Self, TransportSetupError> {
        let url = url.trim();
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(TransportSetupError::UnsupportedProxyScheme {
                    scheme: shown_scheme(scheme),
                })
            }
            None => url,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let invalid = |reason| TransportSetupError::InvalidProxy { reason };
        if hostport.is_empty() {
            return Err(invalid("no host"));
        }
        if hostport.contains(['/', '?', '#', '@']) || hostport.chars().any(char::is_whitespace) {
            return Err(invalid("a proxy URL is only a host and a port"));
        }
        let (host, port) = split_host_port(hostport).ok_or(invalid("bad host or port"))?;
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                let user = percent_decode(user).ok_or(invalid("bad percent-encoding"))?;
                let password = match password {
                    Some(password) => {
                        Some(percent_decode(password).ok_or(invalid("bad percent-encoding"))?)
                    }
                    None => None,
                };
                (Some(user), password)
            }
        };
        Ok(ProxyConfig {
            host,
            port,
            username,
            password,
            bypass: Vec::new(),
        })
    }

    /// With this username and password (as they are, not percent-encoded), replacing any in
    /// the URL.
    #[must_use]
    pub fn with_credentials(mut self, username: &str, password: &str) -> Self {
        self.username = Some(username.to_owned());
        self.password = Some(password.to_owned());
        self
    }

    /// With these hosts bypassing the proxy (added to any given before). Each entry is a host
    /// name, which matches itself and its subdomains (`example.com` and `.example.com` and
    /// `*.example.com` all match `example.com` and `a.example.com`), an IP address (matched
    /// exactly), or `*` (everything). Case is ignored; empty entries are skipped; a port after
    /// a name is ignored.
    #[must_use]
    pub fn with_bypass_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for host in hosts {
            let host = host.as_ref().trim();
            let host = host.strip_prefix("*.").unwrap_or(host);
            let host = host.strip_prefix('.').unwrap_or(host);
            let host = strip_port(host).to_ascii_lowercase();
            if !host.is_empty() {
                self.bypass.push(host);
            }
        }
        self
    }

    /// Whether requests to `host` go direct: a loopback host, or one matching the bypass list.
    pub fn bypasses(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if is_loopback(&host) {
            return true;
        }
        self.bypass.iter().any(|entry| {
            entry == "*"
                || *entry == host
                || (host.len() > entry.len()
                    && host.ends_with(entry.as_str())
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
        })
    }

    /// The proxy's host and port, `host:port` (no credentials).
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The ureq proxy.
    #[cfg(feature = "ureq-transport")]
    pub(crate) fn to_ureq(&self) -> Result<ureq::Proxy, TransportSetupError> {
        let mut builder = ureq::Proxy::builder(ureq::ProxyProtocol::Http)
            .host(&self.host)
            .port(self.port)
            .resolve_target(false);
        if let Some(username) = &self.username {
            builder = builder.username(username);
            if let Some(password) = &self.password {
                builder = builder.password(password);
            }
        }
        builder
            .build()
            .map_err(|_| TransportSetupError::InvalidProxy {
                reason: "the HTTP client refused the proxy",
            })
    }
}

fn shown_scheme(scheme: &str) -> String {
    scheme
        .chars()
        .take(16)
        .filter(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
        .collect()
}

/// `host[:port]` or `[v6][:port]`; port 80 when absent.
fn split_host_port(hostport: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (format!("[{v6}]"), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() || host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let port = match port {
        None => 80,
        Some(port) => port.parse::<u16>().ok().filter(|port| *port != 0)?,
    };
    Some((host.to_ascii_lowercase(), port))
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_credentials_never_show() {
        let proxy = ProxyConfig::new("http://us%40er:p%3Ass@Proxy.Corp:3128/").unwrap();
        assert_eq!(proxy.address(), "proxy.corp:3128");
        assert_eq!(proxy.username.as_deref(), Some("us@er"));
        assert_eq!(proxy.password.as_deref(), Some("p:ss"));
        assert_eq!(proxy.to_string(), "http://***@proxy.corp:3128");
        assert!(!format!("{proxy:?}").contains("p:ss"));
        assert_eq!(
            ProxyConfig::new("proxy:8080").unwrap().address(),
            "proxy:8080"
        );
        assert_eq!(
            ProxyConfig::new("http://[::1]").unwrap().address(),
            "[::1]:80"
        );
        for bad in [
            "",
            "http://",
            "http://u:secretpw@",
            "http://u:secretpw@host:0",
            "http://u:secretpw@host:99999",
            "http://u:secretpw@host/path",
            "http://u:secretpw@host?q",
            "http://u:secret%zzpw@host",
            "http://a b",
        ] {
            let error = ProxyConfig::new(bad).unwrap_err();
            assert!(!error.to_string().contains("secret"), "{bad:?}: {error}");
            assert!(!format!("{error:?}").contains("secret"), "{bad:?}");
        }
        let error = ProxyConfig::new("socks5://u:secretpw@host").unwrap_err();
        assert_eq!(
            error,
            TransportSetupError::UnsupportedProxyScheme {
                scheme: "socks5".into()
            }
        );
    }

    #[test]
    fn bypass_rules() {
        let proxy = ProxyConfig::new("proxy:1").unwrap().with_bypass_hosts([
            "Example.com",
            "*.corp.example",
            ".other.example:443",
            "10.0.0.1",
            "",
        ]);
        for direct in [
            "example.com",
            "a.example.com",
            "x.corp.example",
            "corp.example",
            "other.example",
            "10.0.0.1",
            "localhost",
            "127.0.0.7",
            "[::1]",
        ] {
            assert!(proxy.bypasses(direct), "{direct}");
        }
        for proxied in [
            "badexample.com",
            "example.com.evil",
            "10.0.0.2",
            "adb-1.azuredatabricks.net",
        ] {
            assert!(!proxy.bypasses(proxied), "{proxied}");
        }
        assert!(ProxyConfig::new("p:1")
            .unwrap()
            .with_bypass_hosts(["*"])
            .bypasses("anything"));
    }
}
