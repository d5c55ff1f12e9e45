//! The spool's format on disk (version 2). A segment file starts with a [`HEADER_LEN`]-byte
//! header: a magic with the version, and how far a replayer has got (a [`Position`]: a block's
//! offset and how many of its records are done, with their checksum), updated in place after
//! each delivered batch. Then blocks, one or more per write:
//!
//! `stored_len: u32 | count: u32 | raw_len: u32 | written_at_ms: u64 | head_crc: u32 |
//! payload_crc: u32 | payload`
//!
//! where `payload` is `count` records (`len: u32 | one frontend log as JSON`), `raw_len` bytes
//! in all, compressed together as one LZ4 block of `stored_len` bytes: the events of one
//! session repeat most of their JSON, which a block then stores about once. `head_crc` covers
//! the 20 bytes before it, `payload_crc` the stored payload: a torn or flipped block is skipped
//! and its `count` records counted, and a header that fails its checksum ends what can be read.
//! Version 1 files (one uncompressed record at a time) are not read: they are counted as one
//! corrupt record each and deleted.

use super::crc32::crc32;

/// The first bytes of every segment file of this version.
pub(crate) const MAGIC: &[u8; 8] = b"DBTSPOL2";
/// The magic of version 1 (uncompressed records), no longer read.
pub(crate) const MAGIC_V1: &[u8; 8] = b"DBTSPOL1";
/// Magic, consumed position (offset, index), its checksum.
pub(crate) const HEADER_LEN: usize = 24;
/// Lengths, count, time, checksums.
pub(crate) const BLOCK_HEADER_LEN: usize = 28;
/// The most raw bytes (records with their lengths) one block holds: a write is cut into blocks
/// of at most this, so a replayer decompresses at most this much at a time.
pub(crate) const MAX_BLOCK_RAW: usize = 256 << 10;
/// A record's JSON longer than this cannot be spooled (a frontend log is a few KiB).
pub(crate) const MAX_RECORD: usize = MAX_BLOCK_RAW - 4;

/// A place in a segment: the block at `offset`, of which the first `index` records are done.
/// Everything before it is consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub(crate) offset: u64,
    pub(crate) index: u32,
}

impl Position {
    /// The start of a block.
    pub(crate) fn block(offset: u64) -> Self {
        Position { offset, index: 0 }
    }
}

/// What a segment's first bytes say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// A segment of this version, consumed up to this position.
    Current(Position),
    /// A version 1 segment.
    Old,
    /// Not a spool segment (or cut short).
    Foreign,
}

/// A new segment's header, with nothing consumed.
pub(crate) fn header() -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&consumed_field(Position::block(0)));
    header
}

/// The consumed position as stored at byte 8 of the header, with its checksum.
pub(crate) fn consumed_field(at: Position) -> [u8; 16] {
    let mut field = [0u8; 16];
    field[..8].copy_from_slice(&at.offset.to_le_bytes());
    field[8..12].copy_from_slice(&at.index.to_le_bytes());
    let crc = crc32(&[&field[..12]]);
    field[12..].copy_from_slice(&crc.to_le_bytes());
    field
}

/// What a segment's header says. A consumed position whose checksum fails (a torn update)
/// reads as nothing consumed: records are sent again rather than lost.
pub(crate) fn read_header(bytes: &[u8]) -> Header {
    if bytes.len() >= 8 && &bytes[..8] == MAGIC_V1 {
        return Header::Old;
    }
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Header::Foreign;
    }
    let offset = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
    let index = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or([0; 4]));
    let at = Position { offset, index };
    if at == Position::block(0) || bytes[8..24] == consumed_field(at) {
        Header::Current(at)
    } else {
        Header::Current(Position::block(0))
    }
}

/// Appends `records` (each one JSON frontend log, at most [`MAX_RECORD`] bytes) written at
/// `written_at_ms` to `out` as blocks of at most [`MAX_BLOCK_RAW`] raw bytes each.
pub(crate) fn encode(out: &mut Vec<u8>, written_at_ms: u64, records: &[Vec<u8>]) {
    let mut raw = Vec::with_capacity(MAX_BLOCK_RAW.min(records.iter().map(|r| r.len() + 4).sum()));
    let mut count = 0u32;
    for record in records {
        if !raw.is_empty() && raw.len() + 4 + record.len() > MAX_BLOCK_RAW {
            encode_block(out, written_at_ms, count, &raw);
            raw.clear();
            count = 0;
        }
        raw.extend_from_slice(&(record.len() as u32).to_le_bytes());
        raw.extend_from_slice(record);
        count += 1;
    }
    if count > 0 {
        encode_block(out, written_at_ms, count, &raw);
    }
}

fn encode_block(out: &mut Vec<u8>, written_at_ms: u64, count: u32, raw: &[u8]) {
    let stored = lz4_flex::block::compress(raw);
    let mut head = [0u8; 20];
    head[..4].copy_from_slice(&(stored.len() as u32).to_le_bytes());
    head[4..8].copy_from_slice(&count.to_le_bytes());
    head[8..12].copy_from_slice(&(raw.len() as u32).to_le_bytes());
    head[12..20].copy_from_slice(&written_at_ms.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&crc32(&[&head]).to_le_bytes());
    out.extend_from_slice(&crc32(&[&stored]).to_le_bytes());
    out.extend_from_slice(&stored);
}

