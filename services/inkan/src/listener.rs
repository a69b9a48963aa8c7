//! The public HTTP listener, and how it drains.
//!
//! On SIGTERM the process stops accepting at once, but it does not cut the
//! connections it has: for a drain window (`INKAN_SHUTDOWN_DRAIN_SECONDS`,
//! 2 s by default) each open connection may
//! send one more request, whose answer carries `Connection: close`
//! (`inkan_web::drain`), and hyper closes the connection after it. A busy
//! client's pooled connections are thus closed by an answer, not by a FIN
//! racing its next request into a reset. The window ends early once every
//! connection is closed; connections still idle at its end are closed then.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A TCP listener that stops accepting (closing its socket) once `draining`
/// is cancelled, and counts the connections it accepted that are still open.
pub struct DrainingListener {
    listener: Option<TcpListener>,
    addr: SocketAddr,
    draining: CancellationToken,
    window: Duration,
    open: watch::Sender<usize>,
}

impl DrainingListener {
    /// `window`: how long open connections may still be used once `draining` is cancelled.
    pub fn new(
        listener: TcpListener,
        draining: CancellationToken,
        window: Duration,
    ) -> io::Result<Self> {
        Ok(DrainingListener {
            addr: listener.local_addr()?,
            listener: Some(listener),
            draining,
            window,
            open: watch::Sender::new(0),
        })
    }

    /// Resolves once draining has begun and every accepted connection is
    /// closed, or the window after draining began: the moment to close
    /// what is left (the server's graceful shutdown).
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let draining = self.draining.clone();
        let (mut open, window) = (self.open.subscribe(), self.window);
        async move {
            draining.cancelled().await;
            let _ = tokio::time::timeout(window, open.wait_for(|n| *n == 0)).await;
        }
    }
}

impl axum::serve::Listener for DrainingListener {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(listener) = &self.listener else {
                // Closed for good: the server stops calling once it shuts down.
                std::future::pending::<()>().await;
                continue;
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => Some(accepted),
                _ = self.draining.cancelled() => None,
            };
            match accepted {
                Some(Ok((stream, peer))) => {
                    self.open.send_modify(|n| *n += 1);
                    let open = self.open.clone();
                    return (CountedStream { stream, open }, peer);
                }
                Some(Err(e)) => accept_failed(e).await,
                // New connections are refused from now on.
                None => self.listener = None,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// As axum's own listener: a failed accept of one connection (reset,
/// aborted) is skipped; anything else (out of file descriptors) is logged
/// and retried after a second.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// An accepted connection; dropping it (when hyper is done with it) counts it closed.
pub struct CountedStream {
    stream: TcpStream,
    open: watch::Sender<usize>,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
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
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn draining_refuses_new_connections_and_waits_for_open_ones_to_close() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let draining = CancellationToken::new();
        let window = Duration::from_secs(2);
        let mut listener = DrainingListener::new(tcp, draining.clone(), window).unwrap();
        let addr = listener.local_addr().unwrap();

        let mut client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await;
        let drained = tokio::spawn(listener.drained());

        draining.cancel();
        // The first poll of accept notices the cancellation and closes the socket.
        tokio::select! {
            biased;
            _ = listener.accept() => panic!("nothing is accepted once draining began"),
            _ = tokio::task::yield_now() => {}
        }
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "new connections are refused"
        );
        assert!(!drained.is_finished(), "one connection is still open");

        client.shutdown().await.unwrap();
        drop(accepted);
        tokio::time::timeout(Duration::from_secs(1), drained)
            .await
            .expect("drained as soon as the last connection closed")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_holds_the_drain_for_the_window_only() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let draining = CancellationToken::new();
        let window = Duration::from_secs(2);
        let mut listener = DrainingListener::new(tcp, draining.clone(), window).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let _idle = listener.accept().await;

        let started = tokio::time::Instant::now();
        draining.cancel();
        listener.drained().await;
        assert_eq!(started.elapsed(), window);
    }
}
