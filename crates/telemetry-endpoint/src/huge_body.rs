//! The `HugeBody` fault's response body: exactly N bytes, streamed in chunks.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

const CHUNK_BYTES: usize = 64 * 1024;
static FILLER: [u8; CHUNK_BYTES] = [b'x'; CHUNK_BYTES];

/// A body of `remaining` filler bytes, produced chunk by chunk (never held in memory at once).
#[derive(Debug)]
pub(crate) struct HugeBody {
    remaining: usize,
}

impl HugeBody {
    pub(crate) fn new(bytes: usize) -> Self {
        HugeBody { remaining: bytes }
    }
}

impl Body for HugeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let length = self.remaining.min(CHUNK_BYTES);
        self.remaining -= length;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&FILLER[..length])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining as u64)
    }
}
