//! What both test servers are made of: a listener on `127.0.0.1` with a deep accept queue,
//! a dedicated thread with its own Tokio runtime, and one hyper connection task per client.
//!
//! Why a thread of its own: a server that runs on the test's runtime stalls whenever the
//! test blocks that runtime (a `flush()`, a `wait_for_spans`), and dies with it. Why a deep
//! queue: a burst of connections to a listener with a short backlog stalls for a second
//! (the client retransmits its SYN), which shows up as a mysterious latency in every
//! concurrency test.

use std::error::Error;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

/// Connections waiting to be accepted, at most: far more than any test opens at once.
const ACCEPT_BACKLOG: u32 = 1024;

/// The error a handler returns to make hyper close the connection without a response (an
/// injected dropped connection).
pub(crate) type HandlerError = Box<dyn Error + Send + Sync>;

/// A server thread serving `127.0.0.1:<port>` until dropped.
pub(crate) struct ServerThread {
    addr: SocketAddr,
    /// Dropped (never sent on) to stop the server thread.
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Binds `127.0.0.1` on a free port and answers every request with `handler` on a
    /// thread named `name-<port>`.
    ///
    /// # Panics
    /// If the port cannot be bound or the thread or runtime cannot be started (a test
    /// cannot run without its server).
    pub(crate) fn start<H, F, B>(name: &str, handler: H) -> ServerThread
    where
        H: Fn(hyper::Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<hyper::Response<B>, HandlerError>> + Send + 'static,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HandlerError>,
    {
        // Built here rather than on the server thread so setup failures panic in the test.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{name}: build the server's Tokio runtime: {e}"));
        let listener = {
            let _context = runtime.enter();
            bind().unwrap_or_else(|e| panic!("{name}: listen on 127.0.0.1: {e}"))
        };
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{name}: local address of the listener: {e}"));
        runtime.spawn(serve(listener, Arc::new(handler)));
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                // Drives the accept loop and connections until the owner drops the sender;
                // dropping the runtime then cancels them all and closes the listener.
                let _ = runtime.block_on(shutdown_rx);
            })
            .unwrap_or_else(|e| panic!("{name}: spawn the server thread: {e}"));
        ServerThread {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The address the server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(thread) = self.thread.take() {
            // Handler panics stay inside their Tokio tasks, so there is nothing to propagate.
            let _ = thread.join();
        }
    }
}

/// Re-evaluates `check` on the server's `state` each time `changed` is notified (a request
/// was recorded) until it succeeds; panics with `server` and its last complaint after
/// `timeout`.
pub(crate) fn wait_until<S, T>(
    server: &str,
    state: &Mutex<S>,
    changed: &Condvar,
    timeout: Duration,
    mut check: impl FnMut(&S) -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let shortfall = match check(&guard) {
            Ok(value) => return value,
            Err(shortfall) => shortfall,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            // Released first so the panic does not poison the lock for the server thread.
            drop(guard);
            panic!("{server}: timed out after {timeout:?}: {shortfall}");
        }
        guard = changed
            .wait_timeout(guard, remaining)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

fn bind() -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    socket.listen(ACCEPT_BACKLOG)
}

async fn serve<H, F, B>(listener: TcpListener, handler: Arc<H>)
where
    H: Fn(hyper::Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<hyper::Response<B>, HandlerError>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<HandlerError>,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Transient (e.g. the peer reset before accept, or out of descriptors): back off
            // briefly instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // As a production server does: a response written in pieces (head, then a large
        // body) must not wait for the client's delayed acknowledgement of the first piece
        // (Nagle's algorithm; 40 ms on Linux, on every large answer of a kept-alive
        // connection).
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let service = service_fn(move |request| handler(request));
            // Errors only mean the connection ended abnormally (client gone, or an injected
            // drop); every completed request was already recorded.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
