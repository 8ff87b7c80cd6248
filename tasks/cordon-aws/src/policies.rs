//! IAM policy documents enrich reads to judge a grant an event names but does not carry:
//! a managed policy's default version (and how many identities it is attached to), one
//! version of it, and every policy of a group.
use async_trait::async_trait;
use aws_sdk_iam::Client;
use cordon_core::TaskError;
use serde_json::Value;

use crate::error::SdkResultExt;

/// A managed policy's default version.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedPolicy {
    pub arn: String,
    pub default_version_id: String,
    /// Users, groups and roles it is attached to.
    pub attachment_count: u64,
    pub document: Value,
}

/// One policy document of a group, named for messages (`policy <arn>`, `inline <name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedDocument {
    pub source: String,
    pub document: Value,
}

#[async_trait]
pub trait PolicyReader: Send + Sync {
    /// The managed policy `arn` with its default version's document; `None` if it does
    /// not exist.
    async fn managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, TaskError>;

    /// Version `version_id` of the managed policy `arn`; `None` if either does not exist.
    async fn policy_version(&self, arn: &str, version_id: &str)
    -> Result<Option<Value>, TaskError>;

    /// Every policy document of group `group` (attached managed policies' default
    /// versions, then inline policies); `None` if the group does not exist.
    async fn group_policies(&self, group: &str) -> Result<Option<Vec<NamedDocument>>, TaskError>;
}

/// IAM returns policy documents URL-encoded (RFC 3986) JSON.
pub(crate) fn decode_document(operation: &str, raw: &str) -> Result<Value, TaskError> {
    serde_json::from_str(raw)
        .or_else(|_| serde_json::from_str(&cordon_core::policy_document::percent_decode(raw)))
        .map_err(|e| TaskError::Aws {
            operation: operation.to_string(),
            code: "MalformedPolicyDocument".to_string(),
            message: format!("IAM returned a policy document that is not JSON: {e}"),
        })
}

/// [`PolicyReader`] over `aws-sdk-iam`.
#[derive(Debug, Clone)]
pub struct IamPolicyReader {
    client: Client,
}

impl IamPolicyReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl PolicyReader for IamPolicyReader {
    async fn managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, TaskError> {
        let Some(out) = self
            .client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .or_absent("iam:GetPolicy")?
        else {
            return Ok(None);
        };
        let Some(policy) = out.policy() else {
            return Ok(None);
        };
        let version = policy.default_version_id().unwrap_or("v1").to_string();
        let attachments = policy.attachment_count().unwrap_or(0).max(0) as u64;
        Ok(self
            .policy_version(arn, &version)
            .await?
            .map(|document| ManagedPolicy {
                arn: arn.to_string(),
                default_version_id: version,
                attachment_count: attachments,
                document,
            }))
    }

    async fn policy_version(
        &self,
        arn: &str,
        version_id: &str,
    ) -> Result<Option<Value>, TaskError> {
        let Some(out) = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version_id)
            .send()
            .await
            .or_absent("iam:GetPolicyVersion")?
        else {
            return Ok(None);
        };
        match out.policy_version().and_then(|v| v.document()) {
            Some(doc) => decode_document("iam:GetPolicyVersion", doc).map(Some),
            None => Ok(None),
        }
    }

    async fn group_policies(&self, group: &str) -> Result<Option<Vec<NamedDocument>>, TaskError> {
        let c = &self.client;
        let Some(attached) = c
            .list_attached_group_policies()
            .group_name(group)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .or_absent("iam:ListAttachedGroupPolicies")?
        else {
            return Ok(None);
        };
        let Some(inline) = c
            .list_group_policies()
            .group_name(group)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .or_absent("iam:ListGroupPolicies")?
        else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for p in attached {
            let Some(arn) = p.policy_arn() else { continue };
            if let Some(policy) = self.managed_policy(arn).await? {
                out.push(NamedDocument {
                    source: format!("policy {arn}"),
                    document: policy.document,
                });
            }
        }
        for name in inline {
            let Some(got) = c
                .get_group_policy()
                .group_name(group)
                .policy_name(&name)
                .send()
                .await
                .or_absent("iam:GetGroupPolicy")?
            else {
                continue;
            };
            out.push(NamedDocument {
                source: format!("inline policy {name}"),
                document: decode_document("iam:GetGroupPolicy", got.policy_document())?,
            });
        }
        Ok(Some(out))
    }
}
