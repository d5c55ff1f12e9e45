//! 1,000 identities on one host: one export thread, a heap that grows with the lanes and what
//! they hold (never with `max_queue_size`), measured with this test binary's own counting
//! allocator. One test, alone in its process, because the thread counts are process-wide.
//!
//! No timing is asserted here; `benches/identities.rs` measures time and RSS.

use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{
    AuthorizationValue, CredentialsProvider, StaticBearerToken,
};
use databricks_telemetry::export::{ExportOutcome, Exporter};
use databricks_telemetry::model::{ExecutionResultFormat, FrontendLog, OperationType};
use databricks_telemetry::unstable::model::FrontendLogFields;
use databricks_telemetry::unstable::thread_stats;
use databricks_telemetry::{
    ClientIdentity, FlushResult, TelemetryAuthType, TelemetryClientManager, TelemetryConfig,
    TelemetrySessionContext,
};

use crate::GLOBAL;
use databricks_telemetry::unstable::StatementTelemetryContext;

const IDENTITIES: usize = 1_000;
const EVENTS_PER_IDENTITY: usize = 10;
const HOST: &str = "adb-1234567890123456.7.azuredatabricks.net";

/// What an idle lane may cost: a few KiB at most (issue 12).
const IDLE_LANE_BOUND: usize = 4 * 1024;

/// crossbeam's unbounded channel (the lane's queue) is a list of blocks of 31 slots, each slot
/// a boxed event's pointer and a state word; a lane that has carried events keeps its current
/// block, and a sender allocates the next one a slot ahead.
const BLOCK_SLOTS: usize = 31;

/// Bytes live on the heap now, process wide. `stats_alloc` already counts a realloc's growth in
/// `bytes_allocated` (and its shrinking in `bytes_deallocated`); `bytes_reallocated` is the same
/// change again, so it is not added.
fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

/// Counts what it is given and keeps nothing, so the heap measured is the pipeline's.
#[derive(Debug, Default)]
struct Counting(AtomicU64);

impl Exporter for Counting {
    fn export(
        &self,
        batch: &[FrontendLog],
        _: Option<&AuthorizationValue>,
        _: Instant,
    ) -> ExportOutcome {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        ExportOutcome::Delivered
    }
}

fn statement_event(session: &Arc<TelemetrySessionContext>) -> FrontendLog {
    let mut statement = StatementTelemetryContext::begin(session, OperationType::ExecuteStatement);
    statement
        .set_statement_id("01f0c3a2-6c2f-1e5d-8b9f-4a3c9d7e5f21")
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .mark_result_ready();
    statement.finish()
}

/// The heap one sample event owns (its statement id; the event id is kept inline, the session's
/// parts are shared `Arc`s).
fn event_heap(session: &Arc<TelemetrySessionContext>) -> usize {
    let event = statement_event(session);
    event
        .entry()
        .sql_driver_log
        .sql_statement_id
        .as_ref()
        .map_or(0, String::capacity)
}

fn per_lane(bytes: i64) -> usize {
    usize::try_from(bytes).unwrap_or(0) / IDENTITIES
}

