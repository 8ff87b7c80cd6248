//! Approval and release links: what a human opens from an email.
//!
//! A link is an approval (resume a waiting `.waitForTaskToken` task) or a release (restore
//! a contained principal). Each has a random, unguessable id of 128 bits, a per-link
//! anti-CSRF value, the incident, a summary for the confirmation page and an expiry. It can
//! be decided only once, and only before it expires.
//!
//! Creating a link is idempotent: once per task token (approvals; keyed by the token's
//! SHA-256, never by the token) or per incident (releases), so a retry reuses the link.
//! The id itself is never derived from the token.
//!
//! Secrets (task tokens, anti-CSRF values) are held in [`Secret`] ([`secret`]), whose
//! `Debug` is redacted and which has no `Display` and no `Serialize`.
//!
//! The [`LinkStore`] capability is here; its DynamoDB adapter is
//! [`crate::dynamo::links`], its fake `crate::fakes::links`.
use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cordon_core::TaskError;
use cordon_core::model::{Assessment, Detection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod secret;

pub use secret::{Secret, constant_time_eq, random_hex, redact, sha256_hex};

/// Links stay readable this long after they expire (so the page can say "expired"), then
/// DynamoDB's TTL deletes them.
pub const TTL_GRACE_SECONDS: i64 = 7 * 24 * 3600;
/// How long a release link is valid.
pub const RELEASE_LINK_SECONDS: i64 = 7 * 24 * 3600;
/// Bytes of randomness in a link id (128 bits, 32 hex characters).
pub const ID_BYTES: usize = 16;
/// Bytes of randomness in an anti-CSRF value (256 bits).
pub const CSRF_BYTES: usize = 32;

/// A fresh link id: 128 random bits, 32 lowercase hex characters (URL-safe).
pub fn new_link_id() -> Result<String, TaskError> {
    random_hex(ID_BYTES)
}

/// A fresh anti-CSRF value: 256 random bits.
pub fn new_csrf() -> Result<Secret, TaskError> {
    random_hex(CSRF_BYTES).map(Secret::new)
}

/// Whether `id` has the shape of a link id (32 lowercase hex characters). Anything else is
/// refused before it reaches the table.
pub fn is_link_id(id: &str) -> bool {
    id.len() == ID_BYTES * 2
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The first 8 characters of a link id: enough to correlate log lines, not enough to open
/// the link (the full id is a bearer credential and is never logged).
pub fn link_ref(id: &str) -> &str {
    id.get(..8).unwrap_or("")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkKind {
    Approval,
    Release,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Approval => "approval",
            LinkKind::Release => "release",
        }
    }
}

/// `PENDING` → `APPROVED` / `REJECTED` / `RELEASED` (decided once). `EXPIRED` and `CLOSED`
/// mark links Step Functions no longer waits for (timed out; stopped or already completed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkStatus {
    Pending,
    Approved,
    Rejected,
    Released,
    Expired,
    Closed,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Pending => "PENDING",
            LinkStatus::Approved => "APPROVED",
            LinkStatus::Rejected => "REJECTED",
            LinkStatus::Released => "RELEASED",
            LinkStatus::Expired => "EXPIRED",
            LinkStatus::Closed => "CLOSED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

/// What a human decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Approve,
    Reject,
    Release,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Release => "release",
        }
    }

    pub fn status(self) -> LinkStatus {
        match self {
            Decision::Approve => LinkStatus::Approved,
            Decision::Reject => LinkStatus::Rejected,
            Decision::Release => LinkStatus::Released,
        }
    }
}

/// Who decided, as the approval page saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedBy {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Self-declared on the page; informative only.
    pub name: Option<String>,
    /// The identity AWS verified, when the decision came with AWS credentials
    /// (`cordon approve` / `reject`): what the audit trusts over `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<cordon_core::model::VerifiedIdentity>,
}

