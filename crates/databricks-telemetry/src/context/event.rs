//! The envelope every event gets: a fresh event id, the time, the user agent.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::{
    ClientContext, FrontendLog, FrontendLogContext, FrontendLogEntry, SqlDriverLog,
};

/// Wraps a driver event in a frontend log stamped now.
pub(crate) fn new_frontend_log(
    workspace_id: Option<i64>,
    user_agent: &Arc<str>,
    log: SqlDriverLog,
) -> FrontendLog {
    FrontendLog {
        frontend_log_event_id: new_event_id(),
        workspace_id,
        context: FrontendLogContext {
            client_context: ClientContext {
                timestamp_millis: Some(now_millis()),
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

thread_local! {
    /// Per-thread generator state, seeded once from the OS's random source.
    static EVENT_ID_STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()) | 1
}

/// A random (version 4) UUID. Event ids only need to be unique, not secret, so they come from a
/// per-thread SplitMix64 sequence seeded from the OS once, which keeps a system call off the
/// driver's path.
pub(crate) fn new_event_id() -> String {
    let (hi, lo) = EVENT_ID_STATE.with(|state| {
        let a = splitmix64(state);
        let b = splitmix64(state);
        (a, b)
    });
    let value = (u128::from(hi) << 64) | u128::from(lo);
    let mut text = uuid::Uuid::encode_buffer();
    let id = uuid::Builder::from_random_bytes(value.to_be_bytes())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text);
    // One exact-size allocation; no formatting machinery.
    String::from(&*id)
}

fn splitmix64(state: &Cell<u64>) -> u64 {
    let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(next);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_v4_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_event_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
        }
    }

    #[test]
    fn threads_get_different_sequences() {
        let a = std::thread::spawn(new_event_id).join().unwrap();
        let b = std::thread::spawn(new_event_id).join().unwrap();
        assert_ne!(a, b);
    }
}
