//! One spool record on disk: `len: u32 LE | crc32: u32 LE | written_at_ms: u64 LE | payload`,
//! the checksum covering the time and the payload (one frontend log as JSON, as it is sent).
//! A segment file starts with a [`HEADER_LEN`]-byte header: a magic, and how far a replayer has
//! got (`consumed: u64 LE` and its checksum), updated in place after each delivered batch.

use super::crc32::crc32;

/// The first bytes of every segment file.
pub(crate) const MAGIC: &[u8; 8] = b"DBTSPOL1";
/// Magic, consumed offset, its checksum, padding.
pub(crate) const HEADER_LEN: usize = 24;
/// Length, checksum, time.
pub(crate) const RECORD_HEADER_LEN: usize = 16;
/// A record's payload longer than this is taken as a corrupt length: the rest of the segment
/// cannot be read.
pub(crate) const MAX_PAYLOAD: usize = 1 << 20;

/// A new segment's header, with nothing consumed.
pub(crate) fn header(consumed: u64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..16].copy_from_slice(&consumed_field(consumed));
    header[16..20].copy_from_slice(&consumed_crc(consumed));
    header
}

/// The consumed offset as stored (bytes 8..16 of the header; its checksum follows).
pub(crate) fn consumed_field(consumed: u64) -> [u8; 8] {
    consumed.to_le_bytes()
}

/// The checksum stored after the consumed offset.
pub(crate) fn consumed_crc(consumed: u64) -> [u8; 4] {
    crc32(&[&consumed.to_le_bytes()]).to_le_bytes()
}

/// A complete header's consumed offset; `None` when the magic is wrong. A consumed offset whose
/// checksum fails (a torn update) reads as 0: records are sent again rather than lost.
pub(crate) fn read_header(bytes: &[u8]) -> Option<u64> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return None;
    }
    let consumed = u64::from_le_bytes(bytes[8..16].try_into().ok()?);
    let stored: [u8; 4] = bytes[16..20].try_into().ok()?;
    if consumed == 0 || stored == consumed_crc(consumed) {
        Some(consumed)
    } else {
        Some(0)
    }
}

/// Appends one record to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, written_at_ms: u64, payload: &[u8]) {
    let time = written_at_ms.to_le_bytes();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(&[&time, payload]).to_le_bytes());
    out.extend_from_slice(&time);
    out.extend_from_slice(payload);
}

/// What one position of a segment holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A whole record whose checksum holds; `next` is the offset after it.
    Record {
        written_at_ms: u64,
        payload: &'a [u8],
        next: usize,
    },
    /// A whole record whose checksum fails: skipped, reading goes on at `next`.
    Corrupt { next: usize },
    /// A record cut short (a torn write at the end) or with an impossible length: nothing after
    /// it can be read.
    Torn,
    /// The end of the segment.
    End,
}

/// The record at `at` in `bytes`.
pub(crate) fn decode(bytes: &[u8], at: usize) -> Decoded<'_> {
    let rest = &bytes[at.min(bytes.len())..];
    if rest.is_empty() {
        return Decoded::End;
    }
    if rest.len() < RECORD_HEADER_LEN {
        return Decoded::Torn;
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > MAX_PAYLOAD || rest.len() < RECORD_HEADER_LEN + len {
        return Decoded::Torn;
    }
    let time = &rest[8..16];
    let payload = &rest[RECORD_HEADER_LEN..RECORD_HEADER_LEN + len];
    let next = at + RECORD_HEADER_LEN + len;
    if crc32(&[time, payload]) != crc {
        return Decoded::Corrupt { next };
    }
    let written_at_ms = u64::from_le_bytes(time.try_into().unwrap_or([0; 8]));
    Decoded::Record {
        written_at_ms,
        payload,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_a_flipped_bit_or_a_cut_is_caught() {
        let mut bytes = Vec::new();
        encode(&mut bytes, 7, b"{\"a\":1}");
        encode(&mut bytes, 8, b"{\"b\":2}");
        let first = decode(&bytes, 0);
        let Decoded::Record {
            written_at_ms,
            payload,
            next,
        } = first
        else {
            panic!("{first:?}")
        };
        assert_eq!((written_at_ms, payload), (7, &b"{\"a\":1}"[..]));
        assert!(matches!(
            decode(&bytes, next),
            Decoded::Record {
                written_at_ms: 8,
                ..
            }
        ));
        assert_eq!(decode(&bytes, bytes.len()), Decoded::End);

        let mut flipped = bytes.clone();
        flipped[RECORD_HEADER_LEN + 2] ^= 0x10;
        assert_eq!(decode(&flipped, 0), Decoded::Corrupt { next });
        assert!(matches!(decode(&flipped, next), Decoded::Record { .. }));

        assert_eq!(decode(&bytes[..bytes.len() - 1], next), Decoded::Torn);
        assert_eq!(decode(&bytes[..next + 3], next), Decoded::Torn);
    }

    #[test]
    fn a_torn_header_update_reads_as_nothing_consumed() {
        let mut header = header(0);
        header[8..16].copy_from_slice(&consumed_field(100));
        assert_eq!(read_header(&header), Some(0));
        header[16..20].copy_from_slice(&consumed_crc(100));
        assert_eq!(read_header(&header), Some(100));
        assert_eq!(read_header(b"not a spool segment at all"), None);
    }
}
