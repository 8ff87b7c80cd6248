//! Grants an event names but does not carry: what enrich must read to judge a detection
//! ([`Inspect`]), and what it found ([`Inspection`]).
use serde::{Deserialize, Serialize};

use crate::policy_document::Grants;

/// What a detection asks enrich to read before it is judged: the event attached a
/// customer-managed policy, made a version default, or added a user to a group, so what it
/// granted is only in IAM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Inspect {
    /// A managed policy's default version (and how many identities it is attached to).
    #[serde(rename_all = "camelCase")]
    ManagedPolicy { policy_arn: String },
    /// One version of a managed policy (`SetDefaultPolicyVersion`).
    #[serde(rename_all = "camelCase")]
    PolicyVersion {
        policy_arn: String,
        version_id: String,
    },
    /// Every policy of a group (attached and inline).
    #[serde(rename_all = "camelCase")]
    Group { group_name: String },
}

impl Inspect {
    /// What is read, for messages.
    pub fn describe(&self) -> String {
        match self {
            Inspect::ManagedPolicy { policy_arn } => format!("policy {policy_arn}"),
            Inspect::PolicyVersion {
                policy_arn,
                version_id,
            } => format!("version {version_id} of policy {policy_arn}"),
            Inspect::Group { group_name } => format!("the policies of group {group_name}"),
        }
    }
}

/// What enrich read for an [`Inspect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// What was read ([`Inspect::describe`]).
    pub subject: String,
    /// What the documents grant; `None` when they could not be read (`problem` says why).
    pub grants: Option<Grants>,
    /// For a managed policy: how many users, groups and roles it is attached to.
    #[serde(default)]
    pub attachment_count: Option<u64>,
    #[serde(default)]
    pub problem: Option<String>,
}
