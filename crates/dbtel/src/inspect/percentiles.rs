//! Nearest-rank percentiles of a set of samples, and [`Distribution`]: samples kept as counts
//! per value, so that adding one is cheap and a report never sorts every sample again.

use std::collections::BTreeMap;

use serde::Serialize;

/// The upper bounds (inclusive, in the samples' unit) of the histogram buckets; one more bucket
/// holds what is above the last.
pub(crate) const BUCKET_BOUNDS: [i64; 16] = [
    0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
];

/// Samples as a count per distinct value: adding is `O(log distinct)`, percentiles and the
/// histogram walk the distinct values once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Distribution {
    counts: BTreeMap<i64, u64>,
    samples: u64,
}

impl Distribution {
    /// Adds one sample.
    pub(crate) fn add(&mut self, value: i64) {
        *self.counts.entry(value).or_default() += 1;
        self.samples += 1;
    }

    /// p50, p90, p99 and the maximum of every sample added, by nearest rank (the same figures
    /// as sorting the samples and picking ranks).
    pub(crate) fn percentiles(&self) -> Percentiles {
        let n = self.samples as usize;
        let ranks = [50, 90, 99].map(|percent| (percent * n).div_ceil(100).max(1));
        let mut found = [None; 3];
        let mut seen = 0usize;
        for (&value, &count) in &self.counts {
            seen += count as usize;
            for (slot, &rank) in found.iter_mut().zip(&ranks) {
                if slot.is_none() && seen >= rank {
                    *slot = Some(value);
                }
            }
        }
        Percentiles {
            samples: n,
            p50: found[0],
            p90: found[1],
            p99: found[2],
            max: self.counts.keys().next_back().copied(),
        }
    }

    /// Counts per bucket of [`BUCKET_BOUNDS`] (a value goes in the first bucket whose bound is at
    /// least the value; the last bucket, with no bound, holds the rest), from the first bucket
    /// with a sample to the last.
    pub(crate) fn histogram(&self) -> Vec<Bucket> {
        let mut buckets: Vec<Bucket> = BUCKET_BOUNDS
            .iter()
            .map(|&bound| Bucket {
                up_to: Some(bound),
                count: 0,
            })
            .chain([Bucket {
                up_to: None,
                count: 0,
            }])
            .collect();
        for (&value, &count) in &self.counts {
            let index = BUCKET_BOUNDS.partition_point(|&bound| bound < value);
            buckets[index].count += count;
        }
        let first = buckets.iter().position(|b| b.count > 0);
        let last = buckets.iter().rposition(|b| b.count > 0);
        match (first, last) {
            (Some(first), Some(last)) => buckets[first..=last].to_vec(),
            _ => Vec::new(),
        }
    }
}

/// One histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Bucket {
    /// The largest value it holds (inclusive); `None` for the last, unbounded, bucket.
    pub(crate) up_to: Option<i64>,
    /// Samples in it.
    pub(crate) count: u64,
}

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
    /// The percentiles of `samples` (sorted in place); all `None` when there are none. The
    /// reference [`Distribution::percentiles`] is tested against.
    #[cfg(test)]
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
#[cfg(test)]
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
    fn a_distribution_gives_the_same_percentiles_as_the_sorted_samples() {
        let mut samples: Vec<i64> = (0..1000).map(|i| (i * 7919) % 613).collect();
        samples.extend([5, 5, 5, 70_000, -3]);
        let mut distribution = Distribution::default();
        for &sample in &samples {
            distribution.add(sample);
        }
        for len in [1, 2, 3, 10, 99, 100, 101, samples.len()] {
            let mut part = Distribution::default();
            samples[..len].iter().for_each(|&s| part.add(s));
            assert_eq!(
                part.percentiles(),
                Percentiles::of(&mut samples[..len].to_vec()),
                "{len}"
            );
        }
        assert_eq!(
            Distribution::default().percentiles(),
            Percentiles::default()
        );
        let histogram = distribution.histogram();
        assert_eq!(histogram.first().unwrap().up_to, Some(0));
        assert_eq!(histogram.last().unwrap().up_to, None);
        let total: u64 = histogram.iter().map(|b| b.count).sum();
        assert_eq!(total, samples.len() as u64);
        // 5 three extra times plus the 5s among the samples, in the bucket up to 5 (3..=5).
        let in_five = samples.iter().filter(|&&s| (3..=5).contains(&s)).count() as u64;
        assert_eq!(
            histogram[3],
            Bucket {
                up_to: Some(5),
                count: in_five
            }
        );
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        let p = Percentiles::of(&mut [7]);
        assert_eq!((p.p50, p.p99, p.max), (Some(7), Some(7), Some(7)));
    }
}
