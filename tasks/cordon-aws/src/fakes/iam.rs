//! The IAM fake: users held as [`UserFacts`], changed in place.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;
use cordon_core::model::{AttachedPolicy, KeyStatus, UserFacts};

use super::calls::{Calls, call_log_api, lock};
use crate::iam::{IamIdentity, IdentityStore};

/// The account id fakes put in ARNs.
pub const FAKE_ACCOUNT: &str = "123456789012";

/// IAM users held as [`UserFacts`]; changes are applied to the facts.
#[derive(Debug, Default)]
pub struct FakeIdentityStore {
    users: Mutex<BTreeMap<String, UserFacts>>,
    policies: Mutex<BTreeMap<String, (String, String)>>,
    /// Roles by name: (ARN, unique id).
    roles: Mutex<BTreeMap<String, IamIdentity>>,
    calls: Mutex<Calls>,
}

impl FakeIdentityStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a user.
    pub fn with_user(self, facts: UserFacts) -> Self {
        self.put_user(facts);
        self
    }

    pub fn put_user(&self, facts: UserFacts) {
        lock(&self.users).insert(facts.user_name.clone(), facts);
    }

    /// Add (or replace) a role with its ARN and unique id.
    pub fn put_role(&self, name: &str, arn: &str, id: &str) {
        lock(&self.roles).insert(
            name.to_string(),
            IamIdentity {
                arn: arn.to_string(),
                id: id.to_string(),
            },
        );
    }

    /// Delete a user (as `iam:DeleteUser`).
    pub fn remove_user(&self, name: &str) {
        lock(&self.users).remove(name);
    }

    pub fn user(&self, name: &str) -> Option<UserFacts> {
        lock(&self.users).get(name).cloned()
    }

    /// Managed policies created through `ensure_managed_policy`: name → (ARN, document).
    pub fn policies(&self) -> BTreeMap<String, (String, String)> {
        lock(&self.policies).clone()
    }

    /// A user with the given name and plausible ids and ARN.
    pub fn sample_user(name: &str) -> UserFacts {
        UserFacts {
            user_name: name.to_string(),
            user_id: format!("AIDA{:0>17}", name.len()),
            arn: format!("arn:aws:iam::{FAKE_ACCOUNT}:user/{name}"),
            path: "/".to_string(),
            ..UserFacts::default()
        }
    }

    call_log_api!();

    fn with_user_mut<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut UserFacts) -> T,
    ) -> Result<T, TaskError> {
        let mut users = lock(&self.users);
        let user = users
            .get_mut(name)
            .ok_or_else(|| TaskError::PrincipalNotFound(name.to_string()))?;
        Ok(f(user))
    }
}

#[async_trait]
impl IdentityStore for FakeIdentityStore {
    async fn get_user_facts(&self, user_name: &str) -> Result<Option<UserFacts>, TaskError> {
        lock(&self.calls).enter("iam:GetUser")?;
        Ok(self.user(user_name))
    }

    async fn ensure_managed_policy(&self, name: &str, document: &str) -> Result<String, TaskError> {
        lock(&self.calls).enter("iam:CreatePolicy")?;
        let mut policies = lock(&self.policies);
        let (arn, _) = policies.entry(name.to_string()).or_insert_with(|| {
            (
                format!("arn:aws:iam::{FAKE_ACCOUNT}:policy/{name}"),
                document.to_string(),
            )
        });
        Ok(arn.clone())
    }

    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:AttachUserPolicy")?;
        self.with_user_mut(user_name, |u| {
            if !u.attached_policies.iter().any(|p| p.arn == policy_arn) {
                let name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
                u.attached_policies.push(AttachedPolicy {
                    name: name.to_string(),
                    arn: policy_arn.to_string(),
                });
            }
        })
    }

    async fn is_policy_attached(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:ListAttachedUserPolicies")?;
        self.with_user_mut(user_name, |u| {
            u.attached_policies.iter().any(|p| p.arn == policy_arn)
        })
    }

    async fn detach_user_policy(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:DetachUserPolicy")?;
        Ok(self
            .with_user_mut(user_name, |u| {
                let before = u.attached_policies.len();
                u.attached_policies.retain(|p| p.arn != policy_arn);
                before != u.attached_policies.len()
            })
            .unwrap_or(false))
    }

    async fn set_access_key_status(
        &self,
        user_name: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:UpdateAccessKey")?;
        let found = self.with_user_mut(user_name, |u| {
            u.access_keys
                .iter_mut()
                .find(|k| k.id == access_key_id)
                .map(|k| k.status = status)
                .is_some()
        })?;
        if found {
            Ok(())
        } else {
            Err(TaskError::Aws {
                operation: "iam:UpdateAccessKey".into(),
                code: "NoSuchEntity".into(),
                message: format!("The Access Key with id {access_key_id} cannot be found."),
            })
        }
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:DeleteLoginProfile")?;
        Ok(self
            .with_user_mut(user_name, |u| std::mem::take(&mut u.login_profile))
            .unwrap_or(false))
    }

    async fn tag_user(
        &self,
        user_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:TagUser")?;
        self.with_user_mut(user_name, |u| {
            u.tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())))
        })
    }

    async fn user_identity(&self, user_name: &str) -> Result<Option<IamIdentity>, TaskError> {
        lock(&self.calls).enter("iam:GetUser")?;
        Ok(self.user(user_name).map(|u| IamIdentity {
            arn: u.arn,
            id: u.user_id,
        }))
    }

    async fn role_identity(&self, role_name: &str) -> Result<Option<IamIdentity>, TaskError> {
        lock(&self.calls).enter("iam:GetRole")?;
        Ok(lock(&self.roles).get(role_name).cloned())
    }

    async fn untag_user(&self, user_name: &str, keys: &[String]) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:UntagUser")?;
        self.with_user_mut(user_name, |u| {
            for k in keys {
                u.tags.remove(k);
            }
        })
    }
}
