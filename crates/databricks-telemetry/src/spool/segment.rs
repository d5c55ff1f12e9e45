//! One segment file: written by one process at a time, read back (and then deleted) by one
//! replayer at a time, each holding an exclusive advisory lock (`flock`) on it. A writer that
//! crashed leaves its file unlocked, so the next replayer takes it over.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation, OFlags};

use super::record::{self, Decoded, Header, Position, HEADER_LEN};

/// The largest segment file a replayer reads (it reads one whole into memory): the writer's
/// segment limit (at most 1 MiB) plus room for one write that started below it. A larger file
/// is not one this library wrote; it is counted corrupt and deleted unread.
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;

/// What opening a directory entry for reading found.
enum Checked {
    File(File),
    /// Gone since the directory was listed.
    Gone,
    /// Not a regular file (a symlink, a FIFO, a device, a directory) or larger than
    /// [`MAX_FILE_BYTES`]: never read.
    Refused,
}

/// Opens `path` for reading and writing without following a symlink and without blocking (a
/// FIFO), and keeps it only when `fstat` says it is a regular file of at most
/// [`MAX_FILE_BYTES`].
fn open_checked(path: &Path) -> io::Result<Checked> {
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Checked::Gone),
        // ELOOP: a symlink; ENXIO and the like: a device or socket; EISDIR: a directory.
        Err(error)
            if matches!(
                rustix::io::Errno::from_io_error(&error),
                Some(rustix::io::Errno::LOOP | rustix::io::Errno::NXIO | rustix::io::Errno::ISDIR)
            ) =>
        {
            return Ok(Checked::Refused)
        }
        Err(error) => return Err(error),
    };
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.len() > MAX_FILE_BYTES {
        return Ok(Checked::Refused);
    }
    Ok(Checked::File(file))
}

/// Deletes a directory entry that is not a segment this library could have written (see
/// [`open_checked`]): the entry only, never what a symlink points to. 1 when deleted.
pub(crate) fn remove_refused(path: &Path) -> usize {
    tracing::debug!(
        path = %path.display(),
        "deleting a spool entry that is not a regular segment file of a plausible size"
    );
    usize::from(fs::remove_file(path).is_ok())
}

/// What a segment is called while it is being made (see [`SegmentWriter::create`]).
pub(crate) const NEW_SUFFIX: &str = ".seg.new";

/// How old a segment being made must be before it counts as left behind by a crash: making one
/// takes a create, a lock, a header write, a sync and a rename.
pub(crate) const NEW_ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes the segments being made that a crashed process left in `dir` (older than
/// [`NEW_ABANDONED_AFTER`]; they hold a header only). The entry only, whatever it is.
pub(crate) fn remove_abandoned_new(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let abandoned = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.ends_with(NEW_SUFFIX))
            && fs::symlink_metadata(entry.path())
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > NEW_ABANDONED_AFTER);
        if abandoned {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Takes the file's exclusive lock without waiting; `false` when another holder has it.
fn try_lock(file: &File) -> io::Result<bool> {
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(error) if error == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A segment this process appends to (locked while open).
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) len: u64,
}

impl SegmentWriter {
    /// Creates the segment (0600, new), locks it and writes its header; the directory entry is
    /// synced so the file survives a crash. It is made under a temporary name the directory's
    /// scans skip (no `.seg` suffix) and renamed into place once locked: no other replayer,
    /// make-room or expiry can take it in between.
    pub(crate) fn create(dir: &Path, name: &str) -> io::Result<Self> {
        let path = dir.join(name);
        let temporary = dir.join(format!("{}{NEW_SUFFIX}", name.trim_end_matches(".seg")));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        let made = try_lock(&file).and_then(|locked| {
            if !locked {
                return Err(io::Error::other(
                    "a new segment was locked by another process",
                ));
            }
            file.write_all(&record::header())?;
            file.sync_data()?;
            fs::rename(&temporary, &path)
        });
        if let Err(error) = made {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        File::open(dir)?.sync_all()?;
        Ok(SegmentWriter {
            path,
            file,
            len: HEADER_LEN as u64,
        })
    }

    /// Appends `bytes` (whole records) and syncs them: once this returns they survive a crash
    /// of the process or of the machine. A failed write is cut back off, so no half record
    /// stays behind it.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(error) => {
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(error)
            }
        }
    }
}

/// One record a replayer read.
#[derive(Debug)]
pub(crate) enum Entry {
    Record {
        written_at_ms: u64,
        payload: Vec<u8>,
        /// The position after it: what is consumed once it is delivered.
        end: Position,
    },
    /// Skipped (a block that fails its checksum: its `records`; a torn tail: one), counted.
    Corrupt { records: usize, end: Position },
}

impl Entry {
    pub(crate) fn end(&self) -> Position {
        match self {
            Entry::Record { end, .. } | Entry::Corrupt { end, .. } => *end,
        }
    }
}

/// A segment being read back, locked. It holds the file's (compressed) bytes and one
/// decompressed block at a time.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    pub(crate) path: PathBuf,
    file: File,
    bytes: Vec<u8>,
    /// The next block to decode.
    next_block: usize,
    /// The records of the block being read, from `index` on.
    block: std::collections::VecDeque<Vec<u8>>,
    block_at: u64,
    block_next: u64,
    block_written_at_ms: u64,
    /// Records of the current block before the front of `block`.
    index: u32,
    /// The rest of a partly consumed block that no longer decodes, to report first.
    first_corrupt: Option<Entry>,
    /// An entry given back by the caller, to return next.
    put_back: Option<Entry>,
    pub(crate) len: u64,
}

