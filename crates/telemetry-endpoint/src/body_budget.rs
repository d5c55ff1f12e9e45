//! [`BodyBudget`]: the memory request bodies may take while they are read, shared by every
//! connection, with a part kept for requests that carry the endpoint's token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes of request bodies in memory at once, shared by all connections; see
/// [`BodyBudget`].
#[derive(Debug)]
pub(crate) struct BodyBudget {
    /// Room any request may take.
    open: AtomicUsize,
    /// Room only requests with the endpoint's token may take (zero without a token).
    reserve: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `total` bytes, of which `reserved` (at most `total`) only for requests that
    /// carry the token.
    pub(crate) fn new(total: usize, reserved: usize) -> Arc<Self> {
        let reserved = reserved.min(total);
        Arc::new(BodyBudget {
            open: AtomicUsize::new(total - reserved),
            reserve: AtomicUsize::new(reserved),
        })
    }

    /// An empty room in this budget for one body; `trusted` rooms may use the reserve.
    pub(crate) fn room(self: &Arc<Self>, trusted: bool) -> BodyRoom {
        BodyRoom {
            budget: Arc::clone(self),
            trusted,
            open: 0,
            reserve: 0,
        }
    }

    /// Bytes free now, for a trusted request or not.
    pub(crate) fn free(&self, trusted: bool) -> usize {
        let open = self.open.load(Ordering::Acquire);
        if trusted {
            open.saturating_add(self.reserve.load(Ordering::Acquire))
        } else {
            open
        }
    }

    fn take(pool: &AtomicUsize, bytes: usize) -> bool {
        pool.fetch_update(Ordering::AcqRel, Ordering::Acquire, |free| {
            free.checked_sub(bytes)
        })
        .is_ok()
    }
}

/// The part of a [`BodyBudget`] one body holds; given back when dropped.
#[derive(Debug)]
pub(crate) struct BodyRoom {
    budget: Arc<BodyBudget>,
    trusted: bool,
    open: usize,
    reserve: usize,
}

impl BodyRoom {
    /// Bytes held.
    pub(crate) fn held(&self) -> usize {
        self.open + self.reserve
    }

    /// Grows the room to hold `bytes` in all: from the open part, else (trusted only) from the
    /// reserve. `false`, holding what it held, when the budget has not that much free.
    pub(crate) fn grow_to(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.held());
        if more == 0 {
            return true;
        }
        if BodyBudget::take(&self.budget.open, more) {
            self.open += more;
            return true;
        }
        if self.trusted && BodyBudget::take(&self.budget.reserve, more) {
            self.reserve += more;
            return true;
        }
        false
    }
}

impl Drop for BodyRoom {
    fn drop(&mut self) {
        self.budget.open.fetch_add(self.open, Ordering::AcqRel);
        self.budget
            .reserve
            .fetch_add(self.reserve, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_share_the_budget_and_give_it_back() {
        let budget = BodyBudget::new(100, 0);
        let mut first = budget.room(false);
        let mut second = budget.room(false);
        assert!(first.grow_to(60));
        assert!(!second.grow_to(50), "only 40 left");
        assert!(second.grow_to(40));
        assert_eq!(budget.free(false), 0);
        drop(first);
        assert_eq!(budget.free(false), 60);
        assert!(second.grow_to(30), "already holds 40");
        assert_eq!(second.held(), 40);
    }

    #[test]
    fn the_reserve_is_only_for_trusted_rooms() {
        let budget = BodyBudget::new(100, 30);
        let mut untrusted = budget.room(false);
        assert!(untrusted.grow_to(70));
        assert!(!untrusted.grow_to(71), "the reserve is not for it");
        let mut trusted = budget.room(true);
        assert!(trusted.grow_to(30));
        drop((untrusted, trusted));
        assert_eq!(budget.free(true), 100);
    }
}
