//! [`Connections`]: the connections served now, bounded; when full, the longest idle one makes
//! room for a new one, so idle connections cannot keep anyone out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The connections served now (at most `limit`).
#[derive(Debug)]
pub(crate) struct Connections {
    limit: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    /// By age: the oldest first.
    by_id: BTreeMap<u64, Arc<ConnectionState>>,
}

/// What the server knows of one connection.
#[derive(Debug, Default)]
pub(crate) struct ConnectionState {
    /// Requests being answered on it now (its handler runs).
    busy: AtomicUsize,
    /// Told when the connection is to be closed to make room.
    evicted: Notify,
}

impl ConnectionState {
    /// Marks a request being answered until the guard is dropped.
    pub(crate) fn busy(self: &Arc<Self>) -> BusyGuard {
        self.busy.fetch_add(1, Ordering::AcqRel);
        BusyGuard(Arc::clone(self))
    }

    /// Completes when the connection is evicted to make room for a new one.
    pub(crate) async fn evicted(&self) {
        self.evicted.notified().await;
    }
}

/// A request being answered (see [`ConnectionState::busy`]).
#[derive(Debug)]
pub(crate) struct BusyGuard(Arc<ConnectionState>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's place among the served ones; left when dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    connections: Arc<Connections>,
    id: u64,
    /// The connection's state.
    pub(crate) state: Arc<ConnectionState>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.lock().by_id.remove(&self.id);
    }
}

/// How a new connection was admitted.
#[derive(Debug)]
pub(crate) enum Admission {
    /// There was room.
    Admitted(Admitted),
    /// An idle connection was closed to make room.
    AdmittedByEviction(Admitted),
    /// Every connection is answering a request: refused.
    Full,
}

impl Connections {
    /// At most `limit` connections (at least one).
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Connections {
            limit: limit.max(1),
            open: Mutex::new(Open::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // A few map operations: consistent even after a panic elsewhere.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection: when `limit` are open, the one idle the longest (oldest among
    /// those not answering a request; a connection still sending its headers counts as idle)
    /// is told to close and leaves at once; with none idle, the new one is refused.
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut open = self.lock();
        let mut evicted = false;
        if open.by_id.len() >= self.limit {
            let idle = open
                .by_id
                .iter()
                .find(|(_, state)| state.busy.load(Ordering::Acquire) == 0)
                .map(|(&id, _)| id);
            let Some(idle) = idle else {
                return Admission::Full;
            };
            if let Some(state) = open.by_id.remove(&idle) {
                // Stored if the connection is not waiting yet: it sees it when it does.
                state.evicted.notify_one();
            }
            evicted = true;
        }
        let id = open.next_id;
        open.next_id += 1;
        let state = Arc::new(ConnectionState::default());
        open.by_id.insert(id, Arc::clone(&state));
        let admitted = Admitted {
            connections: Arc::clone(self),
            id,
            state,
        };
        if evicted {
            Admission::AdmittedByEviction(admitted)
        } else {
            Admission::Admitted(admitted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_makes_room_and_busy_ones_are_kept() {
        let connections = Connections::new(2);
        let Admission::Admitted(first) = connections.admit() else {
            panic!("room for the first")
        };
        let Admission::Admitted(second) = connections.admit() else {
            panic!("room for the second")
        };
        let _first_busy = first.state.busy();
        let Admission::AdmittedByEviction(third) = connections.admit() else {
            panic!("the idle second makes room")
        };
        assert!(second.state.evicted.notified().now_or_never_for_test());
        let _third_busy = third.state.busy();
        assert!(matches!(connections.admit(), Admission::Full));
    }

    trait NowOrNever {
        fn now_or_never_for_test(self) -> bool;
    }

    impl<F: std::future::Future> NowOrNever for F {
        fn now_or_never_for_test(self) -> bool {
            let waker = std::task::Waker::noop();
            let mut context = std::task::Context::from_waker(waker);
            let mut future = std::pin::pin!(self);
            future.as_mut().poll(&mut context).is_ready()
        }
    }
}
