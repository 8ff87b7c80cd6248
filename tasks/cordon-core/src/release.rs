//! What a release did: the record release keeps on the incident (its `release` attribute)
//! and on the incident's timeline. Pure data; the release task (`cordon-release`) fills it
//! in, the incident store keeps it, the CLI and the approval page show it.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::VerifiedIdentity;

/// How the release was requested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseVia {
    /// `cordon release`.
    Cli,
    /// The approval page's "release" action.
    ApprovalLink,
    /// A direct invocation of the release Lambda.
    #[default]
    Lambda,
}

impl ReleaseVia {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseVia::Cli => "cli",
            ReleaseVia::ApprovalLink => "approval-link",
            ReleaseVia::Lambda => "lambda",
        }
    }
}

/// Who asked for the release (recorded on the timeline and the incident item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasedBy {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub via: ReleaseVia,
    /// The identity Cordon verified (OIDC sign-in, or AWS credentials); absent when only
    /// a typed name is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifiedIdentity>,
}

impl ReleasedBy {
    /// "alice@example.com (oidc, approval-link)", "alice (cli)", "unknown (lambda)".
    pub fn display(&self) -> String {
        if let Some(v) = &self.verified {
            let who = v
                .email
                .as_deref()
                .filter(|e| !e.is_empty())
                .unwrap_or(&v.subject);
            return format!("{who} (verified {}, {})", v.method, self.via.as_str());
        }
        let name = self
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("unknown");
        format!("{name} ({})", self.via.as_str())
    }
}

/// What one release run changed on the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// The (first) quarantine policy this run detached.
    pub policy_detached: Option<String>,
    /// Every quarantine policy this run detached (the customer-managed deny-all and
    /// `AWSDenyAll`).
    #[serde(default)]
    pub policies_detached: Vec<String>,
    /// Keys this run set back to `Active` (they were `Active` in the snapshot).
    pub reactivated_keys: Vec<String>,
    /// Cordon tag keys this run removed (the user did not have them before).
    pub tags_removed: Vec<String>,
    /// Cordon tag keys this run set back to their pre-containment values.
    pub tags_restored: BTreeMap<String, String>,
}

impl Restored {
    pub fn is_empty(&self) -> bool {
        self.policy_detached.is_none()
            && self.policies_detached.is_empty()
            && self.reactivated_keys.is_empty()
            && self.tags_removed.is_empty()
            && self.tags_restored.is_empty()
    }
}

/// The release record: who released the incident, when and why, what was restored, what
/// is left to do by hand, and what drifted since containment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    pub released_at: DateTime<Utc>,
    pub released_by: ReleasedBy,
    pub reason: Option<String>,
    /// The user no longer existed: nothing could be restored.
    pub user_deleted: bool,
    pub restored: Restored,
    pub manual_actions: Vec<String>,
    pub drift: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_keeps_its_wire_names() {
        let at = DateTime::parse_from_rfc3339("2024-09-27T14:06:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let record = ReleaseRecord {
            released_at: at,
            released_by: ReleasedBy {
                name: Some("alice".into()),
                via: ReleaseVia::ApprovalLink,
                ..ReleasedBy::default()
            },
            reason: None,
            user_deleted: false,
            restored: Restored::default(),
            manual_actions: vec![],
            drift: vec![],
        };
        let json = serde_json::to_string(&record).expect("json");
        assert_eq!(
            json,
            r#"{"releasedAt":"2024-09-27T14:06:00Z","releasedBy":{"name":"alice","ip":null,"userAgent":null,"via":"approval-link"},"reason":null,"userDeleted":false,"restored":{"policyDetached":null,"policiesDetached":[],"reactivatedKeys":[],"tagsRemoved":[],"tagsRestored":{}},"manualActions":[],"drift":[]}"#
        );
        assert_eq!(
            serde_json::from_str::<ReleaseRecord>(&json).expect("parse"),
            record
        );
    }
}
