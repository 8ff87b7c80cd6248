//! The HTTPS client that talks to the issuer (discovery, JWKS, token endpoint): rustls with
//! aws-lc-rs and the system's roots, as the SDK's own client, with a timeout and a size
//! cap on every response. `http://` is used only where the configuration allowed it (a
//! loopback issuer in tests).
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::error::OidcError;

/// No issuer document or token response is anywhere near this.
const MAX_RESPONSE: usize = 512 * 1024;
/// How long one request to the issuer may take.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub(crate) fn new() -> Result<HttpClient, OidcError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| OidcError::Unavailable(format!("no TLS trust roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// `GET url`, a JSON object answered with 200.
    pub(crate) async fn get_json(&self, url: &str) -> Result<Value, OidcError> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))?;
        self.send(url, req).await
    }

    /// `POST url` with a form body (and HTTP basic auth when `basic` is given).
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<String>,
    ) -> Result<Value, OidcError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let Some(b) = basic {
            req = req.header("authorization", format!("Basic {b}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))?;
        self.send(url, req).await
    }

    async fn send(&self, url: &str, req: Request<Full<Bytes>>) -> Result<Value, OidcError> {
        let call = async {
            let resp = self
                .inner
                .request(req)
                .await
                .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| OidcError::Unavailable(format!("{url}: reading the response: {e}")))?
                .to_bytes();
            let value: Value = serde_json::from_slice(&body).map_err(|e| {
                OidcError::Unavailable(format!("{url} answered {status} with no JSON: {e}"))
            })?;
            if !status.is_success() {
                let error = value
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                return Err(OidcError::Refused(format!(
                    "the issuer answered {status} ({error})"
                )));
            }
            Ok(value)
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| OidcError::Unavailable(format!("{url}: no answer within {TIMEOUT:?}")))?
    }
}
