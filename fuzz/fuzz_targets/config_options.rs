//! Configuration from arbitrary driver options and environment variables.
#![no_main]

#[path = "../../crates/databricks-telemetry/tests/fuzz_properties/mod.rs"]
mod properties;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    /// (key selector, raw key text, value)
    options: Vec<(u8, String, String)>,
    /// (variable selector, value)
    env: Vec<(u8, String)>,
}

fuzz_target!(|input: Input| {
    let options: Vec<(String, String)> = input
        .options
        .iter()
        .map(|(selector, raw, value)| (properties::option_key(*selector, raw), value.clone()))
        .collect();
    let env: Vec<(String, String)> = input
        .env
        .iter()
        .map(|(selector, value)| {
            let names = properties::ENV_VARS;
            (
                names[usize::from(*selector) % names.len()].to_owned(),
                value.clone(),
            )
        })
        .collect();
    properties::check_config(&options, &env);
});
