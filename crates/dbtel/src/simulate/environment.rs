//! The library's `DATABRICKS_TELEMETRY_*` environment variables, read as a driver reads them:
//! a flag given wins (it stands for the driver's option), then the variable, then simulate's
//! default (the driver's default). The library itself resolves them
//! ([`TelemetryConfig::from_options_with_defaults_and_env`]), so simulate follows its rules
//! exactly: a variable that does not parse, is out of range or breaks a rule with another
//! setting is ignored, as in a driver. What came from where is in the report.

use std::time::Duration;

use databricks_telemetry::{ConfigError, ConfigValue, TelemetryConfig};
use serde::Serialize;

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Source {
    /// A flag given on the command line.
    Flag,
    /// Its `DATABRICKS_TELEMETRY_*` variable.
    Environment,
    /// Simulate's default (its variable, if set, was ignored: the report says why).
    Default,
}

/// One setting a variable can set, as the run used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SettingOrigin {
    /// The option key after the prefix, e.g. `batch_size`.
    pub(crate) setting: &'static str,
    /// The value the run used.
    pub(crate) value: String,
    /// Where it came from.
    pub(crate) source: Source,
    /// The variable that can set it.
    pub(crate) variable: &'static str,
    /// The variable's value when it was set but not used (a flag won, or the library ignored
    /// it), escaped and cut short; `null` otherwise.
    pub(crate) ignored: Option<String>,
}

impl SettingOrigin {
    /// `batch_size 100 (flag; DATABRICKS_TELEMETRY_BATCH_SIZE="7" not used)`.
    pub(crate) fn describe(&self) -> String {
        let source = match self.source {
            Source::Flag => "flag".to_owned(),
            Source::Environment => format!("environment: {}", self.variable),
            Source::Default => "default".to_owned(),
        };
        let ignored = self
            .ignored
            .as_ref()
            .map(|value| format!("; {}={value} not used", self.variable))
            .unwrap_or_default();
        format!("{} {} ({source}{ignored})", self.setting, self.value)
    }
}

/// The variables, the setting each sets, as the library documents them.
pub(crate) const VARIABLES: [(&str, &str); 3] = [
    ("enabled", "DATABRICKS_TELEMETRY_ENABLED"),
    ("batch_size", "DATABRICKS_TELEMETRY_BATCH_SIZE"),
    (
        "flush_interval_ms",
        "DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS",
    ),
];

/// The settings a variable can set, with where each came from.
#[derive(Debug, Clone)]
pub(crate) struct EnvironmentSettings {
    pub(crate) enabled: bool,
    pub(crate) batch_size: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) origins: Vec<SettingOrigin>,
}

/// What the flags say about the settings a variable can set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flagged {
    /// `--batch-size`, if given, and simulate's default.
    pub(crate) batch_size: (Option<usize>, usize),
    /// `--flush-interval-ms`, if given, and simulate's default.
    pub(crate) flush_interval_ms: (Option<u64>, u64),
    /// `--max-queue-size` (the rule `batch_size <= max_queue_size` needs it).
    pub(crate) max_queue_size: usize,
}

