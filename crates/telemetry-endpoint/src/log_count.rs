//! How many entries an upload's `protoLogs` holds, counted while parsing: nothing of the body is
//! kept, so a body of millions of tiny entries (`{"protoLogs":[0,0,0,...]}`) costs no memory
//! beyond the body itself (a `serde_json::Value` of it would take some 16 times the body).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The number of entries of the body's top-level `protoLogs` array; 0 when the body is not a
/// JSON object, has no such array, or does not parse.
pub(crate) fn count_proto_logs(body: &[u8]) -> usize {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let count = deserializer.deserialize_map(TopLevel);
    match (count, deserializer.end()) {
        (Ok(Some(count)), Ok(())) => count,
        _ => 0,
    }
}

/// The top-level object: counts `protoLogs`, skips everything else.
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Option<usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an upload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut count = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::ProtoLogs => count = map.next_value::<Counted>()?.0,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(count)
    }
}

/// A key of the top-level object.
enum Key {
    ProtoLogs,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(if key == "protoLogs" {
                    Key::ProtoLogs
                } else {
                    Key::Other
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// `protoLogs`' value: its length when it is an array, `None` otherwise.
struct Counted(Option<usize>);

impl<'de> de::Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Counted;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counted, A::Error> {
                let mut count = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(Counted(Some(count)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Counted, E> {
                Ok(Counted(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Counted, E> {
                Ok(Counted(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Counted, E> {
                Ok(Counted(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Counted, E> {
                Ok(Counted(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Counted, E> {
                Ok(Counted(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Counted, E> {
                Ok(Counted(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Counted, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Counted(None))
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::count_proto_logs;

    #[test]
    fn counts_the_entries_of_proto_logs_whatever_they_are() {
        assert_eq!(
            count_proto_logs(br#"{"uploadTime":1,"items":[],"protoLogs":["a","b",{"x":[1]}]}"#),
            3
        );
        assert_eq!(count_proto_logs(br#"{"protoLogs":[]}"#), 0);
        assert_eq!(count_proto_logs(br#"{"protoLogs":"not an array"}"#), 0);
        assert_eq!(count_proto_logs(br#"{"protoLogs":null}"#), 0);
        assert_eq!(count_proto_logs(br#"{"items":[]}"#), 0);
        assert_eq!(count_proto_logs(b"[1,2,3]"), 0);
        assert_eq!(count_proto_logs(b"{\"protoLogs\":[1,2"), 0);
        assert_eq!(count_proto_logs(b"\xff\xfe"), 0);
        assert_eq!(count_proto_logs(br#"{"protoLogs":[1]} trailing"#), 0);
    }

    #[test]
    fn a_million_tiny_entries_are_counted_without_building_them() {
        let mut body = b"{\"protoLogs\":[".to_vec();
        for index in 0..1_000_000 {
            if index > 0 {
                body.push(b',');
            }
            body.push(b'0');
        }
        body.extend_from_slice(b"]}");
        assert_eq!(count_proto_logs(&body), 1_000_000);
    }
}
