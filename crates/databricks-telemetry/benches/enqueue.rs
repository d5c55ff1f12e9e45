//! `enqueue`: what a driver thread pays to hand over one event, side by side with the floor and
//! the alternatives a Rust developer would otherwise use, with 1, 2 and 4 producers:
//!
//! - `crossbeam_unbounded`: a bare `crossbeam_channel::unbounded` `send` of the event (the floor:
//!   the queue a lane is built on, with nothing around it);
//! - `raw_sync_channel`: a bare `std::sync::mpsc::sync_channel` `try_send` of the event (the
//!   floor of the earlier, per-client design, kept for comparison);
//! - `telemetry_handle`: [`TelemetryClientHandle::enqueue`] into its lane (a closed check, two
//!   atomic counters, the crossbeam send);
//! - `opentelemetry_batch_log_processor`: `opentelemetry_sdk`'s `BatchLogProcessor::emit` of a log
//!   record carrying the same per-event fields (the session-constant parts would be the OTel
//!   resource, set once per provider);
//! - `tracing_appender_non_blocking`: a lossy `tracing_appender::non_blocking` writer's `write` of
//!   the event serialised to JSON;
//! - `disabled_handle`: a disabled handle's `enqueue`, which drops the event on the caller's thread.
//!
//! [`TelemetryClientHandle::enqueue`]: databricks_telemetry::TelemetryClientHandle::enqueue
//!
//! Method, the same for every alternative: each measurement sends chunks of events into a queue
//! large enough to hold a whole chunk, and empties the queue between chunks outside the timed
//! part, so what is timed is the send path, never the path that drops on a full queue. Events
//! are built before a chunk is timed; an API that takes the event by reference (OpenTelemetry,
//! `io::Write`) gets one prepared event per producer and copies it as part of its own cost.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{timed_chunks, CHUNK, DRAIN_TIMEOUT};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::{TelemetryClientManager, TelemetrySessionContext};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::{InstrumentationScope, Key, StringValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, LogBatch, LogExporter, LogProcessor, SdkLogRecord,
    SdkLoggerProvider,
};

/// `n` copies of the sample event, built before timing.
fn events(template: &FrontendLog, n: u64) -> Vec<FrontendLog> {
    (0..n).map(|_| template.clone()).collect()
}

/// Moves every prepared event into `send`.
fn send_each(prepared: &mut Vec<FrontendLog>, send: impl Fn(FrontendLog)) {
    for event in prepared.drain(..) {
        send(event);
    }
}

/// An OpenTelemetry log exporter that accepts everything.
#[derive(Debug)]
struct DiscardLogs;

impl LogExporter for DiscardLogs {
    async fn export(&self, _batch: LogBatch<'_>) -> OTelSdkResult {
        Ok(())
    }
}

/// The OpenTelemetry log record that carries what the sample event carries per event. The
/// session's strings are reference counted, as the session context shares them.
fn otel_record(session: &TelemetrySessionContext, event: &FrontendLog) -> SdkLogRecord {
    let provider = SdkLoggerProvider::builder().build();
    let mut record = provider.logger("bench").create_log_record();
    let log = &event.entry().sql_driver_log;
    let operation = log.sql_operation.as_ref().unwrap();
    let detail = operation.operation_detail.as_ref().unwrap();
    let chunks = operation.chunk_details.as_ref().unwrap();
    let latency = operation.result_latency.as_ref().unwrap();
    let shared = |s: &str| AnyValue::String(StringValue::from(Arc::<str>::from(s)));
    let owned = |s: &str| AnyValue::String(StringValue::from(s.to_owned()));
    let int = |v: Option<i64>| AnyValue::Int(v.unwrap());
    record.set_event_name("sql_driver_log");
    record.set_timestamp(SystemTime::now());
    record.set_severity_number(Severity::Info);
    record.set_body(owned(&event.frontend_log_event_id().to_string()));
    let attributes: Vec<(Key, AnyValue)> = vec![
        ("workspace_id".into(), int(event.workspace_id())),
        ("user_agent".into(), shared(session.user_agent())),
        ("session_id".into(), shared(session.session_id().unwrap())),
        (
            "auth_type".into(),
            shared(log.auth_type.as_deref().unwrap()),
        ),
        ("sql_statement_id".into(), owned(common::STATEMENT_ID)),
        (
            "operation_type".into(),
            AnyValue::String(detail.operation_type.unwrap().as_str().into()),
        ),
        (
            "statement_type".into(),
            AnyValue::String(operation.statement_type.unwrap().as_str().into()),
        ),
        (
            "execution_result".into(),
            AnyValue::String(operation.execution_result.unwrap().as_str().into()),
        ),
        (
            "is_compressed".into(),
            AnyValue::Boolean(operation.is_compressed.unwrap()),
        ),
        ("operation_latency_ms".into(), int(log.operation_latency_ms)),
        (
            "n_operation_status_calls".into(),
            int(detail.n_operation_status_calls.map(i64::from)),
        ),
        (
            "operation_status_latency_millis".into(),
            int(detail.operation_status_latency_millis),
        ),
        (
            "result_set_ready_latency_millis".into(),
            int(latency.result_set_ready_latency_millis),
        ),
        (
            "result_set_consumption_latency_millis".into(),
            int(latency.result_set_consumption_latency_millis),
        ),
        (
            "initial_chunk_latency_millis".into(),
            int(chunks.initial_chunk_latency_millis),
        ),
        (
            "slowest_chunk_latency_millis".into(),
            int(chunks.slowest_chunk_latency_millis),
        ),
        (
            "total_chunks_iterated".into(),
            int(chunks.total_chunks_iterated.map(i64::from)),
        ),
        (
            "sum_chunks_download_time_millis".into(),
            int(chunks.sum_chunks_download_time_millis),
        ),
    ];
    record.add_attributes(attributes);
    record
}

