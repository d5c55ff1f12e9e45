//! How `dbtel` prints a URL a user gave (`unstable::shown`): no credential, bounded length.
#![no_main]

#[path = "../../crates/databricks-telemetry/tests/fuzz_properties/mod.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    properties::check_shown(input);
});
