//! The record task: the incident audit trail in DynamoDB.
//!
//! One Lambda, three actions (the state machine's `Payload.action`):
//!
//! - `open`: classify the raw EventBridge event for the home account
//!   (`CORDON_ACCOUNT_ID`) and open the incident with a conditional put. A duplicate
//!   delivery answers `duplicate: true`. A malformed event, or one from another account,
//!   is recorded as a `REJECTED` incident with the reason **and then** fails with
//!   `Cordon.InvalidEvent`, so the workflow's Catch sees it: a rejected event is never a
//!   silent drop, and never acted on.
//! - `append`: add a timeline entry (idempotent for the same `at` + `step`).
//! - `close`: set the final status once (a redrive does not re-close).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::incidents::{IncidentStore, NewIncident, OpenOutcome, TimelineEntry};
use cordon_aws::{Aws, Clock};
use cordon_core::classify::{Dismissal, is_other_account};
use cordon_core::model::{AccountId, Detection, IncidentStatus};
use cordon_core::{Classification, TaskError, classify, incident};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

/// Environment of the record Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table.
    pub table_name: String,
    /// `CORDON_ACCOUNT_ID`: the account this stack protects (`!Ref AWS::AccountId`).
    /// Required: without it Cordon could not tell another account's events from its own,
    /// and it never accepts every account by default.
    pub home_account: AccountId,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let account = env::required(
            env,
            "CORDON_ACCOUNT_ID",
            "the 12-digit id of the account this stack protects (the template sets it to \
             !Ref AWS::AccountId)",
        )?;
        let home_account = AccountId::parse(&account)
            .map_err(|e| TaskError::Config(format!("CORDON_ACCOUNT_ID: {e}")))?;
        Ok(Self {
            table_name: env::table_name(env)?,
            home_account,
        })
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn IncidentStore>,
    pub clock: Clock,
    /// Events of any other account are rejected.
    pub home_account: AccountId,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            store: Arc::new(aws.incident_store(config.table_name)),
            clock,
            home_account: config.home_account,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Input {
    Open(OpenInput),
    Append(AppendInput),
    Close(CloseInput),
    /// Close as `FAILED` with the error a state machine Catch caught.
    Fail(FailInput),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInput {
    /// The raw EventBridge event, as the rule delivered it.
    pub event: Value,
    /// `$$.Execution.Id`.
    #[serde(default)]
    pub execution_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendInput {
    pub incident_id: String,
    pub step: String,
    pub message: String,
    /// Defaults to now. Pass `$$.State.EnteredTime` so a retried append is a no-op.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub details: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseInput {
    pub incident_id: String,
    /// Final status, e.g. `CONTAINED`, `NOTIFIED`, `DISMISSED`, `FAILED`.
    pub status: IncidentStatus,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailInput {
    pub incident_id: String,
    /// The caught error name (`$.failure.Error`).
    #[serde(default)]
    pub error: Option<String>,
    /// The caught cause (`$.failure.Cause`); a Lambda error cause is a JSON string whose
    /// `errorMessage` is used.
    #[serde(default)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Opened,
    Duplicate,
    NotAnIncident,
    AuditTrigger,
}

/// Every field is always present (`null` when it does not apply), so a state machine
/// `ResultSelector` can select them whatever the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOutput {
    pub outcome: Outcome,
    pub duplicate: bool,
    #[serde(default)]
    pub incident_id: Option<String>,
    #[serde(default)]
    pub detection: Option<Box<Detection>>,
    /// Why the event is not an incident.
    #[serde(default)]
    pub reason: Option<String>,
    /// The schedule rule that triggered an audit.
    #[serde(default)]
    pub rule_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendOutput {
    pub incident_id: String,
    /// `false` when this entry was already recorded (a retry).
    pub appended: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseOutput {
    pub incident_id: String,
    /// The incident's status after the call (the earlier final status if it was closed).
    pub status: IncidentStatus,
    /// `false` when the incident was already closed.
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Output {
    Open(OpenOutput),
    Append(AppendOutput),
    Close(CloseOutput),
}

pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    match input {
        Input::Open(i) => open(i, deps).await.map(Output::Open),
        Input::Append(i) => append(i, deps).await.map(Output::Append),
        Input::Close(i) => close(i, deps).await.map(Output::Close),
        Input::Fail(i) => {
            let summary = failure_summary(i.error.as_deref(), i.cause.as_deref());
            close(
                CloseInput {
                    incident_id: i.incident_id,
                    status: IncidentStatus::Failed,
                    summary: Some(summary),
                },
                deps,
            )
            .await
            .map(Output::Close)
        }
    }
}

/// `Error: message` from a caught error; a Lambda cause (`{"errorMessage": …}`) is unwrapped.
pub fn failure_summary(error: Option<&str>, cause: Option<&str>) -> String {
    let cause = cause.map(|c| {
        serde_json::from_str::<Value>(c)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| c.to_string())
    });
    match (error, cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e.to_string(),
        (None, Some(c)) => c,
        (None, None) => "the workflow failed without an error name".to_string(),
    }
}

async fn open(input: OpenInput, deps: &Deps) -> Result<OpenOutput, TaskError> {
    let now = (deps.clock)();
    let classification = match classify(&input.event, &deps.home_account) {
        Ok(c) => c,
        Err(e @ TaskError::InvalidEvent { .. }) => {
            return reject(input, e, now, deps).await;
        }
        Err(e) => return Err(e),
    };
    match classification {
        Classification::Incident(detection) => {
            let id = detection.incident_id.clone();
            let incident = NewIncident::detected(detection.clone(), input.event, now)
                .with_execution_arn(input.execution_arn);
            let outcome = deps.store.open(&incident).await?;
            let duplicate = outcome == OpenOutcome::Duplicate;
            if !duplicate {
                deps.store
                    .append(
                        &id,
                        &TimelineEntry {
                            at: now,
                            step: "OpenIncident".into(),
                            message: format!("incident opened: {}", detection.title),
                            details: Some(serde_json::json!({ "rule": detection.rule })),
                        },
                    )
                    .await?;
            }
            info!(
                incident_id = %id,
                step = "record.open",
                outcome = if duplicate { "duplicate" } else { "opened" },
                rule = %detection.rule,
            );
            Ok(OpenOutput {
                outcome: if duplicate {
                    Outcome::Duplicate
                } else {
                    Outcome::Opened
                },
                duplicate,
                incident_id: Some(id),
                detection: Some(Box::new(detection)),
                reason: None,
                rule_arn: None,
            })
        }
        Classification::NotAnIncident { reason, dismissal } => {
            if dismissal == Dismissal::NoRule {
                // A rule routed an event no detection covers: the EventBridge rules and
                // the classifier disagree (tests/tests/agreement should have caught it).
                warn!(step = "record.open", outcome = "no_rule", %reason);
            } else {
                info!(step = "record.open", outcome = "not_an_incident", %reason);
            }
            Ok(OpenOutput {
                outcome: Outcome::NotAnIncident,
                duplicate: false,
                incident_id: None,
                detection: None,
                reason: Some(reason),
                rule_arn: None,
            })
        }
        Classification::AuditTrigger { rule_arn } => {
            info!(step = "record.open", outcome = "audit_trigger");
            Ok(OpenOutput {
                outcome: Outcome::AuditTrigger,
                duplicate: false,
                incident_id: None,
                detection: None,
                reason: None,
                rule_arn,
            })
        }
    }
}

/// Record a rejected event (malformed, or of another account) as a REJECTED incident with
/// the reason, then fail with the original error.
async fn reject(
    input: OpenInput,
    error: TaskError,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<OpenOutput, TaskError> {
    let id = incident::rejected_incident_id(&input.event);
    let message = error.to_string();
    let other_account = is_other_account(&error);
    let mut incident = NewIncident::rejected(&id, input.event, &message, now)
        .with_execution_arn(input.execution_arn);
    if other_account {
        incident.title = Some(format!(
            "event not from the home account {} rejected",
            deps.home_account
        ));
    }
    let outcome = deps.store.open(&incident).await?;
    if outcome == OpenOutcome::Opened {
        deps.store
            .append(
                &id,
                &TimelineEntry {
                    at: now,
                    step: "Rejected".into(),
                    message: message.clone(),
                    details: None,
                },
            )
            .await?;
    }
    warn!(
        incident_id = %id,
        step = "record.open",
        outcome = if other_account { "rejected_other_account" } else { "rejected" },
        error = %message,
    );
    Err(error)
}

async fn append(input: AppendInput, deps: &Deps) -> Result<AppendOutput, TaskError> {
    let at = input.at.unwrap_or_else(|| (deps.clock)());
    let appended = deps
        .store
        .append(
            &input.incident_id,
            &TimelineEntry {
                at,
                step: input.step.clone(),
                message: input.message,
                details: input.details,
            },
        )
        .await?;
    info!(
        incident_id = %input.incident_id,
        step = "record.append",
        timeline_step = %input.step,
        outcome = if appended { "appended" } else { "already_recorded" },
    );
    Ok(AppendOutput {
        incident_id: input.incident_id,
        appended,
    })
}

async fn close(input: CloseInput, deps: &Deps) -> Result<CloseOutput, TaskError> {
    let now = (deps.clock)();
    let outcome = deps
        .store
        .close(
            &input.incident_id,
            input.status,
            now,
            input.summary.as_deref(),
        )
        .await?;
    if outcome.changed {
        deps.store
            .append(
                &input.incident_id,
                &TimelineEntry {
                    at: now,
                    step: "Close".into(),
                    message: match &input.summary {
                        Some(s) => format!("closed as {}: {s}", outcome.status.as_str()),
                        None => format!("closed as {}", outcome.status.as_str()),
                    },
                    details: None,
                },
            )
            .await?;
    }
    info!(
        incident_id = %input.incident_id,
        step = "record.close",
        status = outcome.status.as_str(),
        outcome = if outcome.changed { "closed" } else { "already_closed" },
    );
    Ok(CloseOutput {
        incident_id: input.incident_id,
        status: outcome.status,
        changed: outcome.changed,
    })
}
