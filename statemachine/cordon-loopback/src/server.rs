//! The loopback server helper: one accept loop for every local HTTP service.
//!
//! A service implements [`Handler`] (answer a request whose body has been read) and gets
//! the rest from here: binding `127.0.0.1`, HTTP/1.1 connections, and shutdown that stops
//! accepting, lets requests in flight finish within a bounded drain, then cuts what is
//! left.
//!
//! Every service is hardened the same way, because a local service is still reachable by
//! everything else on the machine, including a web page in the developer's browser:
//! - a **header-read timeout** (a client that trickles its headers is cut off: slowloris)
//!   and an **idle timeout** for kept-alive connections;
//! - a **connection limit**: past it, a connection gets `503` and is closed;
//! - a **Host check**: only loopback names (`127.0.0.1`, `localhost`, `[::1]`) are
//!   answered, so a DNS-rebinding page cannot reach the service under its own name;
//! - **size limits** on the request head (hyper answers `431`) and body.
//!
//! Limits a request must pass before a handler sees it are [`Refusal`]s, answered by the
//! handler in its own protocol's shape ([`Refusal::status`] suggests the HTTP status).
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::body::Body;
use crate::idle::IdleTimeout;
use crate::reset::{Reset, ResetOnDrop, ResetRequested};

/// How a loopback service is served.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Names the service in logs, e.g. `"PutEvents API"`.
    pub name: &'static str,
    /// The loopback port; 0 picks a free one.
    pub port: u16,
    /// The largest request body read; a bigger one is refused with
    /// [`Refusal::BodyTooLarge`] before the handler sees it.
    pub max_body: usize,
    /// How long shutdown waits for requests in flight before it cuts them; zero cuts them
    /// at once, as a crash would.
    pub drain: Duration,
    /// How long a client may take to send a request's head (request line and headers),
    /// counted from its first byte.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may sit with no traffic before it is closed.
    pub idle_timeout: Duration,
    /// How many connections are served at once; more get `503` and are closed.
    pub max_connections: usize,
    /// The largest request head (request line and headers) read; hyper answers `431`.
    pub max_head: usize,
}

impl ServerConfig {
    /// A service on a free port, with a 1 MiB body limit, a 5 second drain, a 10 second
    /// header-read timeout, a 60 second idle timeout, 128 connections at once and 64 KiB of
    /// request head.
    pub fn new(name: &'static str) -> ServerConfig {
        ServerConfig {
            name,
            port: 0,
            max_body: 1024 * 1024,
            drain: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 128,
            max_head: 64 * 1024,
        }
    }

    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    pub fn drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }
}

/// Why the server answered a request without passing it to the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is longer than [`ServerConfig::max_body`].
    BodyTooLarge { limit: usize },
    /// The body could not be read (the client went away, a malformed chunk).
    BodyUnreadable { reason: String },
    /// The `Host` header does not name this loopback service (absent, another name: a
    /// DNS-rebinding page uses its own).
    ForeignHost { host: Option<String> },
}

impl Refusal {
    /// The HTTP status that fits: `413`, `400` or `421 Misdirected Request`.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BodyTooLarge { .. } => 413,
            Refusal::BodyUnreadable { .. } => 400,
            Refusal::ForeignHost { .. } => 421,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // hyper's own wording for the same condition.
            Refusal::BodyTooLarge { .. } => f.write_str("length limit exceeded"),
            Refusal::BodyUnreadable { reason } => f.write_str(reason),
            Refusal::ForeignHost { host: Some(host) } => write!(
                f,
                "this service answers only on loopback names (127.0.0.1, localhost, [::1]), not {host:?}"
            ),
            Refusal::ForeignHost { host: None } => {
                f.write_str("a Host header naming this loopback service is required")
            }
        }
    }
}

/// Whether `host` (a `Host` header value) names a loopback service on `port`: `127.0.0.1`,
/// `localhost` or `[::1]`, with this port or none.
pub fn is_loopback_host(host: &str, port: u16) -> bool {
    let (name, host_port) = match host.rsplit_once(':') {
        Some((name, p)) if !name.ends_with(':') && !p.contains(']') => (name, Some(p)),
        _ => (host, None),
    };
    let name_ok = matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    );
    let port_ok = match host_port {
        None => true,
        Some(p) => p.parse::<u16>().is_ok_and(|p| p == port),
    };
    name_ok && port_ok
}

