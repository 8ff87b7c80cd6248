//! DynamoDB: approval and release links, in the incident table (see `TABLE.md`).
//!
//! A *link* is what a human opens from an email: an approval (resume a waiting
//! `.waitForTaskToken` task) or a release (restore a contained principal). Each link is an
//! item keyed by a random, unguessable id of 128 bits (`APPROVAL#<id>` / `RELEASE#<id>`),
//! holding a per-link anti-CSRF value, the incident, a summary for the confirmation page,
//! an expiry and a `ttl`. It can be decided only once: deciding is a conditional update
//! (`status = PENDING AND expires_at > now`).
//!
//! Creating a link is idempotent: an index item keyed by the SHA-256 of the task token
//! (approvals) or by the incident id (releases) is claimed with a conditional put, and a
//! retry reuses the link it points to. The id itself is never derived from the token.
//!
//! Secrets (task tokens, anti-CSRF values) are held in [`Secret`], whose `Debug` is
//! redacted and which has no `Display` and no `Serialize`: they never reach a log line or
//! an error message through this module.
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use cordon_core::TaskError;
use cordon_core::model::{Assessment, Detection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::SdkResultExt;
use crate::store::{META_SK, timestamp};

/// Partition-key prefix of approval links.
pub const APPROVAL_PREFIX: &str = "APPROVAL#";
/// Partition-key prefix of release links.
pub const RELEASE_PREFIX: &str = "RELEASE#";
/// Partition-key prefix of the approval index: `APPROVALTOKEN#<sha256(task token), hex>`.
pub const APPROVAL_INDEX_PREFIX: &str = "APPROVALTOKEN#";
/// Partition-key prefix of the release index: `RELEASEFOR#<incident id>`.
pub const RELEASE_INDEX_PREFIX: &str = "RELEASEFOR#";
/// Links stay readable this long after they expire (so the page can say "expired"), then
/// DynamoDB's TTL deletes them.
pub const TTL_GRACE_SECONDS: i64 = 7 * 24 * 3600;
/// How long a release link is valid.
pub const RELEASE_LINK_SECONDS: i64 = 7 * 24 * 3600;
/// Bytes of randomness in a link id (128 bits, 32 hex characters).
pub const ID_BYTES: usize = 16;
/// Bytes of randomness in an anti-CSRF value (256 bits).
pub const CSRF_BYTES: usize = 32;

const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

// ---------------------------------------------------------------------------------------
// Secrets and randomness

/// A secret string (task token, anti-CSRF value). `Debug` prints `<redacted>`; there is no
/// `Display` and no `Serialize`, so it cannot end up in a log line or a JSON document by
/// accident. Use [`Secret::expose`] where the value must be sent.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Constant-time comparison with an untrusted candidate (its length may leak, its
    /// content does not).
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `err` with every occurrence of `secret` replaced by `<redacted>`: for errors raised
/// while a secret was in flight, in case a service echoes request values in a message.
pub fn redact(err: TaskError, secret: &Secret) -> TaskError {
    let hide = |m: String| {
        if secret.is_empty() {
            m
        } else {
            m.replace(secret.expose(), "<redacted>")
        }
    };
    match err {
        TaskError::InvalidEvent { field, reason } => TaskError::InvalidEvent {
            field: hide(field),
            reason: hide(reason),
        },
        TaskError::Transient { operation, message } => TaskError::Transient {
            operation,
            message: hide(message),
        },
        TaskError::Aws {
            operation,
            code,
            message,
        } => TaskError::Aws {
            operation,
            code,
            message: hide(message),
        },
        TaskError::Config(m) => TaskError::Config(hide(m)),
        TaskError::PrincipalNotFound(m) => TaskError::PrincipalNotFound(hide(m)),
        TaskError::ProtectedPrincipal { principal, reason } => TaskError::ProtectedPrincipal {
            principal: hide(principal),
            reason: hide(reason),
        },
    }
}

/// Compare two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `n` bytes from the operating system's CSPRNG, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, TaskError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| TaskError::Aws {
        operation: "getrandom".into(),
        code: "RandomnessUnavailable".into(),
        message: format!("the operating system's random number generator failed: {e}"),
    })?;
    Ok(hex(&buf))
}

