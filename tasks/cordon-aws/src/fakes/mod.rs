//! In-memory fakes of every trait, with the same idempotency semantics as the SDK
//! implementations (conditional writes, first snapshot wins, attach-once).
//!
//! Each fake records the operations it served (`calls()`), and can be told to fail an
//! operation (`fail_on("iam:AttachUserPolicy", err)`), so handler tests can check both
//! what was done and what happens when AWS says no.
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::model::{
    AttachedPolicy, Disposition, IncidentStatus, KeyStatus, Severity, UserFacts,
};
use serde_json::Value;

use crate::iam::IdentityStore;
use crate::sfn::TaskCallbacks;
use crate::sns::Notifier;
use crate::store::{
    CloseOutcome, IncidentRecord, IncidentStore, NewIncident, NotificationMark, OpenOutcome,
    SnapshotOutcome, TimelineEntry,
};

/// The account id fakes put in ARNs.
pub const FAKE_ACCOUNT: &str = "123456789012";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Operation log and injected failures, shared by every fake.
#[derive(Debug, Default)]
struct Calls {
    log: Vec<String>,
    failures: BTreeMap<String, TaskError>,
}

impl Calls {
    fn enter(&mut self, op: &str) -> Result<(), TaskError> {
        self.log.push(op.to_string());
        match self.failures.get(op) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

macro_rules! call_log_api {
    () => {
        /// Every operation served, in order (`iam:AttachUserPolicy`, …).
        pub fn calls(&self) -> Vec<String> {
            lock(&self.calls).log.clone()
        }

        /// How many times `op` was called.
        pub fn count(&self, op: &str) -> usize {
            lock(&self.calls).log.iter().filter(|c| *c == op).count()
        }

        /// Make every later call of `op` fail with `err`.
        pub fn fail_on(&self, op: &str, err: TaskError) {
            lock(&self.calls).failures.insert(op.to_string(), err);
        }

        /// Stop failing `op`.
        pub fn heal(&self, op: &str) {
            lock(&self.calls).failures.remove(op);
        }
    };
}

// ---------------------------------------------------------------------------------------
// IAM

/// IAM users held as [`UserFacts`]; changes are applied to the facts.
#[derive(Debug, Default)]
pub struct FakeIdentityStore {
    users: Mutex<BTreeMap<String, UserFacts>>,
    policies: Mutex<BTreeMap<String, (String, String)>>,
    calls: Mutex<Calls>,
}

impl FakeIdentityStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a user.
    pub fn with_user(self, facts: UserFacts) -> Self {
        self.put_user(facts);
        self
    }

    pub fn put_user(&self, facts: UserFacts) {
        lock(&self.users).insert(facts.user_name.clone(), facts);
    }

    pub fn user(&self, name: &str) -> Option<UserFacts> {
        lock(&self.users).get(name).cloned()
    }

    /// Managed policies created through `ensure_managed_policy`: name → (ARN, document).
    pub fn policies(&self) -> BTreeMap<String, (String, String)> {
        lock(&self.policies).clone()
    }

    /// A user with the given name and plausible ids and ARN.
    pub fn sample_user(name: &str) -> UserFacts {
        UserFacts {
            user_name: name.to_string(),
            user_id: format!("AIDA{:0>17}", name.len()),
            arn: format!("arn:aws:iam::{FAKE_ACCOUNT}:user/{name}"),
            path: "/".to_string(),
            ..UserFacts::default()
        }
    }

    call_log_api!();

    fn with_user_mut<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut UserFacts) -> T,
    ) -> Result<T, TaskError> {
        let mut users = lock(&self.users);
        let user = users
            .get_mut(name)
            .ok_or_else(|| TaskError::PrincipalNotFound(name.to_string()))?;
        Ok(f(user))
    }
}

#[async_trait]
impl IdentityStore for FakeIdentityStore {
    async fn get_user_facts(&self, user_name: &str) -> Result<Option<UserFacts>, TaskError> {
        lock(&self.calls).enter("iam:GetUser")?;
        Ok(self.user(user_name))
    }

    async fn ensure_managed_policy(&self, name: &str, document: &str) -> Result<String, TaskError> {
        lock(&self.calls).enter("iam:CreatePolicy")?;
        let mut policies = lock(&self.policies);
        let (arn, _) = policies.entry(name.to_string()).or_insert_with(|| {
            (
                format!("arn:aws:iam::{FAKE_ACCOUNT}:policy/{name}"),
                document.to_string(),
            )
        });
        Ok(arn.clone())
    }

