//! The loopback server helper: one accept loop for every local HTTP service.
//!
//! A service implements [`Handler`] (answer a request whose body has been read) and gets
//! the rest from here: binding `127.0.0.1`, HTTP/1.1 connections, the body limit, and
//! shutdown that stops accepting, lets requests in flight finish within a bounded drain,
//! then cuts what is left. Limits a request must pass before a handler sees it are
//! [`Refusal`]s, answered by the handler in its own protocol's shape.
use std::convert::Infallible;
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
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::body::Body;

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
}

impl ServerConfig {
    /// A service on a free port, with a 1 MiB body limit and a 5 second drain.
    pub fn new(name: &'static str) -> ServerConfig {
        ServerConfig {
            name,
            port: 0,
            max_body: 1024 * 1024,
            drain: Duration::from_secs(5),
        }
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
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // hyper's own wording for the same condition.
            Refusal::BodyTooLarge { .. } => f.write_str("length limit exceeded"),
            Refusal::BodyUnreadable { reason } => f.write_str(reason),
        }
    }
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
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(server = config.name, error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let max_body = config.max_body;
                let name = config.name;
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        async move {
                            Ok::<_, Infallible>(answer(&*handler, request, peer, max_body).await)
                        }
                    });
                    let connection =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
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

/// Reads the body within the limit, then hands the request to the handler.
async fn answer<H: Handler>(
    handler: &H,
    request: Request<Incoming>,
    peer: SocketAddr,
    max_body: usize,
) -> Response<Body> {
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