/// A fresh link id: 128 random bits, 32 lowercase hex characters (URL-safe).
pub fn new_link_id() -> Result<String, TaskError> {
    random_hex(ID_BYTES)
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

/// SHA-256 of `value`, hex: the approval index key of a task token (one-way; the token
/// cannot be recovered from it).
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

// ---------------------------------------------------------------------------------------
// Types

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

    fn prefix(self) -> &'static str {
        match self {
            LinkKind::Approval => APPROVAL_PREFIX,
            LinkKind::Release => RELEASE_PREFIX,
        }
    }

    fn index_prefix(self) -> &'static str {
        match self {
            LinkKind::Approval => APPROVAL_INDEX_PREFIX,
            LinkKind::Release => RELEASE_INDEX_PREFIX,
        }
    }

    fn entity(self) -> &'static str {
        match self {
            LinkKind::Approval => "APPROVAL",
            LinkKind::Release => "RELEASE",
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

    fn ttl(&self) -> i64 {
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

    fn from_new(new: &NewLink, id: String, csrf: Secret) -> Self {
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

/// The result of [`ApprovalStore::create`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub record: LinkRecord,
    /// `false` when an earlier run created the link (a retry): reuse it.
    pub created: bool,
}

/// The result of [`ApprovalStore::decide`].
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
pub trait ApprovalStore: Send + Sync {
    /// Create the link, or return the one an earlier run created for the same task token
    /// (approvals) or incident (releases).
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError>;

    /// A link by id (consistent read).
    async fn get(&self, kind: LinkKind, id: &str) -> Result<Option<LinkRecord>, TaskError>;

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

// ---------------------------------------------------------------------------------------
// DynamoDB

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_time(item: &Item, key: &str) -> Option<DateTime<Utc>> {
    get_s(item, key)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn get_json<T: for<'de> Deserialize<'de>>(item: &Item, key: &str) -> Option<T> {
    get_s(item, key).and_then(|raw| serde_json::from_str(raw).ok())
}

fn json_attr<T: Serialize>(v: &T, what: &str) -> Result<AttributeValue, TaskError> {
    serde_json::to_string(v).map(s).map_err(|e| TaskError::Aws {
        operation: "dynamodb:serialize".into(),
        code: "SerializationError".into(),
        message: format!("{what} could not be serialized: {e}"),
    })
}

fn record_from_item(kind: LinkKind, item: &Item) -> Option<LinkRecord> {
    Some(LinkRecord {
        kind,
        id: get_s(item, "link_id")?.to_string(),
        incident_id: get_s(item, "incident_id")?.to_string(),
        csrf: Secret::new(get_s(item, "csrf")?),
        task_token: get_s(item, "task_token").map(Secret::new),
        summary: get_json(item, "summary").unwrap_or_default(),
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
        ttl: item
            .get("ttl")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_default(),
        status: get_s(item, "status").and_then(LinkStatus::parse)?,
        decision: get_s(item, "decision")
            .and_then(|d| serde_json::from_value(Value::String(d.to_string())).ok()),
        decided_at: get_time(item, "decided_at"),
        decided_by: get_json(item, "decided_by"),
        closed_at: get_time(item, "closed_at"),
        message_id: get_s(item, "message_id").map(str::to_string),
    })
}

fn corrupt(kind: LinkKind, id: &str) -> TaskError {
    TaskError::Aws {
        operation: "dynamodb:GetItem".into(),
        code: "CorruptItem".into(),
        message: format!(
            "{} link {id} is missing required attributes; inspect the item",
            kind.as_str()
        ),
    }
}

/// [`ApprovalStore`] over `aws-sdk-dynamodb`, in the incident table.
#[derive(Debug, Clone)]
pub struct DynamoApprovalStore {
    client: Client,
    table: String,
}

impl DynamoApprovalStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_conf(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    fn key(pk: String) -> Item {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(META_SK))])
    }

    fn link_key(kind: LinkKind, id: &str) -> Item {
        Self::key(format!("{}{id}", kind.prefix()))
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>, TaskError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .aws("dynamodb:GetItem")?
            .item)
    }

    /// Claim the index item for `link` with `id`; returns the id the index points to
    /// and whether this call claimed it.
    async fn claim_index(&self, link: &NewLink, id: &str) -> Result<(String, bool), TaskError> {
        let pk = format!("{}{}", link.kind.index_prefix(), link.dedupe_key());
        let mut item = Self::key(pk.clone());
        item.insert("entity".into(), s(format!("{}_INDEX", link.kind.entity())));
        item.insert("link_id".into(), s(id));
        item.insert("incident_id".into(), s(&link.incident_id));
        item.insert("ttl".into(), n(link.ttl()));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .or_none_on("dynamodb:PutItem", CONDITIONAL_CHECK_FAILED)?;
        if put.is_some() {
            return Ok((id.to_string(), true));
        }
        let existing = self
            .get_item(Self::key(pk))
            .await?
            .and_then(|item| get_s(&item, "link_id").map(str::to_string))
            .filter(|id| is_link_id(id))
            .ok_or_else(|| TaskError::Aws {
                operation: "dynamodb:GetItem".into(),
                code: "CorruptItem".into(),
                message: format!(
                    "the {} index item of incident {} names no link; inspect the item",
                    link.kind.as_str(),
                    link.incident_id
                ),
            })?;
        Ok((existing, false))
    }

    async fn put_link(&self, record: &LinkRecord) -> Result<bool, TaskError> {
        let mut item = Self::link_key(record.kind, &record.id);
        item.insert("entity".into(), s(record.kind.entity()));
        item.insert("link_id".into(), s(&record.id));
        item.insert("incident_id".into(), s(&record.incident_id));
        item.insert("csrf".into(), s(record.csrf.expose()));
        if let Some(t) = &record.task_token {
            item.insert("task_token".into(), s(t.expose()));
        }
        item.insert("summary".into(), json_attr(&record.summary, "the summary")?);
        item.insert("created_at".into(), s(timestamp(record.created_at)));
        item.insert("expires_at".into(), s(timestamp(record.expires_at)));
        item.insert("ttl".into(), n(record.ttl));
        item.insert("status".into(), s(record.status.as_str()));
        Ok(self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .or_none_on("dynamodb:PutItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }
}

#[async_trait]
impl ApprovalStore for DynamoApprovalStore {
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError> {
        let fresh = new_link_id()?;
        let (id, claimed) = self.claim_index(link, &fresh).await?;
        if !claimed && let Some(record) = self.get(link.kind, &id).await? {
            return Ok(Created {
                record,
                created: false,
            });
        }
        // Claimed now, or claimed by a run that stopped before writing the link.
        let record = LinkRecord::from_new(link, id, Secret::new(random_hex(CSRF_BYTES)?));
        let put = self.put_link(&record).await.map_err(|e| {
            let e = redact(e, &record.csrf);
            match &record.task_token {
                Some(t) => redact(e, t),
                None => e,
            }
        });
        if put? {
            return Ok(Created {
                record,
                created: true,
            });
        }
        let record = self
            .get(link.kind, &record.id)
            .await?
            .ok_or_else(|| corrupt(link.kind, &record.id))?;
        Ok(Created {
            record,
            created: false,
        })
    }

    async fn get(&self, kind: LinkKind, id: &str) -> Result<Option<LinkRecord>, TaskError> {
        if !is_link_id(id) {
            return Ok(None);
        }
        match self.get_item(Self::link_key(kind, id)).await? {
            None => Ok(None),
            Some(item) => record_from_item(kind, &item)
                .map(Some)
                .ok_or_else(|| corrupt(kind, id)),
        }
    }

    async fn decide(
        &self,
        kind: LinkKind,
        id: &str,
        decision: Decision,
        by: &DecidedBy,
        at: DateTime<Utc>,
    ) -> Result<DecideOutcome, TaskError> {
        if !is_link_id(id) {
            return Ok(DecideOutcome::NotFound);
        }
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::link_key(kind, id)))
            .update_expression("SET #status = :new, #decision = :decision, #dat = :now, #dby = :by")
            .condition_expression("attribute_exists(#pk) AND #status = :pending AND #exp > :now")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#decision", "decision")
            .expression_attribute_names("#dat", "decided_at")
            .expression_attribute_names("#dby", "decided_by")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":new", s(decision.status().as_str()))
            .expression_attribute_values(":decision", s(decision.as_str()))
            .expression_attribute_values(":now", s(timestamp(at)))
            .expression_attribute_values(":by", json_attr(by, "the approver")?)
            .expression_attribute_values(":pending", s(LinkStatus::Pending.as_str()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?;
        if let Some(out) = updated {
            let record = out
                .attributes()
                .and_then(|item| record_from_item(kind, item))
                .ok_or_else(|| corrupt(kind, id))?;
            return Ok(DecideOutcome::Decided(Box::new(record)));
        }
        Ok(match self.get(kind, id).await? {
            None => DecideOutcome::NotFound,
            Some(r) if r.status != LinkStatus::Pending => DecideOutcome::AlreadyDecided(r.status),
            Some(_) => DecideOutcome::Expired,
        })
    }

    async fn reopen(
        &self,
        kind: LinkKind,
        id: &str,
        decided_at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::link_key(kind, id)))
            .update_expression("SET #status = :pending REMOVE #decision, #dat, #dby")
            .condition_expression("attribute_exists(#pk) AND #dat = :at")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#decision", "decision")
            .expression_attribute_names("#dat", "decided_at")
            .expression_attribute_names("#dby", "decided_by")
            .expression_attribute_values(":pending", s(LinkStatus::Pending.as_str()))
            .expression_attribute_values(":at", s(timestamp(decided_at)))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }

    async fn close(
        &self,
        kind: LinkKind,
        id: &str,
        status: LinkStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::link_key(kind, id)))
            .update_expression("SET #status = :status, #closed = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#closed", "closed_at")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":at", s(timestamp(at)))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?
            .is_some())
    }

    async fn set_message_id(
        &self,
        kind: LinkKind,
        id: &str,
        message_id: &str,
    ) -> Result<(), TaskError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::link_key(kind, id)))
            .update_expression("SET #mid = :mid")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#mid", "message_id")
            .expression_attribute_values(":mid", s(message_id))
            .send()
            .await
            .or_none_on("dynamodb:UpdateItem", CONDITIONAL_CHECK_FAILED)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Fake

