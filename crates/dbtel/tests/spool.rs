//! `dbtel simulate --spool DIR` and `dbtel inspect --spool DIR`: a run that ends mid-outage
//! leaves a spool, `inspect` lists it, and the next (healthy) run delivers it and says where it
//! came from.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

fn dbtel(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .args(args)
        .env_remove("DATABRICKS_TOKEN")
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
    match done_rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for dbtel"),
        Err(_) => {
            // Only the process this test started.
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("dbtel {args:?} did not finish within {DEADLINE:?}");
        }
    }
}

fn json_of(args: &[&str]) -> Value {
    let output = dbtel(args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dbtel-spool-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_run_that_ends_mid_outage_leaves_a_spool_the_next_run_delivers() {
    let dir = temp_dir();
    let spool = dir.to_str().unwrap();
    let common = ["--hosts", "1", "--connections", "2", "--rate", "200"];
    let mut first_args = vec!["simulate", "--json", "--spool", spool];
    first_args.extend_from_slice(&common);
    first_args.extend_from_slice(&[
        "--duration",
        "2s",
        "--outage",
        "503:120s@500ms",
        "--close-timeout-ms",
        "300",
    ]);
    let first = json_of(&first_args);
    assert_eq!(first["accounted"], true, "{first:#}");
    let generated = first["generated"].as_u64().unwrap();
    let exported = first["exported"].as_u64().unwrap();
    let spooled = first["spooled"].as_u64().unwrap();
    assert!(spooled > 0, "{first:#}");
    assert_eq!(first["dropped"]["closed_before_delivery"], 0, "{first:#}");
    assert_eq!(first["dropped"]["queue_full"], 0, "{first:#}");
    assert_eq!(generated, exported + spooled, "{first:#}");
    assert_eq!(first["spool"]["left_on_disk"].as_u64(), Some(spooled));

    let listed = json_of(&["inspect", "--spool", spool, "--json"]);
    assert_eq!(listed["waiting"].as_u64(), Some(spooled), "{listed:#}");
    assert_eq!(listed["lanes"].as_array().unwrap().len(), 1);
    let text = String::from_utf8(dbtel(&["inspect", "--spool", spool]).stdout).unwrap();
    assert!(!text.contains("frontend_log_event_id"), "{text}");

    let mut second_args = vec!["simulate", "--json", "--spool", spool];
    second_args.extend_from_slice(&common);
    second_args.extend_from_slice(&["--duration", "1s"]);
    let second = json_of(&second_args);
    assert_eq!(second["accounted"], true, "{second:#}");
    assert_eq!(second["replayed"].as_u64(), Some(spooled), "{second:#}");
    assert_eq!(second["spool"]["left_on_disk"], 0, "{second:#}");
    assert_eq!(second["spool"]["from_runs"][0]["run"], 1, "{second:#}");
    let delivered = second["exported"].as_u64().unwrap();
    assert_eq!(
        delivered,
        second["generated"].as_u64().unwrap() + spooled,
        "{second:#}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_spool_directory_the_library_would_refuse_is_an_error_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = dbtel(&[
        "simulate",
        "--spool",
        dir.to_str().unwrap(),
        "--duration",
        "1s",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("others may write"),
        "stderr: {stderr}"
    );
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "nothing written into a refused directory"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
