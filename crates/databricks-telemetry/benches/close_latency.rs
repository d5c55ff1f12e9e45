//! `close_latency`: how long `close` (release, then wait until the lane has delivered
//! everything) takes with 10,000 events pending and a healthy server on
//! loopback, at the default batch size of 100: `telemetry_endpoint` (the strict local endpoint,
//! which validates every log on the same two cores) and `loopback_sink` (a bare HTTP sink that
//! answers `200`, so the time is the client's own).
//!
//! Each iteration starts a manager whose host's exporter (the HTTP exporter, sending with the
//! lane's authorization) is held at a gate, enqueues 10,000 distinct statement events into one
//! handle (the worker holds the first batch at the gate, the rest wait in the lane), then times
//! opening the gate and `close` until it returns with every event delivered.
//!
//! `host_hangs`: `close` with the default configuration (a 2 s close timeout, 10 s requests)
//! while the service hangs: each iteration starts a manager, enqueues one batch, waits until
//! the worker's request reached a loopback host that never answers and has been in flight for
//! [`HUNG_FOR`] (untimed), then times `close(2 s)` alone. Teardown (untimed): `shutdown(0)`
//! counts the event as `closed_before_delivery`, then the host hangs up.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use databricks_telemetry::credentials::AuthorizationValue;
use databricks_telemetry::export::{ExportOutcome, Exporter};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::unstable::DatabricksExporter;
use databricks_telemetry::{
    ClientIdentity, CloseResult, TelemetryClientManager, TelemetryConfig, TelemetrySessionContext,
};

/// Events pending when close begins: the default queue size.
const PENDING: usize = 10_000;

/// Close's own deadline: long, so the bench measures how long close needs, not its cut-off.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the request has been hanging when `host_hangs` closes (a driver's close at release
/// while the service hangs comes at any point of a 10 s request).
const HUNG_FOR: Duration = Duration::from_millis(600);

/// The default close timeout, which a close at connection release passes.
const RELEASE_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// An exporter that waits until its gate opens, then exports.
#[derive(Debug)]
struct Held {
    inner: DatabricksExporter,
    gate: Arc<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl Held {
    fn wait(&self) {
        let mut open = self.gate.open.lock().unwrap();
        while !*open {
            open = self.gate.opened.wait(open).unwrap();
        }
    }
}

impl Exporter for Held {
    fn export(
        &self,
        batch: &[FrontendLog],
        authorization: Option<&AuthorizationValue>,
        deadline: Instant,
    ) -> ExportOutcome {
        self.wait();
        self.inner.export(batch, authorization, deadline)
    }
}

/// Times `iters` closes with `PENDING` events pending, exporting to `addr`.
fn run(session: &Arc<TelemetrySessionContext>, addr: SocketAddr, b: &mut criterion::Bencher<'_>) {
    let config = common::export_config(TelemetryConfig::default().batch_size(), PENDING);
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let gate = Arc::new(Gate::default());
            let exporter = Held {
                inner: common::http_exporter(addr, &config),
                gate: Arc::clone(&gate),
            };
            let manager = TelemetryClientManager::new();
            let client = manager
                .acquire_with_credentials(
                    &format!("http://{addr}"),
                    &ClientIdentity::new("bench-user"),
                    Some(common::endpoint_credentials()),
                    &config,
                    |_| Box::new(exporter),
                )
                .unwrap();
            for event in common::distinct_events(session, PENDING) {
                client.enqueue(event);
            }
            assert_eq!(client.stats().pending, PENDING as u64);
            let start = Instant::now();
            gate.open();
            let outcome = client.close(CLOSE_TIMEOUT);
            total += start.elapsed();
            assert_eq!(outcome.result, CloseResult::Completed);
            let stats = outcome.stats;
            assert_eq!(stats.exported, PENDING as u64, "{stats:?}");
            let _ = manager.shutdown(CLOSE_TIMEOUT);
        }
        total
    });
}

/// Times `iters` closes, each while the worker's request to a hanging host has been in flight
/// for [`HUNG_FOR`].
fn run_host_hangs(
    session: &Arc<TelemetrySessionContext>,
    host: &common::HangingHost,
    b: &mut criterion::Bencher<'_>,
) {
    let config = common::export_config(1, PENDING);
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let manager = TelemetryClientManager::new();
            let exporter = common::http_exporter(host.addr(), &config);
            let client = manager
                .acquire_with_credentials(
                    &format!("http://{}", host.addr()),
                    &ClientIdentity::new("bench-user"),
                    Some(common::endpoint_credentials()),
                    &config,
                    |_| Box::new(exporter),
                )
                .unwrap();
            let begun = host.requests();
            for event in common::distinct_events(session, 1) {
                client.enqueue(event);
            }
            let until = Instant::now() + CLOSE_TIMEOUT;
            while host.requests() == begun && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(
                host.requests() > begun,
                "the request reached the hanging host"
            );
            std::thread::sleep(HUNG_FOR);
            let start = Instant::now();
            let outcome = client.close(RELEASE_CLOSE_TIMEOUT);
            total += start.elapsed();
            assert_ne!(outcome.result, CloseResult::Completed);
            assert_eq!(outcome.stats.exported, 0);
            let stats = manager.shutdown(Duration::ZERO).stats;
            assert_eq!(stats.dropped.closed_before_delivery, 1, "{stats:?}");
            host.hang_up();
        }
        total
    });
}

fn close_latency(c: &mut Criterion) {
    let session = common::session();
    let mut group = c.benchmark_group("close_latency");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("telemetry_endpoint", |b| {
        let endpoint = common::start_endpoint();
        run(&session, endpoint.addr(), b);
        endpoint.shutdown();
    });
    group.bench_function("loopback_sink", |b| {
        let sink = common::LoopbackSink::start();
        run(&session, sink.addr(), b);
    });
    group.finish();

    let mut group = c.benchmark_group("close_latency");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("host_hangs", |b| {
        let host = common::HangingHost::start();
        run_host_hangs(&session, &host, b);
    });
    group.finish();
}

criterion_group!(benches, close_latency);
criterion_main!(benches);