/// A loopback service: what it answers.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request; its body has been read in full (within the limit). `peer` is
    /// the client's address.
    fn handle(
        &self,
        request: Request<Bytes>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response<Body>> + Send;

    /// The response to a request the server refused before [`Handler::handle`].
    fn refuse(&self, refusal: &Refusal) -> Response<Body>;
}

/// Binding the loopback port failed.
#[derive(Debug, thiserror::Error)]
#[error("could not listen on 127.0.0.1:{port}: {source}")]
pub struct BindError {
    pub port: u16,
    #[source]
    pub source: std::io::Error,
}

/// A running loopback service. Dropping it stops it abruptly (requests in flight are cut);
/// prefer [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish (up to the configured
    /// drain), and waits. Afterwards the handler has been dropped.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves `handler` on `127.0.0.1:{config.port}`.
pub async fn serve<H: Handler>(config: ServerConfig, handler: H) -> Result<Server, BindError> {
    Ok(bind(config).await?.serve(handler))
}

/// A bound loopback port, not serving yet: for services that must know their port is
/// theirs before they start work they could not undo (resuming executions).
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    config: ServerConfig,
}

/// Binds `127.0.0.1:{config.port}`; [`Bound::serve`] starts answering.
pub async fn bind(config: ServerConfig) -> Result<Bound, BindError> {
    let port = config.port;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| BindError { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| BindError { port, source })?;
    Ok(Bound {
        listener,
        addr,
        config,
    })
}

impl Bound {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `handler` on the bound port.
    pub fn serve<H: Handler>(self, handler: H) -> Server {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            self.listener,
            Arc::new(handler),
            self.config,
            stop_rx,
        ));
        Server {
            addr: self.addr,
            stop,
            task: Some(task),
        }
    }
}

async fn accept_loop<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ServerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(config.port);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (mut stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(server = config.name, error = %e, "accept failed");
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(
                        server = config.name,
                        limit = config.max_connections,
                        "connection limit reached; refusing a connection"
                    );
                    connections.spawn(async move {
                        let _ = stream.write_all(BUSY).await;
                        let _ = stream.shutdown().await;
                    });
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let config = config.clone();
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    let name = config.name;
                    let max_body = config.max_body;
                    let (stream, reset) = ResetOnDrop::new(stream);
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        let reset = reset.clone();
                        async move {
                            let response = answer(&*handler, request, peer, port, max_body).await;
                            if response.extensions().get::<Reset>().is_some() {
                                reset.store(true, std::sync::atomic::Ordering::SeqCst);
                                return Err(ResetRequested);
                            }
                            Ok(response)
                        }
                    });
                    let io = TokioIo::new(IdleTimeout::new(stream, config.idle_timeout));
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(config.header_read_timeout)
                        .max_buf_size(config.max_head.max(8192))
                        .serve_connection(io, service);
                    tokio::pin!(connection);
                    tokio::select! {
                        ended = connection.as_mut() => {
                            if let Err(e) = ended {
                                tracing::debug!(server = name, error = %e, "connection ended");
                            }
                        }
                        _ = stop.changed() => {
                            // Finish the request in flight, then close.
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let drained = !config.drain.is_zero()
        && tokio::time::timeout(config.drain, async {
            while connections.join_next().await.is_some() {}
        })
        .await
        .is_ok();
    if !drained {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// What a connection past the limit gets before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 43\r\nretry-after: 1\r\nconnection: close\r\n\r\n\
too many connections to this local service\n";

/// Reads the body within the limit, then hands the request to the handler.
async fn answer<H: Handler>(
    handler: &H,
    request: Request<Incoming>,
    peer: SocketAddr,
    port: u16,
    max_body: usize,
) -> Response<Body> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
    if !host.as_deref().is_some_and(|h| is_loopback_host(h, port)) {
        tracing::warn!(?host, "refused a request for a name that is not loopback");
        return handler.refuse(&Refusal::ForeignHost { host });
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, max_body).collect().await {
        Ok(collected) => {
            let request = Request::from_parts(parts, collected.to_bytes());
            handler.handle(request, peer).await
        }
        Err(e) => {
            let refusal = if e.downcast_ref::<LengthLimitError>().is_some() {
                Refusal::BodyTooLarge { limit: max_body }
            } else {
                Refusal::BodyUnreadable {
                    reason: e.to_string(),
                }
            };
            handler.refuse(&refusal)
        }
    }
}
