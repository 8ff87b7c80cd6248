//! The classifier's verdict on one event.
use serde::{Deserialize, Serialize};

use crate::model::Detection;

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
// One value per event: the size difference is irrelevant, and an unboxed `Detection` keeps
// the task code simple.
#[allow(clippy::large_enum_variant)]
pub enum Classification {
    /// Open an incident.
    Incident(Detection),
    /// Understood, nothing to do. `reason` says why (and names informational rules such as
    /// `iam.user-create-denied`).
    #[serde(rename_all = "camelCase")]
    NotAnIncident { reason: String },
    /// The scheduled MFA audit should run (`rule_arn` = the schedule rule from `resources`).
    #[serde(rename_all = "camelCase")]
    AuditTrigger { rule_arn: Option<String> },
}

impl Classification {
    pub fn detection(&self) -> Option<&Detection> {
        match self {
            Classification::Incident(d) => Some(d),
            _ => None,
        }
    }
}
