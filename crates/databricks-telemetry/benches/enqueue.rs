//! `enqueue`: what a driver thread pays to hand over one event, against the floor (a bare
//! `std::sync::mpsc::sync_channel` `try_send` of the same event), with 1, 2 and 4 producers.
//!
//! Each measurement sends chunks of events into a queue large enough to hold a whole chunk, and
//! empties the queue between chunks outside the timed part, so what is timed is the send path,
//! never the path that drops on a full queue.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use databricks_telemetry::export::{ExportOutcome, Exporter};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::{TelemetryClient, TelemetryConfig};

/// Events per timed chunk, shared between the producers; also the queue's capacity and the
/// client's batch size, so the worker stays idle while a chunk is timed.
const CHUNK: u64 = 10_000;

#[derive(Debug)]
struct Discard;

impl Exporter for Discard {
    fn export(&self, _: &[FrontendLog], _: Option<Instant>) -> ExportOutcome {
        ExportOutcome::Delivered
    }
}

fn event() -> FrontendLog {
    FrontendLog::default()
}

/// Runs `iters` sends on each of `producers` threads, in chunks, timing only the sends.
fn timed_chunks(
    iters: u64,
    producers: u64,
    send: &(dyn Fn() + Sync),
    empty: &mut dyn FnMut(),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK / producers);
        left -= n;
        let barrier = Barrier::new(producers as usize);
        let elapsed = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..producers)
                .map(|_| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        for _ in 0..n {
                            send();
                        }
                        start.elapsed()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap()
        });
        total += elapsed;
        empty();
    }
    total
}

fn enqueue(c: &mut Criterion) {
    let mut group = c.benchmark_group("enqueue");
    for producers in [1u64, 2, 4] {
        let capacity = CHUNK as usize;

        group.bench_with_input(
            BenchmarkId::new("raw_sync_channel", producers),
            &producers,
            |b, &producers| {
                let (tx, rx) = sync_channel::<FrontendLog>(capacity);
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|| {
                            let _ = tx.try_send(event());
                        },
                        &mut || while rx.try_recv().is_ok() {},
                    )
                });
            },
        );

        group.bench_with_input(
            BenchmarkId::new("telemetry_client", producers),
            &producers,
            |b, &producers| {
                // The worker stays idle during a chunk (batch size = chunk, timer off), and is
                // flushed between chunks.
                let config = TelemetryConfig::builder()
                    .with_batch_size(capacity)
                    .with_max_queue_size(capacity)
                    .with_flush_interval(Duration::from_secs(3600))
                    .build()
                    .unwrap();
                let client = Arc::new(TelemetryClient::new(&config, Discard).unwrap());
                b.iter_custom(|iters| {
                    let sender = Arc::clone(&client);
                    timed_chunks(iters, producers, &|| sender.enqueue(event()), &mut || {
                        client.flush(Duration::from_secs(10));
                    })
                });
                let stats = client.stats();
                assert_eq!(
                    stats.dropped.queue_full, 0,
                    "the bench measured drops: {stats:?}"
                );
            },
        );

        group.bench_with_input(
            BenchmarkId::new("disabled_client", producers),
            &producers,
            |b, &producers| {
                let client = TelemetryClient::disabled();
                b.iter_custom(|iters| {
                    timed_chunks(iters, producers, &|| client.enqueue(event()), &mut || {})
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, enqueue);
criterion_main!(benches);
