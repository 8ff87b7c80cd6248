//! The incident-store fake: incidents, timelines and markers in memory.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::model::{Assessment, Detection, IncidentStatus, Snapshot};
use cordon_core::release::ReleaseRecord;
use serde_json::Value;

use super::calls::{Calls, call_log_api, lock};
use crate::dynamo::timestamp;
use crate::incidents::{
    CloseOutcome, IncidentRecord, IncidentStore, NewIncident, NotificationMark, OpenOutcome,
    SnapshotOutcome, TimelineEntry, no_incident, read_record,
};
use crate::links::ApprovalDecision;

/// [`IncidentStore`] in memory. Operations are logged as `dynamodb:Open`,
/// `dynamodb:Reopen`, `dynamodb:Append`, `dynamodb:SaveAssessment`, `dynamodb:SetStatus`, `dynamodb:Close`,
/// `dynamodb:SaveSnapshot`, `dynamodb:Get`, `dynamodb:Timeline`, `dynamodb:Notification`,
/// `dynamodb:MarkNotified`, `dynamodb:ListByStatus`, `dynamodb:ListByPrincipal`,
/// `dynamodb:MarkReleased`.
#[derive(Debug, Default)]
pub struct FakeIncidentStore {
    incidents: Mutex<BTreeMap<String, IncidentRecord>>,
    timeline: Mutex<BTreeMap<String, Vec<TimelineEntry>>>,
    notifications: Mutex<BTreeMap<(String, String), NotificationMark>>,
    /// Incidents whose stored item no longer reads back (see [`FakeIncidentStore::corrupt`]),
    /// with the attribute that does not and the error reading it gives.
    corrupt: Mutex<BTreeMap<String, (String, TaskError)>>,
    calls: Mutex<Calls>,
}

