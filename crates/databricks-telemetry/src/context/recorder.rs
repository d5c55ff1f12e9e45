//! The shareable statement recorder: one operation, recorded from any task or thread.
//!
//! Everything a recording touches is an atomic in one shared allocation; nothing on the path of
//! a chunk download or a status poll takes a lock. Chunk downloads and status polls are each a
//! [`Latencies`]: one word holding the finished flag, the count and the records in flight, and
//! the latencies themselves. The first [`SLOTS`] records of a kind claim a slot with one
//! compare-exchange on the word and store their latency in it; later ones register in flight,
//! add to atomic sums, and leave. `finish` sets the flag, which fixes the count, and waits for
//! the slots it counted to be written and the records in flight to leave (a few atomic
//! operations each) before it reads them, so a record is in the event entirely or not at all.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::manager::TelemetryClientHandle;
use crate::model::{ExecutionResultFormat, FrontendLog, OperationType, StatementType};

use super::error::ErrorInfo;
use super::session::TelemetrySessionContext;
use super::statement::{offset_nanos, ChunkTally, Tally};

/// Set in a [`Latencies`] word once the statement is finished.
const FINISHED: u64 = 1 << 63;
/// The records in flight: the low 24 bits of a [`Latencies`] word (far more than there can be
/// threads).
const IN_FLIGHT: u64 = (1 << 24) - 1;
/// One record counted: the count lives above the records in flight.
const ONE: u64 = 1 << 24;
/// Counts stop here, as the wire's `int32` counts do in the single-owner context. The words' 39
/// count bits leave room for every record in flight to pass it once.
const MAX_COUNT: u64 = i32::MAX as u64;
/// Records of one kind whose latencies are kept one by one (one compare-exchange each).
const SLOTS: usize = 8;
/// An unset offset or total.
const UNSET: i64 = i64::MIN;

fn count_of(word: u64) -> u64 {
    (word & !FINISHED) >> 24
}

/// The latencies of one kind of record (chunk downloads, status polls).
#[derive(Debug, Default)]
struct Latencies {
    /// The finished flag, the count, and the records in flight past the slots.
    word: AtomicU64,
    /// The latency of the i-th record in nanoseconds plus one, 0 until it is written.
    slots: [AtomicU64; SLOTS],
    /// Past the slots: the sum and the maximum of the latencies.
    more_sum: AtomicU64,
    more_max: AtomicU64,
}

/// What [`Latencies`] held when the statement finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Summary {
    count: u64,
    /// The first record's latency.
    first: u64,
    max: u64,
    sum: u64,
}

impl Latencies {
    fn is_finished(&self) -> bool {
        self.word.load(Ordering::Relaxed) & FINISHED != 0
    }

