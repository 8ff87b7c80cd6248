//! The sign-in itself: the redirect to the issuer, and the callback that verifies the ID
//! token and opens a session.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use cordon_aws::links::{constant_time_eq, random_hex, sha256_hex};
use cordon_aws::signin::SignInSession;
use cordon_core::model::VerifiedIdentity;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::{OidcError, Provider};
use crate::cookies;
use crate::deps::Deps;
use crate::html;
use crate::request::{CALLBACK_PATH, route};
use crate::response::{ApprovalError, redirect, respond, with_cookies};

/// How long a session lasts at most (the ID token's own expiry may be sooner).
pub const SESSION_MINUTES: i64 = 30;
/// How long a sign-in may take.
const SIGNIN_SECONDS: i64 = 600;

/// What the `signin` cookie carries between the redirect and the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// The page to return to (`/a/<id>` or `/r/<id>`).
    ret: String,
}

fn random_b64(bytes: usize) -> Result<String, cordon_core::TaskError> {
    // 32 random bytes as hex, re-encoded: the PKCE verifier alphabet is unreserved URL
    // characters, 43 to 128 long (RFC 7636 4.1).
    let hex = random_hex(bytes)?;
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// S256: `BASE64URL(SHA256(verifier))` (RFC 7636 4.2).
pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Sends the browser to the issuer to sign in, then back to `ret`.
pub(crate) async fn start(
    provider: &Provider,
    req: &Request,
    ret: &str,
) -> Result<Response<Body>, ApprovalError> {
    let unavailable = |e: &dyn std::fmt::Display| {
        warn!(error = %e, "the sign-in could not start");
        respond(
            503,
            html::message(
                "Sign-in unavailable",
                "Cordon could not reach the identity provider to sign you in; nothing was \
                 changed. Try again in a minute.",
            ),
        )
    };
    let Some(base) = cookies::base_url(req) else {
        return respond(
            400,
            html::message("Bad request", "The request has no host."),
        );
    };
    let discovery = match provider.discovery().await {
        Ok(d) => d,
        Err(e) => return unavailable(&e),
    };
    let pending = match (random_hex(32), random_hex(32), random_b64(32)) {
        (Ok(state), Ok(nonce), Ok(verifier)) => Pending {
            state,
            nonce,
            verifier,
            ret: ret.to_string(),
        },
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return unavailable(&e),
    };
    let redirect_uri = format!("{base}{CALLBACK_PATH}");
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &challenge(&pending.verifier))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let sep = if discovery.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{sep}{query}", discovery.authorization_endpoint);
    let value = match serde_json::to_vec(&pending) {
        Ok(json) => URL_SAFE_NO_PAD.encode(json),
        Err(e) => return unavailable(&e),
    };
    let cookie = cookies::set(
        "signin",
        &value,
        cookies::is_https(req),
        "Lax",
        SIGNIN_SECONDS,
    );
    redirect(&location, &[cookie])
}

/// Why the sign-in failed as the page's sentence (errors read lower-case), then `then`.
fn sentence(e: &OidcError, then: &str) -> String {
    let why = e.to_string();
    let mut chars = why.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    format!("{}{}. {then}", first.unwrap_or_default(), chars.as_str())
}

/// A page that ends a failed sign-in (the sign-in cookie is removed).
fn failed(req: &Request, status: u16, text: &str) -> Result<Response<Body>, ApprovalError> {
    let resp = respond(status, html::message("Sign-in refused", text))?;
    with_cookies(
        resp,
        &[cookies::set("signin", "", cookies::is_https(req), "Lax", 0)],
    )
}

