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
    /// `iam.user-create-denied`); `dismissal` says whether a detection judged the event or
    /// none covers it.
    #[serde(rename_all = "camelCase")]
    NotAnIncident {
        reason: String,
        #[serde(default)]
        dismissal: Dismissal,
    },
    /// The scheduled MFA audit should run (`rule_arn` = the schedule rule from `resources`).
    #[serde(rename_all = "camelCase")]
    AuditTrigger { rule_arn: Option<String> },
}

/// Why an event is not an incident.
///
/// The EventBridge rules in `infra/template.yaml` must only route events the classifier
/// decides on: an event a rule routes may be judged benign, never left to
/// [`Dismissal::NoRule`]. `tests/tests/agreement` checks this for every rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Dismissal {
    /// Cordon looked at the event and decided it needs no incident: a benign variant of a
    /// detection (self-service key rotation, a sign-in with MFA, a federated sign-in, a
    /// trail change that keeps everything logged), a failed call that changed nothing, a
    /// read-only call, a data event, a sign-in step.
    #[default]
    Judged,
    /// No detection covers this event. Routed to Cordon, it means the EventBridge rules and
    /// the classifier disagree.
    NoRule,
    /// An IAM user's console sign-in with MFA: not an incident by itself, but the failed
    /// sign-in counter (the record task) makes it `signin.console-login-after-failures`
    /// when it follows a burst of failures from its IP or for its user
    /// ([`sign_in_with_mfa`](super::sign_in_with_mfa) builds that detection).
    SignedInWithMfa,
}

impl Classification {
    pub fn detection(&self) -> Option<&Detection> {
        match self {
            Classification::Incident(d) => Some(d),
            _ => None,
        }
    }

    /// `NotAnIncident` because no detection covers the event.
    pub fn is_no_rule(&self) -> bool {
        matches!(
            self,
            Classification::NotAnIncident {
                dismissal: Dismissal::NoRule,
                ..
            }
        )
    }
}
