//! The response policy's verdict on a detection: how bad ([`Severity`]) and what to do
//! ([`Disposition`]), with the reasons.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
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
