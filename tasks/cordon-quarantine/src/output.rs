//! What the quarantine task takes and answers.
use chrono::{DateTime, Utc};
use cordon_core::model::{Detection, PrincipalKind, Snapshot, UserFacts};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub incident_id: String,
    pub detection: Detection,
    /// `true`: deactivate keys and delete the console password; `false`: only attach the
    /// deny-all policy; absent: as the response policy says.
    #[serde(default)]
    pub remediate: Option<bool>,
    /// The user as enrich found it (the workflow passes `$.enrichment.facts`): its unique
    /// id is the identity this incident is about, when the event itself carries none.
    #[serde(default)]
    pub facts: Option<UserFacts>,
}

pub use cordon_core::quarantine::Remediation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub incident_id: String,
    /// The contained principal's name (a role's, for a role).
    pub user_name: String,
    /// `IAMUser`, or `Role` when a role's sessions were revoked (the tag step skips roles).
    #[serde(default = "user_kind")]
    pub principal_kind: PrincipalKind,
    /// The stored snapshot (the first run's, on a re-run).
    pub snapshot: Snapshot,
    /// `true` if this run stored the snapshot.
    pub snapshot_saved: bool,
    /// When containment first happened (the snapshot time): pass it to the tag task.
    pub quarantined_at: DateTime<Utc>,
    pub policy_arn: String,
    /// Every deny-all policy attached (the customer-managed one and `AWSDenyAll`; none
    /// for an MFA audit finding, which is remediated, not contained).
    #[serde(default)]
    pub policy_arns: Vec<String>,
    /// Every deny-all policy was already attached before this run.
    pub already_attached: bool,
    pub remediation: Remediation,
    /// Human-readable list of what this run did (for the notification).
    pub actions_taken: Vec<String>,
}

fn user_kind() -> PrincipalKind {
    PrincipalKind::IamUser
}
