//! Nearest-rank percentiles of a set of samples.

use serde::Serialize;

/// p50, p90, p99 and the maximum of some samples, by the nearest-rank method: the p-th
/// percentile is the smallest sample that at least p% of the samples are less than or equal to.
/// Every value is one of the samples (no interpolation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Percentiles {
    /// How many samples there were.
    pub(crate) samples: usize,
    /// The median.
    pub(crate) p50: Option<i64>,
    /// The 90th percentile.
    pub(crate) p90: Option<i64>,
    /// The 99th percentile.
    pub(crate) p99: Option<i64>,
    /// The largest sample.
    pub(crate) max: Option<i64>,
}

impl Percentiles {
    /// The percentiles of `samples` (sorted in place); all `None` when there are none.
    pub(crate) fn of(samples: &mut [i64]) -> Self {
        samples.sort_unstable();
        Percentiles {
            samples: samples.len(),
            p50: nearest_rank(samples, 50),
            p90: nearest_rank(samples, 90),
            p99: nearest_rank(samples, 99),
            max: samples.last().copied(),
        }
    }
}

/// The `percent`-th percentile of sorted `samples` by nearest rank.
fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    // rank = ceil(percent / 100 * n), 1-based, at least 1.
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_samples() {
        let mut samples: Vec<i64> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut samples);
        assert_eq!(
            (p.samples, p.p50, p.p90, p.p99, p.max),
            (100, Some(50), Some(90), Some(99), Some(100))
        );

        let mut few = vec![30, 10, 20];
        let p = Percentiles::of(&mut few);
        // ranks: ceil(1.5) = 2, ceil(2.7) = 3, ceil(2.97) = 3.
        assert_eq!((p.p50, p.p90, p.p99), (Some(20), Some(30), Some(30)));
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        let p = Percentiles::of(&mut [7]);
        assert_eq!((p.p50, p.p99, p.max), (Some(7), Some(7), Some(7)));
    }
}
