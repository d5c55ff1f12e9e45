//! [`CaptureLines`]: a capture's lines, each at most a given length, read with bounded memory.

use std::io::{self, BufRead};

/// The longest capture line read, by default: the endpoint's largest request body, which
/// holds any one frontend log it accepted.
pub(crate) const MAX_LINE_BYTES: usize = telemetry_endpoint::MAX_REQUEST_BODY_BYTES;

/// One line of a capture.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CaptureLine {
    /// A line of UTF-8 text, without its line ending.
    Text(String),
    /// A line longer than the limit: skipped without being kept; its length in bytes.
    TooLong(u64),
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads lines from `reader`, never holding more than `max_bytes` of one line (plus the
/// reader's buffer): a longer line is read through and reported as [`CaptureLine::TooLong`].
#[derive(Debug)]
pub(crate) struct CaptureLines<R> {
    reader: R,
    max_bytes: usize,
    line: Vec<u8>,
}

impl<R: BufRead> CaptureLines<R> {
    /// Lines of `reader`, each at most `max_bytes`.
    pub(crate) fn new(reader: R, max_bytes: usize) -> Self {
        CaptureLines {
            reader,
            max_bytes,
            line: Vec::new(),
        }
    }

    /// The next line, or `None` at the end.
    ///
    /// # Errors
    ///
    /// The reader's errors.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<CaptureLine>> {
        self.line.clear();
        let mut length: u64 = 0;
        let mut any = false;
        loop {
            let buffer = match self.reader.fill_buf() {
                Ok(buffer) => buffer,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if buffer.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (chunk, ends) = match buffer.iter().position(|&b| b == b'\n') {
                Some(end) => (&buffer[..end], true),
                None => (buffer, false),
            };
            length += chunk.len() as u64;
            if length <= self.max_bytes as u64 {
                self.line.extend_from_slice(chunk);
            } else if !self.line.is_empty() {
                // Too long: what was kept goes, and nothing more is kept.
                self.line = Vec::new();
            }
            let consumed = chunk.len() + usize::from(ends);
            self.reader.consume(consumed);
            if ends {
                break;
            }
        }
        if length > self.max_bytes as u64 {
            return Ok(Some(CaptureLine::TooLong(length)));
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        match String::from_utf8(std::mem::take(&mut self.line)) {
            Ok(text) => Ok(Some(CaptureLine::Text(text))),
            Err(_) => Ok(Some(CaptureLine::NotUtf8)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    /// `remaining` zero bytes, like a bounded `/dev/zero`.
    struct Zeros {
        remaining: u64,
    }

    impl Read for Zeros {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let n = buffer.len().min(self.remaining as usize);
            buffer[..n].fill(0);
            self.remaining -= n as u64;
            Ok(n)
        }
    }

    #[test]
    fn lines_are_split_and_a_long_one_is_read_through_without_being_kept() {
        let input = b"first\r\nsecond\n\ntoo long a line\nlast".as_slice();
        let mut lines = CaptureLines::new(input, 8);
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            seen.push(line);
        }
        assert_eq!(
            seen,
            vec![
                CaptureLine::Text("first".into()),
                CaptureLine::Text("second".into()),
                CaptureLine::Text(String::new()),
                CaptureLine::TooLong(15),
                CaptureLine::Text("last".into()),
            ]
        );
    }

    #[test]
    fn an_endless_line_of_zeros_is_read_in_bounded_memory() {
        let limit = 64 * 1024;
        let zeros = Zeros {
            remaining: 256 * 1024 * 1024,
        };
        let mut lines = CaptureLines::new(BufReader::new(zeros), limit);
        assert_eq!(
            lines.next_line().unwrap(),
            Some(CaptureLine::TooLong(256 * 1024 * 1024))
        );
        assert!(
            lines.line.capacity() <= limit * 2,
            "{}",
            lines.line.capacity()
        );
        assert_eq!(lines.next_line().unwrap(), None);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_told_apart() {
        let mut lines = CaptureLines::new(b"ok\n\xff\xfe\nok".as_slice(), 100);
        assert_eq!(
            lines.next_line().unwrap(),
            Some(CaptureLine::Text("ok".into()))
        );
        assert_eq!(lines.next_line().unwrap(), Some(CaptureLine::NotUtf8));
        assert_eq!(
            lines.next_line().unwrap(),
            Some(CaptureLine::Text("ok".into()))
        );
    }
}
