//! The optional bearer-token check.

use std::fmt;

use hyper::header::{HeaderMap, AUTHORIZATION};

/// The token a request must present; never printed.
#[derive(Clone)]
pub(crate) struct BearerToken(String);

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    pub(crate) fn new(token: String) -> Self {
        BearerToken(token)
    }

    /// Checks `Authorization: Bearer <token>`; the error says what was wrong without the values.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err("missing Authorization header; expected Authorization: Bearer <token>");
        };
        let Ok(value) = value.to_str() else {
            return Err("the Authorization header is not visible ASCII; expected Bearer <token>");
        };
        let Some((scheme, presented)) = value.split_once(' ') else {
            return Err("the Authorization header is not of the form Bearer <token>");
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err("the Authorization scheme is not Bearer; expected Bearer <token>");
        }
        if !constant_time_eq(presented.trim().as_bytes(), self.0.as_bytes()) {
            return Err("the bearer token is not the one this endpoint expects");
        }
        Ok(())
    }
}

/// Whether `a` and `b` are equal, in a time that depends only on the longer one's length, not
/// on where they differ (so a client cannot find the token byte by byte by timing answers).
///
/// Written here rather than taken from the `subtle` crate: ten lines, no dependency, and
/// [`std::hint::black_box`] keeps the compiler from turning the loop into an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for index in 0..a.len().max(b.len()) {
        let x = a.get(index).copied().unwrap_or(0);
        let y = b.get(index).copied().unwrap_or(0);
        difference = std::hint::black_box(difference | (x ^ y));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq(b"dapi-secret", b"dapi-secret"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"dapi-secret", b"dapi-secreT"));
        assert!(!constant_time_eq(b"dapi-secret", b"dapi-secret\0"));
        assert!(!constant_time_eq(b"dapi", b"dapi-secret"));
        assert!(!constant_time_eq(b"xapi-secret", b"dapi-secret"));
    }
}
