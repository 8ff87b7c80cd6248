//! [`LinkStore`] over DynamoDB: approval and release links in the incident table.
//!
//! A link is an item keyed by its random id (`APPROVAL#<id>` / `RELEASE#<id>`) with a
//! `ttl`. Creation is idempotent through an index item keyed by the SHA-256 of the task
//! token (approvals) or by the incident id (releases), claimed with a conditional put; a
//! retry reuses the link it points to. Deciding is a conditional update
//! (`status = PENDING AND expires_at > now`). See `TABLE.md`.
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::{Item, META_SK, Table, Update, json, s, time};
use crate::links::{
    Created, DecideOutcome, DecidedBy, Decision, LinkKind, LinkRecord, LinkStatus, LinkStore,
    NewLink, Secret, is_link_id, new_csrf, new_link_id, redact,
};

/// Partition-key prefix of approval links.
pub const APPROVAL_PREFIX: &str = "APPROVAL#";
/// Partition-key prefix of release links.
pub const RELEASE_PREFIX: &str = "RELEASE#";
/// Partition-key prefix of the approval index: `APPROVALTOKEN#<sha256(task token), hex>`.
pub const APPROVAL_INDEX_PREFIX: &str = "APPROVALTOKEN#";
/// Partition-key prefix of the release index: `RELEASEFOR#<incident id>`.
pub const RELEASE_INDEX_PREFIX: &str = "RELEASEFOR#";
/// Partition-key prefix of an incident's newest approval link: `APPROVALFOR#<incident id>`.
pub const APPROVAL_FOR_PREFIX: &str = "APPROVALFOR#";

fn approval_for_key(incident_id: &str) -> Item {
    Item::keyed(format!("{APPROVAL_FOR_PREFIX}{incident_id}"), META_SK)
}

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

fn link_key(kind: LinkKind, id: &str) -> Item {
    Item::keyed(format!("{}{id}", prefix(kind)), META_SK)
}

fn index_key(link: &NewLink) -> Item {
    Item::keyed(
        format!("{}{}", index_prefix(link.kind), link.dedupe_key()),
        META_SK,
    )
}

