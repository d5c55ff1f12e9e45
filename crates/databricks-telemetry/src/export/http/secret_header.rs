//! Keeps the `Authorization` value out of the HTTP crate's logs.
//!
//! `ureq` (through `ureq-proto`) dumps every request head it writes, byte for byte, to the `log`
//! crate at TRACE (target `ureq_proto::util`), so a driver whose logger is at TRACE (an
//! `env_logger`, or a `tracing` subscriber that bridges `log`) would see `Authorization: Bearer
//! <token>`. Marking the header sensitive does not stop that dump, and a library may not turn
//! off a `log` level for the whole process.
//!
//! So the HTTP crate never sees the credential. The request carries a one-off placeholder
//! (`dbtel-credential-<32 random hex digits>`) in its `Authorization` header; the dump shows
//! the placeholder; and [`SecretConnector`]'s transport, the last layer before the socket (or
//! before TLS, for HTTPS), swaps the placeholder for the real value as the bytes go out. A
//! [`Substitution`] lives only for one request; the placeholder is unguessable and never reused,
//! so nothing else a request carries can ask for the swap.
//!
//! The value is checked first ([`sendable`](super::client::sendable)): only visible ASCII, space and tab may go on the
//! wire, so a value cannot add a header or break the request.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::echo_mask::EchoMask;

use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

/// The placeholder prefix: 17 bytes, then 32 hex digits.
const PLACEHOLDER_PREFIX: &str = "dbtel-credential-";

/// Placeholder and value pairs.
type Table = Vec<(Vec<u8>, Vec<u8>)>;

/// The placeholders in flight and the values they stand for, shared by an agent's connector
/// and the requests made through it.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    table: Arc<Mutex<Table>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

impl Secrets {
    /// Registers `value` (already checked by [`sendable`](super::client::sendable)) under a fresh placeholder, for as
    /// long as the returned [`Substitution`] lives.
    pub(crate) fn register(&self, value: &str) -> Substitution {
        let placeholder = format!("{PLACEHOLDER_PREFIX}{:032x}", unguessable_u128());
        self.lock()
            .push((placeholder.clone().into_bytes(), value.as_bytes().to_vec()));
        Substitution {
            secrets: self.clone(),
            placeholder,
        }
    }

    /// `data` with every registered placeholder replaced by its value, or `None` when it holds
    /// none.
    fn substitute(&self, data: &[u8]) -> Option<Vec<u8>> {
        let table = self.lock();
        if table.is_empty() || find(data, PLACEHOLDER_PREFIX.as_bytes()).is_none() {
            return None;
        }
        let mut out = data.to_vec();
        let mut changed = false;
        for (placeholder, value) in table.iter() {
            while let Some(at) = find(&out, placeholder) {
                out.splice(at..at + placeholder.len(), value.iter().copied());
                changed = true;
            }
        }
        changed.then_some(out)
    }

    /// What an answer must not show while these values are registered (see
    /// [`echo_mask`](super::echo_mask)).
    fn echoable(&self) -> Vec<Vec<u8>> {
        let mut forms = Vec::new();
        for (_, value) in self.lock().iter() {
            super::echo_mask::echoable_forms(value, &mut forms);
        }
        forms
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // The table is only pushed to and retained from: a panic cannot leave it half-changed.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// 128 bits from the OS's secure random source, through the crypto provider ureq's TLS already
/// uses (no crate of its own). Should that source fail, the standard library's randomly keyed
/// hasher (keyed from the same OS source, once per thread) over a per-process counter and the
/// clock: still unguessable without the key.
fn unguessable_u128() -> u128 {
    static SOURCE: std::sync::OnceLock<&'static dyn rustls::crypto::SecureRandom> =
        std::sync::OnceLock::new();
    let source = SOURCE.get_or_init(|| rustls::crypto::ring::default_provider().secure_random);
    let mut bytes = [0u8; 16];
    if source.fill(&mut bytes).is_ok() {
        return u128::from_be_bytes(bytes);
    }
    use std::hash::{BuildHasher, Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let half = || {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
        std::time::SystemTime::now().hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half()) << 64) | u128::from(half())
}

/// The first position of `needle` in `haystack`.
pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// One registered value; dropping it forgets the value.
pub(crate) struct Substitution {
    secrets: Secrets,
    placeholder: String,
}

impl Substitution {
    /// What to put in the header instead of the value.
    pub(crate) fn placeholder(&self) -> &str {
        &self.placeholder
    }
}

impl fmt::Debug for Substitution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Substitution(<redacted>)")
    }
}

