//! The Lambda payload and result.
use chrono::{DateTime, Utc};
use cordon_aws::links::Secret;
use cordon_core::model::{Assessment, Detection, ErrorText};
use cordon_core::notify::NotificationKind;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// What to send, about which incident, with what it needs to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// Empty (or `null` in the payload) only for a `failure` whose OpenIncident step failed:
    /// the id is then derived from `event`, as record derives it.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub incident_id: String,
    /// `alert`, `approvalRequest`, `contained`, `dismissed`, `failure`, `rejected`, `released`.
    pub kind: NotificationKind,
    #[serde(default)]
    pub detection: Option<Detection>,
    #[serde(default)]
    pub assessment: Option<Assessment>,
    /// Link to the approval page (an opaque approval id; never a task token).
    #[serde(default)]
    pub approval_url: Option<String>,
    #[serde(default)]
    pub approval_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub release_url: Option<String>,
    /// A string, or a Step Functions error object `{"Error": …, "Cause": …}` as a Catch
    /// puts it at its `ResultPath`.
    #[serde(default)]
    pub error: Option<ErrorText>,
    /// `failure`: the state whose error the workflow caught.
    #[serde(default)]
    pub step: Option<String>,
    /// `failure`: the raw event, when OpenIncident failed before there was a detection.
    #[serde(default)]
    pub event: Option<Value>,
    /// `failure`: `$$.Execution.Id`, what a redrive names and a replay copies the input of.
    #[serde(default)]
    pub execution_arn: Option<String>,
    /// `failure`: `$$.StateMachine.Id`, where a replay starts.
    #[serde(default)]
    pub state_machine_arn: Option<String>,
    /// What containment did (the quarantine task's `actionsTaken`).
    #[serde(default)]
    pub actions_taken: Vec<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// `$$.Task.Token` (approval requests). Secret: redacted in `Debug`, never serialized.
    #[serde(default, skip_serializing)]
    pub task_token: Option<Secret>,
    /// How long the approval may wait (approval requests); else the configured default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub incident_id: String,
    pub kind: NotificationKind,
    /// The SNS message id (of the earlier send, when `alreadySent`, if it was recorded).
    pub message_id: Option<String>,
    pub already_sent: bool,
}

impl Output {
    /// This call published `message_id`.
    pub fn sent(incident_id: String, kind: NotificationKind, message_id: String) -> Self {
        Self {
            incident_id,
            kind,
            message_id: Some(message_id),
            already_sent: false,
        }
    }

    /// An earlier run sent it (its message id, if recorded); nothing was published.
    pub fn already_sent(
        incident_id: String,
        kind: NotificationKind,
        message_id: Option<String>,
    ) -> Self {
        Self {
            incident_id,
            kind,
            message_id,
            already_sent: true,
        }
    }
}

/// Text for an error value: a string as is; `{"Error", "Cause"}` as `Error: message`, where
/// the message is taken from a Lambda error cause (`{"errorMessage": …}`) when it is one.
pub fn error_text(error: &Value) -> Option<String> {
    match error {
        Value::Null => None,
        other => Some(match serde_json::from_value::<ErrorText>(other.clone()) {
            Ok(text) => text.summary(),
            Err(_) => other.to_string(),
        }),
    }
}

/// A `null` incident id reads as empty (OpenIncident failed before there was one).
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}
