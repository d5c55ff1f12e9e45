//! The feature-flag answer's body.
#![no_main]

#[path = "../../crates/databricks-telemetry/tests/fuzz_properties/mod.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    properties::check_feature_flags(body, properties::FLAG_NAME);
});
