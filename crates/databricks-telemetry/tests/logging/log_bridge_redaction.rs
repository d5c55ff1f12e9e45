//! No credential reaches a `tracing` subscriber that also takes the `log` crate's records (as
//! `tracing-subscriber`'s `init` sets up), at TRACE, from this crate or its HTTP crate.

use crate::log_support;

use std::io;
use std::sync::{Arc, Mutex};

use log_support::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_tracing_subscriber_bridging_log_never_sees_the_token() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "a_tracing_subscriber_bridging_log_never_sees_the_token",
    ) {
        return;
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    send_the_secret_every_way();
    send_the_secret_to_an_echoing_server();
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("ureq_proto::util"),
        "the bridged byte dump was captured, so the search below means something"
    );
    assert!(
        text.contains("telemetry upload"),
        "this crate's own events were captured"
    );
    assert!(
        text.contains("Response {") && text.contains("x-echo-"),
        "the HTTP crate's view of the echoing answers was captured (DEBUG and TRACE)"
    );
    let leaks = leaks(&text, LOG_SECRET);
    assert!(leaks.is_empty(), "the token reached the log: {leaks:?}");
}
