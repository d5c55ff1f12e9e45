//! The page of `dbtel serve` (`/`, `/summary`) and of `dbtel inspect --html`: its data against
//! `dbtel inspect --json`, the token, escaping, and a real browser (headless Chromium through
//! chromedriver) watching the live page while uploads arrive.
//!
//! The browser tests need `chromium` and `chromedriver` (Debian packages `chromium` and
//! `chromium-driver`; `DBTEL_CHROMIUM` and `DBTEL_CHROMEDRIVER` name other binaries). Without
//! them they skip, saying so, except under CI (`CI=true`), where a missing browser fails.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The bound on every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(30);

/// An error name a hostile driver could send: it must be shown as text.
const SCRIPT_ERROR: &str = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">";

/// A child process killed (if still running) when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A file removed when the test ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dbtel-page-{}-{name}", std::process::id()))
}

struct Served {
    process: Running,
    addr: SocketAddr,
    rest_of_stdout: mpsc::Receiver<String>,
}

/// Starts `dbtel serve ARGS` and reads the address it prints.
fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .arg("serve")
        .args(args)
        .env_remove("DBTEL_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn dbtel");
    let stdout = child.stdout.take().unwrap();
    let process = Running(child);
    let (first_tx, first_rx) = mpsc::channel();
    let (rest_tx, rest_of_stdout) = mpsc::channel();
    std::thread::spawn(move || read_stdout(stdout, first_tx, rest_tx));
    let first: String = first_rx
        .recv_timeout(DEADLINE)
        .expect("dbtel serve printed no address in time");
    let addr = first
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    Served {
        process,
        addr,
        rest_of_stdout,
    }
}

fn read_stdout(stdout: ChildStdout, first: mpsc::Sender<String>, rest: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let _ = first.send(line);
    let mut remaining = String::new();
    let _ = reader.read_to_string(&mut remaining);
    let _ = rest.send(remaining);
}

/// Stops `dbtel serve` with SIGINT and waits for it; returns the rest of its stdout.
fn stop(served: &mut Served) -> String {
    let status = Command::new("kill")
        .args(["-INT", &served.process.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + DEADLINE;
    while served.process.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "dbtel serve did not stop in time"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    served.rest_of_stdout.recv_timeout(DEADLINE).unwrap()
}

/// A response: status, headers (names lower case), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close` (no chunked bodies: the endpoint and
/// chromedriver send `Content-Length`).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // Read the head, then exactly Content-Length bytes: chromedriver may keep the connection
    // open.
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line[9..12].parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map(|(_, value)| value.parse::<usize>().unwrap());
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            reader.read_to_end(&mut body).unwrap();
        }
    }
    let body = String::from_utf8(body).unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

/// One statement event of the test's workload.
struct Sent {
    session: &'static str,
    operation: &'static str,
    statement_type: &'static str,
    format: &'static str,
    latency_ms: i64,
    error: Option<&'static str>,
}

/// A frontend log for `sent`, as a driver would upload it.
fn frontend_log(index: usize, sent: &Sent, base_ms: i64) -> String {
    let mut event = json!({
        "session_id": sent.session,
        "sql_statement_id": format!("st-{index}"),
        "operation_latency_ms": sent.latency_ms,
        "sql_operation": {
            "statement_type": sent.statement_type,
            "execution_result": sent.format,
            "operation_detail": {"operation_type": sent.operation},
            "result_latency": {
                "result_set_ready_latency_millis": sent.latency_ms / 2,
                "result_set_consumption_latency_millis": sent.latency_ms / 3
            }
        }
    });
    if sent.format == "EXTERNAL_LINKS" {
        event["sql_operation"]["chunk_details"] = json!({
            "total_chunks_present": 4, "total_chunks_iterated": 4,
            "sum_chunks_download_time_millis": 40 + index as i64,
            "initial_chunk_latency_millis": 7, "slowest_chunk_latency_millis": 15
        });
    }
    if index == 39 {
        // A field the contract does not have: accepted, with a warning.
        event["driver_extra_field"] = json!(1);
    }
    if let Some(name) = sent.error {
        event["error_info"] = json!({"error_name": name, "stack_trace": ""});
    }
    json!({
        "frontend_log_event_id": format!("event-{index}"),
        "context": {"client_context": {
            "timestamp_millis": base_ms + 250 * index as i64,
            "user_agent": "PageTestDriver/1.0"
        }},
        "entry": {"sql_driver_log": event}
    })
    .to_string()
}

