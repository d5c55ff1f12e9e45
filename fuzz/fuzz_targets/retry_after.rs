//! `Retry-After` values: delay-seconds, HTTP dates and junk.
#![no_main]

#[path = "../../crates/databricks-telemetry/tests/fuzz_properties/mod.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u32, &str)| {
    let (offset, value) = input;
    properties::check_retry_after(value, properties::now_plus(offset));
});
