//! One lane's spool: the segments of its (host, identity) in the spool directory, written while
//! the lane cannot send and read back, oldest first, once it can.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::directory::{self, SegmentFile};
use super::record::{self, Position};
use super::segment::{remove_refused, Entry, Opened, SegmentReader, SegmentWriter, MAX_FILE_BYTES};
use super::warn::{warn_once, Cause};
use super::SpoolSettings;
use crate::model::FrontendLog;

/// The largest segment file: a replayer reads one whole segment into memory.
const MAX_SEGMENT_BYTES: u64 = 1 << 20;

/// Held while a lane of this process counts the directory's bytes, makes room and writes, so
/// that two lanes do not both find room for their writes in the same space (a leaf lock).
static DIRECTORY_WRITES: Mutex<()> = Mutex::new(());

/// What a write did with the events it was given.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// Written and synced.
    pub(crate) written: usize,
    /// Not written: no room, or the directory could not be used (`spool_full`).
    pub(crate) refused: usize,
    /// Older records dropped to make room (`spool_full`, and read back: `replayed`).
    pub(crate) evicted: usize,
    /// Expired records found and deleted on the way (`spool_expired`, and `replayed`).
    pub(crate) expired: usize,
    /// Corrupt records found on the way (`spool_corrupt`, and `replayed`).
    pub(crate) corrupt: usize,
}

/// A batch read back from the spool.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub(crate) logs: Vec<FrontendLog>,
    /// What to acknowledge once the batch is delivered (or dropped for good).
    pub(crate) mark: Option<SpoolMark>,
    /// Records past `spool_max_age`, dropped (and already acknowledged).
    pub(crate) expired: usize,
    /// Records that failed their checksum or did not parse, skipped (already acknowledged).
    pub(crate) corrupt: usize,
}

/// How far a replayed batch reaches in its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolMark {
    path: PathBuf,
    end: Position,
}

/// One lane's spool. Its lock comes after the lane's: the writes and reads (disk I/O) are made
/// with no pipeline lock held; only cheap calls (letting a segment go) under the lane's lock.
/// Under it only `DIRECTORY_WRITES` is taken.
#[derive(Debug)]
pub(crate) struct LaneSpool {
    settings: SpoolSettings,
    host: String,
    identity: String,
    /// Records of this lane may wait on disk; cleared when a read finds none.
    waiting: AtomicBool,
    /// The directory could not be used (read without the lock, by the worker's scan).
    broken: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    /// Not opened yet: the worker opens it when it first needs it (no I/O at acquire).
    Unopened,
    Open(Box<Store>),
    /// The directory could not be used (warned once): memory only.
    Broken,
}

#[derive(Debug)]
struct Store {
    dir: PathBuf,
    prefix: String,
    writer: Option<SegmentWriter>,
    reader: Option<SegmentReader>,
    /// Bytes of segment files in the directory, as counted before this write plus what it made
    /// room for and wrote.
    dir_bytes: u64,
    seq: u64,
    /// What opening found and dropped (expired or corrupt records), for the next write or
    /// read to report.
    carried: Written,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

impl LaneSpool {
    /// The spool of (`host`, `identity`) (as [`ClientIdentity::spool_name`] spells it) in
    /// `settings.dir`. Does no I/O.
    ///
    /// [`ClientIdentity::spool_name`]: crate::ClientIdentity
    pub(crate) fn new(settings: SpoolSettings, host: String, identity: String) -> Self {
        LaneSpool {
            settings,
            host,
            identity,
            waiting: AtomicBool::new(true),
            broken: AtomicBool::new(false),
            state: Mutex::new(State::Unopened),
        }
    }

