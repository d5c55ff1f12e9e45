//! [`ClockSleeper`]: how a thread that waits on a [`Clock`](crate::clock::Clock) hears that a
//! manual clock moved.

/// Something that waits for instants on a [`Clock`](crate::clock::Clock) and wants to hear
/// when a manual clock moves (a host's export worker).
pub trait ClockSleeper: Send + Sync {
    /// The clock's time moved: look at it again.
    fn clock_moved(&self);
}
