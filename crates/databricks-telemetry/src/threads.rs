//! Every thread the pipeline starts goes through [`spawn`], which counts it: how many are alive,
//! the most alive at once, and how many were ever started (process-wide).

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static STARTED: AtomicU64 = AtomicU64::new(0);

/// The threads the telemetry pipeline started in this process (export workers, credentials
/// helpers, `close_async` waiters, the HTTP runtime of a `ReqwestTransport` that owns one),
/// counted when they start and when they end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ThreadStats {
    /// Alive now.
    pub live: usize,
    /// The most alive at once.
    pub peak: usize,
    /// Started since the process began.
    pub started: u64,
}

/// The process-wide thread counts.
pub fn thread_stats() -> ThreadStats {
    ThreadStats {
        live: LIVE.load(Ordering::Acquire),
        peak: PEAK.load(Ordering::Acquire),
        started: STARTED.load(Ordering::Acquire),
    }
}

/// Decrements the live count when the thread ends, however it ends.
struct Alive;

impl Drop for Alive {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Starts a named thread running `work`, counting it.
pub(crate) fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let live = LIVE.fetch_add(1, Ordering::AcqRel) + 1;
    PEAK.fetch_max(live, Ordering::AcqRel);
    STARTED.fetch_add(1, Ordering::AcqRel);
    let alive = Alive;
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _alive = alive;
            work();
        })
        .map(drop)
}
