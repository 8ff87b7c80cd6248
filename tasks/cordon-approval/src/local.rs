//! Serving the approval pages on loopback (the local stack, browser tests).
//!
//! A plain HTTP/1.1 server on `127.0.0.1`: each hyper request becomes a
//! `lambda_http::Request` with a Function URL request context whose source IP is the
//! peer's address, and goes through the same [`crate::handle`] as in Lambda.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::{Deps, MAX_FORM_BYTES, handle, respond};

#[derive(Debug, thiserror::Error)]
pub enum LocalServeError {
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

/// A running local approval server. Dropping it stops it too.
#[derive(Debug)]
pub struct LocalApprovalServer {
    /// `http://127.0.0.1:<port>`, no trailing slash: what `CORDON_APPROVAL_URL` should be.
    pub url: String,
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl LocalApprovalServer {
    /// Stop accepting connections, let in-flight requests finish, and wait.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalApprovalServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Serve [`crate::handle`] on `127.0.0.1:port` (`0` picks a free port; see
/// [`LocalApprovalServer::url`]).
pub async fn serve_local(deps: Deps, port: u16) -> Result<LocalApprovalServer, LocalServeError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| LocalServeError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| LocalServeError::Bind { port, source })?;
    let (tx, rx) = watch::channel(false);
    let deps = Arc::new(deps);
    let task = tokio::spawn(accept_loop(listener, deps, rx));
    Ok(LocalApprovalServer {
        url: format!("http://{addr}"),
        addr,
        shutdown: tx,
        task: Some(task),
    })
}

async fn accept_loop(listener: TcpListener, deps: Arc<Deps>, mut stop: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!(error = %e, "accepting a connection failed");
                        continue;
                    }
                };
                let deps = deps.clone();
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| serve_one(req, peer, deps.clone()));
                    let conn = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        res = conn.as_mut() => {
                            if let Err(e) = res {
                                debug!(error = %e, "connection ended with an error");
                            }
                        }
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn serve_one(
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    deps: Arc<Deps>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // The form is tiny; a bigger body is refused before it is read in full.
    let bytes = match Limited::new(body, MAX_FORM_BYTES * 2).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(to_hyper(respond_text(413))),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let req = lambda_http::http::Request::from_parts(parts, body);
    let req = crate::with_source_ip(req, Some(peer.ip().to_string()));
    let resp = match handle(req, &deps).await {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "the handler could not build a response");
            respond_text(500)
        }
    };
    Ok(to_hyper(resp))
}

fn respond_text(status: u16) -> lambda_http::Response<Body> {
    let page = crate::html::message("Error", "The request could not be handled.");
    respond(status, page).unwrap_or_else(|_| {
        let mut r = lambda_http::Response::new(Body::Empty);
        *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

fn to_hyper(resp: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}
