//! What the detection rules found in one event.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::{Actor, Principal};
use super::inspection::Inspect;

/// What the detection engine found in one event: the input of every later step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// Deterministic id (see [`crate::incident`]); also the Step Functions execution name.
    pub incident_id: String,
    /// Stable rule id, e.g. `iam.user-created` (see [`crate::classify::rules`]).
    pub rule: String,
    /// Human one-liner, e.g. "IAM user support-admin created by jdoe".
    pub title: String,
    /// CloudTrail `eventID` (the deduplication key).
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    /// CloudTrail `eventTime` (ISO 8601). Never the non-ISO dates inside `responseElements`.
    pub event_time: DateTime<Utc>,
    pub region: String,
    pub account: String,
    /// The identity to contain. `None` when it cannot be identified (wrong user name at sign-in).
    pub principal: Option<Principal>,
    /// Who made the call.
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The facts that justify the detection (`policyArn`, `mfaUsed`, `loginResult`, …).
    /// Never contains secrets (passwords from `requestParameters` are never copied).
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// The call was made by the account root user.
    pub root_activity: bool,
    /// What enrich must read before the detection is judged (a grant the event names but
    /// does not carry). Absent when the event says everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect: Option<Inspect>,
}
