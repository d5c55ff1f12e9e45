//! `record_statement`: what a driver pays per statement, from starting the statement context to
//! the event being enqueued: `begin`, the setters a query records (statement id, type, result
//! format, compression, a status poll, result ready, two CloudFetch chunks, results consumed),
//! `finish`, and `enqueue`.
//!
//! - `telemetry_handle`: into an enabled handle's lane;
//! - `disabled_handle`: the same into a disabled handle (the event is built, then dropped);
//! - `disabled_skip_build`: a driver that asks [`TelemetryClientHandle::is_enabled`] first and
//!   builds nothing when telemetry is off.
//!
//! Timed in chunks as in `enqueue`: the enabled handle's lane holds a whole chunk and is flushed
//! between chunks outside the timed part.
//!
//! [`TelemetryClientHandle::is_enabled`]: databricks_telemetry::TelemetryClientHandle::is_enabled

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use common::{timed_chunks, DRAIN_TIMEOUT};
use criterion::{criterion_group, criterion_main, Criterion};
use databricks_telemetry::TelemetryClientManager;

fn record_statement(c: &mut Criterion) {
    let session = common::session();
    let mut group = c.benchmark_group("record_statement");

    let manager = TelemetryClientManager::new();
    group.bench_function("telemetry_handle", |b| {
        let client = common::idle_handle(&manager);
        b.iter_custom(|iters| {
            timed_chunks(
                iters,
                1,
                &|_| (),
                &|_, n| {
                    for _ in 0..n {
                        client.enqueue(common::statement_event(&session));
                    }
                },
                &mut || {
                    let _ = client.flush(DRAIN_TIMEOUT);
                },
            )
        });
        let stats = client.stats();
        assert_eq!(
            stats.dropped.queue_full, 0,
            "the bench measured drops: {stats:?}"
        );
        client.release();
    });

    group.bench_function("disabled_handle", |b| {
        let client = common::disabled_handle(&manager);
        b.iter_custom(|iters| {
            timed_chunks(
                iters,
                1,
                &|_| (),
                &|_, n| {
                    for _ in 0..n {
                        client.enqueue(common::statement_event(&session));
                    }
                },
                &mut || {},
            )
        });
    });

    group.bench_function("disabled_skip_build", |b| {
        let client = common::disabled_handle(&manager);
        b.iter_custom(|iters| {
            timed_chunks(
                iters,
                1,
                &|_| (),
                &|_, n| {
                    for _ in 0..n {
                        if std::hint::black_box(&client).is_enabled() {
                            client.enqueue(common::statement_event(&session));
                        }
                    }
                },
                &mut || {},
            )
        });
    });

    group.finish();
    let _ = manager.shutdown(DRAIN_TIMEOUT);
}

criterion_group!(benches, record_statement);
criterion_main!(benches);
