//! The TCP listener of `idv serve`: a cap on open connections, and connections closed when the
//! client goes quiet, so slow or stalled clients (unfinished headers, stalled uploads, idle
//! keep-alives) cost a socket each, briefly. A client waiting for its answer while the
//! server works (`idv_http::turn`) is not quiet.
//!
//! A request's head must arrive whole within `head` of its first byte, however steadily it
//! trickles; and when every slot is taken, a new connection closes the one that has waited
//! longest for a request (a slow head or an idle keep-alive), never one being answered, so
//! trickling clients cannot keep a fresh one out. HTTP/2 without TLS is refused: idv serve
//! speaks HTTP/1.1 (a TLS proxy in front may speak HTTP/2 to browsers).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use idv_http::turn::ServerTurn;

/// Accepts at most `max` connections open at once; each is closed after `idle` without a
/// byte either way, or when its request head takes longer than `head`.
pub struct Guarded {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
    head: Duration,
    open: Vec<Weak<Conn>>,
    epoch: Instant,
}

impl Guarded {
    pub fn new(inner: TcpListener, max: usize, idle: Duration, head: Duration) -> Guarded {
        Guarded {
            inner,
            slots: Arc::new(Semaphore::new(max.max(1))),
            idle,
            head,
            open: Vec::new(),
            epoch: Instant::now(),
        }
    }

    /// Closes the open connection that has waited longest for a request; `false` if every
    /// one is being answered.
    fn evict_one(&mut self) -> bool {
        self.open.retain(|c| c.strong_count() > 0);
        let oldest = self
            .open
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|c| {
                c.exchanges.load(Ordering::Acquire) == 0 && !c.evicted.load(Ordering::Acquire)
            })
            .min_by_key(|c| c.waiting_since.load(Ordering::Acquire));
        match oldest {
            Some(c) => {
                c.evict();
                true
            }
            None => false,
        }
    }
}

impl axum::serve::Listener for Guarded {
    type Io = Quiet;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Quiet, SocketAddr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                self.evict_one();
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed")
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn {
            epoch: self.epoch,
            exchanges: AtomicUsize::new(0),
            waiting_since: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            reader: Mutex::new(None),
        });
        conn.waiting();
        self.open.retain(|c| c.strong_count() > 0);
        self.open.push(Arc::downgrade(&conn));
        (Quiet::new(stream, slot, self.idle, self.head, conn), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// One open connection as the listener and the request middleware both see it.
#[derive(Debug)]
pub struct Conn {
    epoch: Instant,
    /// Requests on it whose answer is not fully sent.
    exchanges: AtomicUsize,
    /// When it last began waiting for a request (accepted, or an answer sent), ms after `epoch`.
    waiting_since: AtomicU64,
    /// Closed to make room for a new connection.
    evicted: AtomicBool,
    /// The task reading it, woken to close it.
    reader: Mutex<Option<Waker>>,
}

impl Conn {
    fn waiting(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.waiting_since.store(ms, Ordering::Release);
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        if let Some(w) = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }
}

/// A request being answered on a connection, until its answer's body is sent or dropped.
struct Exchange(Arc<Conn>);

impl Exchange {
    fn begin(conn: Arc<Conn>) -> Exchange {
        conn.exchanges.fetch_add(1, Ordering::AcqRel);
        Exchange(conn)
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.0.exchanges.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.waiting();
        }
    }
}

/// An answer's body carrying its [`Exchange`].
struct Answering {
    body: Body,
    _exchange: Exchange,
}

impl HttpBody for Answering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection a request came on: the client's address, whose turn it is, and the
/// listener's view of it.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    pub turn: ServerTurn,
    conn: Arc<Conn>,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Guarded>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Guarded>) -> Peer {
        Peer {
            addr: *stream.remote_addr(),
            turn: stream.io().turn.clone(),
            conn: stream.io().conn.clone(),
        }
    }
}

/// Hands the request's peer to the API in the forms it reads (`ConnectInfo<SocketAddr>` and
/// the connection's [`ServerTurn`]), and marks the connection as answering until the
/// answer is sent.
pub async fn peer(
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<Peer>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let exchange = Exchange::begin(peer.conn);
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer.addr));
    req.extensions_mut().insert(peer.turn);
    next.run(req).await.map(|body| {
        Body::new(Answering {
            body,
            _exchange: exchange,
        })
    })
}

/// The first bytes of HTTP/2 with prior knowledge (`PRI * HTTP/2.0`).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2";

/// A connection that fails its reads with `TimedOut` once nothing moved for `idle` while it
/// was the client's turn, or once a request head took longer than `head`.
pub struct Quiet {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    head: Duration,
    deadline: Pin<Box<Sleep>>,
    /// The last byte either way.
    last: Instant,
    /// When the request head being received must be whole.
    head_by: Option<Instant>,
    /// Bytes of [`H2_PREFACE`] matched at the start (`usize::MAX` once it cannot match).
    preface: usize,
    conn: Arc<Conn>,
    turn: ServerTurn,
}

