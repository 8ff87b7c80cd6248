//! What a notification is: its kind, everything it may mention, and the rendered result.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::EventEssentials;
use crate::model::{Assessment, CaughtError, Detection};

/// Message attribute names.
pub mod attributes {
    pub const SEVERITY: &str = "severity";
    pub const RULE: &str = "rule";
    pub const INCIDENT_ID: &str = "incident_id";
    pub const DISPOSITION: &str = "disposition";
    pub const KIND: &str = "kind";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotificationKind {
    /// An incident that is only reported (disposition notify).
    Alert,
    /// A human must approve containment (carries the approval link).
    ApprovalRequest,
    /// The principal was contained.
    Contained,
    /// A human rejected containment, or the approval timed out without action.
    Dismissed,
    /// The workflow failed.
    Failure,
    /// The event was malformed and rejected.
    Rejected,
    /// A contained principal was released.
    Released,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Alert => "alert",
            NotificationKind::ApprovalRequest => "approvalRequest",
            NotificationKind::Contained => "contained",
            NotificationKind::Dismissed => "dismissed",
            NotificationKind::Failure => "failure",
            NotificationKind::Rejected => "rejected",
            NotificationKind::Released => "released",
        }
    }
}

/// Everything a notification may mention. Build with `..Default::default()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationContext {
    pub incident_id: String,
    /// `None` for rejected events.
    pub detection: Option<Detection>,
    pub assessment: Option<Assessment>,
    /// Link to the approval page (opaque approval id only; never a task token).
    pub approval_url: Option<String>,
    pub approval_expires_at: Option<DateTime<Utc>>,
    /// Link to release a contained principal.
    pub release_url: Option<String>,
    /// Error text for `Failure` and `Rejected`.
    pub error: Option<String>,
    /// What containment did (`Contained`), e.g. "attached AutomatedSecurityQuarantine".
    pub actions_taken: Vec<String>,
    /// Who approved, rejected or released.
    pub decided_by: Option<String>,
    /// Free-text note (e.g. "approval timed out after 3600 s").
    pub note: Option<String>,
    /// The raw event's essentials, for an incident without a detection (its OpenIncident
    /// step failed before classifying it).
    pub event: Option<EventEssentials>,
    /// `Failure`: which step failed, why, and where a replay starts.
    pub failure: Option<FailureReport>,
    /// `Released`: what an operator must still do by hand.
    pub manual_actions: Vec<String>,
    /// `Released`: what changed since containment and was reported, not reverted.
    pub drift: Vec<String>,
}

/// What the failure path knows beyond the incident itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailureReport {
    /// The state whose error the workflow caught (`Enrich`, `Quarantine`, …).
    pub step: String,
    pub error: CaughtError,
    /// `$$.Execution.Id` of the failed execution.
    pub execution_arn: Option<String>,
    /// `$$.StateMachine.Id`, where a replay starts.
    pub state_machine_arn: Option<String>,
    /// The stack's deny-all policy, for containing by hand.
    pub quarantine_policy_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// SNS message attributes (`String` data type): severity, rule, incident_id,
    /// disposition, kind.
    pub attributes: BTreeMap<String, String>,
}
