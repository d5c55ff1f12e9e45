//! Where the pipeline gets the time from.
//!
//! Everything that waits or expires (the circuit breaker, flush timers) asks a [`Clock`] instead
//! of calling [`Instant::now`] directly, so tests can move time forward with a [`ManualClock`]
//! instead of sleeping.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A source of monotonic time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant. Never goes backwards.
    fn now(&self) -> Instant;
}

/// The real clock: [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to: a testing aid.
///
/// It starts at the instant it was created and stays there until [`advance`](Self::advance) is
/// called. Clones share the same time, so a test can keep one clone and hand another to the code
/// under test. It is thread safe.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use databricks_telemetry::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let shared = clock.clone();
/// let start = clock.now();
/// shared.advance(Duration::from_secs(5));
/// assert_eq!(clock.now() - start, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl ManualClock {
    /// A clock stopped at the current real instant.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A clock stopped at `start`.
    pub fn starting_at(start: Instant) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock (and every clone of it) forward by `by`.
    ///
    /// An advance that would overflow [`Instant`] leaves the clock where it is.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(later) = now.checked_add(by) {
            *now = later;
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_stands_still_until_advanced() {
        let clock = ManualClock::new();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now() - start, Duration::from_millis(250));
    }

    #[test]
    fn clones_share_the_time_across_threads() {
        let clock = ManualClock::new();
        let start = clock.now();
        let other = clock.clone();
        std::thread::spawn(move || other.advance(Duration::from_secs(3)))
            .join()
            .expect("advancing thread finished");
        assert_eq!(clock.now() - start, Duration::from_secs(3));
    }

    #[test]
    fn an_overflowing_advance_is_ignored() {
        let clock = ManualClock::new();
        let start = clock.now();
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn system_clock_does_not_go_backwards() {
        let first = SystemClock.now();
        assert!(SystemClock.now() >= first);
    }
}