/// What opening a segment to read it found.
#[derive(Debug)]
pub(crate) enum Opened {
    Reader(Box<SegmentReader>),
    /// Someone else holds it (a live writer or another replayer).
    Busy,
    /// A segment of the format's version 1, locked: not read (the caller deletes it).
    Old(File),
    /// Not a segment (wrong magic) or gone.
    Unreadable,
    /// Not a regular file, or too large to be a segment: not opened or not read (the caller
    /// deletes the entry and counts it corrupt).
    Refused,
}

impl SegmentReader {
    /// Opens and locks `path`, and reads it from its consumed position.
    pub(crate) fn open(path: &Path) -> io::Result<Opened> {
        let file = match open_checked(path)? {
            Checked::File(file) => file,
            Checked::Gone => return Ok(Opened::Unreadable),
            Checked::Refused => return Ok(Opened::Refused),
        };
        if !try_lock(&file)? {
            return Ok(Opened::Busy);
        }
        let mut bytes = Vec::new();
        // Bounded even if the file grew since `fstat`.
        (&file).take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Ok(Opened::Refused);
        }
        let consumed = match record::read_header(&bytes) {
            Header::Current(consumed) => consumed,
            Header::Old => return Ok(Opened::Old(file)),
            Header::Foreign => return Ok(Opened::Unreadable),
        };
        let len = bytes.len() as u64;
        let mut reader = SegmentReader {
            path: path.to_owned(),
            file,
            bytes,
            next_block: (consumed.offset as usize).max(HEADER_LEN),
            block: std::collections::VecDeque::new(),
            block_at: 0,
            block_next: 0,
            block_written_at_ms: 0,
            index: 0,
            first_corrupt: None,
            put_back: None,
            len,
        };
        if consumed.offset as usize >= HEADER_LEN && consumed.index > 0 {
            reader.skip_in_first_block(consumed.index);
        }
        Ok(Opened::Reader(Box::new(reader)))
    }

    /// Drops the first `done` records of the block at the consumed offset (already delivered).
    fn skip_in_first_block(&mut self, done: u32) {
        match record::decode(&self.bytes, self.next_block) {
            Decoded::Block {
                written_at_ms,
                records,
                next,
            } => {
                if (done as usize) < records.len() {
                    self.block_at = self.next_block as u64;
                    self.block_next = next as u64;
                    self.block_written_at_ms = written_at_ms;
                    self.block = records.into_iter().skip(done as usize).collect();
                    self.index = done;
                }
                self.next_block = next;
            }
            Decoded::Corrupt { count, next } => {
                self.next_block = next;
                self.first_corrupt = Some(Entry::Corrupt {
                    records: count.saturating_sub(done) as usize,
                    end: Position::block(next as u64),
                });
            }
            // Read (and counted) as they are.
            Decoded::Torn | Decoded::End => {}
        }
    }

    /// Gives `entry` (the last one [`next_entry`](Self::next_entry) returned) back: the next
    /// call returns it again.
    pub(crate) fn put_back(&mut self, entry: Entry) {
        debug_assert!(self.put_back.is_none());
        self.put_back = Some(entry);
    }

    /// The next record (or skipped block) after what was read so far; `None` at the end.
    pub(crate) fn next_entry(&mut self) -> Option<Entry> {
        if let Some(entry) = self.put_back.take() {
            return Some(entry);
        }
        if let Some(entry) = self.first_corrupt.take() {
            return Some(entry);
        }
        if self.block.is_empty() {
            let at = self.next_block;
            match record::decode(&self.bytes, at) {
                Decoded::Block {
                    written_at_ms,
                    records,
                    next,
                } => {
                    self.block_at = at as u64;
                    self.block_next = next as u64;
                    self.block_written_at_ms = written_at_ms;
                    self.block = records.into();
                    self.index = 0;
                    self.next_block = next;
                }
                Decoded::Corrupt { count, next } => {
                    self.next_block = next;
                    return Some(Entry::Corrupt {
                        records: count as usize,
                        end: Position::block(next as u64),
                    });
                }
                Decoded::Torn => {
                    self.next_block = self.bytes.len();
                    return Some(Entry::Corrupt {
                        records: 1,
                        end: Position::block(self.len),
                    });
                }
                Decoded::End => return None,
            }
        }
        let payload = self.block.pop_front()?;
        self.index += 1;
        let end = if self.block.is_empty() {
            Position::block(self.block_next)
        } else {
            Position {
                offset: self.block_at,
                index: self.index,
            }
        };
        Some(Entry::Record {
            written_at_ms: self.block_written_at_ms,
            payload,
            end,
        })
    }

    /// Records that everything up to `end` is done with: deletes the file when that is all of
    /// it, else stores the position in the header (synced).
    pub(crate) fn consume(&mut self, end: Position) -> io::Result<bool> {
        if end.offset >= self.len {
            fs::remove_file(&self.path)?;
            return Ok(true);
        }
        self.file.write_all_at(&record::consumed_field(end), 8)?;
        self.file.sync_data()?;
        Ok(false)
    }
}
