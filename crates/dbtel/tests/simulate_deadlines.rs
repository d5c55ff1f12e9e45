//! How `dbtel simulate` ends: within its close deadline whatever the endpoint does (a request in
//! flight to a slowloris endpoint included), and with its report when it is interrupted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The bound on every run in these tests.
const DEADLINE: Duration = Duration::from_secs(30);

/// A TCP server on 127.0.0.1 that reads each request and answers it one byte every two
/// seconds (a slowloris answer), until dropped.
struct Slowloris {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Slowloris {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepting = Arc::clone(&stop);
        std::thread::spawn(move || {
            let started = Instant::now();
            while !accepting.load(Ordering::Acquire) && started.elapsed() < DEADLINE * 2 {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let stop = Arc::clone(&accepting);
                        std::thread::spawn(move || dribble(stream, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Slowloris { addr, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Slowloris {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Reads what the client sends for a moment, then answers a byte every two seconds.
fn dribble(mut stream: TcpStream, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buffer = [0u8; 65536];
    let _ = stream.read(&mut buffer);
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    for byte in answer {
        for _ in 0..20 {
            if stop.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if stream.write_all(&[*byte]).is_err() {
            return;
        }
    }
}

/// Starts `dbtel ARGS` with `envs` (and no `DATABRICKS_*` or `RUST_LOG` from this process).
fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbtel"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("DATABRICKS_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dbtel")
}

/// Waits for `child` within `bound`; its output and how long it took. Kills it (only it) and
/// fails when it takes longer.
fn finish(child: Child, bound: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let id = child.id();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    match done_rx.recv_timeout(bound) {
        Ok(output) => (output.expect("wait for dbtel"), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("dbtel did not finish within {bound:?}");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: stdout {}\nstderr {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

#[test]
fn the_close_deadline_bounds_a_request_in_flight_to_a_slowloris_endpoint() {
    let server = Slowloris::start();
    let url = server.url();
    let child = spawn(
        &[
            "simulate",
            "--endpoint",
            &url,
            "--allow-insecure-http",
            "--connections",
            "2",
            "--duration",
            "1s",
            "--close-timeout-ms",
            "1000",
            "--request-timeout-ms",
            "300000",
            "--max-retries",
            "10",
            "--json",
        ],
        &[],
    );
    // Without the bound the shutdown waits out the five-minute request.
    let (output, _) = finish(child, DEADLINE);
    let report = report(&output);
    assert_eq!(report["shutdown"], "timed_out", "{report}");
    assert_eq!(report["pending"], 0, "{report}");
    assert_eq!(report["exported"], 0, "{report}");
    assert!(
        report["dropped"]["closed_before_delivery"]
            .as_u64()
            .unwrap()
            > 0,
        "what the request in flight carried is counted closed before delivery: {report}"
    );
    assert!(
        report["shutdown_s"].as_f64().unwrap() < 10.0,
        "the shutdown took the close timeout and the grace, not the request timeout: {report}"
    );
    assert_eq!(report["accounted"], true, "{report}");
}

/// Waits until process `pid` runs its signal thread, so a signal sent now reaches the
/// handlers, not the default action: at most five seconds (then the signal is sent anyway, and
/// a run without handlers dies of it). Off Linux, a second's wait instead.
fn wait_for_signal_handlers(pid: u32) {
    let tasks = format!("/proc/{pid}/task");
    if !std::path::Path::new(&tasks).exists() {
        std::thread::sleep(Duration::from_secs(1));
        return;
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let running = std::fs::read_dir(&tasks)
            .into_iter()
            .flatten()
            .flatten()
            .any(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| name.trim() == "dbtel-signals")
            });
        if running {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigint_and_sigterm_stop_the_run_which_closes_and_prints_its_report() {
    for (flag, name, code) in [("-INT", "SIGINT", 130), ("-TERM", "SIGTERM", 143)] {
        let child = spawn(
            &[
                "simulate",
                "--connections",
                "2",
                "--duration",
                "120s",
                "--close-timeout-ms",
                "1000",
                "--json",
            ],
            &[],
        );
        wait_for_signal_handlers(child.id());
        // Some of the workload runs first.
        std::thread::sleep(Duration::from_millis(300));
        let sent = Command::new("kill")
            .arg(flag)
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
        let (output, _) = finish(child, DEADLINE);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{name}: the exit status says interrupted; stderr {}",
            text(&output.stderr)
        );
        let report = report(&output);
        assert_eq!(report["interrupted"], name, "{report}");
        assert!(
            report["elapsed_s"].as_f64().unwrap() < 60.0,
            "the workload stopped early: {report}"
        );
        assert!(report["generated"].as_u64().unwrap() > 0, "{report}");
        assert_eq!(report["pending"], 0, "{report}");
        assert_eq!(
            report["accounted"], true,
            "the lanes closed as at the end of a run: {report}"
        );
        assert!(
            text(&output.stderr).contains(name),
            "{}",
            text(&output.stderr)
        );
    }
}
