//! Approval and release links: what a human opens from an email.
//!
//! A link is an approval (resume a waiting `.waitForTaskToken` task) or a release (start
//! the release of a contained principal). Each has a random, unguessable id of 128 bits
//! ([`LinkId`]), the incident, a summary for the confirmation page and an expiry. It can
//! be decided only once, and only before it expires.
//!
//! **At rest** the table holds the id only as its SHA-256 ([`LinkHash`]): whoever can read
//! the table cannot open a link. The page's anti-CSRF value is not stored at all: it is
//! derived per browser from a cookie (see `cordon-approval`). The task token is stored as
//! is (the decision must be able to send it); `cordon approve` with AWS credentials may use
//! it, which is the same power `states:SendTaskSuccess` already gives.
//!
//! **Decisions are never lost.** Deciding records the decision first (a conditional
//! update: `PENDING` → `APPROVED`/`REJECTED`/`RELEASED`), then delivers it to the workflow;
//! [`LinkStore::mark_delivered`] records that it arrived. A decided link whose decision was
//! not delivered (the function stopped in between, or Step Functions was unavailable) is
//! delivered again by the next request for it ([`LinkRecord::undelivered`]).
//!
//! Creating a link is idempotent: once per task token (approvals; keyed by the token's
//! SHA-256, never by the token) or per incident (releases). A retry after the email was
//! sent reuses the link; a retry before it was sent gets a new id for the same link
//! index (the plaintext of the first one is gone), and the first one is never emailed.
//!
//! Secrets (task tokens, link ids) are held in [`Secret`] ([`secret`]), whose `Debug` is
//! redacted and which has no `Display` and no `Serialize`.
//!
//! The [`LinkStore`] capability is here; its DynamoDB adapter is
//! [`crate::dynamo::links`], its fake `crate::fakes::links`.
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cordon_core::TaskError;
use cordon_core::model::{Actor, Assessment, Detection, PrincipalKind, VerifiedIdentity};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod secret;

pub use secret::{Secret, constant_time_eq, hmac_sha256_hex, random_hex, redact, sha256_hex};

/// Links stay readable this long after they expire (so the page can say "expired"), then
/// DynamoDB's TTL deletes them.
pub const TTL_GRACE_SECONDS: i64 = 7 * 24 * 3600;
/// How long a release link is valid unless the stack says otherwise (24 hours).
pub const RELEASE_LINK_SECONDS: i64 = 24 * 3600;
/// Bytes of randomness in a link id (128 bits, 32 hex characters).
pub const ID_BYTES: usize = 16;

/// A link id as the email carries it: a bearer credential, never stored or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkId(Secret);

impl LinkId {
    /// A fresh id: 128 random bits from the OS, 32 lowercase hex characters.
    pub fn generate() -> Result<LinkId, TaskError> {
        random_hex(ID_BYTES).map(|h| LinkId(Secret::new(h)))
    }

    /// An id from a URL, if it has the shape of one (anything else is refused before it
    /// reaches the table).
    pub fn parse(s: &str) -> Option<LinkId> {
        is_link_id(s).then(|| LinkId(Secret::new(s)))
    }

    /// The id itself, for the email's URL. Never log it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What the table keys the link by.
    pub fn hash(&self) -> LinkHash {
        LinkHash(sha256_hex(self.0.expose()))
    }
}

impl fmt::Debug for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkId(<redacted>, {})", self.hash().short())
    }
}

/// The SHA-256 of a link id, hex: how the table, the logs and the workflow name a link.
/// It cannot be turned back into the id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LinkHash(String);

