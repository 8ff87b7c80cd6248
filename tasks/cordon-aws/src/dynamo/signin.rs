//! [`SignInStore`] over DynamoDB: `SESSION#<sha256(secret)>` and `NONCE#<sha256(nonce)>`
//! items in the incident table, each written once with a `ttl`. Both are conditional
//! `UpdateItem`s that create the item only if it does not exist, so the internet-facing
//! approval function needs no `dynamodb:PutItem`.
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::{Item, META_SK, Table, Update, json, n, s, time};
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
        let create = Update::new()
            .set("entity", s("SESSION"))
            .set("session", json(session, "session")?)
            .set("expires_at", time(session.expires_at))
            .set("ttl", n(session.expires_at.timestamp()))
            .when_absent("entity");
        let key = Item::keyed(format!("{SESSION_PREFIX}{hash}"), META_SK);
        if self.table.update(key, create).await? {
            Ok(())
        } else {
            Err(TaskError::transient(
                "dynamodb:UpdateItem",
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
        let create = Update::new()
            .set("entity", s("NONCE"))
            .set("ttl", n(expires_at.timestamp() + NONCE_GRACE_SECONDS))
            .when_absent("entity");
        self.table
            .update(
                Item::keyed(format!("{NONCE_PREFIX}{hash}"), META_SK),
                create,
            )
            .await
    }
}
