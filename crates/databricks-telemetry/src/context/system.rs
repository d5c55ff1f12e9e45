//! Detection of [`DriverSystemConfiguration`] from the running process.

use std::sync::OnceLock;

use crate::model::DriverSystemConfiguration;

impl DriverSystemConfiguration {
    /// Describes the running process for a driver called `driver_name` at `driver_version`:
    /// runtime (Rust and the compiler version it was built with), OS name, version and
    /// architecture, process name (the executable's file name, never its path), locale and
    /// character set. The process is inspected once; later calls reuse what was found.
    ///
    /// ```
    /// use databricks_telemetry::model::DriverSystemConfiguration;
    ///
    /// let config = DriverSystemConfiguration::detect("Databricks ADBC Rust", "0.1.0");
    /// assert_eq!(config.driver_name.as_deref(), Some("Databricks ADBC Rust"));
    /// assert_eq!(config.os_arch.as_deref(), Some(std::env::consts::ARCH));
    /// ```
    pub fn detect(driver_name: &str, driver_version: &str) -> Self {
        static PROCESS: OnceLock<DriverSystemConfiguration> = OnceLock::new();
        let mut config = PROCESS.get_or_init(detect_process).clone();
        config.driver_name = Some(driver_name.to_owned());
        config.driver_version = Some(driver_version.to_owned());
        config
    }
}

fn detect_process() -> DriverSystemConfiguration {
    let (locale, charset) = locale_from(|name| std::env::var(name).ok());
    let rustc = env!("DATABRICKS_TELEMETRY_RUSTC_VERSION");
    DriverSystemConfiguration {
        runtime_name: Some("Rust".to_owned()),
        runtime_version: (!rustc.is_empty()).then(|| rustc.to_owned()),
        runtime_vendor: Some("The Rust Project".to_owned()),
        os_name: Some(std::env::consts::OS.to_owned()),
        os_version: os_version(),
        os_arch: Some(std::env::consts::ARCH.to_owned()),
        locale_name: Some(locale),
        char_set_encoding: Some(charset),
        process_name: process_name(),
        ..DriverSystemConfiguration::default()
    }
}

fn os_version() -> Option<String> {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    } else {
        None
    }
}

fn process_name() -> Option<String> {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// Locale and character set from `LC_ALL`, `LC_CTYPE` or `LANG` (the first set and non-empty),
/// e.g. `en_US.UTF-8` gives (`en_US`, `UTF-8`). Without one: (`C`, `UTF-8`); Rust strings are
/// UTF-8 whatever the locale says.
pub(crate) fn locale_from(var: impl Fn(&str) -> Option<String>) -> (String, String) {
    let raw = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|name| var(name))
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "C".to_owned());
    let without_modifier = raw.split('@').next().unwrap_or("C").trim();
    match without_modifier.split_once('.') {
        Some((locale, charset)) if !charset.is_empty() => (locale.to_owned(), charset.to_owned()),
        Some((locale, _)) => (locale.to_owned(), "UTF-8".to_owned()),
        None => (without_modifier.to_owned(), "UTF-8".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::locale_from;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn locale_precedence_and_parsing() {
        assert_eq!(locale_from(env(&[])), ("C".into(), "UTF-8".into()));
        assert_eq!(
            locale_from(env(&[("LANG", "en_US.UTF-8")])),
            ("en_US".into(), "UTF-8".into())
        );
        assert_eq!(
            locale_from(env(&[
                ("LANG", "en_US.UTF-8"),
                ("LC_ALL", "de_DE.ISO-8859-1@euro")
            ])),
            ("de_DE".into(), "ISO-8859-1".into())
        );
        assert_eq!(
            locale_from(env(&[("LC_ALL", ""), ("LC_CTYPE", "fr_FR")])),
            ("fr_FR".into(), "UTF-8".into())
        );
    }
}