impl Quiet {
    fn new(
        stream: TcpStream,
        slot: OwnedSemaphorePermit,
        idle: Duration,
        head: Duration,
        conn: Arc<Conn>,
    ) -> Quiet {
        Quiet {
            stream,
            _slot: slot,
            idle,
            head,
            deadline: Box::pin(tokio::time::sleep(idle)),
            last: Instant::now(),
            head_by: None,
            preface: 0,
            conn,
            turn: ServerTurn::default(),
        }
    }

    fn moved(&mut self) {
        self.last = Instant::now();
        self.rearm();
    }

    fn rearm(&mut self) {
        let idle = self.last + self.idle;
        let at = self.head_by.map_or(idle, |h| h.min(idle));
        self.deadline.as_mut().reset(at);
    }

    fn answering(&self) -> bool {
        self.conn.exchanges.load(Ordering::Acquire) > 0
    }

    /// Whether the bytes just read start HTTP/2 with prior knowledge.
    fn h2_preface(&mut self, got: &[u8]) -> bool {
        for &b in got {
            match H2_PREFACE.get(self.preface) {
                Some(&p) if p == b => self.preface += 1,
                _ => {
                    self.preface = usize::MAX;
                    return false;
                }
            }
            if self.preface == H2_PREFACE.len() {
                return true;
            }
        }
        false
    }
}

impl AsyncRead for Quiet {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.conn.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection",
            )));
        }
        if self.head_by.is_some() && self.answering() {
            // The head arrived: from here the idle rule alone applies.
            self.head_by = None;
            self.rearm();
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n > 0 {
                    if self.preface < H2_PREFACE.len() {
                        let got = buf.filled()[before..].to_vec();
                        if self.h2_preface(&got) {
                            return Poll::Ready(Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "HTTP/2 without TLS is not served",
                            )));
                        }
                    }
                    if self.head_by.is_none() && !self.answering() {
                        self.head_by = Some(Instant::now() + self.head);
                    }
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                *self.conn.reader.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(cx.waker().clone());
                if self.conn.evicted.load(Ordering::Acquire) {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if self.turn.is_held() {
                    // The server owes the answer: the client's silence counts from after it.
                    self.moved();
                }
                match self.deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        let what = match self.head_by {
                            Some(h) if Instant::now() >= h => "the request head took too long",
                            _ => "the client sent nothing for too long",
                        };
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
                    }
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
        let mut guarded = Guarded::new(
            inner,
            4,
            Duration::from_millis(300),
            Duration::from_secs(60),
        );
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

    async fn send(s: &TcpStream, bytes: &[u8]) -> io::Result<()> {
        s.writable().await?;
        s.try_write(bytes).map(|_| ())
    }

    #[tokio::test]
    async fn a_trickled_head_is_cut_and_a_full_house_makes_room() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut guarded = Guarded::new(
            inner,
            2,
            Duration::from_millis(400),
            Duration::from_millis(1000),
        );
        // One byte every 200 ms never leaves the client quiet for the idle time, yet the head
        // must be whole within a second of its first byte.
        let slow = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = guarded.accept().await;
        let trickle = tokio::spawn(async move {
            for _ in 0..20 {
                if send(&slow, b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let t = Instant::now();
        let err = loop {
            if let Err(e) = read(&mut conn).await {
                break e;
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
        drop(conn);
        trickle.abort();

        // Both slots taken, one of them answering: a third connection closes the other.
        let _a = TcpStream::connect(addr).await.unwrap();
        let (mut waiting, _) = guarded.accept().await;
        let _b = TcpStream::connect(addr).await.unwrap();
        let (answering, _) = guarded.accept().await;
        let _exchange = Exchange::begin(answering.conn.clone());
        let _c = TcpStream::connect(addr).await.unwrap();
        let reader = tokio::spawn(async move { read(&mut waiting).await.unwrap_err().kind() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (third, _) = tokio::time::timeout(Duration::from_millis(300), guarded.accept())
            .await
            .expect("room was made");
        assert_eq!(reader.await.unwrap(), io::ErrorKind::ConnectionAborted);
        assert!(!answering.conn.evicted.load(Ordering::Acquire));
        drop(third);
    }

    #[tokio::test]
    async fn http2_prior_knowledge_is_refused() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut guarded = Guarded::new(inner, 2, Duration::from_secs(5), Duration::from_secs(5));
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = guarded.accept().await;
        send(&client, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        let err = loop {
            if let Err(e) = read(&mut conn).await {
                break e;
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
