//! Integer fields as protobuf JSON allows them: written as JSON numbers, read from numbers or
//! decimal strings (C# writes 64-bit integers as strings).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// Deserialises an optional integer from a JSON number, a decimal string, or `null`.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    deserializer.deserialize_any(ProtoIntVisitor(PhantomData))
}

struct ProtoIntVisitor<T>(PhantomData<T>);

impl<T> ProtoIntVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    fn out_of_range<E: de::Error>(value: impl fmt::Display) -> E {
        E::custom(format_args!(
            "integer {value} out of range for {}",
            std::any::type_name::<T>()
        ))
    }
}

impl<'de, T> Visitor<'de> for ProtoIntVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer as a JSON number or a decimal string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::try_from(v).map(Some).map_err(|_| Self::out_of_range(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::try_from(v).map(Some).map_err(|_| Self::out_of_range(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Protobuf JSON accepts an exponent or a ".0" as long as the value is integral.
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64 {
            self.visit_i64(v as i64)
        } else {
            Err(E::custom(format_args!("{v} is not an integer")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let parsed: i64 = v
            .parse()
            .map_err(|_| E::custom(format_args!("{v:?} is not a decimal integer")))?;
        self.visit_i64(parsed)
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Probe {
        #[serde(default, deserialize_with = "super::deserialize")]
        wide: Option<i64>,
        #[serde(default, deserialize_with = "super::deserialize")]
        narrow: Option<i32>,
    }

    fn parse(s: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(s)
    }

    #[test]
    fn accepts_numbers_strings_and_null() {
        let p = parse(r#"{"wide":"-9007199254740993","narrow":7}"#).unwrap();
        assert_eq!(p.wide, Some(-9_007_199_254_740_993));
        assert_eq!(p.narrow, Some(7));
        assert_eq!(parse(r#"{"wide":null}"#).unwrap().wide, None);
        assert_eq!(
            parse("{}").unwrap(),
            Probe {
                wide: None,
                narrow: None
            }
        );
        assert_eq!(parse(r#"{"narrow":"12"}"#).unwrap().narrow, Some(12));
    }

    #[test]
    fn rejects_fractions_junk_and_overflow() {
        assert!(parse(r#"{"wide":1.5}"#)
            .unwrap_err()
            .to_string()
            .contains("not an integer"));
        assert!(parse(r#"{"wide":"12a"}"#)
            .unwrap_err()
            .to_string()
            .contains("decimal"));
        assert!(parse(r#"{"narrow":3000000000}"#)
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(parse(r#"{"wide":true}"#).is_err());
    }
}
