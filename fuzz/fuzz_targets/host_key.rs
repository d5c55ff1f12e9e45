//! Host normalisation (`HostKey::parse`) and the endpoint rules built on it.
#![no_main]

#[path = "../../crates/databricks-telemetry/tests/fuzz_properties/mod.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    properties::check_host(input);
});
