//! A whole answer to an upload: status, headers and body.
#![no_main]

#[path = "../../crates/databricks-telemetry/tests/fuzz_properties/mod.rs"]
mod properties;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    status: u16,
    /// (use the name `Retry-After`, name, value)
    headers: Vec<(bool, Vec<u8>, Vec<u8>)>,
    sent: u8,
    now_offset: u32,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let headers: Vec<(Vec<u8>, Vec<u8>)> = input
        .headers
        .into_iter()
        .map(|(retry_after, name, value)| {
            let name = if retry_after {
                b"Retry-After".to_vec()
            } else {
                name
            };
            (name, value)
        })
        .collect();
    properties::check_response(
        input.status,
        &headers,
        &input.body,
        usize::from(input.sent),
        properties::now_plus(input.now_offset),
    );
});