/// An approval decision as delivered to the waiting workflow (the `SendTaskSuccess`
/// output, which the state machine routes on and puts on the incident's timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalDecision {
    pub decision: Decision,
    /// The link's id (a bearer credential only while the link is pending).
    pub approval_id: String,
    pub decided_by: DecidedBy,
    /// RFC 3339 with milliseconds, as every Cordon time on the wire.
    #[serde(
        serialize_with = "millis::serialize",
        deserialize_with = "millis::deserialize"
    )]
    pub decided_at: DateTime<Utc>,
}

mod millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// What the confirmation page shows, copied from the detection and assessment when the
/// link is created (the page needs no other read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LinkSummary {
    pub title: Option<String>,
    pub principal: Option<String>,
    pub actor: Option<String>,
    pub rule: Option<String>,
    pub severity: Option<String>,
    pub disposition: Option<String>,
    pub event_name: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub source_ip: Option<String>,
    pub evidence: BTreeMap<String, Value>,
    pub reasons: Vec<String>,
}

impl LinkSummary {
    pub fn new(detection: Option<&Detection>, assessment: Option<&Assessment>) -> Self {
        let mut s = LinkSummary::default();
        if let Some(d) = detection {
            s.title = Some(d.title.clone());
            s.rule = Some(d.rule.clone());
            s.principal = d
                .principal
                .as_ref()
                .and_then(|p| p.arn.clone().or_else(|| p.name.clone()));
            s.actor = d.actor.arn.clone().or_else(|| d.actor.name.clone());
            s.event_name = Some(d.event_name.clone());
            s.event_time = Some(d.event_time);
            s.source_ip = d.source_ip.clone();
            s.evidence = d.evidence.clone();
        }
        if let Some(a) = assessment {
            s.severity = Some(a.severity.as_str().to_string());
            s.disposition = serde_json::to_value(a.disposition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            s.reasons = a.reasons.clone();
        }
        s
    }
}

/// A link to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub kind: LinkKind,
    pub incident_id: String,
    /// Approvals only.
    pub task_token: Option<Secret>,
    pub summary: LinkSummary,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl NewLink {
    pub fn approval(
        incident_id: impl Into<String>,
        task_token: Secret,
        summary: LinkSummary,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            kind: LinkKind::Approval,
            incident_id: incident_id.into(),
            task_token: Some(task_token),
            summary,
            created_at,
            expires_at,
        }
    }

    /// A release link valid for [`RELEASE_LINK_SECONDS`].
    pub fn release(
        incident_id: impl Into<String>,
        summary: LinkSummary,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            kind: LinkKind::Release,
            incident_id: incident_id.into(),
            task_token: None,
            summary,
            created_at,
            expires_at: created_at + Duration::seconds(RELEASE_LINK_SECONDS),
        }
    }

    /// The idempotency key: SHA-256 of the task token (approvals), the incident id
    /// (releases).
    pub fn dedupe_key(&self) -> String {
        match (&self.kind, &self.task_token) {
            (LinkKind::Approval, Some(t)) => sha256_hex(t.expose()),
            _ => self.incident_id.clone(),
        }
    }

    /// When the table may delete the link: [`TTL_GRACE_SECONDS`] after it expires.
    pub fn ttl(&self) -> i64 {
        self.expires_at.timestamp() + TTL_GRACE_SECONDS
    }
}

/// A stored link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    pub kind: LinkKind,
    pub id: String,
    pub incident_id: String,
    pub csrf: Secret,
    pub task_token: Option<Secret>,
    pub summary: LinkSummary,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ttl: i64,
    pub status: LinkStatus,
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<DecidedBy>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The SNS message that carried the link, once sent.
    pub message_id: Option<String>,
}

impl LinkRecord {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// A freshly created, pending link.
    pub fn pending(new: &NewLink, id: String, csrf: Secret) -> Self {
        Self {
            kind: new.kind,
            id,
            incident_id: new.incident_id.clone(),
            csrf,
            task_token: new.task_token.clone(),
            summary: new.summary.clone(),
            created_at: new.created_at,
            expires_at: new.expires_at,
            ttl: new.ttl(),
            status: LinkStatus::Pending,
            decision: None,
            decided_at: None,
            decided_by: None,
            closed_at: None,
            message_id: None,
        }
    }
}

/// The result of [`LinkStore::create`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub record: LinkRecord,
    /// `false` when an earlier run created the link (a retry): reuse it.
    pub created: bool,
}