    /// Records one latency of `nanos`, unless the statement is finished.
    fn record(&self, nanos: u64) {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if word & FINISHED != 0 {
                return;
            }
            let index = count_of(word);
            if index >= SLOTS as u64 {
                break;
            }
            match self.word.compare_exchange_weak(
                word,
                word + ONE,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    // `finish` counted this record and waits for its slot.
                    self.slots[index as usize].store(nanos.saturating_add(1), Ordering::Release);
                    return;
                }
                Err(now) => word = now,
            }
        }
        // Past the slots: counted and in flight in one add, then the sums, then out.
        let counted = if count_of(word) < MAX_COUNT { ONE } else { 0 };
        let before = self.word.fetch_add(counted + 1, Ordering::Acquire);
        if before & FINISHED == 0 {
            let _ = self
                .more_sum
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                    Some(s.saturating_add(nanos))
                });
            if self.more_max.load(Ordering::Relaxed) < nanos {
                self.more_max.fetch_max(nanos, Ordering::Relaxed);
            }
        }
        self.word.fetch_sub(1, Ordering::Release);
    }

    /// Sets the finished flag; `Some` count if this call set it.
    fn finish(&self) -> Option<u64> {
        let before = self.word.fetch_or(FINISHED, Ordering::AcqRel);
        (before & FINISHED == 0).then(|| count_of(before).min(MAX_COUNT))
    }

    /// What the `count` records counted at `finish` recorded, once each is written (a few atomic
    /// operations away).
    fn summary(&self, count: u64) -> Summary {
        let wait = |done: &dyn Fn() -> bool| {
            let mut spins = 0u32;
            while !done() {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    // The writer was descheduled between claiming and writing.
                    std::thread::yield_now();
                }
            }
        };
        wait(&|| self.word.load(Ordering::Acquire) & IN_FLIGHT == 0);
        let mut summary = Summary {
            count,
            ..Summary::default()
        };
        for (i, slot) in self.slots.iter().enumerate().take(count as usize) {
            wait(&|| slot.load(Ordering::Acquire) != 0);
            let nanos = slot.load(Ordering::Relaxed) - 1;
            if i == 0 {
                summary.first = nanos;
            }
            summary.max = summary.max.max(nanos);
            summary.sum = summary.sum.saturating_add(nanos);
        }
        if count > SLOTS as u64 {
            summary.max = summary.max.max(self.more_max.load(Ordering::Relaxed));
            let more = self.more_sum.load(Ordering::Relaxed);
            summary.sum = summary.sum.saturating_add(more);
        }
        summary
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (about 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// An optional small enum, as its index in `ALL` plus one (0 is unset).
fn store_index(slot: &AtomicU8, index: usize) {
    slot.store(u8::try_from(index + 1).unwrap_or(0), Ordering::Relaxed);
}

fn load_index<T: Copy>(slot: &AtomicU8, all: &[T]) -> Option<T> {
    let i = usize::from(slot.load(Ordering::Relaxed));
    i.checked_sub(1).and_then(|i| all.get(i).copied())
}

/// An optional bool: 0 unset, 1 false, 2 true.
fn store_bool(slot: &AtomicU8, value: bool) {
    slot.store(1 + u8::from(value), Ordering::Relaxed);
}

fn load_bool(slot: &AtomicU8) -> Option<bool> {
    match slot.load(Ordering::Relaxed) {
        0 => None,
        v => Some(v == 2),
    }
}

/// What every clone of one recorder shares.
struct Shared {
    session: Arc<TelemetrySessionContext>,
    operation: OperationType,
    start: Instant,
    /// CloudFetch downloads; their finished flag is the one every other recording checks.
    chunks: Latencies,
    /// `total_chunks_present`, or [`UNSET`].
    chunks_present: AtomicI64,
    polls: Latencies,
    retries: AtomicU64,
    /// Offsets from `start` in nanoseconds (negative for instants before it), or [`UNSET`].
    result_ready: AtomicI64,
    results_consumed: AtomicI64,
    statement_type: AtomicU8,
    result_format: AtomicU8,
    compressed: AtomicU8,
    internal_call: AtomicU8,
    /// The two recordings that own heap memory, each set once per statement, never on the path
    /// of a chunk or a poll; and the handle a bound recorder sends its event to.
    text: Mutex<Text>,
    /// Begun from a handle ([`TelemetryClientHandle::begin`]): the event goes to the handle on
    /// `submit`, or when the last clone is dropped unfinished.
    bound: bool,
}

#[derive(Default)]
struct Text {
    statement_id: Option<String>,
    error: Option<ErrorInfo>,
    /// A bound recorder's handle, until the finisher takes it.
    handle: Option<TelemetryClientHandle>,
}

impl Shared {
    fn is_finished(&self) -> bool {
        self.chunks.is_finished()
    }

    fn set_text(&self, set: impl FnOnce(&mut Text)) {
        if !self.is_finished() {
            set(&mut self.text.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// Ends the recording: the chunk and poll counts to [`tally`](Self::tally), for the one
    /// caller that finishes; `None` if the statement was already finished.
    #[inline]
    fn finish(&self) -> Option<(u64, u64)> {
        // The chunks' flag decides who finishes; only the finisher sets the polls' flag.
        let chunks = self.chunks.finish()?;
        let polls = self.polls.finish().unwrap_or(0);
        Some((chunks, polls))
    }

    /// The event of a finished recording, measured until `end`.
    fn log(&self, tally: Tally, end: Instant) -> FrontendLog {
        tally.into_log(&self.session, self.operation, self.start, end)
    }

    /// Everything recorded, given the counts `finish` fixed, and a bound recorder's handle.
    /// Only the finisher calls this.
    fn tally(&self, chunks: u64, polls: u64) -> (Tally, Option<TelemetryClientHandle>) {
        let polls = self.polls.summary(polls);
        let chunks = self.chunks.summary(chunks);
        let text = std::mem::take(&mut *self.text.lock().unwrap_or_else(PoisonError::into_inner));
        let present = self.chunks_present.load(Ordering::Relaxed);
        let present = (present != UNSET).then(|| i32::try_from(present).unwrap_or(i32::MAX));
        let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let retries = self.retries.load(Ordering::Relaxed);
        let tally = Tally {
            statement_id: text.statement_id,
            statement_type: load_index(&self.statement_type, StatementType::ALL),
            result_format: load_index(&self.result_format, ExecutionResultFormat::ALL),
            compressed: load_bool(&self.compressed),
            internal_call: load_bool(&self.internal_call),
            retry_count: (retries > 0).then(|| i64::try_from(retries).unwrap_or(i64::MAX)),
            status_polls: (polls.count > 0)
                .then(|| (clamp(polls.count), Duration::from_nanos(polls.sum))),
            result_ready: Some(self.result_ready.load(Ordering::Relaxed)).filter(|&o| o != UNSET),
            results_consumed: Some(self.results_consumed.load(Ordering::Relaxed))
                .filter(|&o| o != UNSET),
            chunks: (chunks.count > 0 || present.is_some()).then(|| ChunkTally {
                initial: (chunks.count > 0).then(|| Duration::from_nanos(chunks.first)),
                slowest: (chunks.count > 0).then(|| Duration::from_nanos(chunks.max)),
                sum: Duration::from_nanos(chunks.sum),
                iterated: clamp(chunks.count),
                present,
            }),
            error: text.error,
        };
        (tally, text.handle)
    }
}

impl Drop for Shared {
    /// The last clone of a bound recorder is gone without a finish: its event goes to its
    /// handle now.
    fn drop(&mut self) {
        if self.bound {
            if let Some((chunks, polls)) = self.finish() {
                if let (tally, Some(handle)) = self.tally(chunks, polls) {
                    handle.enqueue(self.log(tally, Instant::now()));
                }
            }
        }
    }
}

/// One operation (a statement, a metadata call, a close or a cancel) recorded from any number
/// of tasks or threads, measured with a monotonic clock from its begin to its finish, and
/// finishing into its event.
///
/// Begun from a connection's handle with [`TelemetryClientHandle::begin`] (or
/// [`begin_at`](TelemetryClientHandle::begin_at)), which binds it to the handle, or from a
/// session with [`TelemetrySessionContext::begin_shared`] (or
/// [`begin_shared_at`](TelemetrySessionContext::begin_shared_at)). A clone is one reference count;
/// every clone records into the same statement, so a driver hands one to each spawned CloudFetch
/// download and to the client that polls the statement's status, without changing their
/// signatures beyond taking the recorder. Recording takes `&self` and no lock: the first eight
/// chunk downloads and the first eight status polls each claim a slot with one compare-exchange
/// and store their latency in it; later ones add to atomic sums and a maximum; other settings
/// are atomic stores, with instants kept as nanoseconds from the statement's start. Only the
/// statement id and an error (set once per statement, owning memory) go through a short mutex.
///
/// As with the context, every `*_at` method takes an instant the driver already holds, and the
/// others read [`Instant::now`]. Durations saturate at `u64::MAX` nanoseconds (584 years);
/// counts stop at `i32::MAX`, as the context's do.
///
/// **Finishing.** [`finish`](Self::finish) (from any clone) returns the event the first time
/// and `None` afterwards, so a driver may call it from more than one place. Recordings made
/// after it are ignored: they are in no event and change nothing. A chunk or a poll recorded
/// while another thread finishes is in the event entirely or not at all.
///
/// **Sending.** A recorder bound to a handle sends its own event, exactly once:
/// [`submit`](Self::submit) (from any clone) finishes it and enqueues the event onto the
/// handle's lane now; otherwise dropping its last clone unfinished does the same (so a result
/// reader holding a clone sends the statement's event when the application drops it).
/// [`finish`](Self::finish) still hands the event to the caller, and then nothing is sent. A
/// bound recorder holds a clone of its handle until it is finished or dropped. A recorder
/// begun from a session has no handle: dropping every clone without finishing records
/// nothing. A recorder begun from a handle that records nothing (disabled or closed) or has
/// no session yet is [inert](Self::is_inert): it records and sends nothing, and allocates
/// nothing.
///
/// ```
/// # use databricks_telemetry::unstable::model::FrontendLogFields;
/// use std::time::{Duration, Instant};
/// use databricks_telemetry::TelemetrySessionContext;
/// use databricks_telemetry::model::{ExecutionResultFormat, OperationType};
///
/// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
/// let start = Instant::now();
/// let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
/// statement.set_statement_id("01f0-stmt");
/// statement.set_result_format(ExecutionResultFormat::ExternalLinks);
/// statement.mark_result_ready_at(start + Duration::from_millis(40));
///
/// // Each download records from its own thread (or task) through its own clone.
/// let downloads: Vec<_> = [25, 60, 30]
///     .into_iter()
///     .map(|ms| {
///         let statement = statement.clone();
///         std::thread::spawn(move || {
///             statement.record_chunk_download(Duration::from_millis(ms));
///         })
///     })
///     .collect();
/// for download in downloads {
///     download.join().unwrap();
/// }
///
/// let log = statement.finish_at(start + Duration::from_millis(150)).expect("first finish");
/// # let chunks = log.entry().sql_driver_log.sql_operation.as_ref().unwrap()
/// #     .chunk_details.as_ref().unwrap();
/// # assert_eq!(chunks.slowest_chunk_latency_millis, Some(60));
/// # assert_eq!(chunks.sum_chunks_download_time_millis, Some(115));
/// # assert_eq!(chunks.total_chunks_iterated, Some(3));
///
/// // Finished: a second finish, and any later recording, do nothing.
/// statement.record_chunk_download(Duration::from_millis(90));
/// assert!(statement.finish().is_none());
/// ```
#[derive(Clone)]
pub struct StatementRecorder {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Live(Arc<Shared>),
    /// Records nothing: begun from a handle that records nothing, or without a session.
    Inert(OperationType),
}

impl Default for StatementRecorder {
    /// [`StatementRecorder::detached`]: records nothing.
    fn default() -> Self {
        StatementRecorder::detached()
    }
}

impl fmt::Debug for StatementRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("StatementRecorder");
        debug.field("operation", &self.operation());
        match &self.repr {
            Repr::Live(shared) => debug
                .field("start", &shared.start)
                .field("bound", &shared.bound)
                .field("finished", &shared.is_finished()),
            Repr::Inert(_) => debug.field("inert", &true),
        };
        debug.finish_non_exhaustive()
    }
}

impl StatementRecorder {
    /// A recorder whose event its finisher takes ([`TelemetrySessionContext::begin_shared`]).
    pub(crate) fn new(
        session: Arc<TelemetrySessionContext>,
        operation: OperationType,
        start: Instant,
    ) -> Self {
        Self::live(session, operation, start, None)
    }

    /// A recorder bound to `handle` ([`TelemetryClientHandle::begin`]).
    pub(crate) fn bound(
        session: Arc<TelemetrySessionContext>,
        operation: OperationType,
        start: Instant,
        handle: TelemetryClientHandle,
    ) -> Self {
        Self::live(session, operation, start, Some(handle))
    }

    /// A recorder that records nothing, allocates nothing and sends nothing (the same as
    /// [`default`](Default::default)): for the code paths of a result reader or a chunk
    /// downloader that run without telemetry (tests, tools, a connection made without a
    /// handle), so their structs hold a `StatementRecorder` rather than an `Option` of one.
    /// See the crate docs, [A recorder that travels with a result stream](crate#a-recorder-that-travels-with-a-result-stream).
    ///
    /// ```
    /// use std::time::Duration;
    /// use databricks_telemetry::StatementRecorder;
    ///
    /// let statement = StatementRecorder::detached();
    /// statement.record_chunk_download(Duration::from_millis(20)); // ignored
    /// assert!(statement.is_inert());
    /// assert!(statement.finish().is_none());
    /// ```
    pub fn detached() -> Self {
        Self::inert(OperationType::TypeUnspecified)
    }

    /// A recorder that records nothing; no allocation.
    pub(crate) fn inert(operation: OperationType) -> Self {
        StatementRecorder {
            repr: Repr::Inert(operation),
        }
    }

    fn live(
        session: Arc<TelemetrySessionContext>,
        operation: OperationType,
        start: Instant,
        handle: Option<TelemetryClientHandle>,
    ) -> Self {
        let statement_type = AtomicU8::new(0);
        if operation.is_metadata() {
            store_index(&statement_type, StatementType::Metadata as usize);
        }
        StatementRecorder {
            repr: Repr::Live(Arc::new(Shared {
                session,
                operation,
                start,
                chunks: Latencies::default(),
                chunks_present: AtomicI64::new(UNSET),
                polls: Latencies::default(),
                retries: AtomicU64::new(0),
                result_ready: AtomicI64::new(UNSET),
                results_consumed: AtomicI64::new(UNSET),
                statement_type,
                result_format: AtomicU8::new(0),
                compressed: AtomicU8::new(0),
                internal_call: AtomicU8::new(0),
                bound: handle.is_some(),
                text: Mutex::new(Text {
                    handle,
                    ..Text::default()
                }),
            })),
        }
    }

    /// The shared recording, unless the recorder is inert.
    #[inline]
    fn live_shared(&self) -> Option<&Shared> {
        match &self.repr {
            Repr::Live(shared) => Some(shared),
            Repr::Inert(_) => None,
        }
    }

    /// The shared recording while recordings count: not inert, not finished.
    #[inline]
    fn recording(&self) -> Option<&Shared> {
        self.live_shared().filter(|shared| !shared.is_finished())
    }

    /// The operation being recorded.
    ///
    /// ```
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ListTables);
    /// assert_eq!(statement.operation(), OperationType::ListTables);
    /// ```
    pub fn operation(&self) -> OperationType {
        match &self.repr {
            Repr::Live(shared) => shared.operation,
            Repr::Inert(operation) => *operation,
        }
    }

    /// The session this operation belongs to; `None` for an inert recorder.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// assert!(Arc::ptr_eq(statement.session().unwrap(), &session));
    /// ```
    pub fn session(&self) -> Option<&Arc<TelemetrySessionContext>> {
        self.live_shared().map(|shared| &shared.session)
    }

    /// Whether the recorder records nothing: it was begun from a
    /// [`TelemetryClientHandle`] that records nothing (disabled or closed) or had no session
    /// yet. Every recording, [`finish`](Self::finish) and [`submit`](Self::submit) is then a
    /// no-op. A driver may skip work it does only for telemetry:
    ///
    /// ```
    /// use databricks_telemetry::model::OperationType;
    /// use databricks_telemetry::TelemetryClientHandle;
    ///
    /// let statement = TelemetryClientHandle::disabled().begin(OperationType::ExecuteStatement);
    /// assert!(statement.is_inert());
    /// statement.set_statement_id("01f0-..."); // ignored
    /// assert!(statement.finish().is_none());
    /// assert!(!statement.submit());
    /// ```
    pub fn is_inert(&self) -> bool {
        matches!(self.repr, Repr::Inert(_))
    }

    /// Whether some clone has finished the statement (recordings are then ignored).
    ///
    /// ```
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// let poller = statement.clone();
    /// assert!(statement.finish().is_some());
    /// assert!(poller.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.live_shared().is_some_and(Shared::is_finished)
    }

    /// The statement id the server assigned (the last one set wins).
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.set_statement_id("01f0-stmt");
    /// let log = statement.finish().unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.sql_statement_id.as_deref(), Some("01f0-stmt"));
    /// ```
    pub fn set_statement_id(&self, id: impl Into<String>) -> &Self {
        if let Some(shared) = self.live_shared() {
            shared.set_text(|t| t.statement_id = Some(id.into()));
        }
        self
    }

    /// The kind of statement (metadata calls are `METADATA` already).
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// use databricks_telemetry::model::{OperationType, StatementType};
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.set_statement_type(StatementType::Query);
    /// # let log = statement.finish().unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.sql_operation.clone().unwrap().statement_type, Some(StatementType::Query));
    /// ```
    pub fn set_statement_type(&self, statement_type: StatementType) -> &Self {
        if let Some(shared) = self.recording() {
            store_index(&shared.statement_type, statement_type as usize);
        }
        self
    }

    /// How results came back.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// use databricks_telemetry::model::{ExecutionResultFormat, OperationType};
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.set_result_format(ExecutionResultFormat::InlineArrow);
    /// # let log = statement.finish().unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.sql_operation.clone().unwrap().execution_result, Some(ExecutionResultFormat::InlineArrow));
    /// ```
    pub fn set_result_format(&self, format: ExecutionResultFormat) -> &Self {
        if let Some(shared) = self.recording() {
            store_index(&shared.result_format, format as usize);
        }
        self
    }

    /// Whether results were compressed.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.set_compressed(true);
    /// # let log = statement.finish().unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.sql_operation.clone().unwrap().is_compressed, Some(true));
    /// ```
    pub fn set_compressed(&self, compressed: bool) -> &Self {
        if let Some(shared) = self.recording() {
            store_bool(&shared.compressed, compressed);
        }
        self
    }

    /// Whether the driver made this call for itself rather than for the application.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ListCatalogs);
    /// statement.set_internal_call(true);
    /// # let log = statement.finish().unwrap();
    /// # let op = log.entry().sql_driver_log.sql_operation.clone().unwrap();
    /// # assert_eq!(op.operation_detail.unwrap().is_internal_call, Some(true));
    /// ```
    pub fn set_internal_call(&self, internal: bool) -> &Self {
        if let Some(shared) = self.recording() {
            store_bool(&shared.internal_call, internal);
        }
        self
    }

    /// One retry of the operation.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.record_retry().record_retry();
    /// let log = statement.finish().unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.sql_operation.clone().unwrap().retry_count, Some(2));
    /// ```
    pub fn record_retry(&self) -> &Self {
        if let Some(shared) = self.recording() {
            shared.retries.fetch_add(1, Ordering::Relaxed);
        }
        self
    }

    /// One status poll that took `latency`.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use std::time::Duration;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// let poller = statement.clone();
    /// poller.record_status_poll(Duration::from_millis(10));
    /// poller.record_status_poll(Duration::from_millis(15));
    /// let log = statement.finish().unwrap();
    /// # let detail = log.entry().sql_driver_log.sql_operation.clone().unwrap().operation_detail.unwrap();
    /// # assert_eq!(detail.n_operation_status_calls, Some(2));
    /// # assert_eq!(detail.operation_status_latency_millis, Some(25));
    /// ```
    pub fn record_status_poll(&self, latency: Duration) -> &Self {
        if let Some(shared) = self.live_shared() {
            shared.polls.record(nanos(latency));
        }
        self
    }

    /// The first results are ready now.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.mark_result_ready();
    /// # let log = statement.finish().unwrap();
    /// # assert!(log.entry().sql_driver_log.sql_operation.clone().unwrap().result_latency.is_some());
    /// ```
    pub fn mark_result_ready(&self) -> &Self {
        self.mark_result_ready_at(Instant::now())
    }

    /// The first results were ready at `at`.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use std::time::{Duration, Instant};
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let start = Instant::now();
    /// let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
    /// statement.mark_result_ready_at(start + Duration::from_millis(40));
    /// let log = statement.finish_at(start + Duration::from_millis(50)).unwrap();
    /// # let latency = log.entry().sql_driver_log.sql_operation.clone().unwrap().result_latency.unwrap();
    /// # assert_eq!(latency.result_set_ready_latency_millis, Some(40));
    /// ```
    pub fn mark_result_ready_at(&self, at: Instant) -> &Self {
        if let Some(shared) = self.recording() {
            let offset = offset_nanos(shared.start, at);
            shared.result_ready.store(offset, Ordering::Relaxed);
        }
        self
    }

    /// The caller has consumed the results now.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.mark_result_ready().mark_results_consumed();
    /// # let log = statement.finish().unwrap();
    /// # assert!(log.entry().sql_driver_log.sql_operation.clone().unwrap().result_latency.unwrap().result_set_consumption_latency_millis.is_some());
    /// ```
    pub fn mark_results_consumed(&self) -> &Self {
        self.mark_results_consumed_at(Instant::now())
    }

    /// The caller had consumed the results at `at`.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use std::time::{Duration, Instant};
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let start = Instant::now();
    /// let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
    /// statement
    ///     .mark_result_ready_at(start + Duration::from_millis(40))
    ///     .mark_results_consumed_at(start + Duration::from_millis(140));
    /// let log = statement.finish_at(start + Duration::from_millis(150)).unwrap();
    /// # let latency = log.entry().sql_driver_log.sql_operation.clone().unwrap().result_latency.unwrap();
    /// # assert_eq!(latency.result_set_consumption_latency_millis, Some(100));
    /// ```
    pub fn mark_results_consumed_at(&self, at: Instant) -> &Self {
        if let Some(shared) = self.recording() {
            let offset = offset_nanos(shared.start, at);
            shared.results_consumed.store(offset, Ordering::Relaxed);
        }
        self
    }

    /// How many CloudFetch chunks the result has.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.set_total_chunks(12);
    /// let log = statement.finish().unwrap();
    /// # let chunks = log.entry().sql_driver_log.sql_operation.clone().unwrap().chunk_details.unwrap();
    /// # assert_eq!(chunks.total_chunks_present, Some(12));
    /// ```
    pub fn set_total_chunks(&self, present: i32) -> &Self {
        if let Some(shared) = self.recording() {
            shared
                .chunks_present
                .store(i64::from(present), Ordering::Relaxed);
        }
        self
    }

    /// One CloudFetch chunk was downloaded in `latency`. The first one recorded is the initial
    /// chunk.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use std::time::Duration;
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.record_chunk_download(Duration::from_millis(25));
    /// statement.record_chunk_download(Duration::from_millis(40));
    /// let log = statement.finish().unwrap();
    /// # let chunks = log.entry().sql_driver_log.sql_operation.clone().unwrap().chunk_details.unwrap();
    /// # assert_eq!(chunks.initial_chunk_latency_millis, Some(25));
    /// # assert_eq!(chunks.slowest_chunk_latency_millis, Some(40));
    /// # assert_eq!(chunks.sum_chunks_download_time_millis, Some(65));
    /// ```
    pub fn record_chunk_download(&self, latency: Duration) -> &Self {
        if let Some(shared) = self.live_shared() {
            shared.chunks.record(nanos(latency));
        }
        self
    }

    /// The operation failed (the last error recorded wins).
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use databricks_telemetry::{ErrorInfo, TelemetrySessionContext};
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// statement.record_error(ErrorInfo::new("NetworkError"));
    /// let log = statement.finish().unwrap();
    /// # let error = log.entry().sql_driver_log.error_info.clone().unwrap();
    /// # assert_eq!(error.error_name.as_deref(), Some("NetworkError"));
    /// ```
    pub fn record_error(&self, error: ErrorInfo) -> &Self {
        if let Some(shared) = self.live_shared() {
            shared.set_text(|t| t.error = Some(error));
        }
        self
    }

    /// Ends the measurement now and builds the event; `None` if the statement was already
    /// finished (by this clone or another), and for an inert recorder. The event is the
    /// caller's: a recorder bound to a handle sends nothing itself once finished this way.
    ///
    /// ```
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// assert!(statement.finish().is_some());
    /// assert!(statement.clone().finish().is_none());
    /// ```
    #[must_use = "the event is built once: enqueue it"]
    pub fn finish(&self) -> Option<FrontendLog> {
        self.finish_at(Instant::now())
    }

    /// Ends the measurement at `end` and builds the event; `None` if the statement was already
    /// finished. Instants before the start count as no time at all.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// # use std::time::{Duration, Instant};
    /// # use databricks_telemetry::TelemetrySessionContext;
    /// # use databricks_telemetry::model::OperationType;
    /// # let session = TelemetrySessionContext::builder("d", "1").build();
    /// let start = Instant::now();
    /// let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
    /// let log = statement.finish_at(start + Duration::from_millis(150)).unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.operation_latency_ms, Some(150));
    /// ```
    #[must_use = "the event is built once: enqueue it"]
    pub fn finish_at(&self, end: Instant) -> Option<FrontendLog> {
        let shared = self.live_shared()?;
        let (chunks, polls) = shared.finish()?;
        let (tally, handle) = shared.tally(chunks, polls);
        // A bound recorder's handle clone goes: the caller has the event. (Dropped before the
        // event is built, so the event is built in the caller's slot, not copied there.)
        drop(handle);
        Some(tally.into_log(&shared.session, shared.operation, shared.start, end))
    }

    /// For a recorder bound to a handle ([`TelemetryClientHandle::begin`]): ends the
    /// measurement now, builds the event and hands it to the handle (as
    /// [`enqueue`](TelemetryClientHandle::enqueue) would: onto the lane, or counted as dropped
    /// when the handle is closed or the lane full). True when this call did so; false when the statement was already finished (by any clone, with
    /// [`finish`](Self::finish) or `submit`), for an inert recorder, and for a recorder begun
    /// from a session ([`TelemetrySessionContext::begin_shared`]), which has no handle: nothing
    /// changes then, and its event is still [`finish`](Self::finish)'s to return.
    ///
    /// Without `submit`, a bound recorder enqueues its event when its last clone is dropped
    /// unfinished; `submit` sends it at a moment the driver chooses (e.g. when the results are
    /// consumed), even while clones are still held.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use databricks_telemetry::{ClientIdentity, TelemetryClientManager};
    /// # use databricks_telemetry::testing::InMemoryExporter;
    /// # use databricks_telemetry::{TelemetryConfig, TelemetrySessionContext};
    /// use databricks_telemetry::model::OperationType;
    /// # let manager = TelemetryClientManager::new();
    /// # let make = |_: &_| Box::new(InMemoryExporter::new()) as Box<_>;
    /// # let config = TelemetryConfig::builder().with_flush_interval(Duration::from_secs(3600)).build()?;
    /// # let telemetry = manager.acquire("adb-1.azuredatabricks.net", &ClientIdentity::anonymous(), &config, make)?;
    /// telemetry.set_session(TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build());
    /// let statement = telemetry.begin(OperationType::ExecuteStatement);
    /// let poller = statement.clone(); // still held
    /// statement.mark_results_consumed();
    /// assert!(statement.submit());
    /// assert!(!poller.submit(), "sent once");
    /// drop((statement, poller)); // nothing more is sent
    /// assert_eq!(telemetry.stats().enqueued, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit(&self) -> bool {
        self.submit_at(Instant::now())
    }

    /// [`submit`](Self::submit), the measurement ending at `end`.
    pub fn submit_at(&self, end: Instant) -> bool {
        let Some(shared) = self.live_shared().filter(|shared| shared.bound) else {
            return false;
        };
        let Some((chunks, polls)) = shared.finish() else {
            return false;
        };
        match shared.tally(chunks, polls) {
            (tally, Some(handle)) => {
                handle.enqueue(shared.log(tally, end));
                true
            }
            (_, None) => false,
        }
    }
}
