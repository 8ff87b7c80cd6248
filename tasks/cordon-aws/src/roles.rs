//! IAM roles: what enrich reads about a role, and the inline policy quarantine puts on it
//! (and release takes off) to revoke its sessions issued before containment.
use async_trait::async_trait;
use aws_sdk_iam::Client;
use cordon_core::TaskError;
use cordon_core::model::RoleFacts;
use serde_json::Value;

use crate::error::{NO_SUCH_ENTITY, SdkResultExt};
use crate::policies::decode_document;

/// The IAM role capability. Every method is safe to call twice.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// The role named `role_name`; `None` if it does not exist.
    async fn get_role_facts(&self, role_name: &str) -> Result<Option<RoleFacts>, TaskError>;

    /// The inline policy `policy_name` of the role; `None` if it has none of that name.
    async fn get_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<Option<Value>, TaskError>;

    /// Put (or replace) the inline policy `policy_name`. A missing role is
    /// [`TaskError::PrincipalNotFound`].
    async fn put_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &Value,
    ) -> Result<(), TaskError>;

    /// Delete the inline policy `policy_name`; `false` if there was none (or no role).
    async fn delete_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<bool, TaskError>;
}

/// [`RoleStore`] over `aws-sdk-iam`.
#[derive(Debug, Clone)]
pub struct IamRoleStore {
    client: Client,
}

impl IamRoleStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl RoleStore for IamRoleStore {
    async fn get_role_facts(&self, role_name: &str) -> Result<Option<RoleFacts>, TaskError> {
        let Some(out) = self
            .client
            .get_role()
            .role_name(role_name)
            .send()
            .await
            .or_absent("iam:GetRole")?
        else {
            return Ok(None);
        };
        Ok(out.role().map(|r| RoleFacts {
            role_name: r.role_name().to_string(),
            role_id: r.role_id().to_string(),
            arn: r.arn().to_string(),
            path: r.path().to_string(),
            created: chrono::DateTime::from_timestamp(
                r.create_date().secs(),
                r.create_date().subsec_nanos(),
            ),
        }))
    }

    async fn get_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<Option<Value>, TaskError> {
        let Some(out) = self
            .client
            .get_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .send()
            .await
            .or_absent("iam:GetRolePolicy")?
        else {
            return Ok(None);
        };
        decode_document("iam:GetRolePolicy", out.policy_document()).map(Some)
    }

    async fn put_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &Value,
    ) -> Result<(), TaskError> {
        self.client
            .put_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .policy_document(document.to_string())
            .send()
            .await
            .for_principal("iam:PutRolePolicy", role_name)?;
        Ok(())
    }

    async fn delete_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<bool, TaskError> {
        Ok(self
            .client
            .delete_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .send()
            .await
            .or_none_on("iam:DeleteRolePolicy", NO_SUCH_ENTITY)?
            .is_some())
    }
}
