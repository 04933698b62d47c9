//! The TCP listener of `idv serve`: a cap on open connections, and connections closed when the
//! client goes quiet, so slow or stalled clients (unfinished headers, stalled uploads, idle
//! keep-alives) cost a socket each, briefly. A client waiting for its answer while the
//! server works (`idv_http::turn`) is not quiet.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use idv_http::turn::ServerTurn;

/// Accepts at most `max` connections open at once (the next waits in the kernel's backlog);
/// each is closed after `idle` without a byte either way.
pub struct Guarded {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl Guarded {
    pub fn new(inner: TcpListener, max: usize, idle: Duration) -> Guarded {
        Guarded {
            inner,
            slots: Arc::new(Semaphore::new(max.max(1))),
            idle,
        }
    }
}

impl axum::serve::Listener for Guarded {
    type Io = Quiet;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Quiet, SocketAddr) {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        (Quiet::new(stream, slot, self.idle), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The connection a request came on: the client's address, and whose turn it is.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    pub turn: ServerTurn,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Guarded>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Guarded>) -> Peer {
        Peer {
            addr: *stream.remote_addr(),
            turn: stream.io().turn.clone(),
        }
    }
}

/// Hands the request's peer to the API in the forms it reads: `ConnectInfo<SocketAddr>`
/// and the connection's [`ServerTurn`].
pub async fn peer(
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<Peer>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer.addr));
    req.extensions_mut().insert(peer.turn);
    next.run(req).await
}

/// A connection that fails its reads with `TimedOut` once nothing moved for `idle` while it
/// was the client's turn.
pub struct Quiet {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    turn: ServerTurn,
}

impl Quiet {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, idle: Duration) -> Quiet {
        Quiet {
            stream,
            _slot: slot,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            turn: ServerTurn::default(),
        }
    }

    fn moved(&mut self) {
        let at = Instant::now() + self.idle;
        self.deadline.as_mut().reset(at);
    }
}

impl AsyncRead for Quiet {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if self.turn.is_held() {
                    // The server owes the answer: the client's silence counts from after it.
                    self.moved();
                }
                match self.deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent nothing for too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Quiet {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
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
    use super::*;
    use axum::serve::Listener as _;

    async fn read(conn: &mut Quiet) -> io::Result<()> {
        let mut buf = [0u8; 16];
        std::future::poll_fn(|cx| Pin::new(&mut *conn).poll_read(cx, &mut ReadBuf::new(&mut buf)))
            .await
    }

    #[tokio::test]
    async fn a_quiet_client_is_dropped_unless_the_server_holds_its_turn() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut guarded = Guarded::new(inner, 4, Duration::from_millis(300));
        let _client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = guarded.accept().await;
        // The server's turn: the client's silence does not count, however long.
        let turn = conn.turn.clone();
        let held = idv_http::turn::TURN.sync_scope(Some(turn), idv_http::turn::Held::current);
        let waited = tokio::time::timeout(Duration::from_millis(900), read(&mut conn)).await;
        assert!(
            waited.is_err(),
            "closed while the server held it: {waited:?}"
        );
        // The client's turn again: closed once it has been quiet for the idle time.
        drop(held);
        let t = Instant::now();
        let err = read(&mut conn).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            t.elapsed() < Duration::from_millis(700),
            "{:?}",
            t.elapsed()
        );
    }
}