impl LinkHash {
    /// A stored hash, if it has the shape of one.
    pub fn parse(s: &str) -> Option<LinkHash> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| LinkHash(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, for log lines.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl fmt::Display for LinkHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `id` has the shape of a link id (32 lowercase hex characters).
pub fn is_link_id(id: &str) -> bool {
    id.len() == ID_BYTES * 2
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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

    /// A human decided (approved, rejected or released).
    pub fn is_decided(self) -> bool {
        matches!(
            self,
            LinkStatus::Approved | LinkStatus::Rejected | LinkStatus::Released
        )
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

/// Who decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedBy {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The verified identity's email or subject; in link-only mode the name typed on the
    /// page (self-declared, informative only).
    pub name: Option<String>,
    /// The identity Cordon verified (OIDC sign-in, or the AWS credentials of
    /// `cordon approve`); absent in link-only mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifiedIdentity>,
    /// Why (a release asks for it; it goes to the team with the `released` notification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl DecidedBy {
    /// "alice@example.com (verified oidc)", "bob (not verified)".
    pub fn display(&self) -> String {
        match &self.verified {
            Some(v) => format!(
                "{} (verified {})",
                v.email.as_deref().unwrap_or(&v.subject),
                v.method
            ),
            None => format!(
                "{} (not verified)",
                self.name
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("someone")
            ),
        }
    }
}

/// An approval decision as delivered to the waiting workflow (the `SendTaskSuccess`
/// output, which the state machine routes on and puts on the incident's timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalDecision {
    pub decision: Decision,
    /// The link, by its hash (the id itself is a bearer credential and never leaves the
    /// email).
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

/// An identity that may not decide the incident: its actor, and its target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Party {
    pub arn: Option<String>,
    /// The IAM unique id (`AIDA…`, or the role's `AROA…` for a session).
    pub unique_id: Option<String>,
    /// Names a person may sign in with: the IAM user name, an assumed role's session
    /// name (often the person's email with Identity Center).
    pub names: Vec<String>,
}

impl Party {
    fn of_actor(actor: &Actor) -> Party {
        let mut names = Vec::new();
        if matches!(actor.kind, PrincipalKind::IamUser) {
            names.extend(actor.name.clone());
        }
        if let Some(arn) = actor.arn.as_deref()
            && let Some(session) = arn
                .split_once(":assumed-role/")
                .and_then(|(_, r)| r.split_once('/'))
                .map(|(_, s)| s)
        {
            names.push(session.to_string());
        }
        Party {
            arn: actor.arn.clone(),
            unique_id: actor.unique_id().map(String::from),
            names,
        }
    }
}

/// What the confirmation page needs, copied from the detection and assessment when the
/// link is created (the page needs no other read), and no more: no ARNs, source IPs, key
/// ids or evidence are shown to whoever holds the link (the email has the details).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LinkSummary {
    pub title: Option<String>,
    pub rule: Option<String>,
    pub severity: Option<String>,
    pub event_name: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    /// The user to contain or release (its name; the release page asks for it typed).
    pub principal_name: Option<String>,
    /// Who made the call, by name.
    pub actor_name: Option<String>,
    /// Not shown: the incident's actor and target, who may never decide it.
    pub parties: Vec<Party>,
}

impl LinkSummary {
    pub fn new(detection: Option<&Detection>, assessment: Option<&Assessment>) -> Self {
        let mut s = LinkSummary::default();
        if let Some(d) = detection {
            s.title = Some(d.title.clone());
            s.rule = Some(d.rule.clone());
            s.event_name = Some(d.event_name.clone());
            s.event_time = Some(d.event_time);
            s.actor_name = Some(d.actor.display_name());
            s.parties.push(Party::of_actor(&d.actor));
            if let Some(p) = &d.principal {
                s.principal_name = p.name.clone().or_else(|| Some(p.display_name()));
                s.parties.push(Party {
                    arn: p.arn.clone(),
                    unique_id: p.unique_id().map(String::from),
                    names: p.name.iter().cloned().collect(),
                });
            }
        }
        if let Some(a) = assessment {
            s.severity = Some(a.severity.as_str().to_string());
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

    /// A release link valid for `valid_for` (the stack's `ReleaseLinkHours`, 24 by
    /// default: [`RELEASE_LINK_SECONDS`]).
    pub fn release(
        incident_id: impl Into<String>,
        summary: LinkSummary,
        created_at: DateTime<Utc>,
        valid_for: Duration,
    ) -> Self {
        Self {
            kind: LinkKind::Release,
            incident_id: incident_id.into(),
            task_token: None,
            summary,
            created_at,
            expires_at: created_at + valid_for,
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

/// A stored link (the id itself is not stored: only its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    pub kind: LinkKind,
    pub hash: LinkHash,
    pub incident_id: String,
    pub task_token: Option<Secret>,
    pub summary: LinkSummary,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ttl: i64,
    pub status: LinkStatus,
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<DecidedBy>,
    /// When the decision reached the workflow (the `SendTaskSuccess` was accepted, or the
    /// release execution started).
    pub delivered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The SNS message that carried the link, once sent.
    pub message_id: Option<String>,
}

impl LinkRecord {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// A freshly created, pending link.
    pub fn pending(new: &NewLink, hash: LinkHash) -> Self {
        Self {
            kind: new.kind,
            hash,
            incident_id: new.incident_id.clone(),
            task_token: new.task_token.clone(),
            summary: new.summary.clone(),
            created_at: new.created_at,
            expires_at: new.expires_at,
            ttl: new.ttl(),
            status: LinkStatus::Pending,
            decision: None,
            decided_at: None,
            decided_by: None,
            delivered_at: None,
            closed_at: None,
            message_id: None,
        }
    }

    /// Decided, but the decision has not reached the workflow yet: the next request for
    /// the link delivers it.
    pub fn undelivered(&self) -> bool {
        self.status.is_decided() && self.delivered_at.is_none()
    }
}

/// The result of [`LinkStore::create`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub record: LinkRecord,
    /// The id to email: `Some` when this call made the link (or a new id for a link whose
    /// email was never sent), `None` when an earlier run sent it (reuse its message).
    pub id: Option<LinkId>,
}

/// The result of [`LinkStore::decide`].
#[derive(Debug, Clone, PartialEq)]
pub enum DecideOutcome {
    /// This call decided; the record as it now is.
    Decided(Box<LinkRecord>),
    /// No such link.
    NotFound,
    /// Already decided or closed: the record as it is.
    AlreadyDecided(Box<LinkRecord>),
    /// Still pending, but past its expiry.
    Expired,
}

/// Approval and release links. Every write is conditional: a link is created once per
/// task token (or incident, for releases) and decided once.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Create the link, or return the one an earlier run created for the same task token
    /// (approvals) or incident (releases); see [`Created::id`].
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError>;

    /// A link by the hash of its id (consistent read).
    async fn get(&self, kind: LinkKind, hash: &LinkHash) -> Result<Option<LinkRecord>, TaskError>;

    /// The latest link of `kind` for an incident (what `cordon approve` decides).
    async fn find_for_incident(
        &self,
        kind: LinkKind,
        incident_id: &str,
    ) -> Result<Option<LinkRecord>, TaskError>;

    /// Decide once: `status = PENDING AND expires_at > at`.
    async fn decide(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        decision: Decision,
        by: &DecidedBy,
        at: DateTime<Utc>,
    ) -> Result<DecideOutcome, TaskError>;

    /// Record that the decision reached the workflow; `false` if it was already recorded
    /// (or there is no such link).
    async fn mark_delivered(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Mark a link `EXPIRED` or `CLOSED` (Step Functions no longer waits for it). `false`
    /// if there is no such link.
    async fn close(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        status: LinkStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError>;

    /// Record the SNS message id that carried the link.
    async fn set_message_id(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        message_id: &str,
    ) -> Result<(), TaskError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_128_random_bits_in_hex_and_stored_as_their_hash() {
        let a = LinkId::generate().expect("random");
        let b = LinkId::generate().expect("random");
        assert_eq!(a.expose().len(), 32);
        assert!(is_link_id(a.expose()) && is_link_id(b.expose()));
        assert_ne!(a, b);
        assert!(LinkId::parse("ABCDEF0123456789abcdef0123456789").is_none());
        assert!(LinkId::parse("../../etc/passwd").is_none());
        assert!(LinkId::parse("").is_none());
        let h = a.hash();
        assert_eq!(h.as_str().len(), 64);
        assert_ne!(h.as_str(), a.expose());
        assert!(!h.as_str().contains(a.expose()));
        assert_eq!(LinkHash::parse(h.as_str()), Some(h.clone()));
        assert!(!format!("{a:?}").contains(a.expose()));
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
            approval_id: "0123456789abcdef".into(),
            decided_by: DecidedBy {
                ip: Some("203.0.113.9".into()),
                user_agent: None,
                name: Some("alice".into()),
                verified: None,
                reason: None,
            },
            decided_at: at,
        };
        let json = serde_json::to_value(&d).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "decision": "approve",
                "approvalId": "0123456789abcdef",
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