    async fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:AttachUserPolicy")?;
        self.with_user_mut(user_name, |u| {
            if !u.attached_policies.iter().any(|p| p.arn == policy_arn) {
                let name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
                u.attached_policies.push(AttachedPolicy {
                    name: name.to_string(),
                    arn: policy_arn.to_string(),
                });
            }
        })
    }

    async fn is_policy_attached(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:ListAttachedUserPolicies")?;
        self.with_user_mut(user_name, |u| {
            u.attached_policies.iter().any(|p| p.arn == policy_arn)
        })
    }

    async fn detach_user_policy(
        &self,
        user_name: &str,
        policy_arn: &str,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:DetachUserPolicy")?;
        Ok(self
            .with_user_mut(user_name, |u| {
                let before = u.attached_policies.len();
                u.attached_policies.retain(|p| p.arn != policy_arn);
                before != u.attached_policies.len()
            })
            .unwrap_or(false))
    }

    async fn set_access_key_status(
        &self,
        user_name: &str,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:UpdateAccessKey")?;
        let found = self.with_user_mut(user_name, |u| {
            u.access_keys
                .iter_mut()
                .find(|k| k.id == access_key_id)
                .map(|k| k.status = status)
                .is_some()
        })?;
        if found {
            Ok(())
        } else {
            Err(TaskError::Aws {
                operation: "iam:UpdateAccessKey".into(),
                code: "NoSuchEntity".into(),
                message: format!("The Access Key with id {access_key_id} cannot be found."),
            })
        }
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<bool, TaskError> {
        lock(&self.calls).enter("iam:DeleteLoginProfile")?;
        Ok(self
            .with_user_mut(user_name, |u| std::mem::take(&mut u.login_profile))
            .unwrap_or(false))
    }

    async fn tag_user(
        &self,
        user_name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:TagUser")?;
        self.with_user_mut(user_name, |u| {
            u.tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())))
        })
    }

    async fn untag_user(&self, user_name: &str, keys: &[String]) -> Result<(), TaskError> {
        lock(&self.calls).enter("iam:UntagUser")?;
        self.with_user_mut(user_name, |u| {
            for k in keys {
                u.tags.remove(k);
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// SNS

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub topic_arn: String,
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub message_id: String,
}

#[derive(Debug, Default)]
pub struct FakeNotifier {
    published: Mutex<Vec<Published>>,
    calls: Mutex<Calls>,
}

impl FakeNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn published(&self) -> Vec<Published> {
        lock(&self.published).clone()
    }

    call_log_api!();
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, TaskError> {
        lock(&self.calls).enter("sns:Publish")?;
        let mut published = lock(&self.published);
        let message_id = format!("fake-message-{}", published.len() + 1);
        published.push(Published {
            topic_arn: topic_arn.to_string(),
            subject: subject.to_string(),
            body: body.to_string(),
            attributes: attributes.clone(),
            message_id: message_id.clone(),
        });
        Ok(message_id)
    }
}

// ---------------------------------------------------------------------------------------
// DynamoDB

#[derive(Debug, Default)]
pub struct FakeIncidentStore {
    incidents: Mutex<BTreeMap<String, IncidentRecord>>,
    timeline: Mutex<BTreeMap<String, Vec<TimelineEntry>>>,
    notifications: Mutex<BTreeMap<(String, String), NotificationMark>>,
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
            bare_record(incident_id, IncidentStatus::Open, at),
        );
        self
    }

    /// Every incident item, by id.
    pub fn incidents(&self) -> BTreeMap<String, IncidentRecord> {
        lock(&self.incidents).clone()
    }

    call_log_api!();
}

fn bare_record(incident_id: &str, status: IncidentStatus, at: DateTime<Utc>) -> IncidentRecord {
    IncidentRecord {
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
        error: None,
        summary: None,
        execution_arn: None,
    }
}

fn no_incident(incident_id: &str) -> TaskError {
    TaskError::invalid(
        "incidentId",
        format!("names no recorded incident ({incident_id}); the incident must be opened first"),
    )
}

