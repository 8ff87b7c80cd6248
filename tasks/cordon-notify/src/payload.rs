//! The Lambda payload and result.
use chrono::{DateTime, Utc};
use cordon_aws::links::Secret;
use cordon_core::model::{Assessment, Detection};
use cordon_core::notify::NotificationKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to send, about which incident, with what it needs to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
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
    pub error: Option<Value>,
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
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let name = o.get("Error").and_then(Value::as_str);
            let cause = o.get("Cause").and_then(Value::as_str).map(|c| {
                serde_json::from_str::<Value>(c)
                    .ok()
                    .and_then(|v| {
                        v.get("errorMessage")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| c.to_string())
            });
            match (name, cause) {
                (Some(n), Some(c)) => Some(format!("{n}: {c}")),
                (Some(n), None) => Some(n.to_string()),
                (None, Some(c)) => Some(c),
                (None, None) => Some(error.to_string()),
            }
        }
        other => Some(other.to_string()),
    }
}
