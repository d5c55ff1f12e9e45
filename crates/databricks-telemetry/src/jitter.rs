//! A small seeded random sequence for jitter (retry backoff, breaker open times).

/// splitmix64: tiny, fast and well mixed; plenty for spreading retries and probes, and
/// repeatable from a seed so tests can pin a schedule.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    /// A sequence that starts from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Jitter { state: seed }
    }

    /// A seed from the process's randomness (the standard library's per-process hash keys).
    pub(crate) fn random_seed() -> u64 {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
    }

    /// The next value, uniform in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_in_range_spread_and_repeatable() {
        let mut a = Jitter::new(42);
        let draws: Vec<f64> = (0..1000).map(|_| a.next_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|&&d| d < 0.5).count();
        assert!((400..600).contains(&low), "{low}");
        let mut b = Jitter::new(42);
        assert_eq!(b.next_unit(), draws[0]);
    }
}
