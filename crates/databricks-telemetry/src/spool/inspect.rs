//! What a spool directory holds, read without taking any lock or changing anything (for
//! `dbtel inspect --spool`).

use std::io;
use std::path::{Path, PathBuf};

use super::directory;
use super::record::{self, Decoded, Header, Position, HEADER_LEN};
use super::segment::MAX_FILE_BYTES;

/// One segment file as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    /// The file.
    pub path: PathBuf,
    /// The keyed digest of its (host, identity): segments with equal digests belong to one
    /// lane.
    pub digest: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Records not yet consumed (waiting to be sent).
    pub records: u64,
    /// Records already delivered, before the consumed mark.
    pub consumed_records: u64,
    /// Records in blocks that fail their checksum, a torn tail (one), or a whole file of an
    /// older format (one).
    pub corrupt: u64,
    /// When the oldest and newest waiting records were written (ms since the Unix epoch).
    pub oldest_ms: Option<u64>,
    /// See `oldest_ms`.
    pub newest_ms: Option<u64>,
    /// The waiting records' payloads (JSON frontend logs), only when asked for.
    pub payloads: Vec<String>,
}

/// A segment file's bytes, when it is a regular file (not followed through a symlink, not a
/// FIFO that would block) of at most [`MAX_FILE_BYTES`].
fn read_segment(path: &Path) -> io::Result<Vec<u8>> {
    use rustix::fs::OFlags;
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.len() > MAX_FILE_BYTES {
        return Err(io::Error::other(
            "not a regular segment file of a plausible size",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(io::Error::other("larger than a segment"));
    }
    Ok(bytes)
}

/// Every segment in `dir`, oldest first; with `payloads`, each waiting record's JSON too.
pub fn inspect(dir: &Path, payloads: bool) -> io::Result<Vec<SegmentSummary>> {
    let mut found = Vec::new();
    for segment in directory::segments(dir, None)? {
        let Ok(bytes) = read_segment(&segment.path) else {
            continue;
        };
        let mut summary = SegmentSummary {
            path: segment.path.clone(),
            digest: segment.prefix.clone(),
            bytes: bytes.len() as u64,
            records: 0,
            consumed_records: 0,
            corrupt: 0,
            oldest_ms: None,
            newest_ms: None,
            payloads: Vec::new(),
        };
        let consumed = match record::read_header(&bytes) {
            Header::Current(consumed) => consumed,
            Header::Old | Header::Foreign => {
                summary.corrupt = 1;
                found.push(summary);
                continue;
            }
        };
        let mut at = HEADER_LEN;
        loop {
            match record::decode(&bytes, at) {
                Decoded::Block {
                    written_at_ms,
                    records,
                    next,
                } => {
                    for (index, payload) in records.iter().enumerate() {
                        let here = Position {
                            offset: at as u64,
                            index: index as u32,
                        };
                        if here < consumed {
                            summary.consumed_records += 1;
                            continue;
                        }
                        summary.records += 1;
                        summary.oldest_ms.get_or_insert(written_at_ms);
                        summary.newest_ms = Some(written_at_ms);
                        if payloads {
                            summary
                                .payloads
                                .push(String::from_utf8_lossy(payload).into_owned());
                        }
                    }
                    at = next;
                }
                Decoded::Corrupt { count, next } => {
                    summary.corrupt += u64::from(count);
                    at = next;
                }
                Decoded::Torn => {
                    summary.corrupt += 1;
                    break;
                }
                Decoded::End => break,
            }
        }
        found.push(summary);
    }
    Ok(found)
}
