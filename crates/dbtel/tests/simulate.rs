//! `dbtel simulate` as a user runs it: the built binary against embedded and external endpoints,
//! with and without an outage, and with bad flags.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

/// The bound on every run in these tests.
const DEADLINE: Duration = Duration::from_secs(30);

/// Flags that keep a run small and quick.
const SMALL: &[&str] = &["--connections", "4", "--statements", "25", "--rate", "0"];

/// Runs `dbtel ARGS` with `envs`, within [`DEADLINE`].
fn dbtel(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbtel"));
    command
        .args(args)
        .env_remove("DATABRICKS_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let child = command.spawn().expect("spawn dbtel");
    let id = child.id();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    match done_rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for dbtel"),
        Err(_) => {
            // Only the process this test started.
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("dbtel {args:?} did not finish within {DEADLINE:?}");
        }
    }
}

/// Runs `dbtel simulate --json ARGS`, expects exit 0, and parses the report.
fn simulate_json(args: &[&str], envs: &[(&str, &str)]) -> Value {
    let mut all = vec!["simulate", "--json"];
    all.extend_from_slice(args);
    let output = dbtel(&all, envs);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
    serde_json::from_str(&stdout).expect("the report is JSON")
}

fn u(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a count in {report}"))
}

fn f(report: &Value, field: &str) -> f64 {
    report[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {report}"))
}

/// Every reason an event can be dropped for, as the report names them.
const DROP_REASONS: [&str; 9] = [
    "queue_full",
    "export_failed",
    "closed_before_delivery",
    "after_close",
    "disabled_by_server",
    "credentials_failed",
    "spool_full",
    "spool_expired",
    "spool_corrupt",
];

/// All dropped events of a report.
fn dropped_total(report: &Value) -> u64 {
    let dropped = &report["dropped"];
    assert!(
        dropped.get("circuit_open").is_none(),
        "an open breaker no longer drops: {dropped}"
    );
    assert_eq!(
        dropped.as_object().unwrap().len(),
        DROP_REASONS.len(),
        "{dropped}"
    );
    DROP_REASONS.iter().map(|reason| u(dropped, reason)).sum()
}

/// Checks the fields the issue asks for, that they are sane, and that every event is
/// accounted for.
fn assert_accounted(report: &Value) {
    for field in [
        "generated",
        "enqueued",
        "exported",
        "pending",
        "requests",
        "elapsed_s",
        "events_per_s",
        "endpoint_received",
        "hosts",
        "dropped",
        "lanes",
        "identities",
        "telemetry_threads_peak",
        "rss_peak_mib",
        "release_ms_max",
        "last_export_s",
        "shutdown",
        "shutdown_s",
    ] {
        assert!(report.get(field).is_some(), "{field} missing from {report}");
    }
    let dropped_total = dropped_total(report);
    assert!(u(report, "generated") > 0);
    assert_eq!(u(report, "generated"), u(report, "enqueued"));
    assert_eq!(
        u(report, "enqueued"),
        u(report, "exported") + dropped_total + u(report, "pending")
    );
    assert_eq!(u(report, "pending"), 0);
    assert_eq!(report["accounted"], true, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["shutdown"], "completed", "{report}");
    let hosts = report["hosts"].as_array().unwrap();
    let host_exported: u64 = hosts.iter().map(|h| u(h, "exported")).sum();
    assert_eq!(host_exported, u(report, "exported"));
    // One lane per (host, identity), each host's own.
    let lanes = u(report, "lanes");
    assert_eq!(lanes, hosts.len() as u64 * u(report, "identities"));
    assert_eq!(hosts.iter().map(|h| u(h, "lanes")).sum::<u64>(), lanes);
    // One export worker per host at most (a static token needs no credentials helper).
    let threads = u(report, "telemetry_threads_peak");
    assert!(
        (1..=hosts.len() as u64).contains(&threads),
        "{threads} threads"
    );
    // The process's peak memory: more than nothing, far less than a gigabyte.
    let rss = f(report, "rss_peak_mib");
    assert!(rss > 1.0 && rss < 1024.0, "{rss} MiB");
    // A release never waits for the lane to drain.
    let release = f(report, "release_ms_max");
    assert!(
        (0.0..100.0).contains(&release),
        "a release took {release} ms"
    );
    // Events per second count until the last export, which comes after the first event and
    // by the end of the shutdown.
    if u(report, "exported") > 0 {
        let last = f(report, "last_export_s");
        let end = f(report, "elapsed_s") + f(report, "shutdown_s");
        assert!(
            last > 0.0 && last <= end + 0.1,
            "last export {last} s, end {end} s"
        );
        // Both rounded to milliseconds' precision in the report.
        let exported = u(report, "exported") as f64;
        let (low, high) = (
            exported / (last + 0.001),
            exported / (last - 0.001).max(1e-6),
        );
        let rate = f(report, "events_per_s");
        assert!(rate >= low - 0.01 && rate <= high + 0.01, "{report}");
    }
    for host in hosts {
        for field in [
            "breaker_opened",
            "breaker_half_opened",
            "breaker_closed",
            "exported",
        ] {
            assert!(host[field].is_u64(), "{field} missing from {host}");
        }
        assert!(host["host"].as_str().unwrap().starts_with("127.0.0.1:"));
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dbtel-simulate-{}-{name}", std::process::id()))
}

#[test]
fn embedded_run_accounts_for_every_event() {
    let report = simulate_json(&[SMALL, &["--hosts", "3"]].concat(), &[]);
    assert_accounted(&report);
    assert_eq!(u(&report, "connections"), 4);
    assert_eq!(u(&report, "statements"), 100);
    // Nothing failed, so everything reached the endpoints, which counted it themselves.
    assert_eq!(u(&report, "exported"), u(&report, "generated"));
    assert_eq!(u(&report, "endpoint_received"), u(&report, "exported"));
    assert_eq!(u(&report, "endpoint_duplicates"), 0);
    // They count what they accept without keeping it (a long run would hold every event).
    assert_eq!(u(&report, "endpoint_logs_kept"), 0);
    assert!(u(&report, "requests") >= 3, "at least one upload per host");
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    let distinct: std::collections::HashSet<&str> =
        hosts.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 3, "each host is its own host key");
    for host in hosts {
        assert_eq!(u(host, "breaker_opened"), 0);
        assert_eq!(u(host, "endpoint_received"), u(host, "exported"));
    }
}

#[test]
fn text_report_says_everything_is_accounted_for() {
    let output = dbtel(&[&["simulate"], SMALL].concat(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("events    generated"), "{stdout}");
    assert!(
        stdout.contains("accounting: every event accounted for"),
        "{stdout}"
    );
}

#[test]
fn external_endpoint_with_a_token_from_the_environment() {
    let token = "dapi-test-secret-0123456789";
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default().with_token(token)).unwrap();
    let url = endpoint.base_url();
    let output = dbtel(
        &[
            &[
                "simulate",
                "--json",
                "--endpoint",
                &url,
                "--allow-insecure-http",
            ],
            SMALL,
        ]
        .concat(),
        &[("DATABRICKS_TOKEN", token)],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(token) && !stderr.contains(token),
        "token printed"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["endpoint_received"], Value::Null);
    let dropped = &report["dropped"];
    assert_eq!(
        u(dropped, "disabled_by_server"),
        0,
        "the flag was fetched with the token"
    );
    // The external endpoint saw exactly what the library counted as exported.
    let stats = endpoint.stats();
    assert_eq!(stats.logs_accepted, u(&report, "exported"));
    assert_eq!(stats.logs_accepted, u(&report, "generated"));
    assert_eq!(stats.uploads_unauthorized, 0);
    assert_eq!(report["hosts"].as_array().unwrap().len(), 1);
}

#[test]
fn outage_opens_the_breaker_holds_the_events_and_delivers_them_after() {
    let started = Instant::now();
    let report = simulate_json(
        &[
            "--connections",
            "4",
            "--hosts",
            "2",
            "--statements",
            "300",
            "--rate",
            "800",
            "--outage",
            "503:400ms@200ms",
            "--batch-size",
            "10",
            "--flush-interval-ms",
            "20",
            "--circuit-breaker-threshold",
            "2",
            "--circuit-breaker-timeout-ms",
            "100",
        ],
        &[],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_accounted(&report);
    assert!(report["outage"]["started_at_s"].as_f64().unwrap() >= 0.2);
    // Uploads failed during the outage, and nothing was lost: the lanes held the events.
    assert!(u(&report, "batches_failed") > 0, "{report}");
    assert_eq!(dropped_total(&report), 0, "{report}");
    assert_eq!(u(&report, "exported"), u(&report, "generated"));
    for host in report["hosts"].as_array().unwrap() {
        assert!(u(host, "breaker_opened") >= 1, "{host}");
        assert!(u(host, "breaker_half_opened") >= 1, "{host}");
        assert!(u(host, "breaker_closed") >= 1, "{host}");
        assert_eq!(host["breaker_state"], "closed", "{host}");
    }
}

#[test]
fn duration_bounds_a_paced_run() {
    let report = simulate_json(
        &[
            "--connections",
            "2",
            "--duration",
            "300ms",
            "--rate",
            "2000",
        ],
        &[],
    );
    assert_accounted(&report);
    let elapsed = report["elapsed_s"].as_f64().unwrap();
    assert!((0.3..5.0).contains(&elapsed), "{elapsed}");
    // At 2000 events/s for 0.3 s: at most 600 events and the two sessions' opens and closes, a
    // few more for a step in flight at the deadline.
    let generated = u(&report, "generated");
    assert!((100..=620).contains(&generated), "{generated}");
    assert!(u(&report, "statements") > 0);
}

#[test]
fn capture_is_what_the_endpoints_accepted() {
    let capture = temp_path("capture.jsonl");
    let report = simulate_json(
        &[SMALL, &["--capture", capture.to_str().unwrap()]].concat(),
        &[],
    );
    assert_accounted(&report);
    let lines = std::fs::read_to_string(&capture).unwrap();
    let _ = std::fs::remove_file(&capture);
    assert_eq!(lines.lines().count() as u64, u(&report, "exported"));
    assert_eq!(u(&report["capture"], "events"), u(&report, "exported"));
    assert_eq!(u(&report, "endpoint_logs_kept"), u(&report, "exported"));
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for (args, message) in [
        (
            &["--no-such-flag"][..],
            "unexpected argument '--no-such-flag'",
        ),
        (
            &["--batch-size", "0"][..],
            "--batch-size: invalid value \"0\" for adbc.databricks.telemetry.batch_size",
        ),
        (
            &["--batch-size", "500", "--max-queue-size", "100"][..],
            "must not exceed adbc.databricks.telemetry.max_queue_size",
        ),
        (
            &["--outage", "503:2s"][..],
            "invalid outage \"503:2s\": no @START",
        ),
        (&["--outage", "teapot:2s@1s"][..], "KIND \"teapot\""),
        (
            &[
                "--hosts",
                "3",
                "--endpoint",
                "http://127.0.0.1:9",
                "--endpoint",
                "http://127.0.0.1:10",
            ][..],
            "--hosts 3 does not match the 2 --endpoint URLs",
        ),
        (
            &["--endpoint", "http://127.0.0.1:9"][..],
            "plain http needs --allow-insecure-http",
        ),
        (
            &["--endpoint", "http://127.0.0.1:9", "--outage", "503:1s@0s"][..],
            "--outage needs the embedded endpoints",
        ),
        (&["--connections", "0"][..], "--connections"),
        (
            &["--connections", "1", "--hosts", "2"][..],
            "--connections 1 is fewer than the 2 hosts",
        ),
        (
            &["--connections", "5", "--hosts", "2", "--identities", "3"][..],
            "--connections 5 is fewer than 6 (2 hosts x --identities 3)",
        ),
        (&["--identities", "0"][..], "--identities"),
        (
            &[
                "--endpoint",
                "http://127.0.0.1:9",
                "--allow-insecure-http",
                "--identities",
                "2",
            ][..],
            "--identities 2 needs a token",
        ),
        (&["--rate", "1e-30"][..], "at least one a day"),
    ] {
        let output = dbtel(&[&["simulate"], args].concat(), &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed a report");
    }
}

#[test]
fn the_token_is_never_printed() {
    let token = "dapi-never-print-me-42";
    let output = dbtel(&[&["simulate", "--token", token], SMALL].concat(), &[]);
    assert_eq!(output.status.code(), Some(0));
    let help = dbtel(&["simulate", "--help"], &[("DATABRICKS_TOKEN", token)]);
    assert_eq!(help.status.code(), Some(0));
    for printed in [&output.stdout, &output.stderr, &help.stdout, &help.stderr] {
        assert!(!String::from_utf8_lossy(printed).contains(token));
    }
}

#[test]
fn the_readme_main_job_drops_nothing() {
    // `cargo run --release -p dbtel -- simulate --outage 503:2s@1s`: the lanes hold their
    // events through the outage and deliver them once the breaker lets a probe through.
    let report = simulate_json(&["--outage", "503:2s@1s"], &[]);
    assert_accounted(&report);
    assert_eq!(dropped_total(&report), 0, "{report}");
    assert_eq!(u(&report, "pending"), 0);
    assert_eq!(u(&report, "exported"), u(&report, "generated"));
    assert!(
        u(&report, "batches_failed") > 0,
        "the outage happened: {report}"
    );
    for host in report["hosts"].as_array().unwrap() {
        assert!(u(host, "breaker_opened") >= 1, "{host}");
        assert!(u(host, "breaker_closed") >= 1, "{host}");
        assert_eq!(host["breaker_state"], "closed", "{host}");
    }
}

#[test]
fn a_release_returns_at_once_while_the_endpoint_hangs() {
    // Every connection closes while uploads hang; the lanes keep their events, deliver them
    // after the outage within their close timeout, and no release waited for them.
    let report = simulate_json(
        &[
            "--connections",
            "4",
            "--statements",
            "10",
            "--rate",
            "0",
            "--outage",
            "hang:2s@0s",
        ],
        &[],
    );
    assert_accounted(&report);
    assert_eq!(dropped_total(&report), 0, "{report}");
    assert!(
        f(&report, "shutdown_s") > 0.5,
        "the lanes were still draining when the connections closed: {report}"
    );
    assert!(f(&report, "release_ms_max") < 100.0, "{report}");
}

#[test]
fn identities_make_a_lane_each_per_host() {
    let report = simulate_json(
        &[
            "--hosts",
            "2",
            "--identities",
            "3",
            "--connections",
            "7",
            "--statements",
            "5",
            "--rate",
            "0",
        ],
        &[],
    );
    assert_accounted(&report);
    assert_eq!(u(&report, "identities"), 3);
    assert_eq!(u(&report, "lanes"), 6);
    for host in report["hosts"].as_array().unwrap() {
        assert_eq!(u(host, "lanes"), 3, "{host}");
    }
    assert_eq!(u(&report, "exported"), u(&report, "generated"));

    // Without --identities, all connections of a host share its one lane.
    let shared = simulate_json(SMALL, &[]);
    assert_eq!(u(&shared, "identities"), 1);
    assert_eq!(u(&shared, "lanes"), 2);
}

#[test]
fn a_thousand_identities_on_one_host_use_few_threads_and_little_memory() {
    let report = simulate_json(
        &[
            "--hosts",
            "1",
            "--identities",
            "1000",
            "--connections",
            "1000",
            "--duration",
            "3s",
        ],
        &[],
    );
    assert_accounted(&report);
    assert_eq!(u(&report, "lanes"), 1000);
    let threads = u(&report, "telemetry_threads_peak");
    assert!(threads <= 2, "{threads} telemetry threads");
    let rss = f(&report, "rss_peak_mib");
    assert!(rss <= 96.0, "peak RSS {rss} MiB");
}

#[test]
fn library_defaults_are_a_flag_and_a_run() {
    let help = dbtel(&["simulate", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--library-defaults"), "{help}");
    assert!(help.contains("library: 5000"), "{help}");
    // With the library's 5 s flush interval, the lanes deliver when their connections close.
    let report = simulate_json(&[SMALL, &["--library-defaults"]].concat(), &[]);
    assert_accounted(&report);
    assert_eq!(u(&report, "exported"), u(&report, "generated"));
}