fn record_from_item(kind: LinkKind, item: &Item) -> Option<LinkRecord> {
    Some(LinkRecord {
        kind,
        id: item.get_string("link_id")?,
        incident_id: item.get_string("incident_id")?,
        csrf: Secret::new(item.get_s("csrf")?),
        task_token: item.get_s("task_token").map(Secret::new),
        summary: item.get_json("summary").unwrap_or_default(),
        created_at: item.get_time("created_at")?,
        expires_at: item.get_time("expires_at")?,
        ttl: item.get_n("ttl").unwrap_or_default(),
        status: item.get_s("status").and_then(LinkStatus::parse)?,
        decision: item.get_enum("decision"),
        decided_at: item.get_time("decided_at"),
        decided_by: item.get_json("decided_by"),
        closed_at: item.get_time("closed_at"),
        message_id: item.get_string("message_id"),
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

    /// Claim the index item for `link` with `id`; returns the id the index points to
    /// and whether this call claimed it.
    async fn claim_index(&self, link: &NewLink, id: &str) -> Result<(String, bool), TaskError> {
        let mut item = index_key(link);
        item.put_s("entity", format!("{}_INDEX", entity(link.kind)))
            .put_s("link_id", id)
            .put_s("incident_id", &link.incident_id)
            .put_n("ttl", link.ttl());
        if self.table.put_if_absent(item).await? {
            return Ok((id.to_string(), true));
        }
        let existing = self
            .table
            .get(index_key(link))
            .await?
            .and_then(|item| item.get_string("link_id"))
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

    /// Point the incident at its newest approval link (a plain put: a newer request, from
    /// a replay, replaces the older one; a retry writes the same).
    async fn point_incident_at(&self, record: &LinkRecord) -> Result<(), TaskError> {
        if record.kind != LinkKind::Approval {
            return Ok(());
        }
        let mut item = approval_for_key(&record.incident_id);
        item.put_s("entity", "APPROVAL_FOR")
            .put_s("link_id", &record.id)
            .put_s("incident_id", &record.incident_id)
            .put_time("created_at", record.created_at)
            .put_n("ttl", record.ttl);
        self.table.put(item).await
    }

    async fn put_link(&self, record: &LinkRecord) -> Result<bool, TaskError> {
        let mut item = link_key(record.kind, &record.id);
        item.put_s("entity", entity(record.kind))
            .put_s("link_id", &record.id)
            .put_s("incident_id", &record.incident_id)
            .put_s("csrf", record.csrf.expose())
            .put_opt_s("task_token", record.task_token.as_ref().map(Secret::expose))
            .put_json("summary", &record.summary)?
            .put_time("created_at", record.created_at)
            .put_time("expires_at", record.expires_at)
            .put_n("ttl", record.ttl)
            .put_s("status", record.status.as_str());
        self.table.put_if_absent(item).await
    }
}

#[async_trait]
impl LinkStore for DynamoLinkStore {
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError> {
        let fresh = new_link_id()?;
        let (id, claimed) = self.claim_index(link, &fresh).await?;
        if !claimed && let Some(record) = self.get(link.kind, &id).await? {
            self.point_incident_at(&record).await?;
            return Ok(Created {
                record,
                created: false,
            });
        }
        // Claimed now, or claimed by a run that stopped before writing the link.
        let record = LinkRecord::pending(link, id, new_csrf()?);
        let put = self.put_link(&record).await.map_err(|e| {
            let e = redact(e, &record.csrf);
            match &record.task_token {
                Some(t) => redact(e, t),
                None => e,
            }
        });
        if put? {
            self.point_incident_at(&record).await?;
            return Ok(Created {
                record,
                created: true,
            });
        }
        let record = self
            .get(link.kind, &record.id)
            .await?
            .ok_or_else(|| corrupt(link.kind, &record.id))?;
        self.point_incident_at(&record).await?;
        Ok(Created {
            record,
            created: false,
        })
    }

    async fn get(&self, kind: LinkKind, id: &str) -> Result<Option<LinkRecord>, TaskError> {
        if !is_link_id(id) {
            return Ok(None);
        }
        match self.table.get(link_key(kind, id)).await? {
            None => Ok(None),
            Some(item) => record_from_item(kind, &item)
                .map(Some)
                .ok_or_else(|| corrupt(kind, id)),
        }
    }

    async fn approval_for_incident(
        &self,
        incident_id: &str,
    ) -> Result<Option<LinkRecord>, TaskError> {
        let Some(id) = self
            .table
            .get(approval_for_key(incident_id))
            .await?
            .and_then(|item| item.get_string("link_id"))
        else {
            return Ok(None);
        };
        self.get(LinkKind::Approval, &id).await
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
            .update_returning(link_key(kind, id), update)
            .await?
        {
            let record = record_from_item(kind, &item).ok_or_else(|| corrupt(kind, id))?;
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
        let update = Update::new()
            .set("status", s(LinkStatus::Pending.as_str()))
            .remove("decision")
            .remove("decided_at")
            .remove("decided_by")
            .when_item_exists()
            .when_equal("decided_at", time(decided_at));
        self.table.update(link_key(kind, id), update).await
    }

    async fn close(
        &self,
        kind: LinkKind,
        id: &str,
        status: LinkStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        let update = Update::new()
            .set("status", s(status.as_str()))
            .set("closed_at", time(at))
            .when_item_exists();
        self.table.update(link_key(kind, id), update).await
    }

    async fn set_message_id(
        &self,
        kind: LinkKind,
        id: &str,
        message_id: &str,
    ) -> Result<(), TaskError> {
        let update = Update::new()
            .set("message_id", s(message_id))
            .when_item_exists();
        self.table.update(link_key(kind, id), update).await?;
        Ok(())
    }
}
