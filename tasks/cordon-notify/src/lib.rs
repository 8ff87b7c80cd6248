//! The notify task: render a notification (cordon-core) and publish it to SNS, once.
//!
//! Idempotency: before publishing, the task checks the incident's `NOTIFIED#<kind>` marker;
//! after publishing it writes the marker (conditional put). A redrive or replay that reaches
//! notify again answers `alreadySent: true` and sends nothing. The order (check, publish,
//! mark) means a crash between publish and mark can send a message twice, but never loses
//! one: a duplicate alert is better than a missing one.
//!
//! **Approval mode** (`kind: approvalRequest`, invoked with `.waitForTaskToken`,
//! [`approval`]): the task token is stored server-side under a random approval id (see
//! `cordon_aws::links`), and the email carries only the link
//! `{CORDON_APPROVAL_URL}/a/<approval id>` and its expiry. The approval is created once per
//! task token (an index keyed by the token's SHA-256), so a retry reuses it and re-sends
//! nothing once the message id is recorded on it; a redrive (a new token) gets a new
//! approval and a new email. The token never appears in the email, a log line or an error.
//!
//! For `contained`, a single-use release link `{CORDON_APPROVAL_URL}/r/<release id>`
//! (valid for seven days) is added the same way.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::links::{LinkStore, LinkSummary, NewLink, Secret};
use cordon_aws::{Aws, Clock, IncidentStore, Notifier};
use cordon_core::TaskError;
use cordon_core::model::{Assessment, Detection};
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

mod approval;

/// Environment of the notify Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_TOPIC_ARN`: the SNS topic for every notification.
    pub topic_arn: String,
    /// `CORDON_APPROVAL_URL`: the approval function's URL (trailing `/` removed). Required
    /// to send approval requests; without it `contained` mails carry no release link.
    pub approval_url: Option<String>,
    /// `CORDON_APPROVAL_TIMEOUT_SECONDS` (default 3600): the approval expiry when the input
    /// carries no `timeoutSeconds`.
    pub approval_timeout_seconds: u64,
}

/// The approval timeout when neither the input nor the environment sets one.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;

/// `url` without trailing slashes (a Function URL ends in `/`).
pub fn base_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            topic_arn: env::required(env, "CORDON_TOPIC_ARN", "the ARN of the alerts SNS topic")?,
            approval_url: env::optional(env, "CORDON_APPROVAL_URL")
                .map(|u| base_url(&u))
                .filter(|u| !u.is_empty()),
            approval_timeout_seconds: match env::optional(env, "CORDON_APPROVAL_TIMEOUT_SECONDS") {
                None => DEFAULT_APPROVAL_TIMEOUT_SECONDS,
                Some(raw) => raw.parse().map_err(|_| {
                    TaskError::Config(format!(
                        "CORDON_APPROVAL_TIMEOUT_SECONDS is {raw:?}; set it to a whole number of seconds"
                    ))
                })?,
            },
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub notifier: Arc<dyn Notifier>,
    pub store: Arc<dyn IncidentStore>,
    /// Approval and release links.
    pub links: Arc<dyn LinkStore>,
    pub topic_arn: String,
    /// See [`Config::approval_url`].
    pub approval_url: Option<String>,
    pub approval_timeout_seconds: u64,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            notifier: Arc::new(aws.notifier()),
            store: Arc::new(aws.incident_store(&config.table_name)),
            links: Arc::new(aws.link_store(config.table_name)),
            topic_arn: config.topic_arn,
            approval_url: config.approval_url,
            approval_timeout_seconds: config.approval_timeout_seconds,
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
    if input.kind == NotificationKind::ApprovalRequest {
        return approval::request_approval(input, deps).await;
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

    let mut release_url = input.release_url;
    if kind == NotificationKind::Contained {
        match &deps.approval_url {
            Some(base) => {
                let link = NewLink::release(
                    &id,
                    LinkSummary::new(input.detection.as_ref(), input.assessment.as_ref()),
                    (deps.clock)(),
                );
                let created = deps.links.create(&link).await?;
                release_url = Some(format!("{base}/r/{}", created.record.id));
            }
            None => warn!(
                incident_id = %id,
                step = "notify",
                "CORDON_APPROVAL_URL is not set: the contained notification carries no release link"
            ),
        }
    }

    let ctx = NotificationContext {
        incident_id: id.clone(),
        detection: input.detection,
        assessment: input.assessment,
        approval_url: input.approval_url,
        approval_expires_at: input.approval_expires_at,
        release_url,
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
