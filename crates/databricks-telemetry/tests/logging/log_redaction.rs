//! No credential reaches a `log` logger at TRACE, from this crate or from the HTTP crate it
//! ships (whose request dumps go through `log`, target `ureq_proto::util`), whatever the
//! server answers (one copies the credential back).

use crate::log_support;

use std::fmt::Write as _;
use std::sync::Mutex;

use log_support::*;

/// Every `log` record of every target and level, as text.
static RECORDS: Mutex<String> = Mutex::new(String::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let mut records = RECORDS.lock().unwrap();
        let _ = writeln!(
            records,
            "{} {} {}",
            record.level(),
            record.target(),
            record.args()
        );
    }
    fn flush(&self) {}
}

#[test]
fn a_log_logger_at_trace_never_sees_the_token() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "a_log_logger_at_trace_never_sees_the_token",
    ) {
        return;
    }
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    send_the_secret_every_way();
    send_the_secret_to_an_echoing_server();
    let records = RECORDS.lock().unwrap();
    assert!(
        records.contains("ureq_proto::util"),
        "the HTTP crate's byte dump was captured, so the search below means something"
    );
    assert!(
        records.contains(" databricks_telemetry::"),
        "with no tracing subscriber, the crate's own records reach the log logger (tracing's \
         `log` feature), under its module targets"
    );
    assert!(
        records.contains("Response {") && records.contains("x-echo-"),
        "the HTTP crate's view of the echoing answers was captured (DEBUG and TRACE)"
    );
    let leaks = leaks(&records, LOG_SECRET);
    assert!(leaks.is_empty(), "the token reached the log: {leaks:?}");
}