#[test]
fn thousand_identities_on_one_host_use_one_export_thread_and_a_bounded_heap() {
    if crate::own_process::run_elsewhere(
        module_path!(),
        "thousand_identities_on_one_host_use_one_export_thread_and_a_bounded_heap",
    ) {
        return;
    }
    let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0c3a2-5b1e-1d4c-9a7e-3f2b8c6d4e10")
        .with_auth_type(TelemetryAuthType::Pat)
        .build();
    let event_heap = event_heap(&session);
    let config = TelemetryConfig::builder()
        .with_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let exporter = Arc::new(Counting::default());
    let ids: Vec<ClientIdentity> = (0..IDENTITIES)
        .map(|i| ClientIdentity::new(format!("user-{i:04}")))
        .collect();
    let credentials: Vec<Arc<dyn CredentialsProvider>> = (0..IDENTITIES)
        .map(|i| Arc::new(StaticBearerToken::new(format!("token-{i:04}"))) as Arc<_>)
        .collect();
    let manager = TelemetryClientManager::new();
    // The host exists before the baseline: what follows is the lanes' cost.
    let first = manager
        .acquire(HOST, &ClientIdentity::new("warm-up"), &config, |_| {
            Box::new(Arc::clone(&exporter))
        })
        .unwrap();
    first.release();
    let threads_before = thread_stats();
    assert_eq!(threads_before.started, 0, "nothing started a thread yet");

    // 1. Idle lanes: acquired, nothing enqueued.
    let baseline = live_bytes();
    let handles: Vec<_> = ids
        .iter()
        .zip(&credentials)
        .map(|(id, provider)| {
            manager
                .acquire_with_credentials(HOST, id, Some(Arc::clone(provider)), &config, |_| {
                    unreachable!("the host exists")
                })
                .unwrap()
        })
        .collect();
    let idle = per_lane(live_bytes() - baseline);
    assert_eq!(manager.lane_count(), IDENTITIES);
    assert_eq!(thread_stats().started, 0, "an idle lane starts no thread");

    // 2. Every lane holds its events (the flush interval is an hour, a batch is 100).
    let mut peak = 0i64;
    for handle in &handles {
        for _ in 0..EVENTS_PER_IDENTITY {
            handle.enqueue(statement_event(&session));
            peak = peak.max(live_bytes() - baseline);
        }
    }
    let loaded = usize::try_from(peak).unwrap_or(0);

    // 3. Every lane drained, the handles still held: idle again, after carrying events.
    for handle in &handles {
        assert_eq!(
            handle.flush(Duration::from_secs(30)),
            FlushResult::Completed
        );
    }
    let drained = per_lane(live_bytes() - baseline);

    // 4. Released: the lanes drain and go.
    for handle in handles {
        handle.release();
    }
    let outcome = manager.shutdown(Duration::from_secs(30));
    let threads = thread_stats();

    let event = size_of::<FrontendLog>();
    let slot = size_of::<Box<FrontendLog>>() + size_of::<usize>();
    let block = BLOCK_SLOTS * slot + size_of::<usize>();
    let events = IDENTITIES * EVENTS_PER_IDENTITY;
    eprintln!(
        "{IDENTITIES} identities: idle lane {idle} bytes; a lane drained after carrying events \
         {drained} bytes; peak with {EVENTS_PER_IDENTITY} events per lane {loaded} bytes \
         ({} per lane; event {event} + heap {event_heap} bytes, crossbeam block {block} bytes); \
         pipeline threads peak {} (started {})",
        loaded / IDENTITIES,
        threads.peak - threads_before.peak,
        threads.started,
    );

    assert!(
        idle <= IDLE_LANE_BOUND,
        "an idle lane costs {idle} bytes, over {IDLE_LANE_BOUND}"
    );
    // A lane that carried events keeps its queue's current block, allocated a slot ahead.
    assert!(
        drained <= IDLE_LANE_BOUND + block,
        "a drained lane costs {drained} bytes, over {IDLE_LANE_BOUND} + one block ({block})"
    );
    // Generous: every event in its box with its heap and a slot, two blocks and a lane per
    // identity.
    let bound = events * (slot + event + event_heap) + IDENTITIES * (IDLE_LANE_BOUND + 2 * block);
    assert!(
        loaded <= bound,
        "{IDENTITIES} loaded lanes peaked at {loaded} bytes, over {bound}"
    );
    assert!(
        threads.peak - threads_before.peak <= 2,
        "{IDENTITIES} identities on one host started {} threads at once",
        threads.peak - threads_before.peak
    );
    let stats = outcome.stats;
    assert_eq!(stats.exported, events as u64, "{stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(exporter.0.load(Ordering::Relaxed), events as u64);
}
