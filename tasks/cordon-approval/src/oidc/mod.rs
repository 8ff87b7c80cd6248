//! OpenID Connect sign-in for the approval pages: authorization code with PKCE against
//! the configured issuer, and the ID token verified before anyone may decide.
//!
//! The flow (`flow.rs`): a page opened without a session redirects to the issuer's
//! authorization endpoint with `response_type=code`, a random `state`, a random `nonce`
//! and an S256 `code_challenge`; the three secrets travel in an HttpOnly cookie of this
//! browser only. The issuer redirects back to `/oidc/callback` with a code; Cordon checks
//! the `state` against the cookie, exchanges the code (with the PKCE verifier) at the token
//! endpoint, and verifies the ID token (`token.rs`): signature against the issuer's JWKS
//! (asymmetric algorithms only), `iss` equal to the configured issuer, `aud` containing
//! the client id (and `azp` when there are several), `exp`, and `nonce` equal to the one
//! this browser was given, used once (a replayed token is refused). The verified identity
//! becomes a short session (a random cookie value, stored only as its hash).
//!
//! Files: `config.rs` (the variables), `error.rs` (why a sign-in failed), `http.rs` (the HTTPS client), `token.rs` (ID-token
//! verification), `flow.rs` (the redirect and the callback), this file (the issuer's
//! discovery document and keys, cached per function instance).
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;
use tokio::sync::RwLock;

mod config;
mod error;
pub(crate) mod flow;
mod http;
pub(crate) mod token;

pub use config::{Approvers, OidcConfig};
pub use error::OidcError;

use http::HttpClient;

/// What the issuer's discovery document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discovery {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// The configured issuer: its endpoints and keys (fetched on first use and kept), and the
/// client that talks to it.
pub struct Provider {
    pub config: OidcConfig,
    http: HttpClient,
    discovery: RwLock<Option<Discovery>>,
    keys: RwLock<Option<(Arc<JwkSet>, Instant)>>,
}

/// Keys are fetched again at most this often when a token names a key not in the set
/// (the issuer rotated its keys).
const KEY_REFRESH: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

impl Provider {
    pub fn new(config: OidcConfig) -> Result<Provider, OidcError> {
        Ok(Provider {
            config,
            http: HttpClient::new()?,
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
        })
    }

    /// The discovery document (`<issuer>/.well-known/openid-configuration`), whose
    /// `issuer` must be the configured one exactly (OpenID Connect Discovery 1.0, 4.3).
    pub(crate) async fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some(d) = self.discovery.read().await.clone() {
            return Ok(d);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let doc = self.http.get_json(&url).await?;
        let text = |k: &str| {
            doc.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| OidcError::Unavailable(format!("the discovery document has no {k}")))
        };
        if text("issuer")? != self.config.issuer {
            return Err(OidcError::Invalid(format!(
                "the discovery document names another issuer ({}), not {}",
                text("issuer")?,
                self.config.issuer
            )));
        }
        let d = Discovery {
            authorization_endpoint: text("authorization_endpoint")?,
            token_endpoint: text("token_endpoint")?,
            jwks_uri: text("jwks_uri")?,
        };
        *self.discovery.write().await = Some(d.clone());
        Ok(d)
    }

    /// The issuer's key set; fetched again (at most every [`KEY_REFRESH`]) when `refresh`.
    pub(crate) async fn keys(&self, refresh: bool) -> Result<Arc<JwkSet>, OidcError> {
        if let Some((set, at)) = self.keys.read().await.clone()
            && (!refresh || at.elapsed() < KEY_REFRESH)
        {
            return Ok(set);
        }
        let d = self.discovery().await?;
        let doc = self.http.get_json(&d.jwks_uri).await?;
        let set: JwkSet = serde_json::from_value(doc).map_err(|e| {
            OidcError::Unavailable(format!("the issuer's key set is unreadable: {e}"))
        })?;
        let set = Arc::new(set);
        *self.keys.write().await = Some((set.clone(), Instant::now()));
        Ok(set)
    }

    /// Exchanges an authorization code (with its PKCE verifier) for the ID token.
    pub(crate) async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        use base64::Engine as _;
        let d = self.discovery().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.config.client_id.as_str()),
            ("code_verifier", verifier),
        ];
        // A confidential client authenticates with client_secret_basic (the default of
        // RFC 6749 2.3.1): the id and secret form-encoded, then base64.
        let basic = self.config.client_secret.as_ref().map(|secret| {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(&self.config.client_id),
                enc(secret.expose())
            ))
        });
        if basic.is_some() {
            form.retain(|(k, _)| *k != "client_id");
        }
        let resp = self.http.post_form(&d.token_endpoint, &form, basic).await?;
        resp.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| OidcError::Refused("the token response has no id_token".into()))
    }
}
