//! `record_statement`: what a driver pays per statement, from starting the statement context to
//! the event being enqueued: `begin`, the setters a query records (statement id, type, result
//! format, compression, a status poll, result ready, two CloudFetch chunks, results consumed),
//! `finish`, and `enqueue`.
//!
//! - `telemetry_client`: into an enabled client;
//! - `disabled_client`: the same into a disabled client (the event is built, then dropped);
//! - `disabled_skip_build`: a driver that asks [`TelemetryClient::is_enabled`] first and builds
//!   nothing when telemetry is off.
//!
//! Timed in chunks as in `enqueue`: the enabled client's queue holds a whole chunk and is flushed
//! between chunks outside the timed part.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use common::{timed_chunks, DRAIN_TIMEOUT};
use criterion::{criterion_group, criterion_main, Criterion};
use databricks_telemetry::TelemetryClient;

fn record_statement(c: &mut Criterion) {
    let session = common::session();
    let mut group = c.benchmark_group("record_statement");

    group.bench_function("telemetry_client", |b| {
        let client = common::idle_client();
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
                    client.flush(DRAIN_TIMEOUT);
                },
            )
        });
        let stats = client.stats();
        assert_eq!(
            stats.dropped.queue_full, 0,
            "the bench measured drops: {stats:?}"
        );
    });

    group.bench_function("disabled_client", |b| {
        let client = TelemetryClient::disabled();
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
        let client = TelemetryClient::disabled();
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
}

criterion_group!(benches, record_statement);
criterion_main!(benches);
