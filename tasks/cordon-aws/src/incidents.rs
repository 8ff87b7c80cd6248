//! The incident audit trail: the [`IncidentStore`] capability and the records it keeps.
//!
//! One incident item per incident (status, who, what, the detection, the assessment, the
//! pre-containment snapshot, the approval decision, the release), an append-only timeline,
//! and "notification sent" markers. The records are the domain types (`cordon_core`), so
//! no caller converts to and from JSON; how they are laid out in DynamoDB is the adapter's
//! business ([`crate::dynamo::incidents`], `TABLE.md`).
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::model::{
    Actor, Assessment, Detection, Disposition, IncidentStatus, Principal, Severity, Snapshot,
};
use cordon_core::release::ReleaseRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::links::ApprovalDecision;

/// What `open` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewIncident {
    pub incident_id: String,
    /// `Open` for detections, `Rejected` for malformed events.
    pub status: IncidentStatus,
    pub opened_at: DateTime<Utc>,
    pub rule: Option<String>,
    pub title: Option<String>,
    pub principal: Option<Principal>,
    pub actor: Option<Actor>,
    /// The raw EventBridge event, exactly as received (untyped on purpose: it is evidence).
    pub event: Value,
    /// The detection, if there is one.
    pub detection: Option<Detection>,
    /// Why the event was rejected.
    pub error: Option<String>,
    pub execution_arn: Option<String>,
}

impl NewIncident {
    /// An open incident for `detection`, raised by `event`.
    pub fn detected(detection: Detection, event: Value, opened_at: DateTime<Utc>) -> Self {
        Self {
            incident_id: detection.incident_id.clone(),
            status: IncidentStatus::Open,
            opened_at,
            rule: Some(detection.rule.clone()),
            title: Some(detection.title.clone()),
            principal: detection.principal.clone(),
            actor: Some(detection.actor.clone()),
            event,
            detection: Some(detection),
            error: None,
            execution_arn: None,
        }
    }

    /// A malformed `event`, recorded as a `REJECTED` incident with the reason.
    pub fn rejected(
        incident_id: impl Into<String>,
        event: Value,
        error: impl Into<String>,
        opened_at: DateTime<Utc>,
    ) -> Self {
        Self {
            incident_id: incident_id.into(),
            status: IncidentStatus::Rejected,
            opened_at,
            rule: None,
            title: Some("malformed event rejected".into()),
            principal: None,
            actor: None,
            event,
            detection: None,
            error: Some(error.into()),
            execution_arn: None,
        }
    }

