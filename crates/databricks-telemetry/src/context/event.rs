//! The envelope every event gets: a fresh event id, the time, the user agent.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::statement::offset_nanos;
use crate::model::{
    ClientContext, EventId, FrontendLog, FrontendLogContext, FrontendLogEntry, SqlDriverLog,
};

/// Wraps a driver event in a frontend log stamped `timestamp_millis` (since the Unix epoch).
#[inline(always)]
pub(crate) fn new_frontend_log(
    workspace_id: Option<i64>,
    user_agent: &Arc<str>,
    log: SqlDriverLog,
    timestamp_millis: i64,
) -> FrontendLog {
    FrontendLog {
        frontend_log_event_id: EventId::random(),
        workspace_id,
        context: FrontendLogContext {
            client_context: ClientContext {
                timestamp_millis: Some(timestamp_millis),
                user_agent: Some(Arc::clone(user_agent)),
            },
        },
        entry: FrontendLogEntry {
            sql_driver_log: log,
        },
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How much monotonic time (in nanoseconds) a reading of the wall clock stays in use.
const WALL_CLOCK_REFRESH_NANOS: i64 = 1_000_000_000;

/// The monotonic origin the wall clock is tied to (the first event of the process).
static MONOTONIC_BASE: OnceLock<Instant> = OnceLock::new();
/// The wall clock at [`MONOTONIC_BASE`], in nanoseconds since the Unix epoch, as of the last
/// reading (the reading minus the monotonic time since the base).
static WALL_AT_BASE_NANOS: AtomicI64 = AtomicI64::new(0);
/// Nanoseconds from [`MONOTONIC_BASE`] to the last reading of the wall clock, plus one (0: never
/// read).
static WALL_READ_AT: AtomicU64 = AtomicU64::new(0);

/// The wall-clock time, in milliseconds since the Unix epoch, of the monotonic instant `at` (0 if
/// the wall clock is before the epoch).
///
/// The wall clock is read at most once per second of monotonic time (per process) and the
/// monotonic clock carries it between readings, so an event that ends at an instant the driver
/// already holds costs no clock read. Between readings a timestamp can miss a step of the wall
/// clock (a correction, or a suspend, during which the monotonic clock stops) for up to a
/// second.
pub(crate) fn wall_millis_at(at: Instant) -> i64 {
    let base = *MONOTONIC_BASE.get_or_init(Instant::now);
    let since_base = offset_nanos(base, at);
    let read_at = WALL_READ_AT.load(Ordering::Acquire);
    let fresh = read_at != 0
        && since_base.saturating_sub(i64::try_from(read_at - 1).unwrap_or(i64::MAX))
            <= WALL_CLOCK_REFRESH_NANOS;
    let wall_at_base = if fresh {
        WALL_AT_BASE_NANOS.load(Ordering::Relaxed)
    } else {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let now = offset_nanos(base, Instant::now());
        let wall_at_base = wall.saturating_sub(now);
        WALL_AT_BASE_NANOS.store(wall_at_base, Ordering::Relaxed);
        WALL_READ_AT.store(u64::try_from(now).unwrap_or(0) + 1, Ordering::Release);
        wall_at_base
    };
    (wall_at_base.saturating_add(since_base) / 1_000_000).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_of_an_instant_follows_the_wall_clock() {
        let before = now_millis();
        let at = Instant::now();
        let stamped = wall_millis_at(at);
        let after = now_millis();
        // Within the rounding of two millisecond clocks and their drift over a second (a slewed
        // wall clock runs up to 0.05% apart from the monotonic one).
        assert!(
            stamped >= before - 5 && stamped <= after + 5,
            "{before} {stamped} {after}"
        );
        let later = wall_millis_at(at + std::time::Duration::from_millis(150));
        assert!((later - stamped - 150).abs() <= 1, "{stamped} {later}");
        let earlier = wall_millis_at(at - std::time::Duration::from_millis(150));
        assert!((stamped - earlier - 150).abs() <= 1, "{stamped} {earlier}");
    }
}
