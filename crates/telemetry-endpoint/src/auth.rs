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
        if presented.trim() != self.0 {
            return Err("the bearer token is not the one this endpoint expects");
        }
        Ok(())
    }
}
