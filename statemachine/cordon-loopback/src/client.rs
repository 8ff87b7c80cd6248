//! The one HTTP client for loopback services: hyper-util's pooled HTTP/1.1 client, plain
//! `http://` only (nothing local needs TLS, and no proxy from the environment applies).
use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as Pooled;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::body::Body;

/// An HTTP/1.1 client. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Pooled<HttpConnector, Body>,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

/// A response, read in full.
#[derive(Debug, Clone)]
pub struct ClientResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ClientResponse {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request that could not be made or answered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot request {url}: {message}")]
    Request { url: String, message: String },
    #[error("{url}: {source}")]
    Send {
        url: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("{url}: reading the response: {source}")]
    Body {
        url: String,
        #[source]
        source: hyper::Error,
    },
}

impl Client {
    pub fn new() -> Client {
        Client {
            inner: Pooled::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// `GET url` with `headers`.
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<ClientResponse, ClientError> {
        self.request(Method::GET, url, headers, Bytes::new()).await
    }

    /// `POST url` with `headers` and `body`.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<ClientResponse, ClientError> {
        self.request(Method::POST, url, headers, body.into()).await
    }

    /// Sends one request and reads the whole response.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<ClientResponse, ClientError> {
        let mut builder = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Body::new(body))
            .map_err(|e| ClientError::Request {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        let response = self
            .inner
            .request(request)
            .await
            .map_err(|source| ClientError::Send {
                url: url.to_owned(),
                source,
            })?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|source| ClientError::Body {
                url: url.to_owned(),
                source,
            })?
            .to_bytes();
        Ok(ClientResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }
}
