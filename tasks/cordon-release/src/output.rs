//! What release takes and what it answers: the Lambda payload and result, also what
//! `cordon release` and the approval page's release action pass and print.
use chrono::{DateTime, SecondsFormat, Utc};
use cordon_core::release::{ReleaseRecord, ReleasedBy, Restored};
use serde::{Deserialize, Serialize};

/// What to release, who asks and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseInput {
    pub incident_id: String,
    #[serde(default)]
    pub released_by: ReleasedBy,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The Lambda payload is a [`ReleaseInput`].
pub type Input = ReleaseInput;
/// The Lambda result is a [`ReleaseOutput`].
pub type Output = ReleaseOutput;

/// What release did (or found already done).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseOutput {
    pub incident_id: String,
    /// The contained user (from the snapshot), when known.
    pub user_name: Option<String>,
    /// The incident was already `RELEASED`; nothing was changed.
    pub already_released: bool,
    /// When the incident was released (this run, or the earlier release if known).
    pub released_at: Option<DateTime<Utc>>,
    /// Who released it (for `alreadyReleased`, the earlier release's record if known).
    pub released_by: ReleasedBy,
    pub reason: Option<String>,
    /// The user no longer exists: nothing could be restored.
    pub user_deleted: bool,
    pub restored: Restored,
    /// Human-readable list of what this run did.
    pub actions_taken: Vec<String>,
    /// What an operator must still do by hand, e.g. set a new console password.
    pub manual_actions: Vec<String>,
    /// What changed on the user since containment (one human-readable finding each).
    pub drift: Vec<String>,
}

impl ReleaseOutput {
    pub(crate) fn new(input: &ReleaseInput, user_name: Option<String>) -> Self {
        Self {
            incident_id: input.incident_id.clone(),
            user_name,
            already_released: false,
            released_at: None,
            released_by: input.released_by.clone(),
            reason: input.reason.clone(),
            user_deleted: false,
            restored: Restored::default(),
            actions_taken: Vec::new(),
            manual_actions: Vec::new(),
            drift: Vec::new(),
        }
    }

    /// What is kept on the incident (and its timeline) about this release, made at `at`.
    pub fn record(&self, at: DateTime<Utc>) -> ReleaseRecord {
        ReleaseRecord {
            released_at: at,
            released_by: self.released_by.clone(),
            reason: self.reason.clone(),
            user_deleted: self.user_deleted,
            restored: self.restored.clone(),
            manual_actions: self.manual_actions.clone(),
            drift: self.drift.clone(),
        }
    }

    /// A multi-line, human-readable summary (what the CLI prints).
    pub fn summary(&self) -> String {
        let user = self.user_name.as_deref().unwrap_or("(unknown user)");
        let mut out = String::new();
        if self.already_released {
            out.push_str(&format!(
                "incident {} was already released{}{}; nothing changed\n",
                self.incident_id,
                self.released_at
                    .map(|t| format!(" at {}", t.to_rfc3339_opts(SecondsFormat::Secs, true)))
                    .unwrap_or_default(),
                self.released_by
                    .name
                    .as_deref()
                    .map(|n| format!(" by {n}"))
                    .unwrap_or_default(),
            ));
            return out;
        }
        out.push_str(&format!(
            "released {user} (incident {}) by {}",
            self.incident_id,
            self.released_by.display()
        ));
        if let Some(at) = self.released_at {
            out.push_str(&format!(
                " at {}",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ));
        }
        out.push('\n');
        if let Some(reason) = &self.reason {
            out.push_str(&format!("reason: {reason}\n"));
        }
        let section = |out: &mut String, title: &str, lines: &[String]| {
            if !lines.is_empty() {
                out.push_str(title);
                out.push('\n');
                for l in lines {
                    out.push_str(&format!("  - {l}\n"));
                }
            }
        };
        if self.actions_taken.is_empty() {
            out.push_str("restored: nothing needed restoring\n");
        }
        section(&mut out, "restored:", &self.actions_taken);
        section(&mut out, "still to do by hand:", &self.manual_actions);
        section(&mut out, "drift since containment:", &self.drift);
        out
    }
}
