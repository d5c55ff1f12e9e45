//! The checks of [`EndpointConfig::local_requests_only`](crate::EndpointConfig::local_requests_only):
//! what a web page on another site could send through a browser is refused.

use std::net::{IpAddr, SocketAddr};

use hyper::header::{HeaderMap, CONTENT_TYPE, HOST, ORIGIN};
use hyper::StatusCode;

/// Why a request was refused, for its answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LocalRefusal {
    /// The answer's status.
    pub(crate) status: StatusCode,
    /// What the answer says.
    pub(crate) message: &'static str,
}

/// Whether `host` (a `Host` header's host part, or an `Origin`'s) names the endpoint served at
/// `served`: `localhost`, or the served IP address (any IP address when serving on every
/// interface, `0.0.0.0` or `::`). A DNS name other than `localhost` is how a rebinding page
/// reaches a local server, so it is never allowed.
fn names_the_endpoint(host: &str, served: SocketAddr) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    match literal.parse::<IpAddr>() {
        Ok(ip) => served.ip().is_unspecified() || ip == served.ip(),
        Err(_) => false,
    }
}

/// The host part of `authority` (`host`, `host:port`, `[v6]`, `[v6]:port`).
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// Refuses a request whose `Host` does not name the endpoint (403).
pub(crate) fn check_host(headers: &HeaderMap, served: SocketAddr) -> Result<(), LocalRefusal> {
    let host = headers.get(HOST).and_then(|value| value.to_str().ok());
    match host {
        Some(host) if names_the_endpoint(host_of(host.trim()), served) => Ok(()),
        _ => Err(LocalRefusal {
            status: StatusCode::FORBIDDEN,
            message: "the Host header does not name this endpoint (localhost or the address \
                      served): refused, as a page on another site could send it",
        }),
    }
}

/// Refuses an admin request with a foreign `Origin` (403), or with a body not declared
/// `application/json` (415): a cross-site page can send neither without the browser asking
/// first.
pub(crate) fn check_admin(
    headers: &HeaderMap,
    served: SocketAddr,
    has_body: bool,
) -> Result<(), LocalRefusal> {
    if let Some(origin) = headers.get(ORIGIN) {
        let local = origin
            .to_str()
            .ok()
            .and_then(|origin| origin.strip_prefix("http://"))
            .is_some_and(|authority| names_the_endpoint(host_of(authority), served));
        if !local {
            return Err(LocalRefusal {
                status: StatusCode::FORBIDDEN,
                message: "the admin routes refuse requests from another site's page (Origin)",
            });
        }
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let json = content_type.is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    if (has_body || content_type.is_some()) && !json {
        return Err(LocalRefusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "the admin routes take Content-Type: application/json",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(hyper::header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_localhost_and_the_served_address_are_hosts_of_the_endpoint() {
        let served: SocketAddr = "127.0.0.1:8089".parse().unwrap();
        for host in [
            "localhost:8089",
            "LOCALHOST",
            "127.0.0.1:8089",
            "localhost.",
        ] {
            assert!(
                check_host(&headers(&[(HOST, host)]), served).is_ok(),
                "{host}"
            );
        }
        for host in [
            "evil.example:8089",
            "127.0.0.2:8089",
            "[::1]:8089",
            "localhost.evil",
        ] {
            assert!(
                check_host(&headers(&[(HOST, host)]), served).is_err(),
                "{host}"
            );
        }
        assert!(check_host(&HeaderMap::new(), served).is_err(), "no Host");
        let everywhere: SocketAddr = "0.0.0.0:8089".parse().unwrap();
        assert!(check_host(&headers(&[(HOST, "10.1.2.3:8089")]), everywhere).is_ok());
        assert!(check_host(&headers(&[(HOST, "rebind.example")]), everywhere).is_err());
        let v6: SocketAddr = "[::1]:8089".parse().unwrap();
        assert!(check_host(&headers(&[(HOST, "[::1]:8089")]), v6).is_ok());
    }

    #[test]
    fn admin_requests_need_a_local_origin_and_json() {
        let served: SocketAddr = "127.0.0.1:8089".parse().unwrap();
        let json = (CONTENT_TYPE, "application/json; charset=utf-8");
        assert!(check_admin(&headers(std::slice::from_ref(&json)), served, true).is_ok());
        assert!(
            check_admin(&HeaderMap::new(), served, false).is_ok(),
            "DELETE"
        );
        let plain = check_admin(&headers(&[(CONTENT_TYPE, "text/plain")]), served, true);
        assert_eq!(
            plain.unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(
            check_admin(&HeaderMap::new(), served, true).is_err(),
            "no type"
        );
        let foreign = headers(&[json.clone(), (ORIGIN, "http://evil.example")]);
        assert_eq!(
            check_admin(&foreign, served, true).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        let null = headers(&[json.clone(), (ORIGIN, "null")]);
        assert!(check_admin(&null, served, true).is_err());
        let local = headers(&[json, (ORIGIN, "http://localhost:8089")]);
        assert!(check_admin(&local, served, true).is_ok());
    }
}