/// The result of [`LinkStore::decide`].
#[derive(Debug, Clone, PartialEq)]
pub enum DecideOutcome {
    /// This call decided; the record as it now is.
    Decided(Box<LinkRecord>),
    /// No such link.
    NotFound,
    /// Already decided or closed (the current status).
    AlreadyDecided(LinkStatus),
    /// Still pending, but past its expiry.
    Expired,
}

/// Approval and release links. Every write is conditional: a link is created once per
/// task token (or incident, for releases) and decided once.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Create the link, or return the one an earlier run created for the same task token
    /// (approvals) or incident (releases).
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError>;

    /// A link by id (consistent read).
    async fn get(&self, kind: LinkKind, id: &str) -> Result<Option<LinkRecord>, TaskError>;

    /// The newest approval link of `incident_id` (each approval request has its own; a
    /// replay asks again with a new one), whatever its status: how `cordon approve` and
    /// `cordon reject` find the decision to make without the emailed link.
    async fn approval_for_incident(
        &self,
        incident_id: &str,
    ) -> Result<Option<LinkRecord>, TaskError>;

    /// Decide once: `status = PENDING AND expires_at > at`.
    async fn decide(
        &self,
        kind: LinkKind,
        id: &str,
        decision: Decision,
        by: &DecidedBy,
        at: DateTime<Utc>,
    ) -> Result<DecideOutcome, TaskError>;

    /// Undo this call's decision (back to `PENDING`) when its effect could not be delivered
    /// (Step Functions unreachable), so the human can try again. Conditional on the
    /// decision still being the one made at `decided_at`; `false` otherwise.
    async fn reopen(
        &self,
        kind: LinkKind,
        id: &str,
        decided_at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Mark a link `EXPIRED` or `CLOSED` (Step Functions no longer waits for it). `false`
    /// if there is no such link.
    async fn close(
        &self,
        kind: LinkKind,
        id: &str,
        status: LinkStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Record the SNS message id that carried the link.
    async fn set_message_id(
        &self,
        kind: LinkKind,
        id: &str,
        message_id: &str,
    ) -> Result<(), TaskError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_128_random_bits_in_hex() {
        let a = new_link_id().expect("random");
        let b = new_link_id().expect("random");
        assert_eq!(a.len(), 32);
        assert!(is_link_id(&a) && is_link_id(&b));
        assert_ne!(a, b);
        assert!(!is_link_id("ABCDEF0123456789abcdef0123456789"));
        assert!(!is_link_id("../../etc/passwd"));
        assert!(!is_link_id(""));
        assert_eq!(random_hex(CSRF_BYTES).expect("random").len(), 64);
    }

    #[test]
    fn a_new_approval_hides_its_token_and_is_keyed_by_its_hash() {
        let s = Secret::new("very-secret-token");
        let new = NewLink::approval("ct-1", s, LinkSummary::default(), Utc::now(), Utc::now());
        assert!(!format!("{new:?}").contains("very-secret-token"));
        assert_eq!(new.dedupe_key(), sha256_hex("very-secret-token"));
        assert_eq!(new.dedupe_key().len(), 64);
    }

    #[test]
    fn an_approval_decision_has_its_wire_shape() {
        let at = DateTime::parse_from_rfc3339("2024-09-27T14:07:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let d = ApprovalDecision {
            decision: Decision::Approve,
            approval_id: "0123456789abcdef0123456789abcdef".into(),
            decided_by: DecidedBy {
                ip: Some("203.0.113.9".into()),
                user_agent: None,
                name: Some("alice".into()),
                verified: None,
            },
            decided_at: at,
        };
        let json = serde_json::to_value(&d).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "decision": "approve",
                "approvalId": "0123456789abcdef0123456789abcdef",
                "decidedBy": {"ip": "203.0.113.9", "userAgent": null, "name": "alice"},
                "decidedAt": "2024-09-27T14:07:00.000Z"
            })
        );
        assert_eq!(
            serde_json::from_value::<ApprovalDecision>(json).expect("parse"),
            d
        );
    }
}
