//! [`SignInStore`] over DynamoDB: `SESSION#<sha256(secret)>` and `NONCE#<sha256(nonce)>`
//! items in the incident table, each put once (conditional put) with a `ttl`.
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::{Item, META_SK, Table};
use crate::signin::{SignInSession, SignInStore};

/// Partition-key prefix of sessions.
pub const SESSION_PREFIX: &str = "SESSION#";
/// Partition-key prefix of used nonces.
pub const NONCE_PREFIX: &str = "NONCE#";
/// Used nonces are kept this long after their token expired.
const NONCE_GRACE_SECONDS: i64 = 24 * 3600;

/// [`SignInStore`] over `aws-sdk-dynamodb`, in the incident table.
#[derive(Debug, Clone)]
pub struct DynamoSignInStore {
    table: Table,
}

impl DynamoSignInStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }
}

#[async_trait]
impl SignInStore for DynamoSignInStore {
    async fn put_session(&self, hash: &str, session: &SignInSession) -> Result<(), TaskError> {
        let mut item = Item::keyed(format!("{SESSION_PREFIX}{hash}"), META_SK);
        item.put_s("entity", "SESSION")
            .put_json("session", session)?
            .put_time("expires_at", session.expires_at)
            .put_n("ttl", session.expires_at.timestamp());
        if self.table.put_if_absent(item).await? {
            Ok(())
        } else {
            Err(TaskError::transient(
                "dynamodb:PutItem",
                "a session with this key exists already; sign in again",
            ))
        }
    }

    async fn get_session(&self, hash: &str) -> Result<Option<SignInSession>, TaskError> {
        Ok(self
            .table
            .get(Item::keyed(format!("{SESSION_PREFIX}{hash}"), META_SK))
            .await?
            .and_then(|item| item.get_json("session")))
    }

    async fn use_nonce(&self, hash: &str, expires_at: DateTime<Utc>) -> Result<bool, TaskError> {
        let mut item = Item::keyed(format!("{NONCE_PREFIX}{hash}"), META_SK);
        item.put_s("entity", "NONCE")
            .put_n("ttl", expires_at.timestamp() + NONCE_GRACE_SECONDS);
        self.table.put_if_absent(item).await
    }
}
