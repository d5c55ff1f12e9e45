//! The `Reset` fault: a stream wrapper that aborts its TCP connection with a reset once a
//! partial response has been written, and the body that arms it.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Set by [`PartialBody`] once its chunk is handed to hyper; read by [`ResettableStream`].
#[derive(Debug, Default)]
pub(crate) struct ResetSwitch {
    armed: AtomicBool,
}

impl ResetSwitch {
    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn is_armed(&self) -> bool {
        self.armed.load(Ordering::SeqCst)
    }
}

/// A TCP stream that, once its switch is armed, finishes the flush that carries the partial
/// response and then fails with the linger time set to zero, so that closing it sends a RST.
#[derive(Debug)]
pub(crate) struct ResettableStream {
    stream: TcpStream,
    switch: Arc<ResetSwitch>,
}

impl ResettableStream {
    pub(crate) fn new(stream: TcpStream, switch: Arc<ResetSwitch>) -> Self {
        ResettableStream { stream, switch }
    }

    fn abort(&self) -> io::Error {
        if let Err(error) = self.stream.set_zero_linger() {
            tracing::debug!(%error, "cannot set SO_LINGER 0 for a reset fault");
        }
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection reset by an injected fault",
        )
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes the stream only once its own buffer is written out, so when the switch
        // is armed the partial response is on the wire by now.
        ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
        if self.switch.is_armed() {
            return Poll::Ready(Err(self.abort()));
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.switch.is_armed() {
            return Poll::Ready(Err(self.abort()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A response body that yields one chunk, arms the reset switch, and then never ends.
#[derive(Debug)]
pub(crate) struct PartialBody {
    chunk: Option<Bytes>,
    switch: Arc<ResetSwitch>,
}

impl PartialBody {
    pub(crate) fn new(chunk: Bytes, switch: Arc<ResetSwitch>) -> Self {
        PartialBody {
            chunk: Some(chunk),
            switch,
        }
    }
}

impl Body for PartialBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.chunk.take() {
            Some(chunk) => {
                self.switch.arm();
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            // The connection is aborted by the stream; nothing will ever wake this.
            None => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