impl Drop for Substitution {
    fn drop(&mut self) {
        let placeholder = self.placeholder.as_bytes();
        self.secrets.lock().retain(|(p, _)| p != placeholder);
    }
}

/// The last connector of the agent's chain: wraps whatever transport the chain made (TCP, or
/// TLS over TCP, possibly through a proxy) in a [`SecretTransport`].
#[derive(Debug)]
pub(crate) struct SecretConnector {
    pub(crate) secrets: Secrets,
}

impl<In: Transport> Connector<In> for SecretConnector {
    type Out = SecretTransport;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| SecretTransport {
            inner: inner.boxed(),
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            secrets: self.secrets.clone(),
            echo: EchoMask::default(),
        }))
    }
}

/// A transport with buffers of its own: what the HTTP crate writes is copied to the inner
/// transport with placeholders swapped; what the inner transport reads is copied back with
/// every registered value masked ([`EchoMask`]), so a server that echoes the credential does
/// not put it in the HTTP crate's logs.
pub(crate) struct SecretTransport {
    inner: Box<dyn Transport>,
    buffers: LazyBuffers,
    secrets: Secrets,
    echo: EchoMask,
}

impl fmt::Debug for SecretTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretTransport")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl SecretTransport {
    /// Moves what the inner transport has read into this transport's input buffer, masked
    /// and as far as it fits; whether anything moved.
    fn pull_input(&mut self) -> bool {
        let read = self.inner.buffers().input().len();
        if read > 0 {
            let secrets = self.secrets.echoable();
            self.echo.push(self.inner.buffers().input(), &secrets);
            self.inner.buffers().input_consume(read);
        }
        let amount = self.echo.take(self.buffers.input_append_buf());
        if amount == 0 {
            return false;
        }
        self.buffers.input_appended(amount);
        true
    }
}

impl Transport for SecretTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let written = &self.buffers.output()[..amount];
        let swapped = self.secrets.substitute(written);
        let mut data: &[u8] = swapped.as_deref().unwrap_or(written);
        loop {
            let out = self.inner.buffers().output();
            let chunk = data.len().min(out.len());
            out[..chunk].copy_from_slice(&data[..chunk]);
            self.inner.transmit_output(chunk, timeout)?;
            data = &data[chunk..];
            if data.is_empty() || chunk == 0 {
                return Ok(());
            }
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if self.pull_input() {
            return Ok(true);
        }
        let started = Instant::now();
        loop {
            // Reads again only while all that came is held back (it may begin a credential),
            // within the time this call was given.
            let left = match timeout.after {
                UreqDuration::Exact(after) => NextTimeout {
                    after: UreqDuration::Exact(after.saturating_sub(started.elapsed())),
                    ..timeout
                },
                UreqDuration::NotHappening => timeout,
            };
            let progress = self.inner.await_input(left)?;
            if !progress {
                // The connection ended (or gave nothing): what was held is masked and passed.
                self.echo.finish();
                return Ok(self.pull_input());
            }
            if self.pull_input() {
                return Ok(true);
            }
            if !self.echo.only_held() {
                return Ok(true);
            }
        }
    }

    fn is_open(&mut self) -> bool {
        // Bytes read but not handed to ureq (its own buffer full, or held back) would be taken
        // for the next answer's start: such a connection is not used again.
        self.echo.is_drained() && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_swapped_while_registered() {
        let secrets = Secrets::default();
        let value = "Bearer tok";
        let substitution = secrets.register(value);
        let head = format!("authorization: {}\r\n\r\n", substitution.placeholder());
        assert_eq!(
            secrets.substitute(head.as_bytes()).unwrap(),
            b"authorization: Bearer tok\r\n\r\n"
        );
        assert_eq!(secrets.substitute(b"no placeholder here"), None);
        let other = secrets.register(value);
        assert_ne!(other.placeholder(), substitution.placeholder());
        drop(substitution);
        assert_eq!(
            secrets.substitute(head.as_bytes()),
            None,
            "forgotten once dropped"
        );
    }

    #[test]
    fn placeholders_are_the_prefix_and_32_hex_digits_never_repeated() {
        let secrets = Secrets::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let substitution = secrets.register("Bearer tok");
            let placeholder = substitution.placeholder().to_owned();
            let digits = placeholder.strip_prefix(PLACEHOLDER_PREFIX).unwrap();
            assert_eq!(digits.len(), 32, "{placeholder}");
            assert!(
                digits
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{placeholder}"
            );
            assert!(seen.insert(placeholder));
        }
    }
}