impl FakeIncidentStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Seed an open incident with just an id (for tasks that run after open).
    pub fn with_open_incident(self, incident_id: &str, at: DateTime<Utc>) -> Self {
        lock(&self.incidents).insert(
            incident_id.to_string(),
            IncidentRecord::bare(incident_id, IncidentStatus::Open, at),
        );
        self
    }

    /// Every incident item, by id.
    pub fn incidents(&self) -> BTreeMap<String, IncidentRecord> {
        lock(&self.incidents).clone()
    }

    /// Store `stored` in the incident's typed `attribute` (`detection`, `assessment`,
    /// `snapshot`, `approval`, `release`) as a damaged table would hold it: from now on
    /// reading the incident fails exactly as the DynamoDB store's read would. If `stored`
    /// is in fact a valid record, nothing changes.
    pub fn corrupt(&self, incident_id: &str, attribute: &str, stored: &Value) {
        let raw = stored.to_string();
        let error = match attribute {
            "detection" => read_record::<Detection>(incident_id, attribute, &raw).err(),
            "assessment" => read_record::<Assessment>(incident_id, attribute, &raw).err(),
            "snapshot" => read_record::<Snapshot>(incident_id, attribute, &raw).err(),
            "approval" => read_record::<ApprovalDecision>(incident_id, attribute, &raw).err(),
            "release" => read_record::<ReleaseRecord>(incident_id, attribute, &raw).err(),
            _ => None,
        };
        if let Some(e) = error {
            lock(&self.corrupt).insert(incident_id.to_string(), (attribute.to_string(), e));
        }
    }

    /// Reopen an incident as an escalation does (the failure counter fake).
    pub(crate) fn force_status(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
    ) {
        if let Some(r) = lock(&self.incidents).get_mut(incident_id) {
            r.status = status;
            r.closed_at = None;
            r.updated_at = Some(at);
        }
    }

    fn readable(&self, incident_id: &str) -> Result<(), TaskError> {
        match lock(&self.corrupt).get(incident_id) {
            Some((_, e)) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn listed(
        &self,
        keep: impl Fn(&IncidentRecord) -> bool,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        let v: Vec<_> = lock(&self.incidents)
            .values()
            .filter(|r| keep(r))
            .cloned()
            .collect();
        for r in &v {
            self.readable(&r.incident_id)?;
        }
        Ok(v)
    }

    call_log_api!();
}

fn truncate(mut v: Vec<IncidentRecord>, limit: i32) -> Vec<IncidentRecord> {
    v.truncate(usize::try_from(limit.max(1)).unwrap_or(1));
    v
}

#[async_trait]
impl IncidentStore for FakeIncidentStore {
    async fn open(&self, incident: &NewIncident) -> Result<OpenOutcome, TaskError> {
        lock(&self.calls).enter("dynamodb:Open")?;
        let mut incidents = lock(&self.incidents);
        if incidents.contains_key(&incident.incident_id) {
            return Ok(OpenOutcome::Duplicate);
        }
        let mut record =
            IncidentRecord::bare(&incident.incident_id, incident.status, incident.opened_at);
        if incident.status == IncidentStatus::Rejected {
            record.closed_at = Some(incident.opened_at);
        }
        record.rule = incident.rule.clone();
        record.title = incident.title.clone();
        record.principal = incident.principal.clone();
        record.actor = incident.actor.clone();
        record.event = Some(incident.event.clone());
        record.detection = incident.detection.clone();
        record.error = incident.error.clone();
        record.execution_arn = incident.execution_arn.clone();
        incidents.insert(incident.incident_id.clone(), record);
        Ok(OpenOutcome::Opened)
    }

    async fn reopen(&self, incident: &NewIncident, at: DateTime<Utc>) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:Reopen")?;
        let mut incidents = lock(&self.incidents);
        let Some(r) = incidents
            .get_mut(&incident.incident_id)
            .filter(|r| r.status == IncidentStatus::Failed)
        else {
            return Ok(false);
        };
        r.status = IncidentStatus::Open;
        r.updated_at = Some(at);
        r.replayed_at = Some(at);
        r.closed_at = None;
        r.summary = None;
        if incident.execution_arn.is_some() {
            r.execution_arn = incident.execution_arn.clone();
        }
        // What a bare failure record lacks, as `if_not_exists` fills it in the table.
        r.opened_at = r.opened_at.or(Some(incident.opened_at));
        r.event = r.event.take().or_else(|| Some(incident.event.clone()));
        r.rule = r.rule.take().or_else(|| incident.rule.clone());
        r.title = r.title.take().or_else(|| incident.title.clone());
        r.principal = r.principal.take().or_else(|| incident.principal.clone());
        r.actor = r.actor.take().or_else(|| incident.actor.clone());
        r.detection = r.detection.take().or_else(|| incident.detection.clone());
        Ok(true)
    }

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:Append")?;
        let mut timeline = lock(&self.timeline);
        let entries = timeline.entry(incident_id.to_string()).or_default();
        // The same key as the table's: the entry's time (to the millisecond) and step.
        let same_key =
            |e: &TimelineEntry| timestamp(e.at) == timestamp(entry.at) && e.step == entry.step;
        if entries.iter().any(same_key) {
            return Ok(false);
        }
        entries.push(entry.clone());
        entries.sort_by(|a, b| (a.at, &a.step).cmp(&(b.at, &b.step)));
        Ok(true)
    }

    async fn save_assessment(
        &self,
        incident_id: &str,
        assessment: &Assessment,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:SaveAssessment")?;
        let mut incidents = lock(&self.incidents);
        let r = incidents
            .get_mut(incident_id)
            .ok_or_else(|| no_incident(incident_id))?;
        let first = r.severity.is_none();
        r.severity = Some(assessment.severity);
        r.disposition = Some(assessment.disposition);
        r.assessment = Some(assessment.clone());
        r.updated_at = Some(at);
        Ok(first)
    }

    async fn set_status(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:SetStatus")?;
        let mut incidents = lock(&self.incidents);
        match incidents.get_mut(incident_id) {
            Some(r) if r.closed_at.is_none() => {
                r.status = status;
                r.updated_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn close(
        &self,
        incident_id: &str,
        status: IncidentStatus,
        at: DateTime<Utc>,
        summary: Option<&str>,
        by: Option<&str>,
    ) -> Result<CloseOutcome, TaskError> {
        lock(&self.calls).enter("dynamodb:Close")?;
        let mut incidents = lock(&self.incidents);
        let r = incidents
            .entry(incident_id.to_string())
            .or_insert_with(|| IncidentRecord::bare(incident_id, status, at));
        if r.closed_at.is_some() {
            // As the table does (see `DynamoIncidentStore::close`).
            let by_caller = r.status == status && r.closed_by.as_deref() == by;
            let same_write = r.closed_at.map(timestamp) == Some(timestamp(at));
            return Ok(CloseOutcome {
                changed: by_caller && same_write,
                status: r.status,
                closed_at: r.closed_at,
                by_caller: by_caller && by.is_some(),
            });
        }
        r.status = status;
        r.closed_at = Some(at);
        r.updated_at = Some(at);
        r.closed_by = by.map(str::to_string);
        if let Some(s) = summary {
            r.summary = Some(s.to_string());
        }
        Ok(CloseOutcome {
            changed: true,
            status,
            closed_at: Some(at),
            by_caller: true,
        })
    }

    async fn save_snapshot(
        &self,
        incident_id: &str,
        snapshot: &Snapshot,
        at: DateTime<Utc>,
    ) -> Result<SnapshotOutcome, TaskError> {
        lock(&self.calls).enter("dynamodb:SaveSnapshot")?;
        if let Some((attribute, e)) = lock(&self.corrupt).get(incident_id)
            && attribute == "snapshot"
        {
            // One is stored (so this one is not), and it does not read back.
            return Err(e.clone());
        }
        let mut incidents = lock(&self.incidents);
        let r = incidents
            .get_mut(incident_id)
            .ok_or_else(|| no_incident(incident_id))?;
        if let Some(existing) = &r.snapshot {
            return Ok(SnapshotOutcome {
                saved: false,
                snapshot: existing.clone(),
                taken_at: r.snapshot_at,
            });
        }
        r.snapshot = Some(snapshot.clone());
        r.snapshot_at = Some(at);
        Ok(SnapshotOutcome {
            saved: true,
            snapshot: snapshot.clone(),
            taken_at: Some(at),
        })
    }

    async fn get(&self, incident_id: &str) -> Result<Option<IncidentRecord>, TaskError> {
        lock(&self.calls).enter("dynamodb:Get")?;
        self.readable(incident_id)?;
        Ok(lock(&self.incidents).get(incident_id).cloned())
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, TaskError> {
        lock(&self.calls).enter("dynamodb:Timeline")?;
        Ok(lock(&self.timeline)
            .get(incident_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn notification(
        &self,
        incident_id: &str,
        kind: &str,
    ) -> Result<Option<NotificationMark>, TaskError> {
        lock(&self.calls).enter("dynamodb:Notification")?;
        Ok(lock(&self.notifications)
            .get(&(incident_id.to_string(), kind.to_string()))
            .cloned())
    }

    async fn mark_notified(
        &self,
        incident_id: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:MarkNotified")?;
        let mut marks = lock(&self.notifications);
        let key = (incident_id.to_string(), kind.to_string());
        if marks.contains_key(&key) {
            return Ok(false);
        }
        marks.insert(
            key,
            NotificationMark {
                kind: kind.to_string(),
                message_id: message_id.map(str::to_string),
                at: Some(at),
            },
        );
        Ok(true)
    }

    async fn list_by_status(
        &self,
        status: IncidentStatus,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        lock(&self.calls).enter("dynamodb:ListByStatus")?;
        let mut v = self.listed(|r| r.status == status)?;
        v.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
        Ok(truncate(v, limit))
    }

    async fn list_by_principal(
        &self,
        principal: &str,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        lock(&self.calls).enter("dynamodb:ListByPrincipal")?;
        let mut v = self.listed(|r| {
            r.principal.as_ref().is_some_and(|p| {
                p.arn.as_deref() == Some(principal)
                    || (p.arn.is_none() && p.name.as_deref() == Some(principal))
            })
        })?;
        v.sort_by_key(|r| std::cmp::Reverse(r.opened_at));
        Ok(truncate(v, limit))
    }

    async fn mark_released(
        &self,
        incident_id: &str,
        release: &ReleaseRecord,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:MarkReleased")?;
        let mut incidents = lock(&self.incidents);
        match incidents.get_mut(incident_id) {
            Some(r) if r.status != IncidentStatus::Released => {
                let at = release.released_at;
                r.status = IncidentStatus::Released;
                r.release = Some(release.clone());
                r.updated_at = Some(at);
                r.closed_at.get_or_insert(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
