//! The link-store fake: approval and release links in memory, with the table's semantics
//! (create once per key, decide once while pending and unexpired, deliver once), and
//! atomically: concurrent calls are serialized by one lock, as DynamoDB's conditional
//! writes are per item.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use super::calls::{Calls, call_log_api, lock};
use crate::dynamo::timestamp;
use crate::links::{
    Created, DecideOutcome, DecidedBy, Decision, LinkHash, LinkId, LinkKind, LinkRecord,
    LinkStatus, LinkStore, NewLink,
};

#[derive(Debug, Default)]
struct Links {
    links: BTreeMap<(LinkKind, LinkHash), LinkRecord>,
    /// Dedupe key (token hash or incident id) → link hash, as the table's index items.
    index: BTreeMap<(LinkKind, String), LinkHash>,
    /// Incident → its latest link, as `APPROVALFOR#` / `RELEASEFOR#`.
    by_incident: BTreeMap<(LinkKind, String), LinkHash>,
}

/// [`LinkStore`] in memory. Operations are logged as `links:Create`, `links:Get`,
/// `links:Find`, `links:Decide`, `links:Delivered`, `links:Close`, `links:SetMessageId`.
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

    /// Operations other than reads (`links:Get`, `links:Find`).
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c != "links:Get" && c != "links:Find")
            .collect()
    }

    /// Every stored link.
    pub fn links(&self) -> Vec<LinkRecord> {
        lock(&self.state).links.values().cloned().collect()
    }

    pub fn link(&self, kind: LinkKind, hash: &LinkHash) -> Option<LinkRecord> {
        lock(&self.state).links.get(&(kind, hash.clone())).cloned()
    }

    /// Store (or replace) a link as is, for tests that need a particular state.
    pub fn put(&self, record: LinkRecord) {
        let mut st = lock(&self.state);
        st.by_incident.insert(
            (record.kind, record.incident_id.clone()),
            record.hash.clone(),
        );
        st.links.insert((record.kind, record.hash.clone()), record);
    }

    /// A pending link for a test, and its id.
    pub fn put_new(&self, link: &NewLink) -> (LinkId, LinkRecord) {
        let id = LinkId::generate().expect("the OS random generator");
        let record = LinkRecord::pending(link, id.hash());
        self.put(record.clone());
        (id, record)
    }
}

#[async_trait]
impl LinkStore for FakeLinkStore {
    async fn create(&self, link: &NewLink) -> Result<Created, TaskError> {
        lock(&self.calls).enter("links:Create")?;
        let mut st = lock(&self.state);
        let key = (link.kind, link.dedupe_key());
        if let Some(hash) = st.index.get(&key).cloned()
            && let Some(record) = st.links.get(&(link.kind, hash)).cloned()
            && (record.message_id.is_some() || record.status != LinkStatus::Pending)
        {
            return Ok(Created { record, id: None });
        }
        // New, or claimed by a run whose email never went out: a new id.
        let id = LinkId::generate()?;
        let record = LinkRecord::pending(link, id.hash());
        st.index.insert(key, record.hash.clone());
        st.by_incident
            .insert((link.kind, link.incident_id.clone()), record.hash.clone());
        st.links
            .insert((link.kind, record.hash.clone()), record.clone());
        Ok(Created {
            record,
            id: Some(id),
        })
    }

    async fn get(&self, kind: LinkKind, hash: &LinkHash) -> Result<Option<LinkRecord>, TaskError> {
        lock(&self.calls).enter("links:Get")?;
        Ok(self.link(kind, hash))
    }

    async fn find_for_incident(
        &self,
        kind: LinkKind,
        incident_id: &str,
    ) -> Result<Option<LinkRecord>, TaskError> {
        lock(&self.calls).enter("links:Find")?;
        let st = lock(&self.state);
        Ok(st
            .by_incident
            .get(&(kind, incident_id.to_string()))
            .and_then(|h| st.links.get(&(kind, h.clone())))
            .cloned())
    }

    async fn decide(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        decision: Decision,
        by: &DecidedBy,
        at: DateTime<Utc>,
    ) -> Result<DecideOutcome, TaskError> {
        lock(&self.calls).enter("links:Decide")?;
        let mut st = lock(&self.state);
        let Some(r) = st.links.get_mut(&(kind, hash.clone())) else {
            return Ok(DecideOutcome::NotFound);
        };
        if r.status != LinkStatus::Pending {
            return Ok(DecideOutcome::AlreadyDecided(Box::new(r.clone())));
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

    async fn mark_delivered(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("links:Delivered")?;
        let mut st = lock(&self.state);
        match st.links.get_mut(&(kind, hash.clone())) {
            Some(r) if r.decided_at.is_some() && r.delivered_at.is_none() => {
                r.delivered_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn close(
        &self,
        kind: LinkKind,
        hash: &LinkHash,
        status: LinkStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, TaskError> {
        lock(&self.calls).enter("links:Close")?;
        let mut st = lock(&self.state);
        match st.links.get_mut(&(kind, hash.clone())) {
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
        hash: &LinkHash,
        message_id: &str,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("links:SetMessageId")?;
        if let Some(r) = lock(&self.state).links.get_mut(&(kind, hash.clone())) {
            r.message_id = Some(message_id.to_string());
        }
        Ok(())
    }
}
