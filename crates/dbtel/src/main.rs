//! `dbtel`: serve a local telemetry endpoint, simulate a driver, inspect captures.

#![forbid(unsafe_code)]

fn main() {
    println!("dbtel {}", env!("CARGO_PKG_VERSION"));
}