    /// Whether records of this lane may wait on disk (no I/O).
    pub(crate) fn has_waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire)
    }

    /// Opens the spool if it is not yet (I/O: call it with no pipeline lock held), and says
    /// whether it can be written to.
    pub(crate) fn usable(&self) -> bool {
        let mut state = self.lock();
        self.store(&mut state).is_some()
    }

    /// Whether the spool is known to be unusable (memory only).
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The open store, opening it first; `None` when the directory cannot be used.
    fn store<'a>(&self, state: &'a mut State) -> Option<&'a mut Store> {
        if matches!(state, State::Unopened) {
            *state = match self.open() {
                Ok(store) => State::Open(Box::new(store)),
                Err(error) => {
                    warn_once(Cause::Directory, &error.to_string());
                    self.waiting.store(false, Ordering::Release);
                    self.broken.store(true, Ordering::Release);
                    State::Broken
                }
            };
        }
        match state {
            State::Open(store) => Some(store),
            _ => None,
        }
    }

    fn open(&self) -> Result<Store, directory::DirectoryError> {
        let dir = &self.settings.dir;
        directory::prepare(dir)?;
        let key = directory::key(dir)?;
        let prefix = directory::digest(&key, &self.host, &self.identity);
        let mut store = Store {
            dir: dir.clone(),
            prefix,
            writer: None,
            reader: None,
            dir_bytes: 0,
            seq: 0,
            carried: Written::default(),
        };
        let mut counts = Written::default();
        super::segment::remove_abandoned_new(dir);
        store.expire_old_segments(self.settings.max_age, &mut counts);
        store.carried = counts;
        store.dir_bytes = store.count_bytes();
        Ok(store)
    }

    /// Writes `logs` (as one synced write), making room first by dropping the directory's
    /// oldest records when it would pass `spool_max_bytes`.
    pub(crate) fn write(&self, logs: &[FrontendLog]) -> Written {
        let mut counts = Written::default();
        if logs.is_empty() {
            return counts;
        }
        let mut state = self.lock();
        let Some(store) = self.store(&mut state) else {
            counts.refused = logs.len();
            return counts;
        };
        let carried = std::mem::take(&mut store.carried);
        counts.expired += carried.expired;
        counts.corrupt += carried.corrupt;
        let mut records = Vec::with_capacity(logs.len());
        for log in logs {
            match serde_json::to_vec(log) {
                Ok(payload) if payload.len() <= record::MAX_RECORD => records.push(payload),
                // A log always serializes (it is what the exporter sends), and is a few KiB;
                // if not, it is lost here as it would be there.
                _ => counts.refused += 1,
            }
        }
        let mut bytes = Vec::new();
        record::encode(&mut bytes, now_ms(), &records);
        let needed = bytes.len() as u64;
        if needed + record::HEADER_LEN as u64 > MAX_FILE_BYTES {
            // A segment larger than a replayer reads: never written.
            counts.refused = logs.len();
            return counts;
        }
        // The bound is the directory's: every lane (of this process or another) writes to it,
        // so it is counted afresh before each write (a directory listing, cheap next to the
        // sync), and this process's lanes count and write one at a time.
        let _one_writer = DIRECTORY_WRITES
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        store.dir_bytes = store.count_bytes();
        if store.dir_bytes + needed > self.settings.max_bytes {
            store.make_room(needed, self.settings.max_bytes, &mut counts);
            if store.dir_bytes + needed > self.settings.max_bytes {
                counts.refused = logs.len();
                return counts;
            }
        }
        let segment_limit = (self.settings.max_bytes / 4).clamp(64 << 10, MAX_SEGMENT_BYTES);
        match store.append(&bytes, segment_limit) {
            Ok(()) => {
                counts.written = logs.len() - counts.refused;
                self.waiting.store(true, Ordering::Release);
            }
            Err(error) => {
                warn_once(
                    Cause::Write,
                    &format!(
                        "cannot write to the spool directory {}: {error}",
                        store.dir.display()
                    ),
                );
                counts.refused = logs.len();
                // Memory only from now on (a full disk, a read-only file system): what is on
                // disk stays for a later process.
                *state = State::Broken;
                self.broken.store(true, Ordering::Release);
            }
        }
        counts
    }

    /// Reads up to `max` records back, oldest first, from segments no one else holds (the
    /// lane's own open segment is closed first). Expired and corrupt records on the way are
    /// counted and acknowledged; the batch's own records are acknowledged by [`ack`](Self::ack).
    pub(crate) fn read(&self, max: usize) -> Replay {
        let mut replay = Replay::default();
        let mut state = self.lock();
        let Some(store) = self.store(&mut state) else {
            return replay;
        };
        let carried = std::mem::take(&mut store.carried);
        replay.expired += carried.expired;
        replay.corrupt += carried.corrupt;
        store.writer = None;
        let oldest_allowed = now_ms().saturating_sub(self.settings.max_age.as_millis() as u64);
        loop {
            if store.reader.is_none() && !store.open_next_reader() {
                self.waiting.store(false, Ordering::Release);
                break;
            }
            let Some(reader) = store.reader.as_mut() else {
                break;
            };
            let mut last_end = None;
            // Where the expired and corrupt records read before this batch's first one end:
            // acknowledged at once, so that a batch released unsent does not count them again.
            let mut dropped_end = None;
            while replay.logs.len() < max {
                let Some(entry) = reader.next_entry() else {
                    break;
                };
                let end = entry.end();
                let log = match &entry {
                    Entry::Corrupt { .. } => None,
                    Entry::Record {
                        written_at_ms,
                        payload,
                        ..
                    } => {
                        if *written_at_ms < oldest_allowed {
                            None
                        } else {
                            serde_json::from_slice::<FrontendLog>(payload).ok()
                        }
                    }
                };
                if let Some(log) = log {
                    replay.logs.push(log);
                    last_end = Some(end);
                    continue;
                }
                if !replay.logs.is_empty() {
                    // Dropped records after the batch's: left for the next read, which drops
                    // (counts and acknowledges) them before its own batch.
                    reader.put_back(entry);
                    break;
                }
                match entry {
                    Entry::Corrupt { records, .. } => replay.corrupt += records,
                    Entry::Record { written_at_ms, .. } if written_at_ms < oldest_allowed => {
                        replay.expired += 1;
                    }
                    Entry::Record { .. } => replay.corrupt += 1,
                }
                dropped_end = Some(end);
            }
            if !replay.logs.is_empty() {
                let path = reader.path.clone();
                if let Some(end) = dropped_end {
                    store.consume_reader(end);
                }
                replay.mark = last_end.map(|end| SpoolMark { path, end });
                break;
            }
            // Nothing to send in what is left of this segment: it is done with.
            let len = reader.len;
            store.consume_reader(Position::block(len));
        }
        // Old-format segments deleted on the way.
        let late = std::mem::take(&mut store.carried);
        replay.expired += late.expired;
        replay.corrupt += late.corrupt;
        replay
    }

    /// Lets go of the segments this lane holds (its open segment and the one it replays), so
    /// another lane or process may read them at once: the lane finished.
    pub(crate) fn let_go(&self) {
        let mut state = self.lock();
        if let State::Open(store) = &mut *state {
            store.writer = None;
            store.reader = None;
        }
    }

    /// The batch read up to `mark` was delivered (or dropped for good): it is not read again.
    pub(crate) fn ack(&self, mark: &SpoolMark) {
        let mut state = self.lock();
        if let State::Open(store) = &mut *state {
            if store.reader.as_ref().is_some_and(|r| r.path == mark.path) {
                store.consume_reader(mark.end);
            }
        }
    }

    /// The batch read up to `mark` goes back to disk unsent: the segment is let go, and read
    /// again from its last acknowledged record by the next replayer (this lane or another).
    pub(crate) fn release(&self, mark: &SpoolMark) {
        let mut state = self.lock();
        if let State::Open(store) = &mut *state {
            if store.reader.as_ref().is_some_and(|r| r.path == mark.path) {
                store.reader = None;
            }
        }
        self.waiting.store(true, Ordering::Release);
    }
}