#[async_trait]
impl IncidentStore for FakeIncidentStore {
    async fn open(&self, incident: &NewIncident) -> Result<OpenOutcome, TaskError> {
        lock(&self.calls).enter("dynamodb:Open")?;
        let mut incidents = lock(&self.incidents);
        if incidents.contains_key(&incident.incident_id) {
            return Ok(OpenOutcome::Duplicate);
        }
        let mut record = bare_record(&incident.incident_id, incident.status, incident.opened_at);
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

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:Append")?;
        let mut timeline = lock(&self.timeline);
        let entries = timeline.entry(incident_id.to_string()).or_default();
        let same_key = |e: &TimelineEntry| {
            crate::store::timestamp(e.at) == crate::store::timestamp(entry.at)
                && e.step == entry.step
        };
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
        severity: Severity,
        disposition: Disposition,
        assessment: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("dynamodb:SaveAssessment")?;
        let mut incidents = lock(&self.incidents);
        let r = incidents
            .get_mut(incident_id)
            .ok_or_else(|| no_incident(incident_id))?;
        r.severity = Some(severity);
        r.disposition = Some(disposition);
        r.assessment = Some(assessment.clone());
        r.updated_at = Some(at);
        Ok(())
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
    ) -> Result<CloseOutcome, TaskError> {
        lock(&self.calls).enter("dynamodb:Close")?;
        let mut incidents = lock(&self.incidents);
        let r = incidents
            .entry(incident_id.to_string())
            .or_insert_with(|| bare_record(incident_id, status, at));
        if r.closed_at.is_some() {
            return Ok(CloseOutcome {
                changed: false,
                status: r.status,
            });
        }
        r.status = status;
        r.closed_at = Some(at);
        r.updated_at = Some(at);
        if let Some(s) = summary {
            r.summary = Some(s.to_string());
        }
        Ok(CloseOutcome {
            changed: true,
            status,
        })
    }

    async fn save_snapshot(
        &self,
        incident_id: &str,
        snapshot: &Value,
        at: DateTime<Utc>,
    ) -> Result<SnapshotOutcome, TaskError> {
        lock(&self.calls).enter("dynamodb:SaveSnapshot")?;
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
        let mut v: Vec<_> = lock(&self.incidents)
            .values()
            .filter(|r| r.status == status)
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
        v.truncate(usize::try_from(limit.max(1)).unwrap_or(1));
        Ok(v)
    }

    async fn list_by_principal(
        &self,
        principal: &str,
        limit: i32,
    ) -> Result<Vec<IncidentRecord>, TaskError> {
        lock(&self.calls).enter("dynamodb:ListByPrincipal")?;
        let mut v: Vec<_> = lock(&self.incidents)
            .values()
            .filter(|r| {
                r.principal.as_ref().is_some_and(|p| {
                    p.arn.as_deref() == Some(principal)
                        || (p.arn.is_none() && p.name.as_deref() == Some(principal))
                })
            })
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.opened_at));
        v.truncate(usize::try_from(limit.max(1)).unwrap_or(1));
        Ok(v)
    }

    async fn mark_released(
        &self,
        incident_id: &str,
        _release: &Value,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("dynamodb:MarkReleased")?;
        let mut incidents = lock(&self.incidents);
        match incidents.get_mut(incident_id) {
            Some(r) if r.status != IncidentStatus::Released => {
                r.status = IncidentStatus::Released;
                r.updated_at = Some(at);
                r.closed_at.get_or_insert(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Step Functions

#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    Success {
        token: String,
        output: Value,
    },
    Failure {
        token: String,
        error: String,
        cause: String,
    },
    Heartbeat {
        token: String,
    },
}

#[derive(Debug, Default)]
pub struct FakeTaskCallbacks {
    sent: Mutex<Vec<Callback>>,
    calls: Mutex<Calls>,
}

impl FakeTaskCallbacks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Callback> {
        lock(&self.sent).clone()
    }

    call_log_api!();
}

#[async_trait]
impl TaskCallbacks for FakeTaskCallbacks {
    async fn send_task_success(&self, task_token: &str, output: &Value) -> Result<(), TaskError> {
        lock(&self.calls).enter("states:SendTaskSuccess")?;
        lock(&self.sent).push(Callback::Success {
            token: task_token.to_string(),
            output: output.clone(),
        });
        Ok(())
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("states:SendTaskFailure")?;
        lock(&self.sent).push(Callback::Failure {
            token: task_token.to_string(),
            error: error.to_string(),
            cause: cause.to_string(),
        });
        Ok(())
    }

    async fn send_task_heartbeat(&self, task_token: &str) -> Result<(), TaskError> {
        lock(&self.calls).enter("states:SendTaskHeartbeat")?;
        lock(&self.sent).push(Callback::Heartbeat {
            token: task_token.to_string(),
        });
        Ok(())
    }
}

// Approval and release links: the fake lives next to the trait (`approvals.rs`).
pub use crate::approvals::FakeApprovalStore;
