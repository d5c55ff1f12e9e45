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
//! Then a statement as the Rust ADBC driver records it, shared: begin, statement id, type,
//! result format, compression, two status polls (through a clone handed to the poller), result
//! ready, three CloudFetch chunk downloads (through a clone handed to the downloader), results
//! consumed, finish, enqueue into an enabled handle:
//!
//! - `recorder_at`: the [`StatementRecorder`] with the instants the driver already holds
//!   (`begin_shared_at`, `mark_result_ready_at`, `mark_results_consumed_at`, `finish_at`);
//! - `recorder_now`: the same, the library reading the clock (`begin_shared`,
//!   `mark_result_ready`, `mark_results_consumed`, `finish`): four more clock reads;
//! - `context_at` and `context_now`: the same recordings through the single-owner
//!   [`StatementTelemetryContext`] (no clones), for the cost of sharing.
//!
//! Timed in chunks as in `enqueue`: the enabled handle's lane holds a whole chunk and is flushed
//! between chunks outside the timed part. The `*_at` cases take their instants from one clock
//! read per chunk, untimed.
//!
//! [`StatementRecorder`]: databricks_telemetry::StatementRecorder
//! [`StatementTelemetryContext`]: databricks_telemetry::unstable::StatementTelemetryContext
//!
//! [`TelemetryClientHandle::is_enabled`]: databricks_telemetry::TelemetryClientHandle::is_enabled

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{timed_chunks, DRAIN_TIMEOUT};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use databricks_telemetry::model::{
    ExecutionResultFormat, FrontendLog, OperationType, StatementType,
};
use databricks_telemetry::unstable::StatementTelemetryContext;
use databricks_telemetry::{TelemetryClientManager, TelemetrySessionContext};

/// The instants a driver holds for one statement.
#[derive(Debug, Clone, Copy)]
struct Instants {
    start: Instant,
    ready: Instant,
    consumed: Instant,
    end: Instant,
}

impl Instants {
    fn from(start: Instant) -> Self {
        let ms = Duration::from_millis;
        Instants {
            start,
            ready: start + ms(40),
            consumed: start + ms(140),
            end: start + ms(150),
        }
    }
}

const POLLS: [Duration; 2] = [Duration::from_millis(12), Duration::from_millis(15)];
const CHUNKS: [Duration; 3] = [
    Duration::from_millis(25),
    Duration::from_millis(60),
    Duration::from_millis(40),
];

/// How a case builds its event: `Some(instants)` for the `*_at` cases.
type Record = dyn Fn(&Arc<TelemetrySessionContext>, Option<Instants>) -> FrontendLog + Sync;

/// The shared recorder, with a clone for the poller and one for the downloader.
fn recorder(session: &Arc<TelemetrySessionContext>, at: Option<Instants>) -> FrontendLog {
    let operation = OperationType::ExecuteStatement;
    let statement = match at {
        Some(at) => session.begin_shared_at(operation, at.start),
        None => session.begin_shared(operation),
    };
    statement
        .set_statement_id(common::STATEMENT_ID)
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .set_compressed(true);
    let poller = statement.clone();
    for latency in POLLS {
        poller.record_status_poll(latency);
    }
    drop(poller);
    match at {
        Some(at) => statement.mark_result_ready_at(at.ready),
        None => statement.mark_result_ready(),
    };
    let downloader = statement.clone();
    for latency in CHUNKS {
        downloader.record_chunk_download(latency);
    }
    drop(downloader);
    let log = match at {
        Some(at) => statement
            .mark_results_consumed_at(at.consumed)
            .finish_at(at.end),
        None => statement.mark_results_consumed().finish(),
    };
    log.expect("finished once")
}

/// The same recordings through the single-owner context.
fn context(session: &Arc<TelemetrySessionContext>, at: Option<Instants>) -> FrontendLog {
    let operation = OperationType::ExecuteStatement;
    let mut statement = match at {
        Some(at) => StatementTelemetryContext::begin_at(session, operation, at.start),
        None => StatementTelemetryContext::begin(session, operation),
    };
    statement
        .set_statement_id(common::STATEMENT_ID)
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .set_compressed(true);
    for latency in POLLS {
        statement.record_status_poll(latency);
    }
    match at {
        Some(at) => statement.mark_result_ready_at(at.ready),
        None => statement.mark_result_ready(),
    };
    for latency in CHUNKS {
        statement.record_chunk_download(latency);
    }
    match at {
        Some(at) => {
            statement.mark_results_consumed_at(at.consumed);
            statement.finish_at(at.end)
        }
        None => {
            statement.mark_results_consumed();
            statement.finish()
        }
    }
}

/// Times `record` then `enqueue` into an enabled handle, `with_instants` or reading the clock.
fn into_handle(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    manager: &TelemetryClientManager,
    session: &Arc<TelemetrySessionContext>,
    with_instants: bool,
    record: &Record,
) {
    group.bench_function(name, |b| {
        let client = common::idle_handle(manager);
        b.iter_custom(|iters| {
            timed_chunks(
                iters,
                1,
                &|_| with_instants.then(|| Instants::from(Instant::now())),
                &|at, n| {
                    for _ in 0..n {
                        client.enqueue(record(session, *at));
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
}

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

    into_handle(
        &mut group,
        "recorder_at",
        &manager,
        &session,
        true,
        &recorder,
    );
    into_handle(
        &mut group,
        "recorder_now",
        &manager,
        &session,
        false,
        &recorder,
    );
    into_handle(&mut group, "context_at", &manager, &session, true, &context);
    into_handle(
        &mut group,
        "context_now",
        &manager,
        &session,
        false,
        &context,
    );

    group.finish();
    let _ = manager.shutdown(DRAIN_TIMEOUT);
}

criterion_group!(benches, record_statement);
criterion_main!(benches);
