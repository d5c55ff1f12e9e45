//! `dbtel inspect` on hostile captures: overlong lines, lines that are not UTF-8, and driver
//! strings carrying terminal escape sequences.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn dbtel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dbtel")
}

/// A file removed when the test ends, however it ends.
struct TempFile(PathBuf);

impl TempFile {
    fn with(name: &str, contents: &[u8]) -> Self {
        let path =
            std::env::temp_dir().join(format!("dbtel-inspect-abuse-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn log_line(session: &str, error: &str) -> String {
    json!({
        "frontend_log_event_id": "e1",
        "context": {"client_context": {"timestamp_millis": 1}},
        "entry": {"sql_driver_log": {
            "session_id": session,
            "error_info": {"error_name": error}
        }}
    })
    .to_string()
}

fn capture(lines: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

#[test]
fn a_line_longer_than_the_limit_is_an_error_naming_it_or_skipped_and_counted() {
    let good = log_line("s1", "E");
    let long = vec![b'x'; 5_000];
    let file = TempFile::with("long", &capture(&[good.as_bytes(), &long, good.as_bytes()]));
    let output = dbtel(&["inspect", file.path(), "--max-line-bytes", "4096"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(":2: not a frontend log: the line is 5000 bytes, longer than 4096"),
        "{stderr}"
    );
    let output = dbtel(&[
        "inspect",
        file.path(),
        "--max-line-bytes",
        "4096",
        "--skip-invalid",
        "--json",
    ]);
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["events"], 2);
    assert_eq!(report["skipped_lines"], 1);
    assert_eq!(report["first_skipped_line"]["line"], 2);
}

#[test]
fn a_long_line_of_zeros_is_reported_not_held() {
    // A bounded stand-in for /dev/zero: 8 MiB without a newline, against a 1 MiB limit.
    let zeros = TempFile::with("zeros", &vec![0u8; 8 * 1024 * 1024]);
    let output = dbtel(&["inspect", zeros.path(), "--max-line-bytes", "1048576"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(":1: not a frontend log: the line is 8388608 bytes"),
        "{stderr}"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_or_skipped() {
    let good = log_line("s1", "E");
    let file = TempFile::with("utf8", &capture(&[b"\xff\xfe{}", good.as_bytes()]));
    let output = dbtel(&["inspect", file.path()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(":1: not a frontend log: the line is not UTF-8"),
        "{stderr}"
    );
    let output = dbtel(&["inspect", file.path(), "--skip-invalid", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (report["events"].clone(), report["skipped_lines"].clone()),
        (json!(1), json!(1))
    );
}

#[test]
fn session_ids_and_error_names_reach_the_terminal_escaped() {
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]8;;http://evil/\u{1b}\\link\u{9b}";
    let line = log_line(&format!("s-{evil}"), &format!("E-{evil}"));
    let file = TempFile::with("escapes", &capture(&[line.as_bytes()]));
    let output = dbtel(&["inspect", file.path()]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.stdout.contains(&0x1b)
            && !output.stdout.contains(&0x07)
            && !text.contains('\u{9b}'),
        "raw control characters: {text:?}"
    );
    assert!(text.contains("s-\\x1b]0;pwned\\x07\\x1b[2J"), "{text}");
    assert!(text.contains("E-\\x1b]0;pwned"), "{text}");
    // The JSON output keeps the strings as they are (JSON escapes them itself).
    let output = dbtel(&["inspect", file.path(), "--json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["sessions"][0]["session_id"], format!("s-{evil}"));
}

#[test]
fn long_session_ids_are_cut_and_the_text_says_so() {
    let lines: Vec<String> = (0..3)
        .map(|i| log_line(&format!("{i}{}", "s".repeat(600)), "E"))
        .collect();
    let refs: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
    let file = TempFile::with("long-ids", &capture(&refs));
    let output = dbtel(&["inspect", file.path()]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("folded to stay bounded: 3 strings cut to 256 bytes"),
        "{text}"
    );
    assert!(!text.contains(&"s".repeat(300)), "{text}");
    let output = dbtel(&["inspect", file.path(), "--json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["folded"]["strings_cut"], 3);
    assert_eq!(report["session_count"], 3);
}
