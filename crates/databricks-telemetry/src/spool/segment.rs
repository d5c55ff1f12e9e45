//! One segment file: written by one process at a time, read back (and then deleted) by one
//! replayer at a time, each holding an exclusive advisory lock (`flock`) on it. A writer that
//! crashed leaves its file unlocked, so the next replayer takes it over.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use super::record::{self, Decoded, HEADER_LEN};

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
    /// synced so the file survives a crash.
    pub(crate) fn create(dir: &Path, name: &str) -> io::Result<Self> {
        let path = dir.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        if !try_lock(&file)? {
            return Err(io::Error::other(
                "a new segment was locked by another process",
            ));
        }
        file.write_all(&record::header(0))?;
        file.sync_data()?;
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
        /// The offset after it: what is consumed once it is delivered.
        end: u64,
    },
    /// Skipped (a failed checksum, or a torn tail), counted once.
    Corrupt { end: u64 },
}

impl Entry {
    pub(crate) fn end(&self) -> u64 {
        match self {
            Entry::Record { end, .. } | Entry::Corrupt { end } => *end,
        }
    }
}

/// A segment being read back, locked.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    pub(crate) path: PathBuf,
    file: File,
    /// Its records after the consumed offset, in order.
    pub(crate) entries: std::collections::VecDeque<Entry>,
    pub(crate) len: u64,
}

/// What opening a segment to read it found.
#[derive(Debug)]
pub(crate) enum Opened {
    Reader(SegmentReader),
    /// Someone else holds it (a live writer or another replayer).
    Busy,
    /// Not a segment (wrong magic) or gone.
    Unreadable,
}

impl SegmentReader {
    /// Opens and locks `path`, and reads what is left of it.
    pub(crate) fn open(path: &Path) -> io::Result<Opened> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Opened::Unreadable),
            Err(error) => return Err(error),
        };
        if !try_lock(&file)? {
            return Ok(Opened::Busy);
        }
        let mut bytes = Vec::new();
        (&file).read_to_end(&mut bytes)?;
        let Some(consumed) = record::read_header(&bytes) else {
            return Ok(Opened::Unreadable);
        };
        let mut at = (consumed as usize).max(HEADER_LEN);
        let mut entries = std::collections::VecDeque::new();
        loop {
            match record::decode(&bytes, at) {
                Decoded::Record {
                    written_at_ms,
                    payload,
                    next,
                } => {
                    entries.push_back(Entry::Record {
                        written_at_ms,
                        payload: payload.to_vec(),
                        end: next as u64,
                    });
                    at = next;
                }
                Decoded::Corrupt { next } => {
                    entries.push_back(Entry::Corrupt { end: next as u64 });
                    at = next;
                }
                Decoded::Torn => {
                    entries.push_back(Entry::Corrupt {
                        end: bytes.len() as u64,
                    });
                    break;
                }
                Decoded::End => break,
            }
        }
        Ok(Opened::Reader(SegmentReader {
            path: path.to_owned(),
            file,
            entries,
            len: bytes.len() as u64,
        }))
    }

    /// Records that everything up to `end` is done with: deletes the file when that is all of
    /// it, else stores the offset in the header (synced).
    pub(crate) fn consume(&mut self, end: u64) -> io::Result<bool> {
        if end >= self.len {
            fs::remove_file(&self.path)?;
            return Ok(true);
        }
        let mut field = [0u8; 12];
        field[..8].copy_from_slice(&record::consumed_field(end));
        field[8..].copy_from_slice(&record::consumed_crc(end));
        self.file.write_all_at(&field, 8)?;
        self.file.sync_data()?;
        Ok(false)
    }
}
