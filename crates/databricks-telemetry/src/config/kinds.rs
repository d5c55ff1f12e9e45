//! What each kind of setting stores, how its option text is parsed, how a value set in code is
//! checked, and how it is written back as text: one implementation of [`SettingType`] per kind
//! of row in the [settings table](super::settings).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::marker::PhantomData;
use std::time::Duration;

use super::keys::Kind;
use super::values::{
    is_valid_driver_name, is_valid_flag_name, parse_bool, parse_decimal, parse_directory,
    parse_endpoint, parse_flag_names, parse_org_id, render_duration,
};

/// One kind of setting: its stored value, its default as written in the table, and its rules.
pub(crate) trait SettingType {
    /// What [`TelemetryConfig`](super::TelemetryConfig) stores.
    type Value: Clone + PartialEq + Hash + std::fmt::Debug;
    /// The default as the table writes it (a `const` value).
    type Literal: Copy;
    /// What the getter returns.
    type Out<'a>;

    /// The value kind, with the row's range for numbers.
    fn kind(range: Option<(u64, u64)>) -> Kind;
    /// The stored value of a default.
    fn value(literal: Self::Literal) -> Self::Value;
    /// The getter's view of a stored value.
    fn get(value: &Self::Value) -> Self::Out<'_>;
    /// Option text (already the text of a typed value) as a value, `None` when it is not one of
    /// `kind` (ranges included).
    fn parse(text: &str, kind: Kind) -> Option<Self::Value>;
    /// Checks (and for endpoints and org ids, respells) a value set in code; the error is the
    /// value as text.
    fn check(value: &mut Self::Value, kind: Kind) -> Result<(), String>;
    /// A value as option text (errors, the documentation table).
    fn render(value: &Self::Value) -> String;
    /// A number that differs between two values (numbers as they are, text hashed), so a lane
    /// or host keeps its first acquirer's values in a few bytes.
    fn fingerprint(value: &Self::Value) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }
}

/// `true`/`false`.
#[derive(Debug)]
pub(crate) struct Flag;

/// An integer of type `T` within the row's range.
#[derive(Debug)]
pub(crate) struct Count<T>(PhantomData<T>);

/// A [`Duration`] given in whole milliseconds within the row's range.
#[derive(Debug)]
pub(crate) struct Millis;

/// A feature-flag driver name (a URL path segment).
#[derive(Debug)]
pub(crate) struct DriverName;

/// One or more feature-flag names, comma separated in options.
#[derive(Debug)]
pub(crate) struct FlagNames;

/// An optional endpoint override, kept as `https://host[:port]` or `http://host:port`.
#[derive(Debug)]
pub(crate) struct Endpoint;

/// An optional workspace (org) id, kept as decimal digits without leading zeros.
#[derive(Debug)]
pub(crate) struct OrgId;

/// An optional directory, kept as an absolute path.
#[derive(Debug)]
pub(crate) struct Directory;

/// Whether `count` lies in a number kind's range.
fn in_range(kind: Kind, count: u64) -> bool {
    match kind {
        Kind::Count { min, max } | Kind::Millis { min, max } => (min..=max).contains(&count),
        Kind::Bool
        | Kind::DriverName
        | Kind::FlagNames
        | Kind::Endpoint
        | Kind::OrgId
        | Kind::Directory => false,
    }
}

/// A number kind's range, from the row.
fn range_of(range: Option<(u64, u64)>) -> (u64, u64) {
    range.unwrap_or((0, u64::MAX))
}

impl SettingType for Flag {
    type Value = bool;
    type Literal = bool;
    type Out<'a> = bool;

    fn kind(_: Option<(u64, u64)>) -> Kind {
        Kind::Bool
    }
    fn value(literal: bool) -> bool {
        literal
    }
    fn get(value: &bool) -> bool {
        *value
    }
    fn parse(text: &str, _: Kind) -> Option<bool> {
        parse_bool(text)
    }
    fn check(_: &mut bool, _: Kind) -> Result<(), String> {
        Ok(())
    }
    fn render(value: &bool) -> String {
        value.to_string()
    }
    fn fingerprint(value: &bool) -> u64 {
        u64::from(*value)
    }
}

impl<T> SettingType for Count<T>
where
    T: Copy + PartialEq + Hash + std::fmt::Debug + ToString + TryFrom<u64> + TryInto<u64>,
{
    type Value = T;
    type Literal = T;
    type Out<'a> = T;

    fn kind(range: Option<(u64, u64)>) -> Kind {
        let (min, max) = range_of(range);
        Kind::Count { min, max }
    }
    fn value(literal: T) -> T {
        literal
    }
    fn get(value: &T) -> T {
        *value
    }
    fn parse(text: &str, kind: Kind) -> Option<T> {
        parse_decimal(text)
            .filter(|&count| in_range(kind, count))
            .and_then(|count| T::try_from(count).ok())
    }
    fn check(value: &mut T, kind: Kind) -> Result<(), String> {
        let in_range = (*value).try_into().is_ok_and(|count| in_range(kind, count));
        if in_range {
            Ok(())
        } else {
            Err(Self::render(value))
        }
    }
    fn render(value: &T) -> String {
        value.to_string()
    }
    fn fingerprint(value: &T) -> u64 {
        (*value).try_into().unwrap_or(u64::MAX)
    }
}

impl SettingType for Millis {
    type Value = Duration;
    type Literal = u64;
    type Out<'a> = Duration;

