//! What became of one exported batch.

use std::fmt;
use std::time::Duration;

/// What became of one batch handed to an [`Exporter`](super::Exporter).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "the outcome says whether the batch was delivered"]
pub enum ExportOutcome {
    /// Every log in the batch was accepted.
    Delivered,
    /// The service accepted only the first `delivered` logs of the batch; the rest failed.
    PartiallyDelivered {
        /// How many logs were accepted (fewer than the batch holds).
        delivered: usize,
        /// Why the rest were not.
        failure: ExportFailure,
    },
    /// Nothing was delivered.
    Failed(ExportFailure),
}

impl ExportOutcome {
    /// A failure of the given kind with a short reason (never a credential or a payload).
    pub fn failed(kind: FailureKind, reason: impl Into<String>) -> Self {
        ExportOutcome::Failed(ExportFailure::new(kind, reason))
    }

    /// How many of `batch_len` logs were delivered.
    pub fn delivered_count(&self, batch_len: usize) -> usize {
        match self {
            ExportOutcome::Delivered => batch_len,
            ExportOutcome::PartiallyDelivered { delivered, .. } => (*delivered).min(batch_len),
            ExportOutcome::Failed(_) => 0,
        }
    }

    /// The failure, when the batch was not wholly delivered.
    pub fn failure(&self) -> Option<&ExportFailure> {
        match self {
            ExportOutcome::PartiallyDelivered { failure, .. } | ExportOutcome::Failed(failure) => {
                Some(failure)
            }
            ExportOutcome::Delivered => None,
        }
    }
}

/// Why an export failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportFailure {
    /// How the failure should be treated.
    pub kind: FailureKind,
    /// A short, safe description, e.g. `HTTP 503` or `timed out`.
    pub reason: String,
}

impl ExportFailure {
    /// A failure of `kind` with a short reason.
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        ExportFailure {
            kind,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ExportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.kind)
    }
}

/// How a failed export should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// Trying again may succeed: a 5xx (not 501), 408, a timeout, a refused or reset connection.
    Retryable,
    /// Trying again will not help: a 4xx other than 408 and 429, or 501.
    NotRetryable,
    /// The service asked the client to slow down (429, or 503 with `Retry-After`).
    Throttled {
        /// How long the service asked the client to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The credentials could not be had or used: a provider error, a value the HTTP layer
    /// cannot send, or a 401/403 answer. Never retried with the same credentials, and never a
    /// failure of the host (one identity's bad token must not open the host's breaker).
    Credentials,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Retryable => f.write_str("retryable"),
            FailureKind::NotRetryable => f.write_str("not retryable"),
            FailureKind::Throttled {
                retry_after: Some(d),
            } => {
                write!(f, "throttled, retry after {} ms", d.as_millis())
            }
            FailureKind::Throttled { retry_after: None } => f.write_str("throttled"),
            FailureKind::Credentials => f.write_str("credentials"),
        }
    }
}
