//! The link-store fake: approval and release links in memory.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::calls::{Calls, call_log_api, lock};
use crate::dynamo::timestamp;
use crate::links::{
    Created, DecideOutcome, DecidedBy, Decision, LinkKind, LinkRecord, LinkStatus, LinkStore,
    NewLink, new_csrf, new_link_id,
};

#[derive(Debug, Default)]
struct Links {
    links: BTreeMap<(LinkKind, String), LinkRecord>,
    /// Dedupe key (token hash or incident id) → link id, as the table's index items.
    index: BTreeMap<(LinkKind, String), String>,
}

/// [`LinkStore`] in memory, with the same semantics (create once per key, decide once
/// while pending and unexpired). Operations are logged as `links:Create`, `links:Get`,
/// `links:Decide`, `links:Reopen`, `links:Close`, `links:SetMessageId`.
#[derive(Debug, Default)]
pub struct FakeLinkStore {
    state: Mutex<Links>,
    calls: Mutex<Calls>,
}

impl FakeLinkStore {
    pub fn new() -> Self {
        Self::default()
    }

    call_log_api!();

    /// Operations other than reads (`links:Get`).
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c != "links:Get")
            .collect()
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
impl LinkStore for FakeLinkStore {
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError> {
        lock(&self.calls).enter("links:Create")?;
        let mut st = lock(&self.state);
        let key = (link.kind, link.dedupe_key());
        if let Some(id) = st.index.get(&key).cloned()
            && let Some(record) = st.links.get(&(link.kind, id)).cloned()
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
        let record = LinkRecord::pending(link, id.clone(), new_csrf()?);
        st.index.insert(key, id.clone());
        st.links.insert((link.kind, id), record.clone());
        Ok(Created {
            record,
            created: true,
        })
    }

    async fn get(&self, kind: LinkKind, id: &str) -> Result<Option<LinkRecord>, TaskError> {
        lock(&self.calls).enter("links:Get")?;
        Ok(self.link(kind, id))
    }

    async fn approval_for_incident(
        &self,
        incident_id: &str,
    ) -> Result<Option<LinkRecord>, TaskError> {
        lock(&self.calls).enter("links:Get")?;
        Ok(lock(&self.state)
            .links
            .values()
            .filter(|l| l.kind == LinkKind::Approval && l.incident_id == incident_id)
            .max_by_key(|l| l.created_at)
            .cloned())
    }

    async fn decide(
        &self,
        kind: LinkKind,
        id: &str,
        decision: Decision,
        by: &DecidedBy,
        at: DateTime<Utc>,
    ) -> Result<DecideOutcome, TaskError> {
        lock(&self.calls).enter("links:Decide")?;
        let mut st = lock(&self.state);
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
        lock(&self.calls).enter("links:Reopen")?;
        let mut st = lock(&self.state);
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
        lock(&self.calls).enter("links:Close")?;
        let mut st = lock(&self.state);
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
        lock(&self.calls).enter("links:SetMessageId")?;
        if let Some(r) = lock(&self.state).links.get_mut(&(kind, id.to_string())) {
            r.message_id = Some(message_id.to_string());
        }
        Ok(())
    }
}
