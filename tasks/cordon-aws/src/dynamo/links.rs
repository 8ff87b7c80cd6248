//! [`LinkStore`] over DynamoDB: approval and release links in the incident table.
//!
//! A link is an item keyed by the SHA-256 of its id (`APPROVAL#<hash>` / `RELEASE#<hash>`)
//! with a `ttl`; the id itself is never stored. Creation is idempotent through an index
//! item keyed by the SHA-256 of the task token (approvals) or by the incident id
//! (releases), claimed with a conditional put; a retry reuses the link it points to once
//! its email was sent, and re-points it to a new id when it was not (the first id's
//! plaintext is gone, so it could not be emailed). Approvals also keep `APPROVALFOR#<incident>`
//! pointing at the incident's latest approval link (for `cordon approve`). Deciding is a
//! conditional update (`status = PENDING AND expires_at > now`); delivering records
//! `delivered_at` once. See `TABLE.md`.
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::{Item, META_SK, Table, Update, json, s, time};
use crate::links::{
    Created, DecideOutcome, DecidedBy, Decision, LinkHash, LinkId, LinkKind, LinkRecord,
    LinkStatus, LinkStore, NewLink, Secret, redact,
};

/// Partition-key prefix of approval links.
pub const APPROVAL_PREFIX: &str = "APPROVAL#";
/// Partition-key prefix of release links.
pub const RELEASE_PREFIX: &str = "RELEASE#";
/// Partition-key prefix of the approval index: `APPROVALTOKEN#<sha256(task token), hex>`.
pub const APPROVAL_INDEX_PREFIX: &str = "APPROVALTOKEN#";
/// Partition-key prefix of the release index: `RELEASEFOR#<incident id>`.
pub const RELEASE_INDEX_PREFIX: &str = "RELEASEFOR#";
/// Partition-key prefix of an incident's latest approval link: `APPROVALFOR#<incident id>`.
pub const APPROVAL_FOR_PREFIX: &str = "APPROVALFOR#";

fn prefix(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Approval => APPROVAL_PREFIX,
        LinkKind::Release => RELEASE_PREFIX,
    }
}

fn index_prefix(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Approval => APPROVAL_INDEX_PREFIX,
        LinkKind::Release => RELEASE_INDEX_PREFIX,
    }
}

fn entity(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Approval => "APPROVAL",
        LinkKind::Release => "RELEASE",
    }
}

fn link_key(kind: LinkKind, hash: &LinkHash) -> Item {
    Item::keyed(format!("{}{hash}", prefix(kind)), META_SK)
}

fn index_key(link: &NewLink) -> Item {
    Item::keyed(
        format!("{}{}", index_prefix(link.kind), link.dedupe_key()),
        META_SK,
    )
}

/// Where the latest link of an incident is found.
fn incident_key(kind: LinkKind, incident_id: &str) -> Item {
    match kind {
        LinkKind::Approval => Item::keyed(format!("{APPROVAL_FOR_PREFIX}{incident_id}"), META_SK),
        LinkKind::Release => Item::keyed(format!("{RELEASE_INDEX_PREFIX}{incident_id}"), META_SK),
    }
}

fn record_from_item(kind: LinkKind, item: &Item) -> Option<LinkRecord> {
    Some(LinkRecord {
        kind,
        hash: item.get_s("link_hash").and_then(LinkHash::parse)?,
        incident_id: item.get_string("incident_id")?,
        task_token: item.get_s("task_token").map(Secret::new),
        summary: item.get_json("summary").unwrap_or_default(),
        created_at: item.get_time("created_at")?,
        expires_at: item.get_time("expires_at")?,
        ttl: item.get_n("ttl").unwrap_or_default(),
        status: item.get_s("status").and_then(LinkStatus::parse)?,
        decision: item.get_enum("decision"),
        decided_at: item.get_time("decided_at"),
        decided_by: item.get_json("decided_by"),
        delivered_at: item.get_time("delivered_at"),
        closed_at: item.get_time("closed_at"),
        message_id: item.get_string("message_id"),
    })
}

