//! Keeps a credential the server sends back out of the HTTP crate's hands (and so its logs).
//!
//! A server (or a proxy, or anything in between) may copy the request's `Authorization` into
//! its answer: a header that echoes it, a body that quotes the request. `ureq` logs the answer's
//! headers at DEBUG and dumps every byte of the head and body it reads at TRACE, so the answer
//! must not hold the credential by the time ureq sees it. [`EchoMask`] stands between the
//! socket (or TLS) and ureq: every occurrence of a credential in what was read is overwritten
//! with `*`, byte for byte (same length, so `Content-Length` and chunk sizes still hold).
//!
//! A credential may arrive split across reads. The end of what was read that could be the start
//! of a credential ([`MIN_HELD`] bytes or more) is held back until the next read tells, or the
//! connection ends (then it is masked whole). A start shorter than that is passed on, and the
//! rest is still masked when it comes; so at most `MIN_HELD - 1` bytes of a credential can reach
//! the HTTP crate, never enough to tell anything.
//!
//! Only copies byte for byte are recognised: a server that sends the credential back changed
//! (base64, percent-encoded, in another case) is not caught. Such a server has the credential
//! anyway; what this stops is the common reflection (an echo endpoint, a debugging proxy, an
//! error page quoting the request) turning into a token in the driver's logs.

use super::secret_header::find;

/// The shortest end of a read that is held back when it could begin a credential.
pub(crate) const MIN_HELD: usize = 4;

/// What a credential's bytes become.
const MASK: u8 = b'*';

/// The bytes read from the server, on their way to the HTTP crate with credentials masked.
#[derive(Debug, Default)]
pub(crate) struct EchoMask {
    /// Masked, ready to hand over (from `ready_from` on).
    ready: Vec<u8>,
    ready_from: usize,
    /// Read but held back: it could be the start of a credential.
    held: Vec<u8>,
    /// The last bytes handed over (fewer than [`MIN_HELD`]): a credential that began in them
    /// is masked from where it continues.
    recent: Vec<u8>,
}

impl EchoMask {
    /// Takes `data`, just read, masking every credential of `secrets` (each non-empty).
    pub(crate) fn push(&mut self, data: &[u8], secrets: &[Vec<u8>]) {
        if secrets.is_empty() && self.held.is_empty() {
            self.ready.extend_from_slice(data);
            self.keep_recent_of(data);
            return;
        }
        let context = self.recent.len();
        let mut window = std::mem::take(&mut self.recent);
        window.append(&mut self.held);
        window.extend_from_slice(data);
        for secret in secrets {
            let mut from = 0;
            while let Some(at) = find(&window[from..], secret).map(|at| from + at) {
                let end = at + secret.len();
                // A match wholly inside `recent` (a credential of fewer bytes than it keeps)
                // was handed over already: nothing of it to mask here.
                if end > context {
                    window[at.max(context)..end].fill(MASK);
                }
                from = at + 1;
            }
        }
        // The longest end of the window that begins a credential, held as far as it is not
        // handed over yet (its first bytes may be in `recent`: fewer than `MIN_HELD`, since a
        // longer start would have been held the last time).
        let unsent = window.len() - context;
        let hold = secrets
            .iter()
            .filter_map(|secret| {
                (MIN_HELD..secret.len())
                    .rev()
                    .find(|&k| k <= window.len() && window.ends_with(&secret[..k]))
            })
            .max()
            .map_or(0, |k| k.min(unsent));
        let release_end = window.len() - hold;
        self.ready.extend_from_slice(&window[context..release_end]);
        self.held = window[release_end..].to_vec();
        let recent_from = release_end.saturating_sub(MIN_HELD - 1);
        self.recent = window[recent_from..release_end].to_vec();
    }

    /// The connection ended: what was held back (the start of a credential) is masked and
    /// handed over.
    pub(crate) fn finish(&mut self) {
        let held = std::mem::take(&mut self.held);
        self.ready.extend(held.iter().map(|_| MASK));
        self.recent.clear();
    }

    /// Whether everything read so far is held back (nothing to hand over, something held).
    pub(crate) fn only_held(&self) -> bool {
        self.ready_from == self.ready.len() && !self.held.is_empty()
    }

    /// Whether nothing read is waiting to be handed over (held back or not yet taken).
    pub(crate) fn is_drained(&self) -> bool {
        self.ready_from == self.ready.len() && self.held.is_empty()
    }

    /// Hands over as much as fits in `room`; how much.
    pub(crate) fn take(&mut self, room: &mut [u8]) -> usize {
        let available = &self.ready[self.ready_from..];
        let amount = available.len().min(room.len());
        room[..amount].copy_from_slice(&available[..amount]);
        self.ready_from += amount;
        if self.ready_from == self.ready.len() {
            self.ready.clear();
            self.ready_from = 0;
        }
        amount
    }

    fn keep_recent_of(&mut self, data: &[u8]) {
        let keep = MIN_HELD - 1;
        if data.len() >= keep {
            self.recent.clear();
            self.recent.extend_from_slice(&data[data.len() - keep..]);
        } else {
            self.recent.extend_from_slice(data);
            let excess = self.recent.len().saturating_sub(keep);
            self.recent.drain(..excess);
        }
    }
}

