//! Validation throughput of the endpoint, old and new side by side in one run: an upload of 100
//! copies of the benchmark's full-size event (the one query of
//! `crates/databricks-telemetry/benches/common/mod.rs` with its session's system configuration
//! and connection parameters, 1.5 KB of JSON; `full_size_event.json`), each with its own event
//! id. Throughput is in events (logs) per second on one core.
//!
//! - `legacy_value_tree`: the validator before issue 14 (`legacy/mod.rs`), strict only,
//!   through `serde_json::Value`.
//! - `strict` and `tolerant`: [`check_upload`] in each mode.
//!
//! `cargo bench -p telemetry-endpoint --bench validate`

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod legacy;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;
use telemetry_endpoint::{check_upload, Mode, UploadRoute};

/// Logs per upload, as `dbtel simulate --batch-size 100` sends them.
const LOGS: usize = 100;

fn upload() -> Vec<u8> {
    let event: Value = serde_json::from_str(include_str!("full_size_event.json")).unwrap();
    let logs: Vec<String> = (0..LOGS)
        .map(|i| {
            let mut log = event.clone();
            log["frontend_log_event_id"] = Value::from(format!("6c9aebf0-577c-4b6b-9cb0-{i:012}"));
            log.to_string()
        })
        .collect();
    serde_json::json!({"uploadTime": 1_764_160_000_000_u64, "items": [], "protoLogs": logs})
        .to_string()
        .into_bytes()
}

fn validate(c: &mut Criterion) {
    let body = upload();
    // Every variant accepts every log of the body.
    assert_eq!(
        legacy::validate_upload_for(&body, legacy::UploadRoute::Authenticated)
            .unwrap()
            .logs
            .len(),
        LOGS
    );
    for mode in [Mode::Strict, Mode::Tolerant] {
        let report = check_upload(&body, UploadRoute::Authenticated, mode).unwrap();
        assert_eq!(report.logs.len(), LOGS);
        assert!(report.deviations.is_empty());
    }

    let mut group = c.benchmark_group("validate_upload_100");
    group.throughput(Throughput::Elements(LOGS as u64));
    group.bench_function("legacy_value_tree", |b| {
        b.iter(|| {
            legacy::validate_upload_for(black_box(&body), legacy::UploadRoute::Authenticated)
                .unwrap()
        })
    });
    group.bench_function("strict", |b| {
        b.iter(|| check_upload(black_box(&body), UploadRoute::Authenticated, Mode::Strict).unwrap())
    });
    group.bench_function("tolerant", |b| {
        b.iter(|| {
            check_upload(black_box(&body), UploadRoute::Authenticated, Mode::Tolerant).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
