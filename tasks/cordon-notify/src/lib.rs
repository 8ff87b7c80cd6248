//! The notify task: render a notification (cordon-core) and publish it to SNS, once.
//!
//! Idempotency: before publishing, the task checks the incident's `NOTIFIED#<kind>` marker;
//! after publishing it writes the marker (conditional put). A redrive or replay that reaches
//! notify again answers `alreadySent: true` and sends nothing. The order (check, publish,
//! mark) means a crash between publish and mark can send a message twice, but never loses
//! one: a duplicate alert is better than a missing one.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::store::IncidentStore;
use cordon_aws::{Clock, DynamoIncidentStore, Notifier, SnsNotifier};
use cordon_core::TaskError;
use cordon_core::model::{Assessment, Detection};
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

/// Environment of the notify Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_TOPIC_ARN`: the SNS topic for every notification.
    pub topic_arn: String,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::required(env, "CORDON_TABLE_NAME", "the incident table's name")?,
            topic_arn: env::required(env, "CORDON_TOPIC_ARN", "the ARN of the alerts SNS topic")?,
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub notifier: Arc<dyn Notifier>,
    pub store: Arc<dyn IncidentStore>,
    pub topic_arn: String,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, sdk: &aws_config::SdkConfig, clock: Clock) -> Self {
        Self {
            notifier: Arc::new(SnsNotifier::from_conf(sdk)),
            store: Arc::new(DynamoIncidentStore::from_conf(sdk, config.table_name)),
            topic_arn: config.topic_arn,
            clock,
        }
    }
}

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

pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    if input.incident_id.trim().is_empty() {
        return Err(TaskError::invalid("incidentId", "is empty"));
    }
    let id = input.incident_id.clone();
    let kind = input.kind;
    if let Some(mark) = deps.store.notification(&id, kind.as_str()).await? {
        info!(incident_id = %id, step = "notify", kind = kind.as_str(), outcome = "already_sent");
        return Ok(Output {
            incident_id: id,
            kind,
            message_id: mark.message_id,
            already_sent: true,
        });
    }

    let ctx = NotificationContext {
        incident_id: id.clone(),
        detection: input.detection,
        assessment: input.assessment,
        approval_url: input.approval_url,
        approval_expires_at: input.approval_expires_at,
        release_url: input.release_url,
        error: input.error.as_ref().and_then(error_text),
        actions_taken: input.actions_taken,
        decided_by: input.decided_by,
        note: input.note,
    };
    let n = render(kind, &ctx);
    let message_id = deps
        .notifier
        .publish(&deps.topic_arn, &n.subject, &n.body, &n.attributes)
        .await?;
    let marked = deps
        .store
        .mark_notified(&id, kind.as_str(), Some(&message_id), (deps.clock)())
        .await?;
    if !marked {
        warn!(
            incident_id = %id,
            step = "notify",
            kind = kind.as_str(),
            "another run sent this notification concurrently"
        );
    }
    info!(
        incident_id = %id,
        step = "notify",
        kind = kind.as_str(),
        outcome = "sent",
        message_id = %message_id,
    );
    Ok(Output {
        incident_id: id,
        kind,
        message_id: Some(message_id),
        already_sent: false,
    })
}
