//! INTERIM: a minimal plain-HTTP/1.1 exporter for loopback endpoints, used only until the
//! library's `DatabricksExporter` (branch `http`) is merged. It sends one
//! `POST /telemetry-ext` per batch with `Connection: close`, no retries, and maps the status the
//! way the service contract says. Delete this file when [`super::targets::build_exporter`] uses
//! the real exporter.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use databricks_telemetry::export::{ExportOutcome, Exporter, FailureKind};
use databricks_telemetry::model::{FrontendLog, TelemetryRequest};

/// Posts batches to `http://{addr}/telemetry-ext`.
pub(crate) struct InterimHttpExporter {
    addr: SocketAddr,
    authorization: Option<String>,
    request_timeout: Duration,
}

impl std::fmt::Debug for InterimHttpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterimHttpExporter")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl InterimHttpExporter {
    /// An exporter to `addr` with bearer `token`, if any.
    pub(crate) fn new(addr: SocketAddr, token: Option<&str>, request_timeout: Duration) -> Self {
        InterimHttpExporter {
            addr,
            authorization: token.map(|token| format!("Authorization: Bearer {token}\r\n")),
            request_timeout,
        }
    }

    fn post(&self, body: &[u8], timeout: Duration) -> std::io::Result<u16> {
        let mut stream = TcpStream::connect_timeout(&self.addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        write!(
            stream,
            "POST /telemetry-ext HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\nUser-Agent: dbtel-simulate\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            self.authorization.as_deref().unwrap_or_default(),
            body.len()
        )?;
        stream.write_all(body)?;
        let mut status_line = String::new();
        BufReader::new(stream).read_line(&mut status_line)?;
        status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other("no HTTP status line"))
    }
}

impl Exporter for InterimHttpExporter {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let body =
            match TelemetryRequest::from_logs(now_ms, batch).and_then(|r| serde_json::to_vec(&r)) {
                Ok(body) => body,
                Err(error) => {
                    return ExportOutcome::failed(FailureKind::NotRetryable, error.to_string())
                }
            };
        let timeout = deadline.map_or(self.request_timeout, |d| {
            self.request_timeout
                .min(d.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(1))
        });
        match self.post(&body, timeout) {
            Ok(200..=299) => ExportOutcome::Delivered,
            Ok(code @ (429 | 503)) => ExportOutcome::failed(
                FailureKind::Throttled { retry_after: None },
                format!("HTTP {code}"),
            ),
            Ok(code @ (408 | 500..=599)) if code != 501 => {
                ExportOutcome::failed(FailureKind::Retryable, format!("HTTP {code}"))
            }
            Ok(code) => ExportOutcome::failed(FailureKind::NotRetryable, format!("HTTP {code}")),
            Err(error) => ExportOutcome::failed(FailureKind::Retryable, error.kind().to_string()),
        }
    }
}
