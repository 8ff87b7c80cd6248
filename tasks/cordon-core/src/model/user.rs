//! An IAM user as Cordon sees it: the facts enrich gathers, and the snapshot quarantine
//! takes so that release can restore the user.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tags::TAG_KEYS;

/// IAM facts about a user, gathered by enrich and snapshotted by quarantine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFacts {
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub path: String,
    pub created: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    pub groups: Vec<String>,
    pub attached_policies: Vec<AttachedPolicy>,
    pub inline_policies: Vec<String>,
    pub access_keys: Vec<AccessKey>,
    /// MFA device serial numbers.
    pub mfa_devices: Vec<String>,
    pub login_profile: bool,
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    pub id: String,
    pub status: KeyStatus,
    pub created: Option<DateTime<Utc>>,
}

/// The user's state before containment: what release restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub user_name: String,
    pub user_arn: String,
    /// The user's unique id (`AIDA…`): release restores only this identity, never a user
    /// re-created under the same name. Absent in snapshots taken before it was recorded.
    #[serde(default)]
    pub user_id: Option<String>,
    pub taken_at: DateTime<Utc>,
    pub attached_policy_arns: Vec<String>,
    pub active_access_key_ids: Vec<String>,
    pub inactive_access_key_ids: Vec<String>,
    pub login_profile: bool,
    pub mfa_devices: Vec<String>,
    pub groups: Vec<String>,
    pub inline_policies: Vec<String>,
    /// Prior values of the tag keys Cordon sets (absent key = the tag was not set).
    pub cordon_tags: BTreeMap<String, String>,
}

impl Snapshot {
    pub fn of(facts: &UserFacts, taken_at: DateTime<Utc>) -> Self {
        let keys = |status: KeyStatus| {
            facts
                .access_keys
                .iter()
                .filter(|k| k.status == status)
                .map(|k| k.id.clone())
                .collect()
        };
        Self {
            user_name: facts.user_name.clone(),
            user_arn: facts.arn.clone(),
            user_id: Some(facts.user_id.clone()).filter(|id| !id.is_empty()),
            taken_at,
            attached_policy_arns: facts
                .attached_policies
                .iter()
                .map(|p| p.arn.clone())
                .collect(),
            active_access_key_ids: keys(KeyStatus::Active),
            inactive_access_key_ids: keys(KeyStatus::Inactive),
            login_profile: facts.login_profile,
            mfa_devices: facts.mfa_devices.clone(),
            groups: facts.groups.clone(),
            inline_policies: facts.inline_policies.clone(),
            cordon_tags: facts
                .tags
                .iter()
                .filter(|(k, _)| TAG_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}