fn corrupt(kind: LinkKind, what: &str) -> TaskError {
    TaskError::Aws {
        operation: "dynamodb:GetItem".into(),
        code: "CorruptItem".into(),
        message: format!(
            "{} link item {what} is missing required attributes; inspect the item",
            kind.as_str()
        ),
    }
}

/// [`LinkStore`] over `aws-sdk-dynamodb`, in the incident table.
#[derive(Debug, Clone)]
pub struct DynamoLinkStore {
    table: Table,
}

impl DynamoLinkStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    pub fn table_name(&self) -> &str {
        self.table.name()
    }

    /// The link hash an index item names.
    async fn index_target(&self, key: Item, kind: LinkKind) -> Result<Option<LinkHash>, TaskError> {
        match self.table.get(key).await? {
            None => Ok(None),
            Some(item) => item
                .get_s("link_hash")
                .and_then(LinkHash::parse)
                .map(Some)
                .ok_or_else(|| corrupt(kind, "index")),
        }
    }

    async fn put_link(&self, record: &LinkRecord) -> Result<bool, TaskError> {
        let mut item = link_key(record.kind, &record.hash);
        item.put_s("entity", entity(record.kind))
            .put_s("link_hash", record.hash.as_str())
            .put_s("incident_id", &record.incident_id)
            .put_opt_s("task_token", record.task_token.as_ref().map(Secret::expose))
            .put_json("summary", &record.summary)?
            .put_time("created_at", record.created_at)
            .put_time("expires_at", record.expires_at)
            .put_n("ttl", record.ttl)
            .put_s("status", record.status.as_str());
        let put = self.table.put_if_absent(item).await;
        match &record.task_token {
            Some(t) => put.map_err(|e| redact(e, t)),
            None => put,
        }
    }

    /// Points the incident's "latest approval" item at `record` (approvals; releases are
    /// found through their index item, which is keyed by the incident).
    async fn point_incident(&self, record: &LinkRecord) -> Result<(), TaskError> {
        if record.kind != LinkKind::Approval {
            return Ok(());
        }
        let update = Update::new()
            .set("entity", s("APPROVAL_FOR"))
            .set("link_hash", s(record.hash.as_str()))
            .set("incident_id", s(&record.incident_id))
            .set("ttl", super::n(record.ttl));
        self.table
            .update(
                incident_key(LinkKind::Approval, &record.incident_id),
                update,
            )
            .await?;
        Ok(())
    }

    /// Writes a fresh link for `link` under `id`, and points the incident at it.
    async fn write_new(&self, link: &NewLink, id: LinkId) -> Result<Created, TaskError> {
        let record = LinkRecord::pending(link, id.hash());
        if !self.put_link(&record).await? {
            // The hash is of 128 fresh random bits, so an item under it is our own put's,
            // whose answer was lost (the SDK sent it again, and the second one's condition
            // failed on the first one's item): it is written.
            let ours = self
                .get(link.kind, &record.hash)
                .await?
                .is_some_and(|r| r.incident_id == record.incident_id);
            if !ours {
                // 128 random bits collided with an existing link: never in practice.
                return Err(TaskError::transient(
                    "dynamodb:PutItem",
                    "a link with this id already exists; retry",
                ));
            }
        }
        self.point_incident(&record).await?;
        Ok(Created {
            record,
            id: Some(id),
        })
    }
}

