//! The lifecycle of an incident in the audit table.
use serde::{Deserialize, Serialize};

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

/// Timeline steps the workflow writes through the record function's `append`, which the
/// metrics and the CLI read back (`statemachine/incident.asl.json`;
/// `tests/tests/asl_consistency.rs` checks that every `append` there names one of these).
pub mod timeline_step {
    /// A human decision and who made it (RecordDecision).
    pub const APPROVAL: &str = "Approval";
    /// Nobody decided within the approval timeout (RecordApprovalTimeout).
    pub const APPROVAL_TIMEOUT: &str = "ApprovalTimeout";
    /// Every step above.
    pub const ALL: &[&str] = &[APPROVAL, APPROVAL_TIMEOUT];
}
