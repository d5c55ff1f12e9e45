//! [`SystemClock`]: the real clock, the one every manager uses unless given another.

use std::time::Instant;

use crate::clock::Clock;

/// The real clock: [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}
