//! `export_throughput`: events per second from `enqueue` through the worker, serialisation and
//! HTTP on loopback, for batch sizes 50, 100 and 500, into two servers:
//!
//! - `telemetry_endpoint/<batch>`: the strict local stand-in (`telemetry-endpoint`), which parses
//!   and checks every log on the same two cores;
//! - `loopback_sink/<batch>`: a minimal HTTP server that reads each request and answers `200`,
//!   so the figure is the client's side of an upload (serialisation plus HTTP).
//!
//! Each iteration enqueues 10,000 distinct statement events (built before timing) into a handle
//! (from `acquire_databricks`, with the endpoint's token as its credentials and `force_enabled`,
//! so no feature flag is fetched) whose lane holds them all, and waits on `flush` until every
//! one has been delivered; the time covers the enqueues too (well under 1% of it). The host's
//! one export worker sends the lane's batches with the lane's authorization.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use databricks_telemetry::{
    ClientIdentity, FlushResult, TelemetryClientManager, TelemetrySessionContext,
};

/// Events per iteration: the default queue size.
const EVENTS: usize = 10_000;

/// Bound on one flush.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// Times `iters` rounds of `EVENTS` events through a handle exporting to `addr`.
fn run(
    session: &Arc<TelemetrySessionContext>,
    addr: SocketAddr,
    batch_size: usize,
    b: &mut criterion::Bencher<'_>,
) {
    let config = common::export_config(batch_size, EVENTS);
    let manager = TelemetryClientManager::new();
    let client = common::http_handle(&manager, addr, &ClientIdentity::new("bench-user"), &config);
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let events = common::distinct_events(session, EVENTS);
            let start = Instant::now();
            for event in events {
                client.enqueue(event);
            }
            assert_eq!(client.flush(FLUSH_TIMEOUT), FlushResult::Completed);
            total += start.elapsed();
        }
        total
    });
    let stats = client.stats();
    assert_eq!(
        stats.exported, stats.enqueued,
        "not every event was delivered: {stats:?}"
    );
    client.release();
    let _ = manager.shutdown(FLUSH_TIMEOUT);
}

fn export_throughput(c: &mut Criterion) {
    let session = common::session();
    let mut group = c.benchmark_group("export_throughput");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(EVENTS as u64));
    for batch_size in [50usize, 100, 500] {
        group.bench_with_input(
            BenchmarkId::new("telemetry_endpoint", batch_size),
            &batch_size,
            |b, &batch_size| {
                let endpoint = common::start_endpoint();
                run(&session, endpoint.addr(), batch_size, b);
                endpoint.shutdown();
            },
        );
        group.bench_with_input(
            BenchmarkId::new("loopback_sink", batch_size),
            &batch_size,
            |b, &batch_size| {
                let sink = common::LoopbackSink::start();
                run(&session, sink.addr(), batch_size, b);
                assert!(sink.requests() > 0);
            },
        );
    }
    group.finish();
}

criterion_group!(benches, export_throughput);
criterion_main!(benches);
