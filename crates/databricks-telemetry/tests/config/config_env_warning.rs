//! A bad `DATABRICKS_TELEMETRY_*` variable is ignored with one warning naming it, at most once
//! per variable per process. The "once" is per process, so this file holds a single test: no
//! other test in this process can have warned first. The environment is injected.

use std::io;
use std::sync::{Arc, Mutex};

use databricks_telemetry::TelemetryConfig;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// What was written since the last call.
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[test]
fn a_bad_variable_is_ignored_with_one_warning_naming_it_once_per_process() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "a_bad_variable_is_ignored_with_one_warning_naming_it_once_per_process",
    ) {
        return;
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let none: [(&str, &str); 0] = [];
    tracing::subscriber::with_default(subscriber, || {
        // A value that breaks a rule with an option: ignored, one warning naming the variable
        // and the rule.
        let options = [("databricks.telemetry.max_queue_size", 100)];
        let big_batch = env_of(&[("DATABRICKS_TELEMETRY_BATCH_SIZE", "500")]);
        let config = TelemetryConfig::from_options_with_env(options, &big_batch).unwrap();
        assert_eq!(config.batch_size(), 100);
        assert_eq!(config.max_queue_size(), 100);
        let warned = buffer.take();
        assert_eq!(warned.lines().count(), 1, "{warned}");
        assert!(warned.contains(" WARN "), "{warned}");
        assert!(
            warned.contains(
                "ignoring the environment variable DATABRICKS_TELEMETRY_BATCH_SIZE (this warning \
                 is not repeated): DATABRICKS_TELEMETRY_BATCH_SIZE (500) must not exceed \
                 databricks.telemetry.max_queue_size (100)"
            ),
            "{warned}"
        );

        // The same variable again, and bad in another way: still ignored, not warned about
        // again.
        TelemetryConfig::from_options_with_env(options, &big_batch).unwrap();
        let bad_batch = env_of(&[("DATABRICKS_TELEMETRY_BATCH_SIZE", "lots")]);
        let config = TelemetryConfig::from_options_with_env(none, &bad_batch).unwrap();
        assert_eq!(config, TelemetryConfig::default());
        assert_eq!(buffer.take(), "", "a second warning for the same variable");

        // Another variable gets its own one warning, with its value and what was expected.
        let bad_flush = env_of(&[("DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS", "5s")]);
        for _ in 0..3 {
            let config = TelemetryConfig::from_options_with_env(none, &bad_flush).unwrap();
            assert_eq!(config, TelemetryConfig::default());
        }
        let warned = buffer.take();
        assert_eq!(warned.lines().count(), 1, "{warned}");
        assert!(
            warned.contains(
                "ignoring the environment variable DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS (this \
                 warning is not repeated): invalid value \"5s\" for \
                 DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS: expected a number of milliseconds from \
                 10 to 3600000"
            ),
            "{warned}"
        );

        // A good variable warns about nothing.
        let good = env_of(&[("DATABRICKS_TELEMETRY_ENABLED", "false")]);
        assert!(!TelemetryConfig::from_options_with_env(none, &good)
            .unwrap()
            .enabled());
        assert_eq!(buffer.take(), "");
    });
}
