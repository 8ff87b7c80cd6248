//! The HTTP layer of a guarded client: requests the interceptor marked as refused are
//! answered with AWS's error response and never sent; every other request goes to the
//! client's own HTTP client unchanged.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use super::denial::DeniedResponse;

/// The header that carries a refused call's response id from the interceptor to here.
pub(crate) const DENIED_HEADER: &str = "x-cordon-access-denied";

type Denials = Arc<Mutex<HashMap<u64, DeniedResponse>>>;

/// Wraps the configuration's HTTP client, or the SDK's default HTTPS client when the
/// configuration names none (the SDK only adds its default to clients without one).
#[derive(Debug, Clone)]
pub(crate) struct GuardedHttpClient {
    inner: SharedHttpClient,
    denials: Denials,
}

impl GuardedHttpClient {
    pub(crate) fn new(inner: Option<SharedHttpClient>, denials: Denials) -> Self {
        let inner = inner.unwrap_or_else(|| {
            use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_https()
        });
        Self { inner, denials }
    }
}

#[derive(Debug)]
struct GuardedConnector {
    inner: SharedHttpConnector,
    denials: Denials,
}

impl HttpClient for GuardedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(GuardedConnector {
            inner: self.inner.http_connector(settings, components),
            denials: self.denials.clone(),
        })
    }
}

impl HttpConnector for GuardedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let refused = request
            .headers()
            .get(DENIED_HEADER)
            .and_then(|id| id.parse::<u64>().ok())
            .and_then(|id| {
                self.denials
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&id)
                    .cloned()
            });
        if let Some(denied) = refused {
            return HttpConnectorFuture::ready(response(denied));
        }
        self.inner.call(request)
    }
}

fn response(denied: DeniedResponse) -> Result<HttpResponse, ConnectorError> {
    let status = denied
        .status
        .try_into()
        .map_err(|e| ConnectorError::other(Box::new(e), None))?;
    let mut response = HttpResponse::new(status, SdkBody::from(denied.body));
    response
        .headers_mut()
        .insert("content-type", denied.content_type);
    Ok(response)
}
