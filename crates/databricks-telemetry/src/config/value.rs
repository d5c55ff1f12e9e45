//! [`ConfigValue`]: one option's value as a driver holds it, text or typed.

use std::borrow::Cow;
use std::fmt;

use super::keys::Kind;

/// The value of one telemetry option, as a driver holds it: text, or a typed value (as ADBC's
/// `set_option` hands them over).
///
/// Everywhere options are read ([`from_options`](super::TelemetryConfig::from_options) and its
/// siblings, [`check_option`](super::TelemetryConfig::check_option)) a typed value gives the same
/// configuration as its text: `("databricks.telemetry.batch_size", 200)` is
/// `("databricks.telemetry.batch_size", "200")`. Which types a key takes:
///
/// | Key kind | [`String`](Self::String) | [`Int`](Self::Int) | [`Bool`](Self::Bool) | [`Float`](Self::Float) |
/// |---|---|---|---|---|
/// | bool | `true`, `false`, `1`, `0` | `0` or `1` | yes | no |
/// | integer, milliseconds | plain decimal digits | in range | no | a whole number in range (`200.0`) |
/// | `org_id` | decimal digits | not negative | no | no |
/// | `endpoint`, `feature_flag_driver`, `feature_flag_name` | as documented | no | no | no |
///
/// A value of a type the key does not take is an
/// [`InvalidValue`](super::ConfigError::InvalidValue) error showing the value as text
/// ([`Display`](fmt::Display)) and what the key expects.
///
/// `From` converts strings, integers, booleans and floats, so options can be written as
/// `(key, 200)`, `(key, true)` or `(key, "200")`.
///
/// # Example
///
/// ```
/// use databricks_telemetry::config::ConfigValue;
/// use databricks_telemetry::TelemetryConfig;
///
/// let typed = TelemetryConfig::from_options([
///     ("databricks.telemetry.batch_size", ConfigValue::from(200)),
///     ("databricks.telemetry.force_enabled", ConfigValue::from(true)),
/// ])?;
/// let text = TelemetryConfig::from_options([
///     ("databricks.telemetry.batch_size", "200"),
///     ("databricks.telemetry.force_enabled", "true"),
/// ])?;
/// assert_eq!(typed, text);
/// # Ok::<(), databricks_telemetry::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigValue {
    /// Text, read by the parsing rules of the [module documentation](super).
    String(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    Float(f64),
}

impl ConfigValue {
    /// The text the value is read as for a key of `kind`, or `None` when the key does not take
    /// this type.
    pub(super) fn text_for(&self, kind: Kind) -> Option<Cow<'_, str>> {
        match (self, kind) {
            (ConfigValue::String(text), _) => Some(Cow::Borrowed(text)),
            (ConfigValue::Bool(value), Kind::Bool) => Some(Cow::Borrowed(bool_text(*value))),
            // The driver's rule for a bool option given as an integer: 0 or 1.
            (ConfigValue::Int(value @ (0 | 1)), Kind::Bool) => Some(Cow::Owned(value.to_string())),
            (ConfigValue::Int(value), Kind::Count { .. } | Kind::Millis { .. } | Kind::OrgId) => {
                Some(Cow::Owned(value.to_string()))
            }
            (ConfigValue::Float(value), Kind::Count { .. } | Kind::Millis { .. })
                if value.is_finite() && value.fract() == 0.0 && *value >= 0.0 =>
            {
                // Whole and not negative: its digits (a value past u64 saturates, and is then
                // out of every key's range).
                Some(Cow::Owned((*value as u64).to_string()))
            }
            _ => None,
        }
    }
}

/// `true` or `false`.
fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// The value as text: a string as given, an integer in decimal, `true`/`false`, a float as Rust
/// writes it (`2.5`, `200.0`).
impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::String(text) => f.write_str(text),
            ConfigValue::Int(value) => write!(f, "{value}"),
            ConfigValue::Bool(value) => f.write_str(bool_text(*value)),
            ConfigValue::Float(value) => write!(f, "{value:?}"),
        }
    }
}

impl From<&str> for ConfigValue {
    fn from(text: &str) -> Self {
        ConfigValue::String(text.to_owned())
    }
}

impl From<String> for ConfigValue {
    fn from(text: String) -> Self {
        ConfigValue::String(text)
    }
}

impl From<&String> for ConfigValue {
    fn from(text: &String) -> Self {
        ConfigValue::String(text.clone())
    }
}

impl From<Cow<'_, str>> for ConfigValue {
    fn from(text: Cow<'_, str>) -> Self {
        ConfigValue::String(text.into_owned())
    }
}

impl From<&ConfigValue> for ConfigValue {
    fn from(value: &ConfigValue) -> Self {
        value.clone()
    }
}

impl From<bool> for ConfigValue {
    fn from(value: bool) -> Self {
        ConfigValue::Bool(value)
    }
}

impl From<i64> for ConfigValue {
    fn from(value: i64) -> Self {
        ConfigValue::Int(value)
    }
}

impl From<i32> for ConfigValue {
    fn from(value: i32) -> Self {
        ConfigValue::Int(value.into())
    }
}

impl From<u32> for ConfigValue {
    fn from(value: u32) -> Self {
        ConfigValue::Int(value.into())
    }
}

impl From<f64> for ConfigValue {
    fn from(value: f64) -> Self {
        ConfigValue::Float(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNT: Kind = Kind::Count { min: 1, max: 10 };

    #[test]
    fn each_type_reads_as_its_text_where_the_key_takes_it() {
        let text = |value: ConfigValue, kind| value.text_for(kind).map(Cow::into_owned);
        assert_eq!(text(" 7 ".into(), COUNT).as_deref(), Some(" 7 "));
        assert_eq!(text(7.into(), COUNT).as_deref(), Some("7"));
        assert_eq!(text((-7).into(), COUNT).as_deref(), Some("-7"));
        assert_eq!(text(7.0.into(), COUNT).as_deref(), Some("7"));
        assert_eq!(text(7.5.into(), COUNT), None);
        assert_eq!(text(f64::NAN.into(), COUNT), None);
        assert_eq!(text((-1.0).into(), COUNT), None);
        assert_eq!(text(true.into(), COUNT), None);
        assert_eq!(text(true.into(), Kind::Bool).as_deref(), Some("true"));
        assert_eq!(text(1.into(), Kind::Bool).as_deref(), Some("1"));
        assert_eq!(text(0.into(), Kind::Bool).as_deref(), Some("0"));
        assert_eq!(text(2.into(), Kind::Bool), None);
        assert_eq!(text(1.0.into(), Kind::Bool), None);
        assert_eq!(text(42.into(), Kind::OrgId).as_deref(), Some("42"));
        assert_eq!(text(42.into(), Kind::Endpoint), None);
        assert_eq!(text(42.into(), Kind::DriverName), None);
        assert_eq!(text(true.into(), Kind::FlagNames), None);
    }

    #[test]
    fn display_shows_the_value_as_given() {
        assert_eq!(ConfigValue::from(" x ").to_string(), " x ");
        assert_eq!(ConfigValue::from(-3).to_string(), "-3");
        assert_eq!(ConfigValue::from(false).to_string(), "false");
        assert_eq!(ConfigValue::from(2.5).to_string(), "2.5");
        assert_eq!(ConfigValue::from(200.0).to_string(), "200.0");
    }
}
