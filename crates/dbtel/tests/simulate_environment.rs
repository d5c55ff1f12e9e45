//! `dbtel simulate` reads the library's `DATABRICKS_TELEMETRY_*` variables as a driver does: a
//! flag given wins, then the variable, then simulate's default; the report says which.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The bound on every run in these tests.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `dbtel simulate` with a small workload, `args` and exactly the `DATABRICKS_*` variables
/// in `envs`, within [`DEADLINE`]; its output and JSON report.
fn simulate(args: &[&str], envs: &[(&str, &str)]) -> (Output, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbtel"));
    command
        .args([
            "simulate",
            "--connections",
            "2",
            "--statements",
            "20",
            "--rate",
            "0",
            "--json",
        ])
        .args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("DATABRICKS_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let child = command
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dbtel");
    let id = child.id();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    let output = match done_rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for dbtel"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("dbtel did not finish within {DEADLINE:?}");
        }
    };
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

/// The report's entry for `setting`.
fn origin<'a>(report: &'a Value, setting: &str) -> &'a Value {
    report["settings"]
        .as_array()
        .and_then(|settings| settings.iter().find(|s| s["setting"] == setting))
        .unwrap_or_else(|| panic!("no {setting} in {report}"))
}

#[test]
fn telemetry_enabled_false_in_the_environment_sends_nothing_and_says_so() {
    let (output, report) = simulate(&[], &[("DATABRICKS_TELEMETRY_ENABLED", "false")]);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(report["telemetry_enabled"], false, "{report}");
    assert!(report["generated"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["enqueued"], 0, "{report}");
    assert_eq!(report["exported"], 0, "{report}");
    assert_eq!(report["endpoint_received"], 0, "{report}");
    assert_eq!(report["accounted"], true, "{report}");
    let enabled = origin(&report, "enabled");
    assert_eq!(enabled["source"], "environment", "{report}");
    assert_eq!(enabled["value"], "false");
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_default() {
    let (output, report) = simulate(
        &["--flush-interval-ms", "100"],
        &[
            ("DATABRICKS_TELEMETRY_BATCH_SIZE", "7"),
            ("DATABRICKS_TELEMETRY_FLUSH_INTERVAL_MS", "5000"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{report}");
    let batch = origin(&report, "batch_size");
    assert_eq!(batch["value"], "7", "{report}");
    assert_eq!(batch["source"], "environment");
    let flush = origin(&report, "flush_interval_ms");
    assert_eq!(flush["value"], "100", "{report}");
    assert_eq!(flush["source"], "flag");
    assert_eq!(flush["ignored"], "\"5000\"");
    let enabled = origin(&report, "enabled");
    assert_eq!(enabled["source"], "default");
    // Batches of 7: the endpoints saw more uploads than 64 events in batches of 100 need.
    assert!(report["requests"].as_u64().unwrap() >= 10, "{report}");
    assert_eq!(report["accounted"], true, "{report}");
}

#[test]
fn a_bad_variable_is_ignored_as_a_driver_ignores_it_and_named() {
    let (output, report) = simulate(&[], &[("DATABRICKS_TELEMETRY_BATCH_SIZE", "lots")]);
    assert_eq!(output.status.code(), Some(0), "{report}");
    let batch = origin(&report, "batch_size");
    assert_eq!(batch["source"], "default", "{report}");
    assert_eq!(batch["value"], "100");
    assert_eq!(batch["ignored"], "\"lots\"");
    assert_eq!(report["exported"], report["generated"], "{report}");
}
