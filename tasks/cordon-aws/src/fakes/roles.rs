//! The IAM role fake: roles held as [`RoleFacts`] with their inline policies.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;
use cordon_core::model::RoleFacts;
use serde_json::Value;

use super::calls::{Calls, call_log_api, lock};
use super::iam::FAKE_ACCOUNT;
use crate::roles::RoleStore;

/// Roles and their inline policies (role name → policy name → document).
#[derive(Debug, Default)]
pub struct FakeRoleStore {
    roles: Mutex<BTreeMap<String, RoleFacts>>,
    inline: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    calls: Mutex<Calls>,
}

impl FakeRoleStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a role.
    pub fn with_role(self, facts: RoleFacts) -> Self {
        lock(&self.roles).insert(facts.role_name.clone(), facts);
        self
    }

    /// A role with the given name and path, and plausible ids and ARN.
    pub fn sample_role(name: &str, path: &str) -> RoleFacts {
        RoleFacts {
            role_name: name.to_string(),
            role_id: format!("AROA{:0>17}", name.len()),
            arn: format!("arn:aws:iam::{FAKE_ACCOUNT}:role{path}{name}"),
            path: path.to_string(),
            created: None,
        }
    }

    /// The role's inline policies.
    pub fn inline_policies(&self, role: &str) -> BTreeMap<String, Value> {
        lock(&self.inline).get(role).cloned().unwrap_or_default()
    }

    call_log_api!();
}

#[async_trait]
impl RoleStore for FakeRoleStore {
    async fn get_role_facts(&self, role_name: &str) -> Result<Option<RoleFacts>, TaskError> {
        lock(&self.calls).enter("iam:GetRole")?;
        Ok(lock(&self.roles).get(role_name).cloned())
    }

    async fn get_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<Option<Value>, TaskError> {
        lock(&self.calls).enter("iam:GetRolePolicy")?;
        Ok(lock(&self.inline)
            .get(role_name)
            .and_then(|p| p.get(policy_name))
            .cloned())
    }

    async fn put_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &Value,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:PutRolePolicy")?;
        if !lock(&self.roles).contains_key(role_name) {
            return Err(TaskError::PrincipalNotFound(role_name.to_string()));
        }
        lock(&self.inline)
            .entry(role_name.to_string())
            .or_default()
            .insert(policy_name.to_string(), document.clone());
        Ok(())
    }

    async fn delete_role_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:DeleteRolePolicy")?;
        Ok(lock(&self.inline)
            .get_mut(role_name)
            .and_then(|p| p.remove(policy_name))
            .is_some())
    }
}
