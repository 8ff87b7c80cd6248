//! Serving the approval pages on loopback (the local stack, browser tests).
//!
//! Served with the shared loopback helper ([`cordon_loopback::serve`]): each request becomes
//! a `lambda_http::Request` with a Function URL request context whose source IP is the
//! peer's address, and goes through the same [`handle`] as in Lambda.
use std::net::SocketAddr;

use cordon_loopback::{Body as HttpBody, Bytes, Refusal, Request, Response, Server, ServerConfig};
use lambda_http::Body;
use tracing::warn;

use crate::deps::Deps;
use crate::handler::handle;
use crate::request::{MAX_FORM_BYTES, with_source_ip};
use crate::response::respond;

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
    server: Server,
}

impl LocalApprovalServer {
    /// Stop accepting connections, let in-flight requests finish, and wait.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Serve [`handle`] on `127.0.0.1:port` (`0` picks a free port; see
/// [`LocalApprovalServer::url`]).
pub async fn serve_local(deps: Deps, port: u16) -> Result<LocalApprovalServer, LocalServeError> {
    // The form is tiny; a bigger body is refused before it is read in full.
    let config = ServerConfig::new("approval pages")
        .port(port)
        .max_body(MAX_FORM_BYTES * 2);
    let server = cordon_loopback::serve(config, Pages { deps })
        .await
        .map_err(|e| LocalServeError::Bind {
            port: e.port,
            source: e.source,
        })?;
    Ok(LocalApprovalServer {
        url: server.url(),
        addr: server.addr(),
        server,
    })
}

struct Pages {
    deps: Deps,
}

impl cordon_loopback::Handler for Pages {
    async fn handle(&self, request: Request<Bytes>, peer: SocketAddr) -> Response<HttpBody> {
        let (parts, bytes) = request.into_parts();
        let body = if bytes.is_empty() {
            Body::Empty
        } else {
            Body::Binary(bytes.to_vec())
        };
        let req = lambda_http::http::Request::from_parts(parts, body);
        let req = with_source_ip(req, Some(peer.ip().to_string()));
        let resp = match handle(req, &self.deps).await {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "the handler could not build a response");
                respond_text(500)
            }
        };
        to_hyper(resp)
    }

    fn refuse(&self, refusal: &Refusal) -> Response<HttpBody> {
        to_hyper(respond_text(refusal.status()))
    }
}

fn respond_text(status: u16) -> lambda_http::Response<Body> {
    let page = crate::html::message("Error", "The request could not be handled.");
    respond(status, page).unwrap_or_else(|_| {
        let mut r = lambda_http::Response::new(Body::Empty);
        *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

fn to_hyper(resp: lambda_http::Response<Body>) -> Response<HttpBody> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, HttpBody::new(bytes))
}