impl Store {
    fn count_bytes(&self) -> u64 {
        directory::segments(&self.dir, None)
            .map(|all| all.iter().map(|s| s.bytes).sum())
            .unwrap_or(0)
    }

    fn append(&mut self, bytes: &[u8], segment_limit: u64) -> std::io::Result<()> {
        let full = self
            .writer
            .as_ref()
            .is_some_and(|w| w.len + bytes.len() as u64 > segment_limit);
        if full {
            self.writer = None;
        }
        if self.writer.is_none() {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos());
            self.seq += 1;
            let name = directory::segment_name(&self.prefix, nanos, self.seq);
            let writer = SegmentWriter::create(&self.dir, &name)?;
            self.dir_bytes += writer.len;
            self.writer = Some(writer);
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no segment"))?;
        writer.append(bytes)?;
        self.dir_bytes += bytes.len() as u64;
        Ok(())
    }

    /// Opens the oldest segment of this lane that no one holds; false when there is none.
    fn open_next_reader(&mut self) -> bool {
        let Ok(segments) = directory::segments(&self.dir, Some(&self.prefix)) else {
            return false;
        };
        for segment in segments {
            match SegmentReader::open(&segment.path) {
                Ok(Opened::Reader(reader)) => {
                    self.reader = Some(*reader);
                    return true;
                }
                Ok(Opened::Old(_locked)) => self.carried.corrupt += remove_old(&segment),
                Ok(Opened::Refused) => self.carried.corrupt += remove_refused(&segment.path),
                _ => {}
            }
        }
        false
    }

