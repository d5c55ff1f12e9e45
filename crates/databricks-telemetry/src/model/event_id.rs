//! The id of a frontend log: a UUID kept as its 16 bytes, or any other text as it is.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;
use std::time::Instant;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::uuid_text::{Uuid, CANONICAL_LEN};

/// The id of one frontend log (`frontend_log_event_id`): the service de-duplicates on it.
///
/// On the wire it is a JSON string, like any text. The library stamps each event with a random
/// UUID (version 4), kept as its 16 bytes and written in its canonical form (lower case,
/// hyphenated) only when the event is serialised, so stamping an event allocates nothing and
/// formats nothing. Text in that canonical form is kept the same way, whoever gives it; any
/// other text is kept as it is. Two ids are equal when their texts are.
///
/// ```
/// use databricks_telemetry::unstable::model::EventId;
///
/// let id = EventId::random();
/// assert_eq!(id.to_string().len(), 36);
/// assert_ne!(id, EventId::random());
///
/// let given = EventId::from("6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d");
/// assert_eq!(given, "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d");
/// assert_eq!(serde_json::to_string(&given).unwrap(), r#""6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d""#);
///
/// // Any text is an id, written as it was given.
/// assert_eq!(EventId::from("E-1").to_string(), "E-1");
/// assert_eq!(EventId::default(), "");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventId(Repr);

/// Every constructor keeps a text in its canonical UUID form as [`Repr::Uuid`], so a
/// [`Repr::Text`] never holds one, and two ids are equal exactly when their forms are: the
/// derived `PartialEq` and `Hash` compare texts.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// A UUID; the id is its canonical text.
    Uuid(Uuid),
    /// Any text that is not a UUID's canonical text.
    Text(String),
}

thread_local! {
    /// Per-thread generator state, seeded once from the OS's random source.
    static STATE: Cell<u64> = Cell::new(seed());
}

/// A seed for a thread's sequence. The standard library keys each thread's `RandomState` from
/// the OS's random source (once per thread, then a step per new state); its hasher mixes that
/// key with the thread's id and the clock, so no crate is needed for the randomness.
fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    std::thread::current().id().hash(&mut hasher);
    instant_nanos(Instant::now()).hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    hasher.finish() | 1
}

fn splitmix64(state: &Cell<u64>) -> u64 {
    let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(next);
    mix64(next)
}

/// The UUID whose canonical form `text` is, if any.
fn canonical_uuid(text: &str) -> Option<Uuid> {
    Uuid::parse_canonical(text)
}

/// The origin of [`instant_nanos`].
static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// `at` as nanoseconds from a process-wide origin (instants before it map to the upper half).
fn instant_nanos(at: Instant) -> u64 {
    let origin = *ORIGIN.get_or_init(Instant::now);
    match at.checked_duration_since(origin) {
        Some(after) => u64::try_from(after.as_nanos()).unwrap_or(u64::MAX),
        None => (1 << 63) | u64::try_from((origin - at).as_nanos()).unwrap_or(u64::MAX >> 1),
    }
}

/// Spreads the bits of `x` (SplitMix64's finaliser).
fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl EventId {
    /// A new random UUID (version 4). Event ids only need to be unique, not secret, so they come
    /// from a per-thread SplitMix64 sequence seeded from the OS once, which keeps a system call
    /// off the driver's path, mixed with the monotonic clock's reading: a process forked from
    /// another (e.g. Python's `multiprocessing`) inherits its thread's sequence, and the reading
    /// keeps the child's ids apart from its parent's.
    pub fn random() -> Self {
        Self::random_at(Instant::now())
    }

    /// A new random UUID for an event that happened at `at`. The per-thread sequence is mixed
    /// with `at` (nanoseconds): a process forked from another (e.g. Python's `multiprocessing`)
    /// inherits its thread's sequence, and without the mix parent and children would stamp the
    /// same ids, which the service de-duplicates away. The events of a thread still get distinct
    /// ids at equal instants (the sequence never repeats).
    pub(crate) fn random_at(at: Instant) -> Self {
        let (hi, lo) = STATE.with(|state| (splitmix64(state), splitmix64(state)));
        let hi = hi ^ mix64(instant_nanos(at));
        let value = (u128::from(hi) << 64) | u128::from(lo);
        EventId(Repr::Uuid(Uuid::v4_from_random(value)))
    }

    /// Calls `f` with the id's text.
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match &self.0 {
            Repr::Uuid(uuid) => f(uuid.encode(&mut [0; CANONICAL_LEN])),
            Repr::Text(text) => f(text),
        }
    }
}

