//! Where the pipeline gets the time from.
//!
//! Everything that waits or expires (the circuit breaker, flush timers, retry and probe waits,
//! drain deadlines, feature-flag expiry) asks a [`Clock`] instead of calling [`Instant::now`]
//! directly, so tests can move time forward with a [`ManualClock`] instead of sleeping.
//!
//! A thread that waits for an instant on a clock (a host's export worker) asks
//! [`Clock::real_wait`] how long to block, and [`subscribes`](Clock::subscribe) so that a
//! manual clock wakes it when it moves.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

pub(crate) use crate::clock_sleeper::ClockSleeper;
#[cfg(test)]
use crate::system_clock::SystemClock;

/// A source of monotonic time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant. Never goes backwards.
    fn now(&self) -> Instant;

    /// How long, in real time, a thread waiting for `deadline` on this clock should block before
    /// it looks at the clock again. The default (the real clock): the time left until `deadline`.
    fn real_wait(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(self.now())
    }

    /// Asks the clock to wake `sleeper` (a host's export worker) whenever its time moves, as a
    /// [`ManualClock`] does. A clock that moves continuously never needs to (the default does
    /// nothing); a driver's own clock keeps the default.
    fn subscribe(&self, sleeper: Weak<dyn ClockSleeper>) {
        let _ = sleeper;
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
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
    sleepers: Arc<Mutex<Vec<Weak<dyn ClockSleeper>>>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field(
                "now",
                &*self.now.lock().unwrap_or_else(PoisonError::into_inner),
            )
            .finish_non_exhaustive()
    }
}

/// How long a thread waiting on a [`ManualClock`] blocks before it looks again, in case a wake-up
/// raced its going to sleep. Short enough to keep tests quick, long enough to cost nothing.
const MANUAL_CLOCK_POLL: Duration = Duration::from_millis(20);

impl ManualClock {
    /// A clock stopped at the current real instant.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A clock stopped at `start`.
    pub fn starting_at(start: Instant) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            sleepers: Arc::default(),
        }
    }

    /// Moves the clock (and every clone of it) forward by `by`.
    ///
    /// An advance that would overflow [`Instant`] leaves the clock where it is. Every thread
    /// waiting on the clock (a subscribed worker) is told that it moved.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
            match now.checked_add(by) {
                Some(later) => *now = later,
                None => return,
            }
        }
        let sleepers: Vec<Arc<dyn ClockSleeper>> = {
            let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
            sleepers.retain(|sleeper| sleeper.strong_count() > 0);
            sleepers.iter().filter_map(Weak::upgrade).collect()
        };
        for sleeper in sleepers {
            sleeper.clock_moved();
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

    /// Time stands still until [`advance`](ManualClock::advance), which wakes subscribers; a
    /// waiter still looks again after a short real poll.
    fn real_wait(&self, deadline: Instant) -> Duration {
        if deadline <= self.now() {
            Duration::ZERO
        } else {
            MANUAL_CLOCK_POLL
        }
    }

    fn subscribe(&self, sleeper: Weak<dyn ClockSleeper>) {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
        sleepers.retain(|sleeper| sleeper.strong_count() > 0);
        sleepers.push(sleeper);
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