    fn kind(range: Option<(u64, u64)>) -> Kind {
        let (min, max) = range_of(range);
        Kind::Millis { min, max }
    }
    fn value(literal: u64) -> Duration {
        Duration::from_millis(literal)
    }
    fn get(value: &Duration) -> Duration {
        *value
    }
    fn parse(text: &str, kind: Kind) -> Option<Duration> {
        parse_decimal(text)
            .filter(|&count| in_range(kind, count))
            .map(Duration::from_millis)
    }
    fn check(value: &mut Duration, kind: Kind) -> Result<(), String> {
        let in_range = match kind {
            Kind::Millis { min, max } => {
                (Duration::from_millis(min)..=Duration::from_millis(max)).contains(value)
            }
            _ => false,
        };
        if in_range {
            Ok(())
        } else {
            Err(Self::render(value))
        }
    }
    fn render(value: &Duration) -> String {
        render_duration(*value)
    }
    fn fingerprint(value: &Duration) -> u64 {
        u64::try_from(value.as_nanos()).unwrap_or(u64::MAX)
    }
}

impl SettingType for DriverName {
    type Value = String;
    type Literal = &'static str;
    type Out<'a> = &'a str;

    fn kind(_: Option<(u64, u64)>) -> Kind {
        Kind::DriverName
    }
    fn value(literal: &'static str) -> String {
        literal.to_owned()
    }
    fn get(value: &String) -> &str {
        value
    }
    fn parse(text: &str, _: Kind) -> Option<String> {
        let name = text.trim();
        is_valid_driver_name(name).then(|| name.to_owned())
    }
    fn check(value: &mut String, _: Kind) -> Result<(), String> {
        if is_valid_driver_name(value) {
            Ok(())
        } else {
            Err(Self::render(value))
        }
    }
    fn render(value: &String) -> String {
        value.clone()
    }
}

impl SettingType for FlagNames {
    type Value = Vec<String>;
    type Literal = &'static [&'static str];
    type Out<'a> = &'a [String];

    fn kind(_: Option<(u64, u64)>) -> Kind {
        Kind::FlagNames
    }
    fn value(literal: &'static [&'static str]) -> Vec<String> {
        literal.iter().map(|name| (*name).to_owned()).collect()
    }
    fn get(value: &Vec<String>) -> &[String] {
        value
    }
    fn parse(text: &str, _: Kind) -> Option<Vec<String>> {
        parse_flag_names(text)
    }
    fn check(value: &mut Vec<String>, _: Kind) -> Result<(), String> {
        if !value.is_empty() && value.iter().all(|name| is_valid_flag_name(name)) {
            Ok(())
        } else {
            Err(Self::render(value))
        }
    }
    fn render(value: &Vec<String>) -> String {
        value.join(",")
    }
}

/// An optional text setting, respelled by `spell` (`None` when invalid).
fn check_optional(
    value: &mut Option<String>,
    spell: fn(&str) -> Option<String>,
) -> Result<(), String> {
    if let Some(given) = value.take() {
        let spelled = spell(&given).ok_or_else(|| given.clone())?;
        *value = Some(spelled);
    }
    Ok(())
}

impl SettingType for Endpoint {
    type Value = Option<String>;
    type Literal = Option<&'static str>;
    type Out<'a> = Option<&'a str>;

    fn kind(_: Option<(u64, u64)>) -> Kind {
        Kind::Endpoint
    }
    fn value(literal: Option<&'static str>) -> Option<String> {
        literal.map(str::to_owned)
    }
    fn get(value: &Option<String>) -> Option<&str> {
        value.as_deref()
    }
    fn parse(text: &str, _: Kind) -> Option<Option<String>> {
        parse_endpoint(text).map(Some)
    }
    fn check(value: &mut Option<String>, _: Kind) -> Result<(), String> {
        check_optional(value, parse_endpoint)
    }
    fn render(value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
}

impl SettingType for OrgId {
    type Value = Option<String>;
    type Literal = Option<&'static str>;
    type Out<'a> = Option<&'a str>;

    fn kind(_: Option<(u64, u64)>) -> Kind {
        Kind::OrgId
    }
    fn value(literal: Option<&'static str>) -> Option<String> {
        literal.map(str::to_owned)
    }
    fn get(value: &Option<String>) -> Option<&str> {
        value.as_deref()
    }
    fn parse(text: &str, _: Kind) -> Option<Option<String>> {
        parse_org_id(text).map(Some)
    }
    fn check(value: &mut Option<String>, _: Kind) -> Result<(), String> {
        check_optional(value, parse_org_id)
    }
    fn render(value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
}

impl SettingType for Directory {
    type Value = Option<String>;
    type Literal = Option<&'static str>;
    type Out<'a> = Option<&'a str>;

    fn kind(_: Option<(u64, u64)>) -> Kind {
        Kind::Directory
    }
    fn value(literal: Option<&'static str>) -> Option<String> {
        literal.map(str::to_owned)
    }
    fn get(value: &Option<String>) -> Option<&str> {
        value.as_deref()
    }
    fn parse(text: &str, _: Kind) -> Option<Option<String>> {
        parse_directory(text).map(Some)
    }
    fn check(value: &mut Option<String>, _: Kind) -> Result<(), String> {
        check_optional(value, parse_directory)
    }
    fn render(value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
}

/// A value one setting may not exceed in another (`batch_size` at most `max_queue_size`), as
/// the error shows it.
pub(crate) trait LimitValue {
    /// The value as option text.
    fn limit_text(&self) -> String;
}

impl LimitValue for usize {
    fn limit_text(&self) -> String {
        self.to_string()
    }
}

impl LimitValue for u64 {
    fn limit_text(&self) -> String {
        self.to_string()
    }
}

impl LimitValue for u32 {
    fn limit_text(&self) -> String {
        self.to_string()
    }
}

impl LimitValue for Duration {
    fn limit_text(&self) -> String {
        render_duration(*self)
    }
}
