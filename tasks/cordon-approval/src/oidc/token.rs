//! Verifying an ID token: the signature with the issuer's key (asymmetric algorithms
//! only: an `HS256` token signed with some shared secret, or `none`, is refused), `iss`,
//! `aud` (and `azp` with several audiences), `exp` (one minute of leeway), `iat` not in
//! the future, and the nonce this browser was given.
use chrono::{DateTime, Utc};
use cordon_aws::links::constant_time_eq;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use super::Provider;
use super::error::OidcError;

/// Algorithms an issuer's key may sign ID tokens with.
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY_SECONDS: u64 = 60;

/// The verified claims Cordon uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

fn invalid(why: impl Into<String>) -> OidcError {
    OidcError::Invalid(why.into())
}

impl Provider {
    /// Verifies `id_token` for this issuer and client, with `nonce` the value this
    /// browser's sign-in started with. `now` decides `iat`.
    pub async fn verify(
        &self,
        id_token: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<IdClaims, OidcError> {
        let header = decode_header(id_token)
            .map_err(|e| invalid(format!("the ID token is malformed: {e}")))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(invalid(format!(
                "the ID token is signed with {:?}, which an issuer's public key cannot be",
                header.alg
            )));
        }
        let key = self.key_for(header.kid.as_deref(), header.alg).await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.client_id]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = LEEWAY_SECONDS;
        let claims = decode::<Value>(id_token, &key, &v)
            .map_err(|e| {
                invalid(match e.kind() {
                    ErrorKind::InvalidSignature => {
                        "its signature does not match the issuer's key".into()
                    }
                    ErrorKind::InvalidIssuer => "it was issued by another issuer".into(),
                    ErrorKind::InvalidAudience => "it was issued for another client".into(),
                    ErrorKind::ExpiredSignature => "it has expired".into(),
                    ErrorKind::MissingRequiredClaim(c) => format!("it has no {c} claim"),
                    other => format!("it is not valid ({other:?})"),
                })
            })?
            .claims;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
        // With several audiences, the authorized party must be this client (OIDC Core 3.1.3.7).
        if claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1)
            && text("azp").as_deref() != Some(self.config.client_id.as_str())
        {
            return Err(invalid(
                "it names several audiences and another authorized party",
            ));
        }
        let token_nonce = text("nonce").ok_or_else(|| invalid("it carries no nonce"))?;
        if !constant_time_eq(token_nonce.as_bytes(), nonce.as_bytes()) {
            return Err(invalid(
                "its nonce is not the one this sign-in started with",
            ));
        }
        if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
            && iat > now.timestamp() + LEEWAY_SECONDS as i64
        {
            return Err(invalid("it was issued in the future"));
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .and_then(|e| DateTime::from_timestamp(e, 0))
            .ok_or_else(|| invalid("its exp is not a time"))?;
        let groups = match claims.get(&self.config.groups_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Ok(IdClaims {
            issuer: text("iss").unwrap_or_default(),
            subject: text("sub").unwrap_or_default(),
            email: text("email"),
            email_verified: claims.get("email_verified").and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                // Some issuers send it as a string.
                Value::String(s) => Some(s == "true"),
                _ => None,
            }),
            name: text("name").or_else(|| text("preferred_username")),
            groups,
            expires_at: exp,
        })
    }

    /// The issuer's key for `kid` (the set is fetched again once if the kid is unknown:
    /// the issuer may have rotated its keys).
    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, OidcError> {
        for refresh in [false, true] {
            let set = self.keys(refresh).await?;
            let jwk = match kid {
                Some(kid) => set.find(kid),
                // Without a kid, only a set with a single key is unambiguous.
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            let Some(jwk) = jwk else { continue };
            if let Some(key_alg) = jwk.common.key_algorithm
                && format!("{key_alg:?}") != format!("{alg:?}")
            {
                return Err(invalid(
                    "the token's algorithm is not the one its key is for",
                ));
            }
            return DecodingKey::from_jwk(jwk)
                .map_err(|e| invalid(format!("the issuer's key cannot be used: {e}")));
        }
        Err(invalid(
            "it is signed with a key the issuer does not publish",
        ))
    }
}
