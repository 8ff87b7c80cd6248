//! What the record task takes and answers, per action.
use chrono::{DateTime, Utc};
use cordon_core::model::{CaughtError, Detection, IncidentStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Defaults to now. Pass a time fixed for the entry (RecordDecision passes the
    /// decision's `decidedAt`) so that a retried, redriven or re-entered append is a no-op:
    /// the entry's key is this time and the step. (`$$.State.EnteredTime` survives retries
    /// but not a state entered again.)
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
    /// The execution closing it (`$$.Execution.Id`): kept on the incident, so that a retry
    /// of this step recognises the close as its own.
    #[serde(default)]
    pub execution_arn: Option<String>,
}

/// What the failure path knows (the `<Step>Failed` states of the ASL build it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailInput {
    /// `null` when OpenIncident failed before there was one: derived from `event`.
    #[serde(default)]
    pub incident_id: Option<String>,
    /// The state whose error the workflow caught.
    #[serde(default)]
    pub step: Option<String>,
    /// The caught error (`{"Error": …, "Cause": …}`).
    #[serde(default)]
    pub error: CaughtError,
    /// The raw event, when OpenIncident failed (`$$.Execution.Input`).
    #[serde(default)]
    pub event: Option<Value>,
    /// `$$.Execution.Id`.
    #[serde(default)]
    pub execution_arn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Opened,
    Duplicate,
    /// A failed sign-in counted into the incident its user or IP already has.
    Aggregated,
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
    /// `true` when this open reopened a `FAILED` incident (a replay).
    pub replayed: bool,
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
    /// The metric this first append counts under (`metrics::counted_entry`); not part of
    /// the function's answer.
    #[serde(skip)]
    pub counts: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseOutput {
    pub incident_id: String,
    /// The incident's status after the call (the earlier final status if it was closed).
    pub status: IncidentStatus,
    /// `false` when the incident was already closed.
    pub changed: bool,
    /// What the metrics need of the incident when this call closed it; never serialized
    /// (the workflow does not see it).
    #[serde(skip)]
    pub closing: Option<crate::metrics::Closing>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Output {
    Open(OpenOutput),
    Append(AppendOutput),
    Close(CloseOutput),
}