/// What an answer must not show of `value` (an `Authorization` value): the value, and its part
/// after the scheme (`Bearer `) when that is at least [`MIN_PART`] bytes long.
pub(crate) fn echoable_forms(value: &[u8], out: &mut Vec<Vec<u8>>) {
    if value.is_empty() {
        return;
    }
    out.push(value.to_vec());
    // A server may echo the value as it parsed it: without surrounding blanks.
    let trimmed = value.trim_ascii();
    if trimmed.len() >= MIN_PART && trimmed != value {
        out.push(trimmed.to_vec());
    }
    if let Some(blank) = trimmed.iter().position(|&b| b == b' ' || b == b'\t') {
        let part = trimmed[blank + 1..].trim_ascii();
        if part.len() >= MIN_PART {
            out.push(part.to_vec());
        }
    }
}

/// The shortest credential part (after the scheme) masked on its own: shorter ones would mask
/// ordinary words of the answer.
pub(crate) const MIN_PART: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &[u8] = b"Bearer dapi-SECRET-0123456789";

    fn secrets() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        echoable_forms(VALUE, &mut out);
        out
    }

    /// Feeds `answer` in reads of `sizes` (cycled), then ends the connection; what came out.
    fn through(answer: &[u8], sizes: &[usize]) -> Vec<u8> {
        let secrets = secrets();
        let mut mask = EchoMask::default();
        let mut out = Vec::new();
        let mut room = [0u8; 7];
        let mut at = 0;
        let mut turn = 0;
        while at < answer.len() {
            let end = at
                .saturating_add(sizes[turn % sizes.len()])
                .min(answer.len());
            mask.push(&answer[at..end], &secrets);
            at = end;
            turn += 1;
            loop {
                let n = mask.take(&mut room);
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&room[..n]);
            }
        }
        mask.finish();
        loop {
            let n = mask.take(&mut room);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&room[..n]);
        }
        out
    }

    fn shows_a_piece(out: &[u8]) -> bool {
        let token = &VALUE[7..];
        token.windows(MIN_HELD).any(|w| find(out, w).is_some())
    }

    #[test]
    fn an_echoed_value_is_masked_however_it_is_split() {
        let answer = b"HTTP/1.1 401 No\r\nx-echo: Bearer dapi-SECRET-0123456789\r\nx-part: dapi-SECRET-0123456789\r\ncontent-length: 2\r\n\r\nok";
        for sizes in [
            &[usize::MAX][..],
            &[1],
            &[2],
            &[3],
            &[5, 1],
            &[13, 29, 1],
            &[37],
            &[40],
        ] {
            let out = through(answer, sizes);
            assert_eq!(out.len(), answer.len(), "same length: {sizes:?}");
            assert!(
                !shows_a_piece(&out),
                "{sizes:?}: {}",
                String::from_utf8_lossy(&out)
            );
            assert!(out.ends_with(b"content-length: 2\r\n\r\nok"), "{sizes:?}");
        }
    }

    #[test]
    fn an_answer_without_the_value_passes_unchanged() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nBearer dap";
        for sizes in [&[usize::MAX][..], &[1], &[4, 3]] {
            let out = through(answer, sizes);
            // The end that could begin the value is masked only because the connection ended
            // while it was held.
            assert_eq!(&out[..out.len() - 10], &answer[..answer.len() - 10]);
        }
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(through(plain, &[3]), plain);
    }

    #[test]
    fn nothing_is_held_without_secrets() {
        let mut mask = EchoMask::default();
        mask.push(b"Bearer dapi", &[]);
        assert!(!mask.only_held());
        assert!(!mask.is_drained());
        let mut room = [0u8; 32];
        assert_eq!(mask.take(&mut room), 11);
        assert!(mask.is_drained());
    }

    #[test]
    fn short_parts_are_not_masked_alone() {
        let mut out = Vec::new();
        echoable_forms(b"Bearer abc", &mut out);
        assert_eq!(out, vec![b"Bearer abc".to_vec()]);
    }

    #[test]
    fn a_short_credential_already_handed_over_is_no_panic() {
        // The credential is registered after its bytes went through (a provider's value set
        // mid-answer): a match wholly inside what was handed over is left as it is.
        let mut mask = EchoMask::default();
        mask.push(b"vwx", &[]);
        mask.push(b"yz", &[b"vw".to_vec()]);
        let mut out = [0u8; 8];
        let n = mask.take(&mut out);
        assert_eq!(&out[..n], b"vwxyz");
    }

    #[test]
    fn a_tab_after_the_scheme_or_blanks_around_the_value_still_mask_the_token() {
        let mut forms = Vec::new();
        echoable_forms(b"Bearer\tdapi-SECRET-0123 ", &mut forms);
        assert!(forms.contains(&b"dapi-SECRET-0123".to_vec()), "{forms:?}");
        assert!(
            forms.contains(&b"Bearer\tdapi-SECRET-0123".to_vec()),
            "{forms:?}"
        );
        let mut mask = EchoMask::default();
        mask.push(b"echo: dapi-SECRET-0123\r\n", &forms);
        mask.finish();
        let mut out = [0u8; 64];
        let n = mask.take(&mut out);
        assert!(
            !out[..n].windows(6).any(|w| w == b"SECRET"),
            "{:?}",
            String::from_utf8_lossy(&out[..n])
        );
    }
}
