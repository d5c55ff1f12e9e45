//! The data model: session and statement contexts, recorders (an inert one allocates nothing,
//! counted per thread by `allocation-counter`), the wire encoding, golden files, and the fuzz
//! targets' proptest equivalents.

#[path = "../fuzz_properties/mod.rs"]
mod fuzz_properties;

mod context;
mod fuzz_equivalents;
mod handle_inert_alloc;
mod model_encode;
mod model_golden;
mod recorder;