/// What one position of a segment holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A whole block whose checksums hold: its records' JSON, in order; `next` is the offset
    /// after it.
    Block {
        written_at_ms: u64,
        records: Vec<Vec<u8>>,
        next: usize,
    },
    /// A whole block whose payload fails its checksum or does not decompress into `count`
    /// records: skipped, reading goes on at `next`.
    Corrupt { count: u32, next: usize },
    /// A block cut short (a torn write at the end) or whose header fails its checksum: nothing
    /// after it can be read.
    Torn,
    /// The end of the segment.
    End,
}

/// The block at `at` in `bytes`.
pub(crate) fn decode(bytes: &[u8], at: usize) -> Decoded {
    let rest = &bytes[at.min(bytes.len())..];
    if rest.is_empty() {
        return Decoded::End;
    }
    if rest.len() < BLOCK_HEADER_LEN {
        return Decoded::Torn;
    }
    let field = |from: usize| {
        u32::from_le_bytes([rest[from], rest[from + 1], rest[from + 2], rest[from + 3]])
    };
    if crc32(&[&rest[..20]]) != field(20) {
        return Decoded::Torn;
    }
    let stored_len = field(0) as usize;
    let count = field(4);
    let raw_len = field(8) as usize;
    let written_at_ms = u64::from_le_bytes(rest[12..20].try_into().unwrap_or([0; 8]));
    if rest.len() < BLOCK_HEADER_LEN + stored_len {
        return Decoded::Torn;
    }
    let stored = &rest[BLOCK_HEADER_LEN..BLOCK_HEADER_LEN + stored_len];
    let next = at + BLOCK_HEADER_LEN + stored_len;
    let corrupt = Decoded::Corrupt { count, next };
    if crc32(&[stored]) != field(24) || raw_len > MAX_BLOCK_RAW {
        return corrupt;
    }
    let Ok(raw) = lz4_flex::block::decompress(stored, raw_len) else {
        return corrupt;
    };
    match split(&raw, count) {
        Some(records) => Decoded::Block {
            written_at_ms,
            records,
            next,
        },
        None => corrupt,
    }
}

/// A block's raw bytes as exactly `count` records, or `None`.
fn split(raw: &[u8], count: u32) -> Option<Vec<Vec<u8>>> {
    let mut records = Vec::with_capacity(count.min(1 << 16) as usize);
    let mut rest = raw;
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        records.push(rest.get(4..4 + len)?.to_vec());
        rest = &rest[4 + len..];
    }
    (records.len() == count as usize).then_some(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"session\":\"the same every time\",\"i\":{i}}}").into_bytes())
            .collect()
    }

    #[test]
    fn blocks_read_back_and_a_flipped_bit_or_a_cut_is_caught() {
        let mut bytes = Vec::new();
        encode(&mut bytes, 7, &records(3));
        let first_end = bytes.len();
        encode(&mut bytes, 8, &records(2));
        let Decoded::Block {
            written_at_ms,
            records: got,
            next,
        } = decode(&bytes, 0)
        else {
            panic!("{:?}", decode(&bytes, 0))
        };
        assert_eq!((written_at_ms, got, next), (7, records(3), first_end));
        assert!(matches!(
            decode(&bytes, next),
            Decoded::Block {
                written_at_ms: 8,
                ..
            }
        ));
        assert_eq!(decode(&bytes, bytes.len()), Decoded::End);

        // A flipped bit in the payload: the block's 3 records are skipped, the next is read.
        let mut flipped = bytes.clone();
        flipped[BLOCK_HEADER_LEN + 2] ^= 0x10;
        assert_eq!(decode(&flipped, 0), Decoded::Corrupt { count: 3, next });
        assert!(matches!(decode(&flipped, next), Decoded::Block { .. }));
        // In the header: nothing after it can be trusted.
        let mut flipped = bytes.clone();
        flipped[5] ^= 0x01;
        assert_eq!(decode(&flipped, 0), Decoded::Torn);

        assert_eq!(decode(&bytes[..bytes.len() - 1], next), Decoded::Torn);
        assert_eq!(decode(&bytes[..next + 3], next), Decoded::Torn);
    }

    #[test]
    fn a_large_write_is_cut_into_blocks_and_repeats_are_stored_small() {
        let big: Vec<Vec<u8>> = (0..2_000)
            .map(|i| {
                let mut json = format!("{{\"i\":{i},\"context\":\"").into_bytes();
                json.extend(std::iter::repeat_n(b'x', 400));
                json.extend_from_slice(b"\"}");
                json
            })
            .collect();
        let raw: usize = big.iter().map(|r| r.len() + 4).sum();
        let mut bytes = Vec::new();
        encode(&mut bytes, 1, &big);
        assert!(bytes.len() * 10 < raw, "{} of {raw}", bytes.len());
        let mut at = 0;
        let mut read = Vec::new();
        let mut blocks = 0;
        while let Decoded::Block { records, next, .. } = decode(&bytes, at) {
            read.extend(records);
            at = next;
            blocks += 1;
        }
        assert_eq!(decode(&bytes, at), Decoded::End);
        assert_eq!(read, big);
        assert!(blocks >= raw / MAX_BLOCK_RAW, "{blocks} blocks");
    }

    #[test]
    fn a_torn_header_update_reads_as_nothing_consumed_and_version_1_is_told_apart() {
        let mut header = header();
        let at = Position {
            offset: 100,
            index: 3,
        };
        header[8..20].copy_from_slice(&consumed_field(at)[..12]);
        assert_eq!(read_header(&header), Header::Current(Position::block(0)));
        header[8..].copy_from_slice(&consumed_field(at));
        assert_eq!(read_header(&header), Header::Current(at));
        assert_eq!(read_header(b"not a spool segment at all"), Header::Foreign);
        assert_eq!(read_header(b"DBTSPOL1\0\0\0\0\0\0\0\0"), Header::Old);
    }
}