    fn consume_reader(&mut self, end: Position) {
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        let len = reader.len;
        match reader.consume(end) {
            Ok(true) => {
                self.dir_bytes = self.dir_bytes.saturating_sub(len);
                self.reader = None;
            }
            Ok(false) => {}
            Err(error) => {
                // Left as it is: read again later (sent twice rather than lost).
                tracing::debug!(%error, "could not mark spool records consumed");
                self.reader = None;
            }
        }
    }

    /// Deletes whole segments (of any host and identity) written to last before `max_age` ago
    /// and held by no one, counting their records as expired.
    fn expire_old_segments(&mut self, max_age: Duration, counts: &mut Written) {
        let Ok(segments) = directory::segments(&self.dir, None) else {
            return;
        };
        for segment in segments {
            let old = std::fs::symlink_metadata(&segment.path)
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > max_age);
            if old {
                let (records, corrupt) = take_whole(&segment);
                counts.expired += records;
                counts.corrupt += corrupt;
            }
        }
    }

    /// Drops the directory's oldest segments (any host and identity, held by no one) until
    /// `needed` more bytes fit under `max_bytes`.
    fn make_room(&mut self, needed: u64, max_bytes: u64, counts: &mut Written) {
        let Ok(segments) = directory::segments(&self.dir, None) else {
            return;
        };
        let own = self.writer.as_ref().map(|w| w.path.clone());
        for segment in segments {
            if self.dir_bytes + needed <= max_bytes {
                break;
            }
            if own.as_deref() == Some(segment.path.as_path())
                || self.reader.as_ref().is_some_and(|r| r.path == segment.path)
            {
                continue;
            }
            let (records, corrupt) = take_whole(&segment);
            if records + corrupt > 0 || !segment.path.exists() {
                counts.evicted += records;
                counts.corrupt += corrupt;
                self.dir_bytes = self.dir_bytes.saturating_sub(segment.bytes);
            }
        }
    }
}

/// Locks, counts and deletes a whole segment: (records, corrupt ones). (0, 0) when another
/// holds it.
fn take_whole(segment: &SegmentFile) -> (usize, usize) {
    let mut reader = match SegmentReader::open(&segment.path) {
        Ok(Opened::Reader(reader)) => *reader,
        Ok(Opened::Old(_locked)) => return (0, remove_old(segment)),
        Ok(Opened::Refused) => return (0, remove_refused(&segment.path)),
        _ => return (0, 0),
    };
    let (mut records, mut corrupt) = (0, 0);
    while let Some(entry) = reader.next_entry() {
        match entry {
            Entry::Record { .. } => records += 1,
            Entry::Corrupt { records, .. } => corrupt += records,
        }
    }
    if std::fs::remove_file(&segment.path).is_err() {
        return (0, 0);
    }
    (records, corrupt)
}

