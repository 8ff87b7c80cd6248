//! Approvers' sign-in: sessions after a verified OpenID Connect sign-in, and the ID-token
//! nonces already used (a token replayed with its nonce is refused).
//!
//! Both live in the incident table under keys that are hashes of their secrets (the
//! session's cookie value, the nonce), so the table never holds a value that signs
//! anybody in. Both expire through the table's TTL.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::model::VerifiedIdentity;
use serde::{Deserialize, Serialize};

/// A signed-in approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInSession {
    pub identity: VerifiedIdentity,
    /// The ID token's groups claim (what an allowlist of groups is checked against).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The ID token's `email_verified`, when it had one.
    #[serde(default)]
    pub email_verified: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait SignInStore: Send + Sync {
    /// Store a new session under the hash of its secret.
    async fn put_session(&self, hash: &str, session: &SignInSession) -> Result<(), TaskError>;

    /// The session stored under `hash`, if any (expired ones too: the caller checks).
    async fn get_session(&self, hash: &str) -> Result<Option<SignInSession>, TaskError>;

    /// Record that the nonce with this hash was used; `false` if it was used before (a
    /// replay).
    async fn use_nonce(&self, hash: &str, expires_at: DateTime<Utc>) -> Result<bool, TaskError>;
}
