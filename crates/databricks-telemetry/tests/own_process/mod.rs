//! Runs a test in a child process of its own, for the tests that need the whole process: a
//! global logger or subscriber, environment variables, process-wide thread or allocation counts,
//! a warning given once per process. Such a test calls [`run_elsewhere`] first and returns when
//! it says so; the child, the same test binary started with `--exact`, runs the test's body
//! alone (as when the test had a binary of its own).

#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable naming the test a child process runs.
const CHILD_TEST: &str = "DBX_TELEMETRY_TEST_OWN_PROCESS";

/// How long a child may take: far above the bounded waits of any test.
const CHILD_LIMIT: Duration = Duration::from_secs(600);

/// In the test binary's own run: runs the test `name` of `module` (its `module_path!()`) in a
/// child process, passes the child's output on, panics if the test failed there or did not
/// run, and returns `true` (the caller returns). In that child: returns `false`, and the
/// caller runs the test's body.
pub(crate) fn run_elsewhere(module: &str, name: &str) -> bool {
    // The name the test harness knows: the module path without the crate's name.
    let test = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    };
    if std::env::var_os(CHILD_TEST).is_some_and(|running| running == test.as_str()) {
        return false;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--include-ignored", "--test-threads", "1"])
        .arg("--nocapture")
        .env(CHILD_TEST, &test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let deadline = Instant::now() + CHILD_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    print!("{stdout}");
    eprint!("{stderr}");
    let status = status.unwrap_or_else(|| panic!("{test}: its process ran over {CHILD_LIMIT:?}"));
    assert!(
        status.success(),
        "{test} failed in its own process ({status})"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test}: its process ran no test of that name"
    );
    true
}

/// Reads a child's output to its end on a thread of its own, so that the child never blocks
/// on a full pipe.
fn read_all(mut output: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = output.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