impl Default for EventId {
    /// The empty text.
    fn default() -> Self {
        EventId(Repr::Text(String::new()))
    }
}

impl From<&str> for EventId {
    fn from(text: &str) -> Self {
        EventId(canonical_uuid(text).map_or_else(|| Repr::Text(text.to_owned()), Repr::Uuid))
    }
}

impl From<String> for EventId {
    fn from(text: String) -> Self {
        EventId(canonical_uuid(&text).map_or(Repr::Text(text), Repr::Uuid))
    }
}

impl PartialEq<str> for EventId {
    fn eq(&self, other: &str) -> bool {
        self.with_text(|text| text == other)
    }
}

impl PartialEq<&str> for EventId {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
}

impl fmt::Debug for EventId {
    /// As the text's `Debug`: quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|text| fmt::Debug::fmt(text, f))
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_text(|text| serializer.serialize_str(text))
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;

        impl Visitor<'_> for Text {
            type Value = EventId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<EventId, E> {
                Ok(EventId::from(text))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<EventId, E> {
                Ok(EventId::from(text))
            }
        }

        deserializer.deserialize_string(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_v4_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| EventId::random().to_string()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let parsed = Uuid::parse_canonical(id).unwrap();
            assert_eq!(parsed.version(), 4, "{id}");
            assert!(parsed.has_rfc_variant(), "{id}");
            assert_eq!(id, &id.to_lowercase());
        }
    }

    #[test]
    fn threads_get_different_sequences() {
        let a = std::thread::spawn(EventId::random).join().unwrap();
        let b = std::thread::spawn(EventId::random).join().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn only_the_canonical_text_of_a_uuid_is_kept_as_one() {
        let canonical = "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d";
        assert!(matches!(EventId::from(canonical).0, Repr::Uuid(_)));
        assert!(matches!(
            EventId::from(canonical.to_owned()).0,
            Repr::Uuid(_)
        ));
        for other in [
            "6F1C2B9E-3D4A-4F5B-8C6D-7E8F9A0B1C2D",
            "6f1c2b9e3d4a4f5b8c6d7e8f9a0b1c2d",
            "{6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d}",
            "urn:uuid:6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d",
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2g",
            "e",
            "",
        ] {
            let id = EventId::from(other);
            assert!(
                matches!(&id.0, Repr::Text(text) if text == other),
                "{other}"
            );
            assert_eq!(id.to_string(), other);
            assert_eq!(EventId::from(other.to_owned()), id);
        }
    }

    #[test]
    fn ids_are_written_and_read_as_their_text() {
        for text in [
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d",
            "6F1C2B9E-3D4A-4F5B-8C6D-7E8F9A0B1C2D",
            "e",
            "",
            "quote \" and \u{e9}",
        ] {
            let id = EventId::from(text);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(format!("{id:?}"), format!("{text:?}"));
            let back: EventId = serde_json::from_str(&json).unwrap();
            assert_eq!(back, id);
            assert_eq!(back, text);
        }
        let random = EventId::random();
        let back: EventId = serde_json::from_str(&serde_json::to_string(&random).unwrap()).unwrap();
        assert_eq!(back, random);
        assert!(serde_json::from_str::<EventId>("12").is_err());
    }

    /// A forked child continues its parent's per-thread sequence: the instant mixed in keeps
    /// their ids apart, and only the instant (the same state at the same instant gives the same
    /// id).
    #[test]
    fn a_copied_sequence_still_gives_other_ids_at_other_instants() {
        let at = Instant::now();
        let later = at + std::time::Duration::from_nanos(1);
        let from = |seed: u64, at: Instant| {
            STATE.with(|state| state.set(seed));
            EventId::random_at(at)
        };
        let parent = from(42, at);
        let child = from(42, later);
        assert_ne!(parent, child);
        assert_eq!(from(42, at), parent);
        // The thread's own sequence never repeats, whatever the instants.
        STATE.with(|state| state.set(7));
        let ids: std::collections::HashSet<_> = (0..10_000)
            .map(|_| EventId::random_at(at).to_string())
            .collect();
        assert_eq!(ids.len(), 10_000);
    }
}
