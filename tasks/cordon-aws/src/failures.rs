//! The failed sign-in counters ([`FailureCounter`]): one atomic counter per user and per
//! source IP with its window, the link from a window to the incident it opened, a marker
//! per counted event (so a duplicate delivery or a retry counts nothing twice), and the
//! escalation of an incident when a count reaches the threshold. What the counts mean is
//! `cordon_core::failures`; the items are in `TABLE.md`.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;
use cordon_core::failures::{FailureKey, KeyCount};
use cordon_core::model::IncidentStatus;
use serde::{Deserialize, Serialize};

/// A key's counter after one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub count: KeyCount,
    /// The incident the key's current window belongs to (this failure's own claim when it
    /// came first).
    pub incident: Option<String>,
}

/// What became of a counted sign-in: kept with its event marker, so a retry of the same
/// execution carries on with the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountedEvent {
    /// The incident the failure belongs to.
    pub incident_id: String,
    /// This failure opened it.
    pub opened: bool,
    /// The failure count on the incident after this one.
    pub incident_count: u64,
    pub counts: Vec<KeyCount>,
}

/// The marker of an event that was counted before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub execution_arn: Option<String>,
    /// `None` when counting did not finish (a crash between the marker and the result).
    pub counted: Option<CountedEvent>,
}

/// How an escalation found its incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escalation {
    /// Reopened (status `OPEN`) for this execution to assess again.
    Reopened,
    /// Escalated to this level (or higher) before.
    AlreadyEscalated,
    /// Its first execution is still running (`OPEN`): try again shortly.
    InFlight,
    /// Waiting for a human, or contained, released, rejected: nothing to reopen.
    Settled(IncidentStatus),
    /// The incident does not exist.
    Missing,
}

#[async_trait]
pub trait FailureCounter: Send + Sync {
    /// Counts one failure against `key` at `at` (the sign-in's time). The key's window
    /// opens at its first failure and lasts `window_seconds`. In the same atomic write the
    /// window is claimed for `claim` (the incident this failure would open) unless an
    /// incident holds it already: of failures counted at once, exactly one opens the
    /// window's incident and the others join it ([`Counted::incident`] is the holder).
    /// Each `event_id` is counted once: counting it again (a write whose answer was lost, a
    /// retried step) answers the count without adding to it.
    async fn count(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
        claim: &str,
        event_id: &str,
    ) -> Result<Counted, TaskError>;

    /// Links the key's window that opened at `window_start` to `incident_id`, unless
    /// another incident than `replacing` (a claim that lost to `incident_id` on another
    /// key) holds it; returns the incident it is linked to.
    async fn link(
        &self,
        key: &FailureKey,
        window_start: DateTime<Utc>,
        incident_id: &str,
        replacing: &str,
        window_seconds: u64,
    ) -> Result<String, TaskError>;

    /// The count of `key`'s window at `at`, without counting; `None` outside any window.
    async fn current(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
    ) -> Result<Option<KeyCount>, TaskError>;

    /// Marks `event_id` as being counted by `execution_arn`; the earlier marker when it
    /// was marked before.
    async fn mark(
        &self,
        event_id: &str,
        execution_arn: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<Marker>, TaskError>;

    /// Records what the counting of `event_id` came to.
    async fn settle(&self, event_id: &str, counted: &CountedEvent) -> Result<(), TaskError>;

    /// Starts the incident's own failure count at 1 (its first failure), unless counted.
    async fn first_of_incident(&self, incident_id: &str) -> Result<(), TaskError>;

    /// Adds failure `event_id` to the incident's own count, once (as [`Self::count`]);
    /// returns the count. `Transient` while the incident is not recorded yet (the failure
    /// that claimed the window is still opening it).
    async fn add_to_incident(&self, incident_id: &str, event_id: &str) -> Result<u64, TaskError>;

    /// Reopens the incident for escalation `level` (once per level) if its first
    /// execution is done with it (`NOTIFIED`, `CLOSED`, `DISMISSED` or `FAILED`).
    async fn escalate(
        &self,
        incident_id: &str,
        level: u8,
        at: DateTime<Utc>,
        execution_arn: Option<&str>,
    ) -> Result<Escalation, TaskError>;
}