#[cfg(feature = "fakes")]
pub use fake::FakeApprovalStore;

#[cfg(feature = "fakes")]
mod fake {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, MutexGuard};

    use super::*;

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[derive(Debug, Default)]
    struct State {
        links: BTreeMap<(LinkKind, String), LinkRecord>,
        index: BTreeMap<(LinkKind, String), String>,
        log: Vec<String>,
        failures: BTreeMap<String, TaskError>,
    }

    impl State {
        fn enter(&mut self, op: &str) -> Result<(), TaskError> {
            self.log.push(op.to_string());
            match self.failures.get(op) {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            }
        }
    }

    /// In-memory [`ApprovalStore`] with the same semantics (create once per key, decide
    /// once while pending and unexpired). Operations are logged as `approvals:Create`,
    /// `approvals:Get`, `approvals:Decide`, `approvals:Reopen`, `approvals:Close`,
    /// `approvals:SetMessageId`.
    #[derive(Debug, Default)]
    pub struct FakeApprovalStore {
        state: Mutex<State>,
    }

    impl FakeApprovalStore {
        pub fn new() -> Self {
            Self::default()
        }

        /// Every operation served, in order.
        pub fn calls(&self) -> Vec<String> {
            lock(&self.state).log.clone()
        }

        /// How many times `op` was called.
        pub fn count(&self, op: &str) -> usize {
            lock(&self.state).log.iter().filter(|c| *c == op).count()
        }

        /// Operations other than reads (`approvals:Get`).
        pub fn writes(&self) -> Vec<String> {
            self.calls()
                .into_iter()
                .filter(|c| c != "approvals:Get")
                .collect()
        }

        /// Make every later call of `op` fail with `err`.
        pub fn fail_on(&self, op: &str, err: TaskError) {
            lock(&self.state).failures.insert(op.to_string(), err);
        }

        pub fn heal(&self, op: &str) {
            lock(&self.state).failures.remove(op);
        }

        /// Every stored link.
        pub fn links(&self) -> Vec<LinkRecord> {
            lock(&self.state).links.values().cloned().collect()
        }

        pub fn link(&self, kind: LinkKind, id: &str) -> Option<LinkRecord> {
            lock(&self.state)
                .links
                .get(&(kind, id.to_string()))
                .cloned()
        }

        /// Store (or replace) a link as is, for tests that need a particular state.
        pub fn put(&self, record: LinkRecord) {
            lock(&self.state)
                .links
                .insert((record.kind, record.id.clone()), record);
        }
    }

    #[async_trait]
    impl ApprovalStore for FakeApprovalStore {
        async fn create(&self, link: &NewLink) -> Result<Created, TaskError> {
            let mut st = lock(&self.state);
            st.enter("approvals:Create")?;
            let key = (link.kind, link.dedupe_key());
            if let Some(id) = st.index.get(&key).cloned()
                && let Some(record) = st.links.get(&(link.kind, id.clone())).cloned()
            {
                return Ok(Created {
                    record,
                    created: false,
                });
            }
            let id = match st.index.get(&key) {
                Some(id) => id.clone(),
                None => new_link_id()?,
            };
            let record =
                LinkRecord::from_new(link, id.clone(), Secret::new(random_hex(CSRF_BYTES)?));
            st.index.insert(key, id.clone());
            st.links.insert((link.kind, id), record.clone());
            Ok(Created {
                record,
                created: true,
            })
        }

        async fn get(&self, kind: LinkKind, id: &str) -> Result<Option<LinkRecord>, TaskError> {
            let mut st = lock(&self.state);
            st.enter("approvals:Get")?;
            Ok(st.links.get(&(kind, id.to_string())).cloned())
        }

        async fn decide(
            &self,
            kind: LinkKind,
            id: &str,
            decision: Decision,
            by: &DecidedBy,
            at: DateTime<Utc>,
        ) -> Result<DecideOutcome, TaskError> {
            let mut st = lock(&self.state);
            st.enter("approvals:Decide")?;
            let Some(r) = st.links.get_mut(&(kind, id.to_string())) else {
                return Ok(DecideOutcome::NotFound);
            };
            if r.status != LinkStatus::Pending {
                return Ok(DecideOutcome::AlreadyDecided(r.status));
            }
            // Same comparison as DynamoDB's (`expires_at > now`, on the stored strings).
            if timestamp(r.expires_at) <= timestamp(at) {
                return Ok(DecideOutcome::Expired);
            }
            r.status = decision.status();
            r.decision = Some(decision);
            r.decided_at = Some(at);
            r.decided_by = Some(by.clone());
            Ok(DecideOutcome::Decided(Box::new(r.clone())))
        }

        async fn reopen(
            &self,
            kind: LinkKind,
            id: &str,
            decided_at: DateTime<Utc>,
        ) -> Result<bool, TaskError> {
            let mut st = lock(&self.state);
            st.enter("approvals:Reopen")?;
            match st.links.get_mut(&(kind, id.to_string())) {
                Some(r) if r.decided_at.map(timestamp) == Some(timestamp(decided_at)) => {
                    r.status = LinkStatus::Pending;
                    r.decision = None;
                    r.decided_at = None;
                    r.decided_by = None;
                    Ok(true)
                }
                _ => Ok(false),
            }
        }

        async fn close(
            &self,
            kind: LinkKind,
            id: &str,
            status: LinkStatus,
            at: DateTime<Utc>,
        ) -> Result<bool, TaskError> {
            let mut st = lock(&self.state);
            st.enter("approvals:Close")?;
            match st.links.get_mut(&(kind, id.to_string())) {
                Some(r) => {
                    r.status = status;
                    r.closed_at = Some(at);
                    Ok(true)
                }
                None => Ok(false),
            }
        }

        async fn set_message_id(
            &self,
            kind: LinkKind,
            id: &str,
            message_id: &str,
        ) -> Result<(), TaskError> {
            let mut st = lock(&self.state);
            st.enter("approvals:SetMessageId")?;
            if let Some(r) = st.links.get_mut(&(kind, id.to_string())) {
                r.message_id = Some(message_id.to_string());
            }
            Ok(())
        }
    }
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
    fn secrets_are_redacted_and_compared_in_constant_time() {
        let s = Secret::new("very-secret-token");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(s.matches("very-secret-token"));
        assert!(!s.matches("very-secret-tokeN"));
        assert!(!s.matches("very-secret"));
        assert!(!s.matches(""));
        let new = NewLink::approval("ct-1", s, LinkSummary::default(), Utc::now(), Utc::now());
        assert!(!format!("{new:?}").contains("very-secret-token"));
        assert_eq!(new.dedupe_key(), sha256_hex("very-secret-token"));
        assert_eq!(new.dedupe_key().len(), 64);
        let e = redact(
            TaskError::Aws {
                operation: "dynamodb:PutItem".into(),
                code: "ValidationException".into(),
                message: "bad value very-secret-token in item".into(),
            },
            &Secret::new("very-secret-token"),
        );
        assert!(!e.to_string().contains("very-secret-token"), "{e}");
        assert!(e.to_string().contains("<redacted>"), "{e}");
    }
}
