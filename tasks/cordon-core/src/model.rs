//! The data Cordon passes between its tasks (and through the state machine as JSON).
//!
//! These types are a contract: the state machine's paths (`$.detection.principal.name`, …)
//! and the DynamoDB audit read them. Change them additively.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What the workflow does with an incident. Route order in the ASL follows these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Record only.
    Ignore,
    /// Record and notify, no containment.
    Notify,
    /// Ask a human (email link, task token); containment on approval.
    Approve,
    /// Contain automatically.
    Auto,
}

/// CloudTrail `userIdentity.type`, plus `Unknown` for anything else or absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrincipalKind {
    Root,
    #[serde(rename = "IAMUser")]
    IamUser,
    AssumedRole,
    Role,
    FederatedUser,
    AWSService,
    AWSAccount,
    Unknown,
}

/// The identity an incident is about: the one Cordon may contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub kind: PrincipalKind,
    /// IAM user or role name (without path). `None` when unknown.
    pub name: Option<String>,
    /// Taken from the event (e.g. `responseElements.user.arn`); never built from the name.
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub principal_id: Option<String>,
}

/// Who made the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub kind: PrincipalKind,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub principal_id: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    /// For assumed-role sessions, the role ARN that issued the session. This, not the
    /// session ARN, is what the allowlist is checked against.
    pub session_issuer_arn: Option<String>,
    pub mfa_authenticated: Option<bool>,
}

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

/// Lifecycle of an incident item in the audit table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IncidentStatus {
    Open,
    AwaitingApproval,
    Contained,
    Notified,
    Dismissed,
    Closed,
    Released,
    Rejected,
    Failed,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "OPEN",
            IncidentStatus::AwaitingApproval => "AWAITING_APPROVAL",
            IncidentStatus::Contained => "CONTAINED",
            IncidentStatus::Notified => "NOTIFIED",
            IncidentStatus::Dismissed => "DISMISSED",
            IncidentStatus::Closed => "CLOSED",
            IncidentStatus::Released => "RELEASED",
            IncidentStatus::Rejected => "REJECTED",
            IncidentStatus::Failed => "FAILED",
        }
    }
}

/// What the detection engine found in one event: the input of every later step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// Deterministic id (see [`crate::incident`]); also the Step Functions execution name.
    pub incident_id: String,
    /// Stable rule id, e.g. `iam.user-created` (see [`crate::classify::rules`]).
    pub rule: String,
    /// Human one-liner, e.g. "IAM user support-admin created by jdoe".
    pub title: String,
    /// CloudTrail `eventID` (the deduplication key).
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    /// CloudTrail `eventTime` (ISO 8601). Never the non-ISO dates inside `responseElements`.
    pub event_time: DateTime<Utc>,
    pub region: String,
    pub account: String,
    /// The identity to contain. `None` when it cannot be identified (wrong user name at sign-in).
    pub principal: Option<Principal>,
    /// Who made the call.
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The facts that justify the detection (`policyArn`, `mfaUsed`, `loginResult`, …).
    /// Never contains secrets (passwords from `requestParameters` are never copied).
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// The call was made by the account root user.
    pub root_activity: bool,
}

/// The response policy's verdict on a detection (computed by enrich).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    pub severity: Severity,
    pub disposition: Disposition,
    /// Why: one line per decision taken (rule default, escalations, downgrades).
    pub reasons: Vec<String>,
    pub actor_allowlisted: bool,
    /// The principal is an IAM user Cordon may contain (not root, not Cordon's own role,
    /// not protected, known).
    pub containable: bool,
    /// Why the principal cannot be contained, when it cannot.
    pub protected_reason: Option<String>,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// One level up, saturating at `Critical`.
    pub fn escalated(self) -> Severity {
        match self {
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Ignore => "ignore",
            Disposition::Notify => "notify",
            Disposition::Approve => "approve",
            Disposition::Auto => "auto",
        }
    }
}

impl PrincipalKind {
    /// Maps CloudTrail `userIdentity.type`; anything unrecognised is `Unknown`.
    pub fn from_cloudtrail(s: &str) -> PrincipalKind {
        match s {
            "Root" => PrincipalKind::Root,
            "IAMUser" => PrincipalKind::IamUser,
            "AssumedRole" => PrincipalKind::AssumedRole,
            "Role" => PrincipalKind::Role,
            "FederatedUser" => PrincipalKind::FederatedUser,
            "AWSService" => PrincipalKind::AWSService,
            "AWSAccount" => PrincipalKind::AWSAccount,
            _ => PrincipalKind::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Root",
            PrincipalKind::IamUser => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::Role => "Role",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::AWSService => "AWSService",
            PrincipalKind::AWSAccount => "AWSAccount",
            PrincipalKind::Unknown => "Unknown",
        }
    }
}

impl Actor {
    /// The identity the allowlist is checked against: the session issuer role ARN for
    /// assumed-role sessions, else the actor ARN.
    pub fn allowlist_identity(&self) -> Option<&str> {
        self.session_issuer_arn
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.arn.as_deref().filter(|s| !s.is_empty()))
    }

    /// A short display name: user name, role name, "root", or the ARN.
    pub fn display_name(&self) -> String {
        if self.kind == PrincipalKind::Root {
            return "root".to_string();
        }
        if let Some(n) = self.name.as_deref().filter(|s| !s.is_empty()) {
            return n.to_string();
        }
        if let Some(a) = self.arn.as_deref().filter(|s| !s.is_empty()) {
            return a.to_string();
        }
        "unknown actor".to_string()
    }

    /// The actor as a containment target (used when the actor is the one to contain,
    /// e.g. after `DeleteUser` or `StopLogging`).
    pub fn as_principal(&self) -> Principal {
        Principal {
            kind: self.kind,
            name: self.name.clone(),
            arn: self.arn.clone(),
            account_id: self.account_id.clone(),
            principal_id: self.principal_id.clone(),
        }
    }
}

impl Principal {
    pub fn display_name(&self) -> String {
        if self.kind == PrincipalKind::Root {
            return "root".to_string();
        }
        if let Some(n) = self.name.as_deref().filter(|s| !s.is_empty()) {
            return n.to_string();
        }
        if let Some(a) = self.arn.as_deref().filter(|s| !s.is_empty()) {
            return a.to_string();
        }
        "unknown principal".to_string()
    }
}

/// The user's state before containment: what release restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub user_name: String,
    pub user_arn: String,
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
                .filter(|(k, _)| crate::tags::TAG_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}