/// The test's workload: three sessions, two operation types, errors (one named like markup),
/// two result formats.
fn workload() -> Vec<Sent> {
    (0..40)
        .map(|i| Sent {
            session: [
                "session-busy",
                "session-busy",
                "session-mid",
                "session-quiet",
            ][i % 4],
            operation: if i % 5 == 4 {
                "LIST_TABLES"
            } else {
                "EXECUTE_STATEMENT"
            },
            statement_type: if i % 5 == 4 { "METADATA" } else { "QUERY" },
            format: if i % 3 == 0 {
                "EXTERNAL_LINKS"
            } else {
                "INLINE_ARROW"
            },
            latency_ms: (i as i64 * 37) % 400 + 5,
            error: match i {
                7 | 19 => Some("NetworkError"),
                23 => Some(SCRIPT_ERROR),
                _ => None,
            },
        })
        .collect()
}

fn upload_body(logs: &[String]) -> String {
    json!({"uploadTime": 1, "items": [], "protoLogs": logs}).to_string()
}

fn post_upload(addr: SocketAddr, logs: &[String], token: Option<&str>) -> u16 {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    http(addr, "POST", "/telemetry-ext", &headers, &upload_body(logs)).status
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn summary_is_the_inspect_report_of_the_same_events() {
    let capture = TempFile(temp_path("summary.jsonl"));
    let mut served = serve(&["--capture", capture.0.to_str().unwrap()]);
    let base = now_ms();
    let logs: Vec<String> = workload()
        .iter()
        .enumerate()
        .map(|(i, sent)| frontend_log(i, sent, base))
        .collect();
    assert_eq!(post_upload(served.addr, &logs[..15], None), 200);
    assert_eq!(post_upload(served.addr, &logs[15..], None), 200);
    // Polled once more after the last upload: the summary is tallied as logs arrive, and a
    // poll covers every upload answered before it.
    let answer = http(served.addr, "GET", "/summary", &[], "");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let summary = answer.json();
    stop(&mut served);

    let output = Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .args(["inspect", "--json", capture.0.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let inspect: Value = serde_json::from_slice(&output.stdout).unwrap();
    let inspect = inspect.as_object().unwrap();
    assert!(inspect.len() > 10);
    for (key, value) in inspect {
        if key == "file" {
            continue;
        }
        assert_eq!(
            &summary[key], value,
            "/summary and inspect --json differ on {key}"
        );
    }
    assert_eq!(summary["events"], 40);
    assert_eq!(summary["source"], "live");
    assert_eq!(
        summary["recent_events"].as_array().unwrap().len(),
        25,
        "the latest 25 events"
    );
    assert_eq!(
        summary["recent_events"][24]["json"], logs[39],
        "the newest last, exactly as sent"
    );
    assert_eq!(
        summary["uploads"],
        json!([{"route": "/telemetry-ext", "status": "200", "count": 2}])
    );
}

#[test]
fn with_a_token_the_page_loads_and_the_summary_needs_the_token() {
    let token = "dapi-page-test-token";
    let served = serve(&["--token", token]);
    let page = http(served.addr, "GET", "/", &[], "");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"));
    assert!(!page.body.contains(token));
    assert!(page.body.contains(r#"<script src="/page.js"></script>"#));
    for asset in ["/page.js", "/page.css"] {
        assert_eq!(http(served.addr, "GET", asset, &[], "").status, 200);
    }

    assert_eq!(
        post_upload(
            served.addr,
            &[frontend_log(0, &workload()[0], 0)],
            Some(token)
        ),
        200
    );
    assert_eq!(http(served.addr, "GET", "/summary", &[], "").status, 401);
    let wrong = http(
        served.addr,
        "GET",
        "/summary",
        &[("Authorization", "Bearer nope")],
        "",
    );
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {token}");
    let right = http(
        served.addr,
        "GET",
        "/summary",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(right.status, 200);
    assert_eq!(right.json()["events"], 1);
}

#[test]
fn inspect_html_writes_the_page_with_the_data_inside_and_escaped() {
    let capture = TempFile(temp_path("static.jsonl"));
    let page = TempFile(temp_path("static.html"));
    let logs: Vec<String> = workload()
        .iter()
        .enumerate()
        .map(|(i, sent)| frontend_log(i, sent, 1_764_160_000_000))
        .collect();
    std::fs::write(&capture.0, logs.join("\n") + "\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .args(["inspect", capture.0.to_str().unwrap(), "--html"])
        .arg(&page.0)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let html = std::fs::read_to_string(&page.0).unwrap();
    assert!(html.contains(r#"<script type="application/json" id="dbtel-data">"#));
    // The page's own two scripts only: the error name is data, its markup escaped.
    assert_eq!(html.matches("<script").count(), 2, "{html}");
    assert!(!html.contains("window.__xss=1</script>"));
    assert!(html.contains(r"\u003cscript\u003ewindow.__xss=1\u003c/script\u003e"));
    // Self-contained: nothing is fetched from elsewhere.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(!html.contains("/page.js"));
}

// ---- the browser -------------------------------------------------------------------------

/// Chromium and chromedriver, if present; under CI their absence fails the test.
fn browser_binaries(test: &str) -> Option<(PathBuf, PathBuf)> {
    let find = |variable: &str, names: &[&str]| -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(variable) {
            return Some(PathBuf::from(path));
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    };
    let chromium = find(
        "DBTEL_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let driver = find("DBTEL_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        (chromium, driver) => {
            let missing = format!(
                "{test}: needs chromium ({}) and chromedriver ({}); Debian: apt-get install chromium chromium-driver",
                if chromium.is_some() { "found" } else { "missing" },
                if driver.is_some() { "found" } else { "missing" },
            );
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("{missing}");
            }
            eprintln!("SKIPPED (not under CI) {missing}");
            None
        }
    }
}

/// A chromedriver process and one headless Chromium session, ended when dropped.
struct Browser {
    driver: Running,
    addr: SocketAddr,
    session: String,
    /// Chromium's own process, ended here if closing the session did not end it.
    chromium_pid: Option<u64>,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        // Best effort: chromedriver is killed next anyway.
        if let Ok(mut stream) = TcpStream::connect(self.addr) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                stream,
                "DELETE {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                self.addr
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.0.kill();
        if let Some(pid) = self.chromium_pid {
            // Gone already when the session closed; then this finds no such process.
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Browser {
    fn start(chromium: &Path, driver: &Path, name: &str) -> Browser {
        // A free loopback port for chromedriver (it cannot be told to pick one itself).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let driver = Running(
            Command::new(driver)
                .args([
                    format!("--port={port}"),
                    "--allowed-ips=127.0.0.1".to_owned(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn chromedriver"),
        );
        let deadline = Instant::now() + DEADLINE;
        loop {
            let ready = TcpStream::connect(addr).is_ok()
                && webdriver(addr, "GET", "/status", None)["value"]["ready"] == true;
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start in time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = TempDir(temp_path(&format!("chromium-{name}")));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                    "--window-size=1280,2400",
                    format!("--user-data-dir={}", profile.0.display())
                ]
            }
        }}});
        let created = webdriver(addr, "POST", "/session", Some(&capabilities));
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        let chromium_pid = created["value"]["capabilities"]["goog:processID"].as_u64();
        let browser = Browser {
            driver,
            addr,
            session,
            chromium_pid,
            _profile: profile,
        };
        browser.call(
            "POST",
            "/timeouts",
            json!({"script": 10_000, "pageLoad": 20_000}),
        );
        browser
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let answer = webdriver(self.addr, method, &path, Some(&body));
        assert!(
            answer["value"].get("error").is_none(),
            "{method} {path}: {answer}"
        );
        answer["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn run(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    /// Waits until `script` returns `true`; panics naming `what` after [`DEADLINE`].
    fn wait_for(&self, what: &str, script: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.run(script) != true {
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} in time; it shows {:?}",
                self.figures()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every `data-figure` on the page: name to the texts shown under it, in page order.
    fn figures(&self) -> BTreeMap<String, Vec<String>> {
        let pairs = self.run(
            "return Array.from(document.querySelectorAll('[data-figure]'))\
             .map(function (e) { return [e.getAttribute('data-figure'), e.textContent]; });",
        );
        let mut figures: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in pairs.as_array().unwrap() {
            figures
                .entry(pair[0].as_str().unwrap().to_owned())
                .or_default()
                .push(pair[1].as_str().unwrap().to_owned());
        }
        figures
    }

    fn screenshot(&self, path: &Path) {
        let encoded = self.call("GET", "/screenshot", Value::Null);
        let png = base64_decode(encoded.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        eprintln!("screenshot saved to {}", path.display());
    }
}

/// One WebDriver command; the answer's JSON.
fn webdriver(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = match body {
        Some(Value::Null) | None => String::new(),
        Some(body) => body.to_string(),
    };
    let content_type = [("Content-Type", "application/json")];
    let headers: &[(&str, &str)] = if body.is_empty() { &[] } else { &content_type };
    let answer = http(addr, method, path, headers, &body);
    serde_json::from_str(&answer.body).unwrap_or(Value::Null)
}

/// Standard base64 (the WebDriver screenshot encoding).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// Nearest-rank percentile, as the summary defines it.
fn nearest_rank(sorted: &[i64], percent: usize) -> i64 {
    sorted[(percent * sorted.len()).div_ceil(100).max(1) - 1]
}

fn one(figures: &BTreeMap<String, Vec<String>>, name: &str) -> String {
    match figures.get(name).map(Vec::as_slice) {
        Some([only]) => only.replace(',', ""),
        other => panic!("figure {name}: {other:?} in {figures:?}"),
    }
}

#[test]
fn the_live_page_in_a_browser_shows_the_posted_events_as_they_arrive() {
    let Some((chromium, driver)) = browser_binaries("the live page test") else {
        return;
    };
    let started = Instant::now();
    let served = serve(&[]);
    let browser = Browser::start(&chromium, &driver, "live");
    browser.open(&format!("http://{}/", served.addr));
    browser.wait_for(
        "its first summary",
        "return document.body.getAttribute('data-state') === 'ready';",
    );
    assert_eq!(one(&browser.figures(), "events"), "0");
    // Set once: still there at the end means the page updated without reloading.
    browser.run("window.__dbtelNoReload = 1; return true;");

    let sent = workload();
    let base = now_ms() - 20_000;
    let logs: Vec<String> = sent
        .iter()
        .enumerate()
        .map(|(i, s)| frontend_log(i, s, base))
        .collect();
    assert_eq!(post_upload(served.addr, &logs[..20], None), 200);
    browser.wait_for(
        "the first 20 events",
        "var e = document.querySelector('[data-figure=events]'); return !!e && e.textContent === '20';",
    );
    // An injected fault shows among the upload answers; the driver would retry.
    let fault = http(
        served.addr,
        "POST",
        "/admin/fault",
        &[("Content-Type", "application/json")],
        "\"503*1\"",
    );
    assert_eq!(fault.status, 200);
    assert_eq!(post_upload(served.addr, &logs[20..], None), 503);
    assert_eq!(post_upload(served.addr, &logs[20..], None), 200);
    browser.wait_for(
        "all 40 events and the 503",
        "var e = document.querySelector('[data-figure=events]');\
         var f = document.querySelector('[data-figure=\"upload:/telemetry-ext:503\"]');\
         return !!e && e.textContent === '40' && !!f && f.textContent === '1';",
    );
    let figures = browser.figures();

    // What was posted, counted here independently of the page.
    let mut operations: BTreeMap<&str, (u64, u64, Vec<i64>)> = BTreeMap::new();
    let mut sessions: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
    let mut formats: BTreeMap<&str, u64> = BTreeMap::new();
    let mut statement_types: BTreeMap<&str, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    for s in &sent {
        let operation = operations.entry(s.operation).or_default();
        operation.0 += 1;
        operation.1 += u64::from(s.error.is_some());
        operation.2.push(s.latency_ms);
        let session = sessions.entry(s.session).or_default();
        session.0 += 1;
        session.1 += u64::from(s.error.is_some());
        if let Some(name) = s.error {
            *errors.entry(name).or_default() += 1;
        }
        *formats.entry(s.format).or_default() += 1;
        *statement_types.entry(s.statement_type).or_default() += 1;
        latencies.push(s.latency_ms);
    }
    assert_eq!(one(&figures, "errors-total"), "3");
    assert_eq!(one(&figures, "sessions"), "3");
    assert_eq!(one(&figures, "timeline-events"), "40");
    for (name, (events, failed, mut samples)) in operations {
        samples.sort_unstable();
        let key = format!("op:{name}");
        assert_eq!(one(&figures, &format!("{key}:events")), events.to_string());
        assert_eq!(one(&figures, &format!("{key}:errors")), failed.to_string());
        for (p, label) in [(50, "p50"), (90, "p90"), (99, "p99")] {
            assert_eq!(
                one(&figures, &format!("{key}:{label}")),
                nearest_rank(&samples, p).to_string(),
                "{key} {label}"
            );
        }
        assert_eq!(
            one(&figures, &format!("{key}:max")),
            samples.last().unwrap().to_string()
        );
    }
    latencies.sort_unstable();
    assert_eq!(
        one(&figures, "hist:operation_latency:p90"),
        nearest_rank(&latencies, 90).to_string()
    );
    assert_eq!(one(&figures, "hist:operation_latency:samples"), "40");
    for (name, (events, failed)) in &sessions {
        assert_eq!(
            one(&figures, &format!("session:{name}:events")),
            events.to_string()
        );
        assert_eq!(
            one(&figures, &format!("session:{name}:errors")),
            failed.to_string()
        );
    }
    assert_eq!(
        figures["session-id"],
        ["session-busy", "session-mid", "session-quiet"],
        "busiest first"
    );
    for (name, count) in &errors {
        assert_eq!(one(&figures, &format!("error:{name}")), count.to_string());
    }
    for (format, count) in &formats {
        assert_eq!(
            one(&figures, &format!("format:{format}")),
            count.to_string()
        );
    }
    for (kind, count) in &statement_types {
        assert_eq!(one(&figures, &format!("stmt:{kind}")), count.to_string());
    }
    assert_eq!(one(&figures, "upload:/telemetry-ext:200"), "2");
    assert_eq!(one(&figures, "warnings-total"), "1");
    let warning = browser.run(
        "var d = document.querySelector('details[data-event=\"event-39\"]');\
         return d.querySelector('ul.warnings').textContent;",
    );
    assert!(
        warning
            .as_str()
            .unwrap()
            .starts_with("unknown_field $.entry.sql_driver_log.driver_extra_field: unknown field"),
        "{warning}"
    );
    assert_eq!(one(&figures, "recent-count"), "25");

    // The error name holding markup is shown as its text, and ran nothing.
    assert!(
        figures["error-name"]
            .iter()
            .any(|name| name == SCRIPT_ERROR),
        "{:?}",
        figures["error-name"]
    );
    assert_eq!(
        browser.run(
            "return [typeof window.__xss, document.querySelectorAll('script').length,\
             document.querySelectorAll('img').length, window.__dbtelNoReload];"
        ),
        json!(["undefined", 1, 0, 1])
    );
    let updates = browser.run("return Number(document.body.getAttribute('data-updates'));");
    assert!(updates.as_u64().unwrap() >= 3, "updates: {updates}");

    // The newest event opened, for the person looking at the screenshot.
    browser.run(
        "document.querySelector('details[data-event=\"event-39\"]').open = true; return true;",
    );
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dbtel-page")
        .join("serve-page.png");
    browser.screenshot(&shot);
    eprintln!("the live page test took {:?}", started.elapsed());
}

#[test]
fn in_a_browser_the_page_asks_for_the_token_and_the_static_page_shows_its_capture() {
    let Some((chromium, driver)) = browser_binaries("the token and static page test") else {
        return;
    };
    let token = "dapi-browser-token";
    let served = serve(&["--token", token]);
    let logs: Vec<String> = workload()
        .iter()
        .enumerate()
        .map(|(i, s)| frontend_log(i, s, 1_764_160_000_000))
        .collect();
    assert_eq!(post_upload(served.addr, &logs, Some(token)), 200);

    let browser = Browser::start(&chromium, &driver, "token");
    browser.open(&format!("http://{}/", served.addr));
    browser.wait_for(
        "the token form",
        "return document.body.getAttribute('data-state') === 'token'\
         && !document.getElementById('token-form').hidden\
         && document.getElementById('main').hidden;",
    );
    // Typed in as a person would; the page then shows the data.
    let input = browser.call(
        "POST",
        "/element",
        json!({"using": "css selector", "value": "#token"}),
    );
    let input_id = input.as_object().unwrap().values().next().unwrap().clone();
    let input_id = input_id.as_str().unwrap();
    browser.call(
        "POST",
        &format!("/element/{input_id}/value"),
        json!({ "text": token }),
    );
    let button = browser.call(
        "POST",
        "/element",
        json!({"using": "css selector", "value": "#token-form button"}),
    );
    let button_id = button.as_object().unwrap().values().next().unwrap().clone();
    browser.call(
        "POST",
        &format!("/element/{}/click", button_id.as_str().unwrap()),
        json!({}),
    );
    browser.wait_for(
        "the data after the token",
        "var e = document.querySelector('[data-figure=events]'); return !!e && e.textContent === '40';",
    );
    assert_eq!(
        browser.run("return location.href.indexOf('dapi') === -1;"),
        true,
        "the token is never in the URL"
    );

    // The static page of the same events, from a file, offline.
    let capture = TempFile(temp_path("browser.jsonl"));
    let page = TempFile(temp_path("browser.html"));
    std::fs::write(&capture.0, logs.join("\n") + "\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_dbtel"))
        .args(["inspect", capture.0.to_str().unwrap(), "--html"])
        .arg(&page.0)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    browser.open(&format!("file://{}", page.0.display()));
    browser.wait_for(
        "the capture",
        "return document.body.getAttribute('data-state') === 'ready';",
    );
    let figures = browser.figures();
    assert_eq!(one(&figures, "events"), "40");
    assert_eq!(one(&figures, &format!("error:{SCRIPT_ERROR}")), "1");
    assert_eq!(
        browser.run("return [typeof window.__xss, document.querySelectorAll('img').length];"),
        json!(["undefined", 0])
    );
    assert!(one(&figures, "status").starts_with("capture "));
}