/// Deletes a segment of the format's version 1 (held locked by the caller), which this version
/// does not read: counted as one corrupt record (1 when deleted, else 0).
fn remove_old(segment: &SegmentFile) -> usize {
    tracing::debug!(
        path = %segment.path.display(),
        "deleting a spool segment of an older format (version 1), not read"
    );
    usize::from(std::fs::remove_file(&segment.path).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dbx-telemetry-store-{name}-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn spool(dir: &std::path::Path) -> LaneSpool {
        LaneSpool::new(
            SpoolSettings {
                dir: dir.to_owned(),
                max_bytes: 1 << 30,
                max_age: Duration::from_secs(3600),
            },
            "example.com".to_owned(),
            "named:user".to_owned(),
        )
    }

    fn logs(n: usize) -> Vec<FrontendLog> {
        (0..n)
            .map(|i| FrontendLog {
                frontend_log_event_id: format!("00000000-0000-4000-8000-{i:012}").as_str().into(),
                workspace_id: Some(i as i64),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn one_writer_and_one_replayer_at_a_time_and_a_gone_holder_is_taken_over() {
        let dir = temp_dir("locks");
        let first = spool(&dir);
        let second = spool(&dir);
        assert_eq!(first.write(&logs(10)).written, 10);
        // The first holds its segment while it writes: the second cannot read it.
        assert!(second.read(100).logs.is_empty());
        // The first reads back 4 (closing its segment, and holding it to replay).
        let replay = first.read(4);
        assert_eq!(replay.logs, logs(10)[..4]);
        first.ack(replay.mark.as_ref().unwrap());
        second.waiting.store(true, Ordering::Release);
        assert!(second.read(100).logs.is_empty(), "two replayers at once");
        // The first goes (as a crashed process's lock goes with it): the second takes over,
        // from the last acknowledged record.
        drop(first);
        second.waiting.store(true, Ordering::Release);
        let rest = second.read(100);
        assert_eq!(rest.logs, logs(10)[4..]);
        second.ack(rest.mark.as_ref().unwrap());
        assert!(directory::segments(&dir, None).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_segment_of_the_old_format_is_counted_once_and_deleted_never_read() {
        let dir = temp_dir("old");
        let spool = spool(&dir);
        assert_eq!(spool.write(&logs(3)).written, 3);
        let ours = directory::segments(&dir, None).unwrap();
        // A version 1 segment of the same lane, older (its name sorts first).
        let old = dir.join(format!("{}-0-1-1.seg", ours[0].prefix));
        let mut v1 = record::MAGIC_V1.to_vec();
        v1.extend_from_slice(&[0u8; 16]);
        v1.extend_from_slice(b"\x07\0\0\0 any old record");
        std::fs::write(&old, &v1).unwrap();
        assert_eq!(directory::segments(&dir, None).unwrap().len(), 2);
        let replay = spool.read(10);
        assert_eq!((replay.logs.len(), replay.corrupt), (3, 1));
        assert!(!old.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Runs `f` on another thread and waits for it at most 20 s (a FIFO read would block
    /// forever, a read of /dev/zero until memory runs out).
    fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("the spool hung on a directory entry")
    }

    /// Puts a symlink to /dev/zero and a FIFO named like segments of `prefix` in `dir`.
    fn hostile_entries(dir: &std::path::Path, prefix: &str) -> [PathBuf; 2] {
        let link = dir.join(format!("{prefix}-0-1-1.seg"));
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let fifo = dir.join(format!("{prefix}-0-1-2.seg"));
        // Made here, not by running `mkfifo`: a child process forked meanwhile would hold a
        // copy of another test's segment (and its lock) until it execs.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        [link, fifo]
    }

    #[test]
    fn a_symlink_or_fifo_named_like_a_segment_is_deleted_unread_on_replay() {
        let dir = temp_dir("hostile-read");
        let spool = spool(&dir);
        assert_eq!(spool.write(&logs(3)).written, 3);
        let prefix = directory::segments(&dir, None).unwrap()[0].prefix.clone();
        let entries = hostile_entries(&dir, &prefix);
        let (read, corrupt) = within(move || {
            let replay = spool.read(10);
            (replay.logs, replay.corrupt)
        });
        assert_eq!((read, corrupt), (logs(3), 2));
        for entry in entries {
            assert!(
                std::fs::symlink_metadata(&entry).is_err(),
                "{entry:?} stays"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_symlink_or_fifo_named_like_a_segment_is_deleted_unread_when_making_room() {
        // The size of one write of 3 logs, measured in a directory of its own.
        let probe_dir = temp_dir("hostile-probe");
        spool(&probe_dir).write(&logs(3));
        let one: u64 = directory::segments(&probe_dir, None).unwrap()[0].bytes;
        let _ = std::fs::remove_dir_all(&probe_dir);

        let dir = temp_dir("hostile-room");
        let small = LaneSpool::new(
            SpoolSettings {
                dir: dir.clone(),
                max_bytes: one + one / 2,
                max_age: Duration::from_secs(3600),
            },
            "example.com".to_owned(),
            "named:user".to_owned(),
        );
        assert_eq!(small.write(&logs(3)).written, 3);
        // Another lane's names, older than every real segment: made room from first.
        let entries = hostile_entries(&dir, "0000000000000000");
        let counts = within(move || small.write(&logs(3)));
        assert_eq!(counts.corrupt, 2);
        for entry in entries {
            assert!(
                std::fs::symlink_metadata(&entry).is_err(),
                "{entry:?} stays"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn inspect_skips_a_symlink_or_fifo_named_like_a_segment_without_hanging() {
        let dir = temp_dir("hostile-inspect");
        assert_eq!(spool(&dir).write(&logs(3)).written, 3);
        let prefix = directory::segments(&dir, None).unwrap()[0].prefix.clone();
        let entries = hostile_entries(&dir, &prefix);
        let listed = within({
            let dir = dir.clone();
            move || crate::spool::inspect::inspect(&dir, false).unwrap()
        });
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].records, 3);
        // Inspecting changes nothing.
        for entry in entries {
            assert!(std::fs::symlink_metadata(&entry).is_ok(), "{entry:?} gone");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_larger_than_any_segment_is_deleted_unread() {
        let dir = temp_dir("hostile-large");
        let spool = spool(&dir);
        assert_eq!(spool.write(&logs(3)).written, 3);
        let prefix = directory::segments(&dir, None).unwrap()[0].prefix.clone();
        let large = dir.join(format!("{prefix}-0-1-1.seg"));
        let file = std::fs::File::create(&large).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        let replay = spool.read(10);
        assert_eq!((replay.logs, replay.corrupt), (logs(3), 1));
        assert!(!large.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `n` logs of about 2,000 bytes each that do not compress (so they take their room).
    fn incompressible(seed: u64, n: usize) -> Vec<FrontendLog> {
        let mut x = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
        (0..n)
            .map(|_| {
                let id: String = (0..2000)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        char::from(b'a' + (x % 26) as u8)
                    })
                    .collect();
                FrontendLog {
                    frontend_log_event_id: id.as_str().into(),
                    ..Default::default()
                }
            })
            .collect()
    }

    #[test]
    fn several_lanes_together_stay_within_spool_max_bytes() {
        let dir = temp_dir("shared-bound");
        let max_bytes = 256 << 10;
        let lanes: Vec<LaneSpool> = (0..4)
            .map(|i| {
                LaneSpool::new(
                    SpoolSettings {
                        dir: dir.clone(),
                        max_bytes,
                        max_age: Duration::from_secs(3600),
                    },
                    "example.com".to_owned(),
                    format!("named:user{i}"),
                )
            })
            .collect();
        let mut written = 0;
        for round in 0..3u64 {
            for (i, lane) in lanes.iter().enumerate() {
                written += lane
                    .write(&incompressible(round * 10 + i as u64 + 1, 40))
                    .written;
                let on_disk: u64 = directory::segments(&dir, None)
                    .unwrap()
                    .iter()
                    .map(|s| s.bytes)
                    .sum();
                assert!(
                    on_disk <= max_bytes,
                    "{on_disk} bytes on disk, bound {max_bytes}"
                );
            }
        }
        assert!(written > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn expired_records_are_counted_once_even_when_the_batch_after_them_is_released() {
        let dir = temp_dir("expired-release");
        let spool = LaneSpool::new(
            SpoolSettings {
                dir: dir.clone(),
                max_bytes: 1 << 30,
                max_age: Duration::from_secs(3600),
            },
            "example.com".to_owned(),
            "named:user".to_owned(),
        );
        assert_eq!(spool.write(&logs(3)).written, 3);
        assert_eq!(spool.write(&logs(2)).written, 2);
        // The first write's block is made two hours old (its written_at field, 12 bytes into
        // the block's header, and the header's checksum after it): past spool_max_age.
        let path = directory::segments(&dir, None).unwrap()[0].path.clone();
        let mut bytes = std::fs::read(&path).unwrap();
        let block = record::HEADER_LEN;
        let at = block + 12;
        let original = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        assert!(
            original.abs_diff(now_ms()) < 60_000,
            "written_at is not at {at}"
        );
        let old = now_ms() - 2 * 3600 * 1000;
        bytes[at..at + 8].copy_from_slice(&old.to_le_bytes());
        let head_crc = crate::spool::crc32::crc32(&[&bytes[block..block + 20]]);
        bytes[block + 20..block + 24].copy_from_slice(&head_crc.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let first = spool.read(10);
        assert_eq!((first.logs.len(), first.expired), (2, 3));
        spool.release(first.mark.as_ref().unwrap());
        let second = spool.read(10);
        assert_eq!((second.logs.len(), second.expired), (2, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_segment_a_crash_left_half_made_is_deleted_when_old() {
        let dir = temp_dir("half-made");
        assert_eq!(spool(&dir).write(&logs(1)).written, 1);
        let old = dir.join(format!("x-1-1-1{}", super::super::segment::NEW_SUFFIX));
        let recent = dir.join(format!("x-1-1-2{}", super::super::segment::NEW_SUFFIX));
        for path in [&old, &recent] {
            std::fs::write(path, record::header()).unwrap();
        }
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        // A new store (as a later process opens it) cleans up.
        assert_eq!(spool(&dir).read(10).logs.len(), 1);
        assert!(!old.exists());
        assert!(recent.exists(), "one being made now is left alone");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_released_batch_is_read_again() {
        let dir = temp_dir("release");
        let spool = spool(&dir);
        spool.write(&logs(3));
        let replay = spool.read(2);
        assert_eq!(replay.logs.len(), 2);
        spool.release(replay.mark.as_ref().unwrap());
        let again = spool.read(10);
        assert_eq!(again.logs, logs(3));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
