//! `dbtel simulate` under hostile input: URLs with secrets in them, absurd host names and flag
//! counts, flags that cannot work together, tokens that cannot be sent, `RUST_LOG=trace`.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

/// The bound on every run in these tests.
const DEADLINE: Duration = Duration::from_secs(30);

/// Flags that keep a run small and quick.
const SMALL: &[&str] = &["--connections", "2", "--statements", "10", "--rate", "0"];

/// Runs `dbtel ARGS` with `envs`, within [`DEADLINE`].
fn dbtel(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbtel"));
    command
        .args(args)
        .env_remove("DATABRICKS_TOKEN")
        .env_remove("RUST_LOG")
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
            panic!("dbtel did not finish within {DEADLINE:?}");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn no_url_secret_is_ever_printed() {
    for url in [
        "http://user:PASSWORD@127.0.0.1:8089",
        "https://user:PASSWORD@example.com",
        "PASSWORD@127.0.0.1:8089",
        "http://127.0.0.1:8089/?token=PASSWORD",
        "http://127.0.0.1:8089/path#PASSWORD",
        "https://example.com/x?a=1&token=PASSWORD",
    ] {
        for extra in [&[][..], &["--allow-insecure-http"][..]] {
            for endpoints in [vec![url], vec!["http://127.0.0.1:8089", url]] {
                let mut args = vec!["simulate"];
                for endpoint in &endpoints {
                    args.extend(["--endpoint", endpoint]);
                }
                args.extend_from_slice(extra);
                args.extend_from_slice(SMALL);
                let output = dbtel(&args, &[]);
                let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
                assert!(
                    !stdout.contains("PASSWORD") && !stderr.contains("PASSWORD"),
                    "{args:?}\nstdout: {stdout}\nstderr: {stderr}"
                );
                assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            }
        }
    }
}

#[test]
fn error_lines_are_cut_short() {
    let huge_host = format!("https://{}.example.com", "a".repeat(100_000));
    let other = format!("https://b{}.example.com", "-".repeat(100_000));
    for url in [&huge_host, &other] {
        let output = dbtel(&["simulate", "--endpoint", url], &[]);
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}",
            &stderr[..200.min(stderr.len())]
        );
        assert!(
            stderr.len() < 4_000,
            "a {}-byte error for a {}-byte URL",
            stderr.len(),
            url.len()
        );
        assert!(stderr.contains("cannot use endpoint"));
    }
}

#[test]
fn server_flag_with_endpoint_is_a_usage_error() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let url = endpoint.base_url();
    let output = dbtel(
        &[
            &[
                "simulate",
                "--endpoint",
                &url,
                "--allow-insecure-http",
                "--server-flag",
                "off",
            ],
            SMALL,
        ]
        .concat(),
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--server-flag"), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(endpoint.stats().requests_total, 0, "nothing ran");
}

#[test]
fn a_bad_capture_path_fails_before_the_run() {
    let path = std::env::temp_dir()
        .join(format!("dbtel-no-such-dir-{}", std::process::id()))
        .join("capture.jsonl");
    let started = Instant::now();
    let output = dbtel(
        &[
            "simulate",
            "--capture",
            path.to_str().unwrap(),
            "--duration",
            "20s",
            "--rate",
            "10",
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the capture file"), "{stderr}");
    assert!(output.stdout.is_empty(), "no run, no report");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed at start, not after the 20 s run: {:?}",
        started.elapsed()
    );
}

#[test]
fn the_number_of_endpoints_is_capped_like_hosts() {
    let urls: Vec<String> = (0..65)
        .map(|i| format!("http://127.0.0.1:{}", 10_000 + i))
        .collect();
    let mut args = vec!["simulate", "--allow-insecure-http"];
    for url in &urls {
        args.extend(["--endpoint", url]);
    }
    args.extend_from_slice(SMALL);
    let output = dbtel(&args, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("at most 64"), "{stderr}");
}

/// `simulate --json --endpoint URL --token TOKEN`, and its report.
fn external_run(url: &str, token: &str, envs: &[(&str, &str)]) -> (Output, Value) {
    let output = dbtel(
        &[
            &[
                "simulate",
                "--json",
                "--endpoint",
                url,
                "--allow-insecure-http",
                "--token",
                token,
            ],
            SMALL,
        ]
        .concat(),
        envs,
    );
    let stdout = text(&output.stdout);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("{stdout}\n{}", text(&output.stderr)));
    (output, report)
}

#[test]
fn a_mostly_failed_run_names_its_main_failure() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default().with_token("right")).unwrap();
    let url = endpoint.base_url();
    for token in ["wrong", "t\u{f6}ken", "line\u{7f}break"] {
        let (output, report) = external_run(&url, token, &[]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "every event is accounted for"
        );
        assert_eq!(report["exported"], 0, "{token:?}");
        let failure = report["main_failure"].as_str().unwrap_or_else(|| {
            panic!("{token:?}: no main failure in {report}");
        });
        assert!(failure.contains("credentials_failed"), "{failure}");
        assert!(failure.contains("token"), "{failure}");
    }
    let (_, good) = external_run(&url, "right", &[]);
    assert_eq!(good["main_failure"], Value::Null, "{good}");
    assert!(good["exported"].as_u64().unwrap() > 0);
}

#[test]
fn external_reports_count_the_requests_the_library_made() {
    // With the pipeline every attempt is one HTTP request, so `simulate` can count requests to
    // an endpoint it does not run: exactly what the endpoint saw.
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    let url = endpoint.base_url();
    let (output, report) = external_run(&url, "any", &[]);
    assert_eq!(output.status.code(), Some(0), "{report}");
    let seen: u64 = ["/telemetry-ext", "/telemetry-unauth"]
        .iter()
        .filter_map(|path| endpoint.stats().requests.get(*path).map(|p| p.total))
        .sum();
    assert!(seen > 0);
    assert_eq!(report["requests"].as_u64(), Some(seen), "{report}");
    let output = dbtel(
        &[
            &["simulate", "--endpoint", &url, "--allow-insecure-http"],
            SMALL,
        ]
        .concat(),
        &[],
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("HTTP uploads"), "{stdout}");
}

#[test]
fn rust_log_at_trace_shows_logs_but_never_the_token() {
    let token = "dapi-RUSTLOG-9d1f3b7a5c2e4860aa";
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default().with_token(token)).unwrap();
    let (output, report) = external_run(&endpoint.base_url(), token, &[("RUST_LOG", "trace")]);
    assert!(report["exported"].as_u64().unwrap() > 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ureq_proto"),
        "RUST_LOG=trace logs the HTTP crate too"
    );
    assert!(stderr.contains("telemetry upload"), "and the library");
    let flat: String = stderr
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    for window in token.as_bytes().windows(8) {
        let piece = std::str::from_utf8(window).unwrap();
        assert!(!stderr.contains(piece), "{piece:?} of the token logged");
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!flat.contains(&hex), "the token logged in hex");
    }
}
