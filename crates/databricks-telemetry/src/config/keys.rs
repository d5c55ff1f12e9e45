//! Option keys: their kinds of value, their spelling under a prefix, and the "did you mean"
//! suggestion for a mistyped key. The keys themselves are generated from the
//! [settings table](super::settings).

pub(super) use super::settings::Key;
use super::TelemetryConfig;

/// What a key's value is, and which values are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `true`, `false`, `1` or `0`.
    Bool,
    /// A plain decimal integer within `min..=max`.
    Count { min: u64, max: u64 },
    /// A plain decimal number of milliseconds within `min..=max`.
    Millis { min: u64, max: u64 },
    /// A feature-flag driver name: a URL path segment.
    DriverName,
    /// One or more feature-flag names, comma separated.
    FlagNames,
    /// Where telemetry is sent: a host, or a URL of one.
    Endpoint,
    /// A workspace (org) id: decimal digits that fit an `i64`.
    OrgId,
    /// A directory path (an absolute one).
    Directory,
}

/// The longest feature-flag driver name accepted (it becomes one URL path segment).
pub(super) const MAX_DRIVER_NAME_LEN: usize = 64;

/// The longest feature-flag name accepted.
pub(super) const MAX_FLAG_NAME_LEN: usize = 256;

impl Key {
    /// The full option key, e.g. `adbc.databricks.telemetry.batch_size`.
    pub(super) fn option_key(self) -> String {
        self.key_under(TelemetryConfig::OPTION_PREFIX)
    }

    /// The option key under `prefix` (one of [`TelemetryConfig::OPTION_PREFIXES`]).
    pub(super) fn key_under(self, prefix: &str) -> String {
        format!("{prefix}{}", self.name())
    }

    /// The key with this exact name (after the prefix).
    pub(super) fn from_name(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|key| key.name() == name)
    }

    /// The key the mistyped `name` most likely meant: the closest name within an edit distance
    /// of 2 (ignoring ASCII case), or the name with a forgotten `_ms` suffix added.
    pub(super) fn closest_to(name: &str) -> Option<Key> {
        let name = name.to_ascii_lowercase();
        if let Some(key) = Key::from_name(&format!("{name}_ms")) {
            return Some(key);
        }
        Key::ALL
            .iter()
            .copied()
            .map(|key| (edit_distance(&name, key.name()), key))
            .filter(|(distance, _)| *distance <= 2)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, key)| key)
    }
}

/// The number of single-character insertions, deletions, substitutions and transpositions of
/// adjacent characters that turn `a` into `b` (the optimal-string-alignment distance).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: two rows back (for transpositions), the previous row and this row.
    let mut before_previous: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution_cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + substitution_cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before_previous[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_each_kind_of_edit_once() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("batch_size", "batch_size"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("batch_sise", "batch_size"), 1); // substitution
        assert_eq!(edit_distance("batchsize", "batch_size"), 1); // insertion
        assert_eq!(edit_distance("batch__size", "batch_size"), 1); // deletion
        assert_eq!(edit_distance("bacth_size", "batch_size"), 1); // transposition
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for &key in Key::ALL {
            assert_eq!(Key::from_name(key.name()), Some(key));
            assert!(key.option_key().starts_with(TelemetryConfig::OPTION_PREFIX));
            for prefix in TelemetryConfig::OPTION_PREFIXES {
                assert_eq!(key.key_under(prefix), format!("{prefix}{}", key.name()));
            }
        }
    }

    #[test]
    fn closest_prefers_the_nearest_name() {
        assert_eq!(Key::closest_to("batch_sise"), Some(Key::BatchSize));
        assert_eq!(Key::closest_to("BATCH_SIZE"), Some(Key::BatchSize));
        assert_eq!(Key::closest_to("flush_interval"), Some(Key::FlushInterval));
        assert_eq!(Key::closest_to("enable"), Some(Key::Enabled));
        assert_eq!(Key::closest_to("something_else"), None);
    }
}
