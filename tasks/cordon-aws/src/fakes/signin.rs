//! The sign-in store fake: sessions and used nonces in memory.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::calls::{Calls, call_log_api, lock};
use crate::signin::{SignInSession, SignInStore};

/// [`SignInStore`] in memory (`signin:PutSession`, `signin:GetSession`, `signin:UseNonce`).
#[derive(Debug, Default)]
pub struct FakeSignInStore {
    sessions: Mutex<BTreeMap<String, SignInSession>>,
    nonces: Mutex<BTreeSet<String>>,
    calls: Mutex<Calls>,
}

impl FakeSignInStore {
    pub fn new() -> Self {
        Self::default()
    }

    call_log_api!();

    /// Every stored session key (hashes of the secrets).
    pub fn session_keys(&self) -> Vec<String> {
        lock(&self.sessions).keys().cloned().collect()
    }
}

#[async_trait]
impl SignInStore for FakeSignInStore {
    async fn put_session(&self, hash: &str, session: &SignInSession) -> Result<(), TaskError> {
        lock(&self.calls).enter("signin:PutSession")?;
        lock(&self.sessions).insert(hash.to_string(), session.clone());
        Ok(())
    }

    async fn get_session(&self, hash: &str) -> Result<Option<SignInSession>, TaskError> {
        lock(&self.calls).enter("signin:GetSession")?;
        Ok(lock(&self.sessions).get(hash).cloned())
    }

    async fn use_nonce(&self, hash: &str, _expires_at: DateTime<Utc>) -> Result<bool, TaskError> {
        lock(&self.calls).enter("signin:UseNonce")?;
        Ok(lock(&self.nonces).insert(hash.to_string()))
    }
}
