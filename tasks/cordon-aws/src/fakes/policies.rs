//! The IAM policy-document fake: managed policies and groups' policies, as documents.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;
use serde_json::Value;

use super::calls::{Calls, call_log_api, lock};
use crate::policies::{ManagedPolicy, NamedDocument, PolicyReader};

#[derive(Debug, Default)]
pub struct FakePolicyReader {
    managed: Mutex<BTreeMap<String, ManagedPolicy>>,
    versions: Mutex<BTreeMap<(String, String), Value>>,
    groups: Mutex<BTreeMap<String, Vec<NamedDocument>>>,
    calls: Mutex<Calls>,
}

impl FakePolicyReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// A managed policy whose default version is `document`, attached `attachments` times.
    pub fn with_policy(self, arn: &str, document: Value, attachments: u64) -> Self {
        lock(&self.versions).insert((arn.to_string(), "v1".into()), document.clone());
        lock(&self.managed).insert(
            arn.to_string(),
            ManagedPolicy {
                arn: arn.to_string(),
                default_version_id: "v1".into(),
                attachment_count: attachments,
                document,
            },
        );
        self
    }

    /// Version `version` of policy `arn`.
    pub fn with_version(self, arn: &str, version: &str, document: Value) -> Self {
        lock(&self.versions).insert((arn.to_string(), version.to_string()), document);
        self
    }

    /// A group with these policy documents.
    pub fn with_group(self, group: &str, documents: Vec<Value>) -> Self {
        let docs = documents
            .into_iter()
            .enumerate()
            .map(|(i, document)| NamedDocument {
                source: format!("inline policy p{i}"),
                document,
            })
            .collect();
        lock(&self.groups).insert(group.to_string(), docs);
        self
    }

    call_log_api!();
}

#[async_trait]
impl PolicyReader for FakePolicyReader {
    async fn managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, TaskError> {
        lock(&self.calls).enter("iam:GetPolicy")?;
        Ok(lock(&self.managed).get(arn).cloned())
    }

    async fn policy_version(
        &self,
        arn: &str,
        version_id: &str,
    ) -> Result<Option<Value>, TaskError> {
        lock(&self.calls).enter("iam:GetPolicyVersion")?;
        Ok(lock(&self.versions)
            .get(&(arn.to_string(), version_id.to_string()))
            .cloned())
    }

    async fn group_policies(&self, group: &str) -> Result<Option<Vec<NamedDocument>>, TaskError> {
        lock(&self.calls).enter("iam:ListGroupPolicies")?;
        Ok(lock(&self.groups).get(group).cloned())
    }
}
