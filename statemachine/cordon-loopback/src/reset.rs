//! Resetting a connection when a handler asks for it: the fault-injection proxy
//! (`tests/cordon-faults`) answers some calls with a TCP reset, as a failing load balancer
//! or a crashed host does, so the SDK clients' handling of `ECONNRESET` is exercised.
//!
//! A handler asks by putting [`Reset`] in its response's extensions; the server then
//! writes nothing and closes the socket with `SO_LINGER` 0, which sends `RST` instead of
//! `FIN`.
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Put this in a response's extensions to reset the connection instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset;

/// The error the server's service returns so hyper drops the connection unanswered.
#[derive(Debug, thiserror::Error)]
#[error("the handler asked for the connection to be reset")]
pub(crate) struct ResetRequested;

/// A connection that closes with `RST` once its flag is set.
pub(crate) struct ResetOnDrop {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResetOnDrop {
    pub(crate) fn new(stream: TcpStream) -> (ResetOnDrop, Arc<AtomicBool>) {
        let reset = Arc::new(AtomicBool::new(false));
        (
            ResetOnDrop {
                stream,
                reset: reset.clone(),
            },
            reset,
        )
    }
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            // A zero linger never blocks: close discards unsent data and sends RST.
            if let Err(e) = self.stream.set_zero_linger() {
                tracing::debug!(error = %e, "could not set SO_LINGER 0; the close sends FIN");
            }
        }
    }
}

impl AsyncRead for ResetOnDrop {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetOnDrop {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
