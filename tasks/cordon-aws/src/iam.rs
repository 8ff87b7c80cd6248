//! IAM: what Cordon reads about a user and the few changes it makes.
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::{StatusType, Tag};
use cordon_core::TaskError;
use cordon_core::model::{AccessKey, AttachedPolicy, KeyStatus, UserFacts};

use crate::error::{NO_SUCH_ENTITY, SdkResultExt, error_code, map_sdk_error};

/// The IAM capability Cordon's tasks need. Every method is safe to call twice.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Everything enrich and quarantine need to know about a user; `None` if the user
    /// does not exist. Every list is paginated to the end.
    async fn get_user_facts(&self, user_name: &str) -> Result<Option<UserFacts>, TaskError>;

    /// Create the customer-managed policy `name` with `document`, or find it if it already
    /// exists (the document of an existing policy is left as it is). Returns its ARN.
    async fn ensure_managed_policy(&self, name: &str, document: &str) -> Result<String, TaskError>;

    /// Attach a managed policy. Attaching an attached policy is a no-op in IAM.
    /// A missing user is [`TaskError::PrincipalNotFound`].
    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), TaskError>;

    async fn is_policy_attached(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError>;

    /// Detach a managed policy; `false` if it was not attached (or the user is gone).
    async fn detach_user_policy(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError>;

    async fn set_access_key_status(
        &self,
        user_name: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), TaskError>;

    /// Delete the console password; `false` if the user had none.
    async fn delete_login_profile(&self, user_name: &str) -> Result<bool, TaskError>;

    /// Set tags (overwriting values of existing keys).
    async fn tag_user(
        &self,
        user_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), TaskError>;

    async fn untag_user(&self, user_name: &str, keys: &[String]) -> Result<(), TaskError>;

    /// A user's ARN and unique id (`iam:GetUser`); `None` if there is no such user.
    async fn user_identity(&self, user_name: &str) -> Result<Option<IamIdentity>, TaskError>;

    /// A role's ARN and unique id (`iam:GetRole`); `None` if there is no such role.
    async fn role_identity(&self, role_name: &str) -> Result<Option<IamIdentity>, TaskError>;
}

/// A user's or role's ARN and the unique id IAM issued it (`AIDA…` / `AROA…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamIdentity {
    pub arn: String,
    pub id: String,
}

/// [`IdentityStore`] over `aws-sdk-iam`.
#[derive(Debug, Clone)]
pub struct IamIdentityStore {
    client: Client,
}

impl IamIdentityStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn find_local_policy(&self, name: &str) -> Result<Option<String>, TaskError> {
        let policies = self
            .client
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws("iam:ListPolicies")?;
        Ok(policies
            .into_iter()
            .find(|p| p.policy_name() == Some(name))
            .and_then(|p| p.arn().map(str::to_string)))
    }
}

/// An SDK time as a chrono time.
fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn key_status(status: Option<&StatusType>) -> KeyStatus {
    match status {
        Some(StatusType::Active) => KeyStatus::Active,
        _ => KeyStatus::Inactive,
    }
}

#[async_trait]
impl IdentityStore for IamIdentityStore {
    async fn get_user_facts(&self, user_name: &str) -> Result<Option<UserFacts>, TaskError> {
        let Some(out) = self
            .client
            .get_user()
            .user_name(user_name)
            .send()
            .await
            .or_absent("iam:GetUser")?
        else {
            return Ok(None);
        };
        let Some(user) = out.user() else {
            return Ok(None);
        };

        let c = &self.client;
        let tags = c
            .list_user_tags()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let groups = c
            .list_groups_for_user()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let attached = c
            .list_attached_user_policies()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let inline = c
            .list_user_policies()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let keys = c
            .list_access_keys()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let mfa = c
            .list_mfa_devices()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let login = c.get_login_profile().user_name(user_name).send();
        let (tags, groups, attached, inline, keys, mfa, login) =
            tokio::join!(tags, groups, attached, inline, keys, mfa, login);

        // A user deleted while we read it is a user that does not exist.
        macro_rules! read {
            ($res:expr, $op:literal) => {
                match $res.or_absent($op)? {
                    Some(v) => v,
                    None => return Ok(None),
                }
            };
        }
        let tags = read!(tags, "iam:ListUserTags");
        let groups = read!(groups, "iam:ListGroupsForUser");
        let attached = read!(attached, "iam:ListAttachedUserPolicies");
        let inline = read!(inline, "iam:ListUserPolicies");
        let keys = read!(keys, "iam:ListAccessKeys");
        let mfa = read!(mfa, "iam:ListMFADevices");
        // GetLoginProfile answers NoSuchEntity both for "no password" and "no user";
        // the user existed a moment ago, so read it as "no password".
        let login_profile = login.or_absent("iam:GetLoginProfile")?.is_some();

        Ok(Some(UserFacts {
            user_name: user.user_name().to_string(),
            user_id: user.user_id().to_string(),
            arn: user.arn().to_string(),
            path: user.path().to_string(),
            created: to_chrono(user.create_date()),
            tags: tags
                .into_iter()
                .map(|t: Tag| (t.key().to_string(), t.value().to_string()))
                .collect(),
            groups: groups
                .into_iter()
                .map(|g| g.group_name().to_string())
                .collect(),
            attached_policies: attached
                .into_iter()
                .filter_map(|p| {
                    Some(AttachedPolicy {
                        name: p.policy_name()?.to_string(),
                        arn: p.policy_arn()?.to_string(),
                    })
                })
                .collect(),
            inline_policies: inline,
            access_keys: keys
                .into_iter()
                .filter_map(|k| {
                    Some(AccessKey {
                        id: k.access_key_id()?.to_string(),
                        status: key_status(k.status()),
                        created: k.create_date().and_then(to_chrono),
                    })
                })
                .collect(),
            mfa_devices: mfa
                .into_iter()
                .map(|d| d.serial_number().to_string())
                .collect(),
            login_profile,
            permissions_boundary: user
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
        }))
    }

