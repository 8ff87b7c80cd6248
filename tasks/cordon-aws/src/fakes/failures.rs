//! The failed sign-in counter fake, with the DynamoDB adapter's semantics (windows that
//! open at the first failure, links set once, one marker per event, escalation once per
//! level and only when the incident's first execution is done). The incidents it escalates
//! live in a [`FakeIncidentStore`].
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cordon_core::TaskError;
use cordon_core::failures::{FailureKey, KeyCount};
use cordon_core::model::IncidentStatus;

use super::calls::{Calls, call_log_api, lock};
use super::incidents::FakeIncidentStore;
use crate::failures::{Counted, CountedEvent, Escalation, FailureCounter, Marker};

#[derive(Debug, Default)]
struct State {
    counters: BTreeMap<String, (u64, DateTime<Utc>, Option<String>)>,
    markers: BTreeMap<String, Marker>,
    incident_counts: BTreeMap<String, u64>,
    /// The events counted, per counter key or incident (the table keeps the latest 100;
    /// the fake keeps them all).
    counted_events: BTreeMap<String, BTreeSet<String>>,
    levels: BTreeMap<String, u8>,
}

#[derive(Debug)]
pub struct FakeFailureCounter {
    incidents: Arc<FakeIncidentStore>,
    state: Mutex<State>,
    calls: Mutex<Calls>,
}

impl FakeFailureCounter {
    pub fn new(incidents: Arc<FakeIncidentStore>) -> Self {
        Self {
            incidents,
            state: Mutex::new(State::default()),
            calls: Mutex::new(Calls::default()),
        }
    }

    call_log_api!();
}

#[async_trait]
impl FailureCounter for FakeFailureCounter {
    async fn count(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
        claim: &str,
        event_id: &str,
    ) -> Result<Counted, TaskError> {
        lock(&self.calls).enter("dynamodb:UpdateItem")?;
        let mut state = lock(&self.state);
        let state = &mut *state;
        let cutoff = at - Duration::seconds(window_seconds as i64);
        let entry = state.counters.entry(key.as_key()).or_insert((0, at, None));
        let events = state
            .counted_events
            .entry(format!("key#{}", key.as_key()))
            .or_default();
        if entry.1 <= cutoff || entry.0 == 0 {
            *entry = (0, at, None);
            events.clear();
        }
        if events.insert(event_id.to_string()) {
            entry.0 += 1;
        }
        entry.2.get_or_insert_with(|| claim.to_string());
        Ok(Counted {
            count: KeyCount {
                key: key.clone(),
                count: entry.0,
                window_start: entry.1,
            },
            incident: entry.2.clone(),
        })
    }

    async fn link(
        &self,
        key: &FailureKey,
        window_start: DateTime<Utc>,
        incident_id: &str,
        replacing: &str,
        _window_seconds: u64,
    ) -> Result<String, TaskError> {
        lock(&self.calls).enter("dynamodb:UpdateItem")?;
        let mut state = lock(&self.state);
        match state.counters.get_mut(&key.as_key()) {
            Some(c) if c.1 == window_start => {
                if c.2.as_deref().is_none_or(|held| held == replacing) {
                    c.2 = Some(incident_id.to_string());
                }
                Ok(c.2.clone().unwrap_or_else(|| incident_id.to_string()))
            }
            _ => Ok(incident_id.to_string()),
        }
    }

    async fn current(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
    ) -> Result<Option<KeyCount>, TaskError> {
        lock(&self.calls).enter("dynamodb:GetItem")?;
        let state = lock(&self.state);
        let cutoff = at - Duration::seconds(window_seconds as i64);
        Ok(state
            .counters
            .get(&key.as_key())
            .filter(|c| c.1 > cutoff)
            .map(|c| KeyCount {
                key: key.clone(),
                count: c.0,
                window_start: c.1,
            }))
    }

    async fn mark(
        &self,
        event_id: &str,
        execution_arn: Option<&str>,
        _at: DateTime<Utc>,
    ) -> Result<Option<Marker>, TaskError> {
        lock(&self.calls).enter("dynamodb:PutItem")?;
        let mut state = lock(&self.state);
        if let Some(existing) = state.markers.get(event_id) {
            return Ok(Some(existing.clone()));
        }
        state.markers.insert(
            event_id.to_string(),
            Marker {
                execution_arn: execution_arn.map(str::to_string),
                counted: None,
            },
        );
        Ok(None)
    }

    async fn settle(&self, event_id: &str, counted: &CountedEvent) -> Result<(), TaskError> {
        lock(&self.calls).enter("dynamodb:UpdateItem")?;
        if let Some(m) = lock(&self.state).markers.get_mut(event_id) {
            m.counted = Some(counted.clone());
        }
        Ok(())
    }

    async fn first_of_incident(&self, incident_id: &str) -> Result<(), TaskError> {
        lock(&self.calls).enter("dynamodb:UpdateItem")?;
        lock(&self.state)
            .incident_counts
            .entry(incident_id.to_string())
            .or_insert(1);
        Ok(())
    }

    async fn add_to_incident(&self, incident_id: &str, event_id: &str) -> Result<u64, TaskError> {
        lock(&self.calls).enter("dynamodb:UpdateItem")?;
        let mut state = lock(&self.state);
        let state = &mut *state;
        // Counted from 1 by the failure that opened it; until then it is being opened.
        let Some(n) = state.incident_counts.get_mut(incident_id) else {
            return Err(TaskError::transient(
                "dynamodb:UpdateItem",
                format!("incident {incident_id} is being opened"),
            ));
        };
        let events = state
            .counted_events
            .entry(format!("incident#{incident_id}"))
            .or_default();
        if events.insert(event_id.to_string()) {
            *n += 1;
        }
        Ok(*n)
    }

    async fn escalate(
        &self,
        incident_id: &str,
        level: u8,
        at: DateTime<Utc>,
        _execution_arn: Option<&str>,
    ) -> Result<Escalation, TaskError> {
        lock(&self.calls).enter("dynamodb:UpdateItem")?;
        let Some(record) = crate::IncidentStore::get(&*self.incidents, incident_id).await? else {
            return Ok(Escalation::Missing);
        };
        let mut state = lock(&self.state);
        if state.levels.get(incident_id).is_some_and(|l| *l >= level) {
            return Ok(Escalation::AlreadyEscalated);
        }
        Ok(match record.status {
            IncidentStatus::Notified
            | IncidentStatus::Closed
            | IncidentStatus::Dismissed
            | IncidentStatus::Failed => {
                state.levels.insert(incident_id.to_string(), level);
                drop(state);
                self.incidents
                    .force_status(incident_id, IncidentStatus::Open, at);
                Escalation::Reopened
            }
            IncidentStatus::Open => Escalation::InFlight,
            other => Escalation::Settled(other),
        })
    }
}
