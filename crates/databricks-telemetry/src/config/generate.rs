//! The `settings!` macro: from the one list of settings in [`settings`](super::settings) it
//! generates everything that names a setting (see that module for what, and for the list).

/// Generates, from the settings table: the [`Key`](super::keys::Key) enum with each key's
/// name, kind, environment variable and scope; the [`TelemetryConfig`](super::TelemetryConfig)
/// struct, its `Default` and its getters; the builder's `with_*` setters; the defaults as a
/// `const`; parsing an option's text into its setting; the range checks of a built
/// configuration, rules between two settings included; the per-scope snapshots the pipeline
/// compares for conflicts; and the rows of the documentation table.
macro_rules! settings {
    (
        $(
            $(#[doc = $doc:literal])*
            $variant:ident $field:ident $setter:ident:
                $kind:ident $(<$int:ty>)? $(($min:literal ..= $max:literal))? $(= $default:expr)?,
                key $key:literal, $scope:ident
                $(, env $env:literal)?
                $(, at_most $limit_variant:ident $limit_field:ident)?,
                $meaning:literal;
        )*
    ) => {
        /// One configuration setting, named by its option key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Key {
            $(
                #[doc = concat!("`", $key, "`")]
                $variant,
            )*
        }

        impl Key {
            /// Every key, in the order of the table.
            pub(super) const ALL: &'static [Key] = &[$(Key::$variant),*];

            /// The key's name after [`TelemetryConfig::OPTION_PREFIX`].
            pub(super) fn name(self) -> &'static str {
                match self {
                    $(Key::$variant => $key,)*
                }
            }

            /// The key's value kind and allowed range.
            pub(super) fn kind(self) -> Kind {
                match self {
                    $(
                        Key::$variant => <$kind $(<$int>)? as SettingType>::kind(
                            None $(.or(Some(($min, $max))))?
                        ),
                    )*
                }
            }

            /// The environment variable that overrides this key's default, if any.
            pub(super) fn env_var(self) -> Option<&'static str> {
                match self {
                    $(Key::$variant => None $(.or(Some($env)))?,)*
                }
            }

            /// Where the setting lives, and so whose value applies.
            pub(crate) fn scope(self) -> Scope {
                match self {
                    $(Key::$variant => Scope::$scope,)*
                }
            }
        }

        /// Every setting of the telemetry pipeline, read from options
        /// ([`from_options`](TelemetryConfig::from_options),
        /// [`TelemetryOptions`](crate::config::TelemetryOptions)) or built in code
        /// ([`builder`](TelemetryConfig::builder)); see the [module documentation](crate::config).
        ///
        /// [`Default`] gives the defaults, each stated on its setter of
        /// [`TelemetryConfigBuilder`] and its getter here.
        #[derive(Debug, Clone, PartialEq)]
        pub struct TelemetryConfig {
            $($field: <$kind $(<$int>)? as SettingType>::Value,)*
        }

        /// The defaults as the table writes them, for `const` use inside the crate.
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct Defaults {
            $(
                #[doc = concat!("`", $key, "`")]
                pub(crate) $field: <$kind $(<$int>)? as SettingType>::Literal,
            )*
        }

        /// The default of every setting.
        pub(crate) const DEFAULTS: Defaults = Defaults {
            $($field: settings!(@literal $($default)?),)*
        };

        impl Default for TelemetryConfig {
            fn default() -> Self {
                TelemetryConfig {
                    $($field: <$kind $(<$int>)? as SettingType>::value(DEFAULTS.$field),)*
                }
            }
        }

        impl TelemetryConfig {
            $(
                #[doc = concat!("`", $key, "`: ", $meaning, " Default: ", settings!(@default_doc $kind $($default)?), ".")]
                #[doc = ""]
        $(#[doc = $doc])*
                pub fn $field(&self) -> settings!(@out $kind $(<$int>)?) {
                    <$kind $(<$int>)? as SettingType>::get(&self.$field)
                }
            )*

            /// The values of the settings that live in `scope`, for comparing two acquirers'.
            pub(crate) fn scoped(&self, scope: Scope) -> ScopedValues {
                let mut values = Vec::with_capacity(ScopedValues::len(scope));
                $(
                    if Key::$variant.scope() == scope {
                        values.push(<$kind $(<$int>)? as SettingType>::fingerprint(&self.$field));
                    }
                )*
                ScopedValues::new(scope, values)
            }

            /// Parses `text` as the value of `setting` into this configuration, reporting
            /// errors under `label` (the option key or environment variable it came from).
            pub(super) fn set_text(
                &mut self,
                setting: Key,
                label: &str,
                text: &str,
            ) -> Result<(), ConfigError> {
                match setting {
                    $(
                        Key::$variant => {
                            self.$field = <$kind $(<$int>)? as SettingType>::parse(text, setting.kind())
                                .ok_or_else(|| invalid(setting, label, text))?;
                        }
                    )*
                }
                Ok(())
            }

            /// Checks every value against its range (respelling endpoints and org ids), then
            /// the rules between two settings, naming each setting as `sources` says.
            pub(super) fn check(&mut self, sources: &Sources) -> Result<(), ConfigError> {
                $(
                    <$kind $(<$int>)? as SettingType>::check(&mut self.$field, Key::$variant.kind())
                        .map_err(|text| invalid(Key::$variant, &sources.label(Key::$variant), &text))?;
                )*
                $(
                    $(
                        if self.$field > self.$limit_field {
                            return Err(ConfigError::Exceeds {
                                key: sources.label(Key::$variant),
                                value: self.$field.limit_text(),
                                limit_key: sources.label(Key::$limit_variant),
                                limit_value: self.$limit_field.limit_text(),
                            });
                        }
                    )?
                )*
                Ok(())
            }
        }

        impl TelemetryConfigBuilder {
            $(
                settings!(@setter $kind $(<$int>)?, $field, $setter,
                    concat!(
                        "Sets `", $key, "`. ", $meaning,
                        "\n\nDefault: ", settings!(@default_doc $kind $($default)?),
                        ". Allowed: ", settings!(@allowed $kind $(($min ..= $max))?),
                        $(", at most [`", stringify!($limit_field), "`](TelemetryConfig::", stringify!($limit_field), ")",)?
                        ". Lives in ", settings!(@scope_doc $scope), "."
                    ),
                    $($doc)*
                );
            )*
        }

        /// One row of the documentation table per setting, in order.
        #[cfg(test)]
        pub(super) fn table_rows() -> Vec<Row> {
            vec![
                $(
                    Row {
                        key: Key::$variant,
                        default: <$kind $(<$int>)? as SettingType>::render(
                            &<$kind $(<$int>)? as SettingType>::value(DEFAULTS.$field),
                        ),
                        allowed: settings!(@allowed $kind $(($min ..= $max))?),
                        at_most: None $(.or(Some(Key::$limit_variant)))?,
                        meaning: $meaning,
                    },
                )*
            ]
        }
    };

    (@ty Flag) => { bool };
    (@ty Count<$int:ty>) => { $int };
    (@ty Millis) => { Duration };
    (@out Flag) => { bool };
    (@out Count<$int:ty>) => { $int };
    (@out Millis) => { Duration };
    (@out DriverName) => { &str };
    (@out FlagNames) => { &[String] };
    (@out Endpoint) => { Option<&str> };
    (@out OrgId) => { Option<&str> };
    (@out Directory) => { Option<&str> };

    (@scope_doc Handle) => { "each handle: every acquirer's own value applies" };
    (@scope_doc Lane) => { "the lane: its first acquirer's value applies" };
    (@scope_doc Host) => { "the host: its first acquirer's value applies" };
    (@scope_doc Manager) => { "the manager: its first acquirer's value applies" };

    (@literal) => { None };
    (@literal $default:expr) => { $default };

    (@default_doc $kind:ident) => { "none" };
    (@default_doc Millis $default:expr) => { concat!("`", stringify!($default), "` ms") };
    (@default_doc $kind:ident $default:expr) => { concat!("`", stringify!($default), "`") };

    (@allowed Flag) => { "bool" };
    (@allowed Count ($min:literal ..= $max:literal)) => {
        concat!(stringify!($min), "..=", stringify!($max))
    };
    (@allowed Millis ($min:literal ..= $max:literal)) => {
        concat!(stringify!($min), "..=", stringify!($max), " ms")
    };
    (@allowed DriverName) => { "1 to 64 ASCII letters, digits, `_` or `-`" };
    (@allowed FlagNames) => {
        "one or more names (comma separated in options), each 1 to 256 printable ASCII characters without spaces or commas"
    };
    (@allowed Endpoint) => {
        "a host or URL without a path: `host[:port]`, `https://host[:port]`, or `http://host:port` to a loopback host with `allow_insecure_http`"
    };
    (@allowed OrgId) => { "decimal digits within `i64`" };
    (@allowed Directory) => { "an absolute directory path" };

    (@setter $kind:ident $(<$int:ty>)?, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        settings!(@setter_shape $kind $(<$int>)?, $field, $setter, $summary, $($doc)*);
    };
    (@setter_shape DriverName, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        #[doc = $summary]
        #[doc = ""]
        $(#[doc = $doc])*
        pub fn $setter(mut self, $field: impl Into<String>) -> Self {
            self.config_mut().$field = $field.into();
            self
        }
    };
    (@setter_shape FlagNames, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        #[doc = $summary]
        #[doc = ""]
        $(#[doc = $doc])*
        pub fn $setter<I, S>(mut self, $field: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.config_mut().$field = $field.into_iter().map(Into::into).collect();
            self
        }
    };
    (@setter_shape Endpoint, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        settings!(@setter_optional $field, $setter, $summary, $($doc)*);
    };
    (@setter_shape OrgId, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        settings!(@setter_optional $field, $setter, $summary, $($doc)*);
    };
    (@setter_shape Directory, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        settings!(@setter_optional $field, $setter, $summary, $($doc)*);
    };
    (@setter_shape $kind:ident $(<$int:ty>)?, $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        #[doc = $summary]
        #[doc = ""]
        $(#[doc = $doc])*
        pub fn $setter(mut self, $field: settings!(@ty $kind $(<$int>)?)) -> Self {
            self.config_mut().$field = $field;
            self
        }
    };
    (@setter_optional $field:ident, $setter:ident, $summary:expr, $($doc:literal)*) => {
        #[doc = $summary]
        #[doc = ""]
        $(#[doc = $doc])*
        pub fn $setter(mut self, $field: impl Into<String>) -> Self {
            self.config_mut().$field = Some($field.into());
            self
        }
    };
}

pub(super) use settings;