    async fn ensure_managed_policy(&self, name: &str, document: &str) -> Result<String, TaskError> {
        let created = self
            .client
            .create_policy()
            .policy_name(name)
            .policy_document(document)
            .description("Cordon: denies every action. Attached to quarantined identities.")
            .send()
            .await;
        match created {
            Ok(out) => out
                .policy()
                .and_then(|p| p.arn())
                .map(str::to_string)
                .ok_or_else(|| TaskError::Aws {
                    operation: "iam:CreatePolicy".into(),
                    code: "MissingArn".into(),
                    message: format!("IAM created policy {name} but returned no ARN"),
                }),
            Err(e) if error_code(&e) == Some("EntityAlreadyExists") => self
                .find_local_policy(name)
                .await?
                .ok_or_else(|| TaskError::Aws {
                    operation: "iam:ListPolicies".into(),
                    code: "EntityAlreadyExists".into(),
                    message: format!(
                        "IAM says policy {name} exists but it is not listed as a \
                             customer-managed policy; set CORDON_QUARANTINE_POLICY_ARN to its ARN"
                    ),
                }),
            Err(e) => Err(map_sdk_error("iam:CreatePolicy", e)),
        }
    }

    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), TaskError> {
        self.client
            .attach_user_policy()
            .user_name(user_name)
            .policy_arn(policy_arn)
            .send()
            .await
            .for_principal("iam:AttachUserPolicy", user_name)?;
        Ok(())
    }

    async fn is_policy_attached(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError> {
        let attached = self
            .client
            .list_attached_user_policies()
            .user_name(user_name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .for_principal("iam:ListAttachedUserPolicies", user_name)?;
        Ok(attached.iter().any(|p| p.policy_arn() == Some(policy_arn)))
    }

    async fn detach_user_policy(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError> {
        Ok(self
            .client
            .detach_user_policy()
            .user_name(user_name)
            .policy_arn(policy_arn)
            .send()
            .await
            .or_absent("iam:DetachUserPolicy")?
            .is_some())
    }

    async fn set_access_key_status(
        &self,
        user_name: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), TaskError> {
        let status = match status {
            KeyStatus::Active => StatusType::Active,
            KeyStatus::Inactive => StatusType::Inactive,
        };
        self.client
            .update_access_key()
            .user_name(user_name)
            .access_key_id(access_key_id)
            .status(status)
            .send()
            .await
            .for_principal("iam:UpdateAccessKey", user_name)?;
        Ok(())
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<bool, TaskError> {
        Ok(self
            .client
            .delete_login_profile()
            .user_name(user_name)
            .send()
            .await
            .or_none_on("iam:DeleteLoginProfile", NO_SUCH_ENTITY)?
            .is_some())
    }

    async fn tag_user(
        &self,
        user_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), TaskError> {
        let mut req = self.client.tag_user().user_name(user_name);
        for (k, v) in tags {
            let tag = Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| TaskError::Aws {
                    operation: "iam:TagUser".into(),
                    code: "InvalidTag".into(),
                    message: e.to_string(),
                })?;
            req = req.tags(tag);
        }
        req.send().await.for_principal("iam:TagUser", user_name)?;
        Ok(())
    }

    async fn user_identity(&self, user_name: &str) -> Result<Option<IamIdentity>, TaskError> {
        let out = self
            .client
            .get_user()
            .user_name(user_name)
            .send()
            .await
            .or_absent("iam:GetUser")?;
        Ok(out.and_then(|o| {
            o.user().map(|u| IamIdentity {
                arn: u.arn().to_string(),
                id: u.user_id().to_string(),
            })
        }))
    }

    async fn role_identity(&self, role_name: &str) -> Result<Option<IamIdentity>, TaskError> {
        let out = self
            .client
            .get_role()
            .role_name(role_name)
            .send()
            .await
            .or_absent("iam:GetRole")?;
        Ok(out.and_then(|o| {
            o.role().map(|r| IamIdentity {
                arn: r.arn().to_string(),
                id: r.role_id().to_string(),
            })
        }))
    }

    async fn untag_user(&self, user_name: &str, keys: &[String]) -> Result<(), TaskError> {
        let mut req = self.client.untag_user().user_name(user_name);
        for k in keys {
            req = req.tag_keys(k);
        }
        req.send().await.for_principal("iam:UntagUser", user_name)?;
        Ok(())
    }
}