/// `GET /oidc/callback?code&state`: verify the sign-in and open a session.
pub(crate) async fn callback(
    provider: &Provider,
    req: &Request,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    let query = req.query_string_parameters();
    let Some(pending) = cookies::get(req, "signin")
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|raw| serde_json::from_slice::<Pending>(&raw).ok())
    else {
        return failed(
            req,
            400,
            "This sign-in was not started here, or took too long. Open the link from the \
             email again; nothing was changed.",
        );
    };
    let state_ok = query
        .first("state")
        .is_some_and(|s| constant_time_eq(s.as_bytes(), pending.state.as_bytes()));
    if !state_ok {
        warn!(outcome = "signin_state_mismatch");
        return failed(
            req,
            400,
            "This sign-in does not belong to this browser. Open the link from the email \
             again; nothing was changed.",
        );
    }
    if let Some(error) = query.first("error") {
        let error = cordon_core::notify::sanitize_line(error, 100);
        return failed(
            req,
            403,
            &format!("The identity provider refused the sign-in ({error})."),
        );
    }
    let Some(code) = query.first("code").filter(|c| !c.is_empty()) else {
        return failed(
            req,
            400,
            "The identity provider sent no authorization code.",
        );
    };
    let Some(base) = cookies::base_url(req) else {
        return failed(req, 400, "The request has no host.");
    };
    let redirect_uri = format!("{base}{CALLBACK_PATH}");
    let now = (deps.clock)();
    let claims = match provider
        .exchange(code, &redirect_uri, &pending.verifier)
        .await
    {
        Ok(token) => provider.verify(&token, &pending.nonce, now).await,
        Err(e) => Err(e),
    };
    let claims = match claims {
        Ok(c) => c,
        Err(e @ OidcError::Unavailable(_)) => {
            warn!(error = %e, outcome = "signin_unavailable");
            return failed(
                req,
                503,
                &sentence(&e, "Try again in a minute; nothing was changed."),
            );
        }
        Err(e) => {
            warn!(error = %e, outcome = "signin_refused");
            return failed(req, 403, &sentence(&e, "Nothing was changed."));
        }
    };
    // A nonce is good for one sign-in: a replayed ID token (or callback) is refused.
    match deps
        .signin
        .use_nonce(&sha256_hex(&pending.nonce), claims.expires_at)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            warn!(outcome = "signin_nonce_replayed", subject = %cordon_core::notify::Clean(&claims.subject));
            return failed(
                req,
                403,
                "This sign-in was already used (its nonce was replayed). Open the link from \
                 the email again; nothing was changed.",
            );
        }
        Err(e) => {
            warn!(error = %e, "recording the nonce failed");
            return failed(
                req,
                503,
                "Cordon could not complete the sign-in; try again.",
            );
        }
    }
    let expires_at: DateTime<Utc> = claims
        .expires_at
        .min(now + Duration::minutes(SESSION_MINUTES));
    let session = SignInSession {
        identity: VerifiedIdentity {
            method: "oidc".into(),
            issuer: claims.issuer.clone(),
            subject: claims.subject.clone(),
            email: claims.email.clone(),
            name: claims.name.clone(),
        },
        groups: claims.groups.clone(),
        email_verified: claims.email_verified,
        created_at: now,
        expires_at,
    };
    let secret = match random_hex(32) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "no randomness for the session");
            return failed(
                req,
                503,
                "Cordon could not complete the sign-in; try again.",
            );
        }
    };
    if let Err(e) = deps
        .signin
        .put_session(&sha256_hex(&secret), &session)
        .await
    {
        warn!(error = %e, "storing the session failed");
        return failed(
            req,
            503,
            "Cordon could not complete the sign-in; try again.",
        );
    }
    info!(
        outcome = "signed_in",
        subject = %cordon_core::notify::Clean(&claims.subject),
        email = %cordon_core::notify::Clean(claims.email.as_deref().unwrap_or("")),
    );
    let secure = cookies::is_https(req);
    let ret = if route(&pending.ret).is_some_and(|r| r.is_link()) {
        pending.ret.as_str()
    } else {
        "/"
    };
    redirect(
        ret,
        &[
            cookies::set(
                "session",
                &secret,
                secure,
                "Lax",
                (expires_at - now).num_seconds().max(0),
            ),
            cookies::set("signin", "", secure, "Lax", 0),
        ],
    )
}

/// The signed-in approver of this request, if its session is valid now; with the session
/// secret (what the form's anti-CSRF value is derived from).
pub(crate) async fn current_session(req: &Request, deps: &Deps) -> Option<(String, SignInSession)> {
    let secret = cookies::get(req, "session")?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match deps.signin.get_session(&sha256_hex(&secret)).await {
        Ok(Some(s)) if s.expires_at > (deps.clock)() => Some((secret, s)),
        Ok(_) => None,
        Err(e) => {
            warn!(error = %e, "reading the session failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636() {
        // Appendix B of RFC 7636.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = random_b64(32).expect("random");
        assert_eq!(v.len(), 43);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
