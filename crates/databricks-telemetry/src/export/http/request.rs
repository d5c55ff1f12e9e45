//! The upload body: serialised once per batch on the worker thread, stripped for the
//! unauthenticated route.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::{FrontendLog, TelemetryRequest};

/// Path of the authenticated upload route.
pub(crate) const AUTHENTICATED_PATH: &str = "/telemetry-ext";
/// Path of the unauthenticated upload route.
pub(crate) const UNAUTHENTICATED_PATH: &str = "/telemetry-unauth";

/// The JSON body for `logs`, uploaded at `now`. For the unauthenticated route
/// (`authenticated == false`) each log loses its session id, system configuration, connection
/// parameters and stack trace first.
pub(crate) fn upload_body(
    logs: &[FrontendLog],
    authenticated: bool,
    now: SystemTime,
) -> Result<Vec<u8>, serde_json::Error> {
    let upload_time = now.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    });
    let logs: Cow<'_, [FrontendLog]> = if authenticated {
        Cow::Borrowed(logs)
    } else {
        Cow::Owned(logs.iter().map(strip_for_unauthenticated).collect())
    };
    serde_json::to_vec(&TelemetryRequest::from_logs(upload_time, &logs)?)
}

/// A copy of `log` with nothing the unauthenticated route refuses: no session id, system
/// configuration, connection parameters or stack trace.
pub(crate) fn strip_for_unauthenticated(log: &FrontendLog) -> FrontendLog {
    let mut log = log.clone();
    let driver_log = &mut log.entry.sql_driver_log;
    driver_log.session_id = None;
    driver_log.system_configuration = None;
    driver_log.driver_connection_params = None;
    if let Some(error) = &mut driver_log.error_info {
        error.stack_trace = None;
    }
    log
}
