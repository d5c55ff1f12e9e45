//! Name lookup for the default client, with every thread it starts counted.
//!
//! ureq's own resolver starts an uncounted thread per lookup whenever a timeout is set (that
//! is, for every request the library makes). This one resolves IP literals and `localhost`
//! where it is called, without a thread, and starts lookups of other names through the
//! pipeline's [`spawn`](crate::threads::spawn), so they show in
//! [`thread_stats`](crate::unstable::thread_stats) (thread name `dbx-telemetry-dns`). A lookup
//! that outlives its timeout finishes on its thread, which then ends; the request has already
//! failed as timed out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::threads;

/// The most addresses ureq keeps from a lookup.
const MAX_ADDRESSES: usize = 16;

/// The name of name-lookup threads.
pub(crate) const LOOKUP_THREAD_NAME: &str = "dbx-telemetry-dns";

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct CountedResolver;

impl Resolver for CountedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let port = match (uri.port_u16(), uri.scheme_str()) {
            (Some(port), _) => port,
            (None, Some("https")) => 443,
            (None, Some("http")) => 80,
            _ => return Err(ureq::Error::BadUri("no port or known scheme".into())),
        };
        let host = uri
            .host()
            .ok_or_else(|| ureq::Error::BadUri("no host".into()))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let found: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else if bare.eq_ignore_ascii_case("localhost") {
            vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
            ]
        } else if timeout.after.is_not_happening() {
            (bare, port).to_socket_addrs()?.collect()
        } else {
            lookup_on_counted_thread(bare.to_owned(), port, timeout)?
        };
        let mut result = self.empty();
        for addr in config
            .ip_family()
            .keep_wanted(found.into_iter())
            .take(MAX_ADDRESSES)
        {
            result.push(addr);
        }
        if result.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(result)
        }
    }
}

/// Looks `host` up on a counted thread, waiting at most `timeout`.
fn lookup_on_counted_thread(
    host: String,
    port: u16,
    timeout: NextTimeout,
) -> Result<Vec<SocketAddr>, ureq::Error> {
    let (sender, receiver) = mpsc::sync_channel(1);
    threads::spawn(LOOKUP_THREAD_NAME, move || {
        let found = (host.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>);
        let _ = sender.send(found);
    })?;
    match receiver.recv_timeout(*timeout.after) {
        Ok(found) => Ok(found?),
        Err(RecvTimeoutError::Timeout) => Err(ureq::Error::Timeout(timeout.reason)),
        Err(RecvTimeoutError::Disconnected) => Err(ureq::Error::HostNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::transport::time::Duration as UreqDuration;

    fn resolve(url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let timeout = NextTimeout {
            after: UreqDuration::from(std::time::Duration::from_secs(5)),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        CountedResolver
            .resolve(&url.parse().unwrap(), &Config::default(), timeout)
            .map(|found| found.to_vec())
    }

    #[test]
    fn ip_literals_and_localhost_resolve_inline() {
        assert_eq!(
            resolve("https://127.0.0.1:8443/x").unwrap(),
            vec!["127.0.0.1:8443".parse().unwrap()]
        );
        assert_eq!(
            resolve("http://[::1]/").unwrap(),
            vec!["[::1]:80".parse().unwrap()]
        );
        assert_eq!(
            resolve("https://LocalHost/").unwrap(),
            vec![
                "127.0.0.1:443".parse().unwrap(),
                "[::1]:443".parse().unwrap()
            ]
        );
    }
}