    /// The Step Functions execution handling the incident.
    pub fn with_execution_arn(mut self, execution_arn: Option<String>) -> Self {
        self.execution_arn = execution_arn;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenOutcome {
    Opened,
    /// An item with this incident id already exists (at-least-once delivery, replay).
    Duplicate,
}

/// One append-only timeline item. `details` is free-form JSON: each step (and the state
/// machine, for the approval decision) records what it wants to be audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub step: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The incident item, as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRecord {
    pub incident_id: String,
    pub status: IncidentStatus,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rule: Option<String>,
    pub title: Option<String>,
    pub severity: Option<Severity>,
    pub disposition: Option<Disposition>,
    pub principal: Option<Principal>,
    pub actor: Option<Actor>,
    /// The raw EventBridge event.
    pub event: Option<Value>,
    pub detection: Option<Detection>,
    pub assessment: Option<Assessment>,
    /// The pre-containment state release restores.
    pub snapshot: Option<Snapshot>,
    pub snapshot_at: Option<DateTime<Utc>>,
    /// Reserved for the approval flow (not written yet).
    pub approval: Option<ApprovalDecision>,
    /// Set once, by release.
    pub release: Option<ReleaseRecord>,
    pub error: Option<String>,
    pub summary: Option<String>,
    /// The execution handling the incident now (a replay takes it over).
    pub execution_arn: Option<String>,
    /// The execution that closed it, when the close named one.
    pub closed_by: Option<String>,
    /// When a replay last reopened the incident after it had failed.
    pub replayed_at: Option<DateTime<Utc>>,
}

impl IncidentRecord {
    /// An incident with only an id, a status and its open time.
    pub fn bare(incident_id: &str, status: IncidentStatus, at: DateTime<Utc>) -> Self {
        Self {
            incident_id: incident_id.to_string(),
            status,
            opened_at: Some(at),
            updated_at: Some(at),
            closed_at: None,
            rule: None,
            title: None,
            severity: None,
            disposition: None,
            principal: None,
            actor: None,
            event: None,
            detection: None,
            assessment: None,
            snapshot: None,
            snapshot_at: None,
            approval: None,
            release: None,
            error: None,
            summary: None,
            execution_arn: None,
            closed_by: None,
            replayed_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseOutcome {
    /// `false` when the incident was already closed (its status is left as it was). A
    /// write of this very call whose answer was lost, and that the SDK sent again, is this
    /// call's: `true`.
    pub changed: bool,
    /// The status the incident has after the call.
    pub status: IncidentStatus,
    /// When the incident was closed (by this call or before it).
    pub closed_at: Option<DateTime<Utc>>,
    /// Whether the close that holds is the caller's: this call's, or an earlier call's made
    /// by the same `by` with the same status (a retried step whose first try closed the
    /// incident and stopped before it said so). Such a caller finishes what the close
    /// entails (its timeline entry, keyed by `closed_at`, is written once) but counts nothing.
    pub by_caller: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotOutcome {
    /// `true` if this call stored the snapshot; `false` if one was already stored.
    pub saved: bool,
    /// The stored snapshot: the first one ever saved for the incident.
    pub snapshot: Snapshot,
    pub taken_at: Option<DateTime<Utc>>,
}

/// A "notification `kind` was sent" marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationMark {
    pub kind: String,
    pub message_id: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// The incident audit trail. Every write is conditional, so every task is safe to re-run.
///
/// A stored record that cannot be read back as its type (a corrupt snapshot, say) is an
/// error, never read as absent: a lost snapshot would make release say "never contained".
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Conditional put of the incident item (`attribute_not_exists(pk)`).
    async fn open(&self, incident: &NewIncident) -> Result<OpenOutcome, TaskError>;

    /// Append a timeline entry; `false` if this exact entry (same time and step) exists.
    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, TaskError>;

    /// Reopen a `FAILED` incident for a replay of its event: a conditional `FAILED` → `OPEN`
    /// update that takes the incident over for `incident.execution_arn`, stamps
    /// `replayed_at`, clears the close time and summary, and fills in what a bare failure
    /// record lacks (the detection, the event, who and what) from `incident`. The
    /// assessment, the first snapshot and the timeline are kept. `false` (and nothing
    /// written) if the incident is missing or not `FAILED`: a finished or rejected incident
    /// is never reopened.
    async fn reopen(&self, incident: &NewIncident, at: DateTime<Utc>) -> Result<bool, TaskError>;

    /// Store enrich's result (its severity and disposition are indexed too); `true` if the
    /// incident had no assessment before (a retry or a replay's enrich answers `false`, so
    /// the first assessment is counted once). A missing incident is an error (the input
    /// names no incident).
    async fn save_assessment(
        &self,
        incident_id: &str,
        assessment: &Assessment,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Move an open incident to `status` (e.g. `AWAITING_APPROVAL`); `false` if the incident
    /// is missing or already closed.
    async fn set_status(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Set the final status, once, recording who closed it (`by`: the execution, so a
    /// retried step recognises its own close). An already-closed incident keeps its status
    /// (`changed: false`). A missing incident is created as a bare closed item, so a failure
    /// is never lost even if opening it failed.
    async fn close(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
        summary: Option<&str>,
        by: Option<&str>,
    ) -> Result<CloseOutcome, TaskError>;

    /// Store the pre-containment snapshot unless one is stored; return the stored one.
    async fn save_snapshot(
        &self,
        incident_id: &str,
        snapshot: &Snapshot,
        at: DateTime<Utc>,
    ) -> Result<SnapshotOutcome, TaskError>;

    async fn get(&self, incident_id: &str) -> Result<Option<IncidentRecord>, TaskError>;

    /// Timeline entries, oldest first.
    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, TaskError>;

    /// The marker for notification `kind`, if that notification was sent.
    async fn notification(
        &self,
        incident_id: &str,
        kind: &str,
    ) -> Result<Option<NotificationMark>, TaskError>;

    /// Record that notification `kind` was sent (conditional put); `false` if it was
    /// already recorded.
    async fn mark_notified(
        &self,
        incident_id: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Incidents with `status`, most recently updated first.
    async fn list_by_status(
        &self,
        status: IncidentStatus,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError>;

    /// Incidents about `principal` (ARN, or name when the event had no ARN), newest first.
    async fn list_by_principal(
        &self,
        principal: &str,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError>;

    /// Mark the incident `RELEASED` at `release.released_at`, keeping `release` on it.
    /// Works on a closed incident (a contained incident is usually closed as `CONTAINED`);
    /// `closed_at` is set if it was not. `false` if the incident is missing or already
    /// released (the first release's record is kept).
    async fn mark_released(
        &self,
        incident_id: &str,
        release: &ReleaseRecord,
    ) -> Result<bool, TaskError>;
}

/// The error for a task input naming an incident that was never opened.
pub(crate) fn no_incident(incident_id: &str) -> TaskError {
    TaskError::invalid(
        "incidentId",
        format!("names no recorded incident ({incident_id}); the incident must be opened first"),
    )
}

/// Read back the typed record stored (as JSON) in `attribute` of an incident. Every store
/// reports an unreadable one the same way.
pub(crate) fn read_record<T: DeserializeOwned>(
    incident_id: &str,
    attribute: &str,
    json: &str,
) -> Result<T, TaskError> {
    serde_json::from_str(json).map_err(|e| unreadable(incident_id, attribute, &e))
}

/// The error for a stored `attribute` that is not the record it should be.
pub(crate) fn unreadable(
    incident_id: &str,
    attribute: &str,
    error: &dyn std::fmt::Display,
) -> TaskError {
    let expected = match attribute {
        "detection" => "a detection",
        "assessment" => "an assessment",
        "snapshot" => "a quarantine snapshot",
        "approval" => "an approval decision",
        "release" => "a release record",
        _ => "what Cordon stores there",
    };
    TaskError::Aws {
        operation: "dynamodb:GetItem".into(),
        code: "CorruptItem".into(),
        message: format!(
            "the stored {attribute} of incident {incident_id} is not {expected} ({error}); \
             inspect the incident item before acting on the incident (a contained user may \
             have to be restored by hand)"
        ),
    }
}