/// Resolves the settings with `env` (a variable's value by name).
///
/// # Errors
///
/// The library's error for a flag's bad value (a variable's bad value is ignored, not an error).
pub(crate) fn resolve(
    flagged: Flagged,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvironmentSettings, ConfigError> {
    let defaults = Defaults {
        enabled: true,
        batch_size: flagged.batch_size.1,
        flush_interval_ms: flagged.flush_interval_ms.1,
    };
    let config = read(&defaults, flagged, env)?;
    let mut origins = Vec::with_capacity(VARIABLES.len());
    for (index, (setting, variable)) in VARIABLES.iter().copied().enumerate() {
        let given = match index {
            0 => false,
            1 => flagged.batch_size.0.is_some(),
            _ => flagged.flush_interval_ms.0.is_some(),
        };
        let value = match index {
            0 => config.enabled().to_string(),
            1 => config.batch_size().to_string(),
            _ => config.flush_interval().as_millis().to_string(),
        };
        let set = env(variable);
        let source = if given {
            Source::Flag
        } else if set.is_some() && used_from_env(index, &defaults, flagged, env)? {
            Source::Environment
        } else {
            Source::Default
        };
        let ignored = match source {
            Source::Environment => None,
            _ => set.map(|value| escaped(&value)),
        };
        origins.push(SettingOrigin {
            setting,
            value,
            source,
            variable,
            ignored,
        });
    }
    Ok(EnvironmentSettings {
        enabled: config.enabled(),
        batch_size: config.batch_size(),
        flush_interval: config.flush_interval(),
        origins,
    })
}

/// Simulate's defaults for the settings (the driver's defaults, in the library's terms).
#[derive(Debug, Clone, Copy)]
struct Defaults {
    enabled: bool,
    batch_size: usize,
    flush_interval_ms: u64,
}

fn read(
    defaults: &Defaults,
    flagged: Flagged,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TelemetryConfig, ConfigError> {
    let key = |name: &str| format!("{}{name}", TelemetryConfig::OPTION_PREFIX);
    let default_values: Vec<(String, ConfigValue)> = vec![
        (key("enabled"), defaults.enabled.into()),
        (key("batch_size"), int(defaults.batch_size as u64)),
        (key("flush_interval_ms"), int(defaults.flush_interval_ms)),
    ];
    let mut options: Vec<(String, ConfigValue)> =
        vec![(key("max_queue_size"), int(flagged.max_queue_size as u64))];
    if let Some(batch_size) = flagged.batch_size.0 {
        options.push((key("batch_size"), int(batch_size as u64)));
    }
    if let Some(flush) = flagged.flush_interval_ms.0 {
        options.push((key("flush_interval_ms"), int(flush)));
    }
    TelemetryConfig::from_options_with_defaults_and_env(default_values, options, env)
}

/// An integer option (the library's integer values are `i64`; larger is out of range anyway).
fn int(value: u64) -> ConfigValue {
    i64::try_from(value).unwrap_or(i64::MAX).into()
}

/// Whether the library took setting `index` from its variable: then the result does not depend
/// on the default (the run is read again with another default for it).
fn used_from_env(
    index: usize,
    defaults: &Defaults,
    flagged: Flagged,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<bool, ConfigError> {
    let mut other = *defaults;
    match index {
        0 => other.enabled = !defaults.enabled,
        1 => other.batch_size = if defaults.batch_size > 1 { 1 } else { 2 },
        _ => {
            other.flush_interval_ms = if defaults.flush_interval_ms > 10 {
                defaults.flush_interval_ms - 1
            } else {
                defaults.flush_interval_ms + 1
            }
        }
    }
    let first = read(defaults, flagged, env)?;
    let Ok(second) = read(&other, flagged, env) else {
        // The other default breaks a rule (a batch of 2 over a queue of 1): compare the text.
        let value = env(VARIABLES[index].1).unwrap_or_default();
        return Ok(value.trim() == defaults.batch_size.to_string());
    };
    Ok(match index {
        0 => first.enabled() == second.enabled(),
        1 => first.batch_size() == second.batch_size(),
        _ => first.flush_interval() == second.flush_interval(),
    })
}

/// The spool's variables, each with its setting: read when `--spool`, `--spool-max-bytes` or
/// `--spool-max-age-ms` is not given.
pub(crate) const SPOOL_VARIABLES: [(&str, &str); 3] = [
    ("spool_dir", "DATABRICKS_TELEMETRY_SPOOL_DIR"),
    ("spool_max_bytes", "DATABRICKS_TELEMETRY_SPOOL_MAX_BYTES"),
    ("spool_max_age_ms", "DATABRICKS_TELEMETRY_SPOOL_MAX_AGE_MS"),
];

/// The spool's settings as the run uses them, with where each came from.
#[derive(Debug, Clone)]
pub(crate) struct SpoolSettings {
    /// The spool directory (`--spool`), if any.
    pub(crate) dir: Option<std::path::PathBuf>,
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Duration,
    pub(crate) origins: Vec<SettingOrigin>,
}

/// Resolves the spool's settings: a flag given wins, then its variable (as the library reads
/// it: a bad value is ignored), then the library's default.
///
/// # Errors
///
/// The library's error for a flag's bad value.
pub(crate) fn resolve_spool(
    dir: Option<&std::path::Path>,
    max_bytes: Option<u64>,
    max_age_ms: Option<u64>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SpoolSettings, ConfigError> {
    let key = |name: &str| format!("{}{name}", TelemetryConfig::OPTION_PREFIX);
    let flags: [Option<ConfigValue>; 3] = [
        dir.map(|dir| dir.display().to_string().into()),
        max_bytes.map(int),
        max_age_ms.map(int),
    ];
    let options: Vec<(String, ConfigValue)> = SPOOL_VARIABLES
        .iter()
        .zip(&flags)
        .filter_map(|((setting, _), flag)| flag.clone().map(|value| (key(setting), value)))
        .collect();
    let config = TelemetryConfig::from_options_with_env(options, env)?;
    let values = [
        config.spool_dir().unwrap_or("off").to_owned(),
        config.spool_max_bytes().to_string(),
        config.spool_max_age().as_millis().to_string(),
    ];
    let mut origins = Vec::with_capacity(SPOOL_VARIABLES.len());
    for (((setting, variable), flag), value) in SPOOL_VARIABLES.iter().zip(&flags).zip(values) {
        let set = env(variable);
        // The library ignores a variable it cannot use: one it would take as an option.
        let usable = set.as_ref().is_some_and(|text| {
            TelemetryConfig::from_options([(key(setting), text.as_str())]).is_ok()
        });
        let source = match (flag.is_some(), usable) {
            (true, _) => Source::Flag,
            (false, true) => Source::Environment,
            (false, false) => Source::Default,
        };
        let ignored = match source {
            Source::Environment => None,
            _ => set.map(|value| escaped(&value)),
        };
        origins.push(SettingOrigin {
            setting,
            value,
            source,
            variable,
            ignored,
        });
    }
    Ok(SpoolSettings {
        dir: config.spool_dir().map(std::path::PathBuf::from),
        max_bytes: config.spool_max_bytes(),
        max_age: config.spool_max_age(),
        origins,
    })
}

/// A variable's value as the report shows it: quoted, control characters escaped, at most 40
/// characters.
fn escaped(value: &str) -> String {
    let cut: String = value.chars().take(40).collect();
    let more = if value.chars().count() > 40 {
        "…"
    } else {
        ""
    };
    format!("\"{}{more}\"", cut.escape_debug())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(batch: Option<usize>, flush: Option<u64>) -> Flagged {
        Flagged {
            batch_size: (batch, 100),
            flush_interval_ms: (flush, 200),
            max_queue_size: 10_000,
        }
    }

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn flags_win_then_the_environment_then_the_default() {
        let env = env_of(&[
            ("DATABRICKS_TELEMETRY_ENABLED", "false"),
            ("DATABRICKS_TELEMETRY_BATCH_SIZE", "7"),
            ("DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS", "300"),
        ]);
        let settings = resolve(flagged(Some(50), None), &env).unwrap();
        assert!(!settings.enabled);
        assert_eq!(settings.batch_size, 50);
        assert_eq!(settings.flush_interval, Duration::from_millis(300));
        let sources: Vec<Source> = settings.origins.iter().map(|o| o.source).collect();
        assert_eq!(
            sources,
            [Source::Environment, Source::Flag, Source::Environment]
        );
        assert_eq!(settings.origins[1].ignored.as_deref(), Some("\"7\""));
        assert_eq!(
            settings.origins[0].describe(),
            "enabled false (environment: DATABRICKS_TELEMETRY_ENABLED)"
        );
    }

    #[test]
    fn without_variables_everything_is_the_default() {
        let settings = resolve(flagged(None, Some(70)), &|_| None).unwrap();
        assert!(settings.enabled);
        assert_eq!(settings.batch_size, 100);
        assert_eq!(settings.flush_interval, Duration::from_millis(70));
        let sources: Vec<Source> = settings.origins.iter().map(|o| o.source).collect();
        assert_eq!(sources, [Source::Default, Source::Default, Source::Flag]);
    }

    #[test]
    fn a_bad_variable_is_ignored_as_in_a_driver_and_said_so() {
        let env = env_of(&[
            ("DATABRICKS_TELEMETRY_ENABLED", "nope\u{1b}[2J"),
            ("DATABRICKS_TELEMETRY_BATCH_SIZE", "20000"),
            ("DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS", "200"),
        ]);
        let settings = resolve(flagged(None, None), &env).unwrap();
        assert!(settings.enabled);
        assert_eq!(settings.batch_size, 100);
        let sources: Vec<Source> = settings.origins.iter().map(|o| o.source).collect();
        // The flush interval's variable equals the default: still the environment's value.
        assert_eq!(
            sources,
            [Source::Default, Source::Default, Source::Environment]
        );
        assert_eq!(
            settings.origins[0].ignored.as_deref(),
            Some("\"nope\\u{1b}[2J\"")
        );
        assert!(settings.origins[0]
            .describe()
            .contains("DATABRICKS_TELEMETRY_ENABLED=\"nope\\u{1b}[2J\" not used"));
    }

    #[test]
    fn the_variables_are_the_ones_the_library_reads() {
        let asked = std::cell::RefCell::new(Vec::new());
        let env = |name: &str| {
            asked.borrow_mut().push(name.to_owned());
            None
        };
        TelemetryConfig::from_options_with_env(Vec::<(String, String)>::new(), env).unwrap();
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut ours: Vec<String> = VARIABLES
            .iter()
            .chain(&SPOOL_VARIABLES)
            .map(|(_, v)| (*v).to_owned())
            .collect();
        ours.sort();
        assert_eq!(asked, ours);
    }

    #[test]
    fn the_spool_settings_come_from_flags_then_the_environment() {
        let env = env_of(&[
            ("DATABRICKS_TELEMETRY_SPOOL_DIR", "/var/spool/dbtel"),
            ("DATABRICKS_TELEMETRY_SPOOL_MAX_BYTES", "not a number"),
            ("DATABRICKS_TELEMETRY_SPOOL_MAX_AGE_MS", "60000"),
        ]);
        let settings = resolve_spool(None, Some(1 << 20), None, &env).unwrap();
        assert_eq!(
            settings.dir.as_deref(),
            Some(std::path::Path::new("/var/spool/dbtel"))
        );
        assert_eq!(settings.max_bytes, 1 << 20);
        assert_eq!(settings.max_age, Duration::from_secs(60));
        let sources: Vec<Source> = settings.origins.iter().map(|o| o.source).collect();
        assert_eq!(
            sources,
            [Source::Environment, Source::Flag, Source::Environment]
        );
        assert_eq!(
            settings.origins[1].ignored.as_deref(),
            Some("\"not a number\"")
        );

        let flagged =
            resolve_spool(Some(std::path::Path::new("/tmp/s")), None, None, &env).unwrap();
        assert_eq!(flagged.dir.as_deref(), Some(std::path::Path::new("/tmp/s")));
        assert_eq!(flagged.origins[0].source, Source::Flag);

        let none = resolve_spool(None, None, None, &|_| None).unwrap();
        assert_eq!(none.dir, None);
        assert_eq!(none.max_bytes, 67_108_864);
        assert!(none.origins.iter().all(|o| o.source == Source::Default));
    }
}