/// A writer for tracing-appender's worker that discards what it is given (as `io::sink`), but
/// only while open: closed, it holds the worker, so the worker stays idle while a chunk is timed
/// and the channel fills as the other pipelines' queues do.
#[derive(Debug, Clone, Default)]
struct GatedSink(Arc<GateState>);

#[derive(Debug, Default)]
struct GateState {
    open: Mutex<bool>,
    changed: Condvar,
    writes: AtomicU64,
}

impl GatedSink {
    fn set_open(&self, open: bool) {
        *self.0.open.lock().unwrap() = open;
        self.0.changed.notify_all();
    }

    /// Opens the gate until `writes` lines have been written, then closes it.
    fn drain_until(&self, writes: u64) {
        self.set_open(true);
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let mut open = self.0.open.lock().unwrap();
        while self.0.writes.load(Ordering::Acquire) < writes {
            let now = Instant::now();
            assert!(now < deadline, "tracing-appender worker did not drain");
            open = self.0.changed.wait_timeout(open, deadline - now).unwrap().0;
        }
        *open = false;
    }
}

impl Write for GatedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut open = self.0.open.lock().unwrap();
        while !*open {
            open = self.0.changed.wait(open).unwrap();
        }
        let written = io::sink().write(buf)?;
        // Counted under the lock, so `drain_until` cannot miss the wake-up.
        self.0.writes.fetch_add(1, Ordering::Release);
        drop(open);
        self.0.changed.notify_all();
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn enqueue(c: &mut Criterion) {
    let session = common::session();
    let event = common::statement_event(&session);
    let event_json = serde_json::to_vec(&event).unwrap();
    let capacity = CHUNK as usize;

    let mut group = c.benchmark_group("enqueue");
    for producers in [1u64, 2, 4] {
        group.bench_with_input(
            BenchmarkId::new("crossbeam_unbounded", producers),
            &producers,
            |b, &producers| {
                let (tx, rx) = crossbeam_channel::unbounded::<FrontendLog>();
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|n| events(&event, n),
                        &|prepared, _| {
                            send_each(prepared, |e| {
                                let _ = tx.send(e);
                            })
                        },
                        &mut || while rx.try_recv().is_ok() {},
                    )
                });
            },
        );

        group.bench_with_input(
            BenchmarkId::new("raw_sync_channel", producers),
            &producers,
            |b, &producers| {
                let (tx, rx) = sync_channel::<FrontendLog>(capacity);
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|n| events(&event, n),
                        &|prepared, _| {
                            send_each(prepared, |e| {
                                let _ = tx.try_send(e);
                            })
                        },
                        &mut || while rx.try_recv().is_ok() {},
                    )
                });
            },
        );

        group.bench_with_input(
            BenchmarkId::new("telemetry_handle", producers),
            &producers,
            |b, &producers| {
                let manager = TelemetryClientManager::new();
                let client = common::idle_handle(&manager);
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|n| events(&event, n),
                        &|prepared, _| send_each(prepared, |e| client.enqueue(e)),
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
                let _ = manager.shutdown(DRAIN_TIMEOUT);
            },
        );

        group.bench_with_input(
            BenchmarkId::new("opentelemetry_batch_log_processor", producers),
            &producers,
            |b, &producers| {
                let config = BatchConfigBuilder::default()
                    .with_max_queue_size(capacity)
                    .with_max_export_batch_size(capacity)
                    .with_scheduled_delay(Duration::from_secs(3600))
                    .build();
                let processor = BatchLogProcessor::builder(DiscardLogs)
                    .with_batch_config(config)
                    .build();
                let scope = InstrumentationScope::builder("databricks-telemetry-bench").build();
                let record = otel_record(&session, &event);
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|_| record.clone(),
                        &|record, n| {
                            for _ in 0..n {
                                processor.emit(record, &scope);
                            }
                        },
                        &mut || processor.force_flush().unwrap(),
                    )
                });
                processor.shutdown().unwrap();
            },
        );

        group.bench_with_input(
            BenchmarkId::new("tracing_appender_non_blocking", producers),
            &producers,
            |b, &producers| {
                let sink = GatedSink::default();
                let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                    .lossy(true)
                    .buffered_lines_limit(capacity)
                    .finish(sink.clone());
                let sent = AtomicU64::new(0);
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|n| {
                            sent.fetch_add(n, Ordering::Relaxed);
                            writer.clone()
                        },
                        &|writer, n| {
                            for _ in 0..n {
                                let _ = writer.write(&event_json);
                            }
                        },
                        &mut || sink.drain_until(sent.load(Ordering::Relaxed)),
                    )
                });
                let dropped = writer.error_counter().dropped_lines();
                assert_eq!(dropped, 0, "the bench measured drops");
                sink.set_open(true);
                drop(guard);
            },
        );

        group.bench_with_input(
            BenchmarkId::new("disabled_handle", producers),
            &producers,
            |b, &producers| {
                let manager = TelemetryClientManager::new();
                let client = common::disabled_handle(&manager);
                b.iter_custom(|iters| {
                    timed_chunks(
                        iters,
                        producers,
                        &|n| events(&event, n),
                        &|prepared, _| send_each(prepared, |e| client.enqueue(e)),
                        &mut || {},
                    )
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, enqueue);
criterion_main!(benches);