#[async_trait]
impl LinkStore for DynamoLinkStore {
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError> {
        let id = LinkId::generate()?;
        let mut claim = index_key(link);
        claim
            .put_s("entity", format!("{}_INDEX", entity(link.kind)))
            .put_s("link_hash", id.hash().as_str())
            .put_s("incident_id", &link.incident_id)
            .put_n("ttl", link.ttl());
        if self.table.put_if_absent(claim).await? {
            return self.write_new(link, id).await;
        }
        let existing = self
            .index_target(index_key(link), link.kind)
            .await?
            .ok_or_else(|| corrupt(link.kind, "index"))?;
        if let Some(record) = self.get(link.kind, &existing).await?
            && (record.message_id.is_some() || record.status != LinkStatus::Pending)
        {
            // Sent (or already decided): nothing to email again.
            return Ok(Created { record, id: None });
        }
        // Claimed by a run that stopped before its email went out: its id is lost, so the
        // index moves to a new one (only if nobody moved it meanwhile).
        let moved = Update::new()
            .set("link_hash", s(id.hash().as_str()))
            .when_equal("link_hash", s(existing.as_str()));
        if self.table.update(index_key(link), moved).await? {
            return self.write_new(link, id).await;
        }
        let current = self
            .index_target(index_key(link), link.kind)
            .await?
            .ok_or_else(|| corrupt(link.kind, "index"))?;
        if current == id.hash() {
            // The move was ours: its answer was lost, and the SDK's second try found the
            // index already moved.
            return self.write_new(link, id).await;
        }
        // Another run moved it; until it has written its link, this run cannot know
        // whether that link's email goes out: try again later.
        let record = self.get(link.kind, &current).await?.ok_or_else(|| {
            TaskError::transient(
                "dynamodb:GetItem",
                format!(
                    "another run is creating this incident's {} link ({}); retry",
                    link.kind.as_str(),
                    current.short()
                ),
            )
        })?;
        Ok(Created { record, id: None })
    }

    async fn get(&self, kind: LinkKind, hash: &LinkHash) -> Result<Option<LinkRecord>, TaskError> {
        match self.table.get(link_key(kind, hash)).await? {
            None => Ok(None),
            Some(item) => record_from_item(kind, &item)
                .map(Some)
                .ok_or_else(|| corrupt(kind, hash.short())),
        }
    }

    async fn find_for_incident(
        &self,
        kind: LinkKind,
        incident_id: &str,
    ) -> Result<Option<LinkRecord>, TaskError> {
        match self
            .index_target(incident_key(kind, incident_id), kind)
            .await?
        {
            Some(hash) => self.get(kind, &hash).await,
            None => Ok(None),
        }
    }

    async fn decide(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        decision: Decision,
        by: &DecidedBy,
        at: DateTime<Utc>,
    ) -> Result<DecideOutcome, TaskError> {
        let update = Update::new()
            .set("status", s(decision.status().as_str()))
            .set("decision", s(decision.as_str()))
            .set("decided_at", time(at))
            .set("decided_by", json(by, "decided_by")?)
            .when_item_exists()
            .when_equal("status", s(LinkStatus::Pending.as_str()))
            .when_greater("expires_at", time(at));
        if let Some(item) = self
            .table
            .update_returning(link_key(kind, hash), update)
            .await?
        {
            let record =
                record_from_item(kind, &item).ok_or_else(|| corrupt(kind, hash.short()))?;
            return Ok(DecideOutcome::Decided(Box::new(record)));
        }
        Ok(match self.get(kind, hash).await? {
            None => DecideOutcome::NotFound,
            Some(r) if r.status != LinkStatus::Pending => {
                DecideOutcome::AlreadyDecided(Box::new(r))
            }
            Some(_) => DecideOutcome::Expired,
        })
    }

    async fn mark_delivered(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let update = Update::new()
            .set("delivered_at", time(at))
            .when_item_exists()
            .when_present("decided_at")
            .when_absent("delivered_at");
        self.table.update(link_key(kind, hash), update).await
    }

    async fn close(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        status: LinkStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let update = Update::new()
            .set("status", s(status.as_str()))
            .set("closed_at", time(at))
            .when_item_exists();
        self.table.update(link_key(kind, hash), update).await
    }

    async fn set_message_id(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        message_id: &str,
    ) -> Result<(), TaskError> {
        let update = Update::new()
            .set("message_id", s(message_id))
            .when_item_exists();
        self.table.update(link_key(kind, hash), update).await?;
        Ok(())
    }
}
