//! Failed console sign-ins, counted before an incident is opened (`cordon_core::failures`
//! says what the counts mean; `cordon_aws::failures` keeps them):
//!
//! - a failure counts against its IP and its user. If either already has an incident in
//!   its window, the failure is appended to that incident's timeline with the count
//!   (`SignInFailure <n>`), and no incident is opened: the workflow ends at `Aggregated`;
//! - the failure that brings a count to the threshold (or twice it) escalates that
//!   incident instead: it is reopened and this execution assesses it again with the count;
//!   while the incident's first execution still runs, the escalation waits (it answers
//!   `Cordon.Transient`, which the workflow retries with backoff);
//! - otherwise the failure opens the incident, and the keys' windows are linked to it;
//! - a successful sign-in from an IP (or for a user) with a burst of failures in the window
//!   becomes `signin.console-login-after-failures`, with MFA or without (a sign-in with
//!   MFA is otherwise not an incident: [`with_mfa`]).
//!
//! Each failure event is counted once: a marker per `eventID` stops a duplicate delivery
//! (it ends as a duplicate) and lets a retry of the same execution carry on with the same
//! answer.
use chrono::{DateTime, Utc};
use cordon_aws::failures::{CountedEvent, Escalation};
use cordon_aws::incidents::TimelineEntry;
use cordon_core::Classification;
use cordon_core::TaskError;
use cordon_core::classify::{Dismissal, sign_in_with_mfa};
use cordon_core::failures::{
    FailureKey, FailureWindow, KeyCount, after_failures, escalated, escalation, failure_keys,
    is_checked_success, is_counted_failure,
};
use cordon_core::model::Detection;
use serde_json::{Value, json};
use tracing::info;

use crate::deps::Deps;
use crate::io::{OpenOutput, Outcome};

/// What counting decided for a detection.
pub(crate) enum Counting {
    /// Open the incident for this detection (a first failure, a success, anything else).
    Open(Box<Detection>),
    /// The failure opened its incident earlier: after opening, link and count it
    /// ([`after_opening`]).
    OpenFirst(Box<Detection>, Vec<KeyCount>),
    /// Done: the workflow ends (appended to an incident) or goes on (escalated).
    Done(Box<OpenOutput>),
}

/// Counts `detection` if it is a failed or successful sign-in (see the module docs).
pub(crate) async fn before_opening(
    detection: Detection,
    execution_arn: Option<&str>,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Counting, TaskError> {
    let window = deps.window;
    if is_checked_success(&detection) {
        let counts = current_counts(&detection, deps).await?;
        return Ok(Counting::Open(Box::new(
            after_failures(&detection, &counts, window).unwrap_or(detection),
        )));
    }
    let keys = failure_keys(&detection);
    if !is_counted_failure(&detection) || keys.is_empty() {
        return Ok(Counting::Open(Box::new(detection)));
    }
    let event_id = detection.event_id.clone();
    let counted = match deps.failures.mark(&event_id, execution_arn, now).await? {
        None => None,
        Some(marker) if marker.execution_arn.as_deref() == execution_arn => marker.counted,
        Some(_) => {
            info!(step = "record.open", outcome = "duplicate", event_id = %event_id);
            return Ok(Counting::Done(Box::new(output(
                Outcome::Duplicate,
                None,
                None,
                Some(format!("failed sign-in {event_id} was counted before")),
            ))));
        }
    };
    let counted = match counted {
        Some(c) => added_to_incident(&event_id, c, deps).await?,
        None => count(&detection, &keys, window, deps).await?,
    };
    if counted.opened {
        // A retry of the execution that opened it.
        let d = annotated(&detection, &counted.counts, window);
        return Ok(Counting::OpenFirst(Box::new(d), counted.counts));
    }
    joined(detection, counted, execution_arn, now, deps).await
}

/// A console sign-in with MFA ([`Dismissal::SignedInWithMfa`]): an incident
/// (`signin.console-login-after-failures`) when it follows a burst of failures from its IP
/// or for its user within the window, else not an incident (`reason`, with why).
pub(crate) async fn with_mfa(
    event: &Value,
    reason: String,
    deps: &Deps,
) -> Result<Classification, TaskError> {
    let not_an_incident = |reason: String| Classification::NotAnIncident {
        reason,
        dismissal: Dismissal::SignedInWithMfa,
    };
    let Some(candidate) = sign_in_with_mfa(event, &deps.home())? else {
        return Ok(not_an_incident(reason));
    };
    let counts = current_counts(&candidate, deps).await?;
    Ok(match after_failures(&candidate, &counts, deps.window) {
        Some(d) => Classification::Incident(d),
        None => not_an_incident(format!(
            "{reason}; fewer than {} failed sign-ins from its IP or for its user in the last \
             {} s",
            deps.window.threshold, deps.window.seconds
        )),
    })
}

/// The failures counted against a sign-in's IP and user in the current window.
async fn current_counts(detection: &Detection, deps: &Deps) -> Result<Vec<KeyCount>, TaskError> {
    let mut counts = Vec::new();
    for key in failure_keys(detection) {
        if let Some(c) = deps
            .failures
            .current(&key, detection.event_time, deps.window.seconds)
            .await?
        {
            counts.push(c);
        }
    }
    Ok(counts)
}

/// Counts a failure against its keys. When its user or IP already has an incident in its
/// window (opened, or claimed by a failure counted at the same time), the failure joins it
/// (the incident's count goes up); otherwise it claimed the windows and will open one. What was counted is kept on the event's marker at once, so a retry never counts
/// it twice.
async fn count(
    detection: &Detection,
    keys: &[cordon_core::failures::FailureKey],
    window: FailureWindow,
    deps: &Deps,
) -> Result<CountedEvent, TaskError> {
    // Each key's window is claimed for this failure's incident unless another holds it.
    let mine = &detection.incident_id;
    let mut counts = Vec::new();
    let mut held = Vec::new();
    for key in keys {
        let c = deps
            .failures
            .count(
                key,
                detection.event_time,
                window.seconds,
                mine,
                &detection.event_id,
            )
            .await?;
        held.push((key.clone(), c.incident.filter(|holder| holder != mine)));
        counts.push(c.count);
    }
    let incident = winner(&held, deps).await?;
    let counted = match incident {
        None => CountedEvent {
            incident_id: detection.incident_id.clone(),
            opened: true,
            incident_count: 1,
            counts,
        },
        Some(incident) => {
            // A key this failure claimed goes to the incident it joins.
            for c in &counts {
                deps.failures
                    .link(&c.key, c.window_start, &incident, mine, window.seconds)
                    .await?;
            }
            // Kept before the incident's own count is added: a retry (the incident may
            // still be being opened) carries on from here, never counting the keys again.
            CountedEvent {
                incident_id: incident,
                opened: false,
                incident_count: 0,
                counts,
            }
        }
    };
    deps.failures.settle(&detection.event_id, &counted).await?;
    added_to_incident(&detection.event_id, counted, deps).await
}

/// Which incident a failure whose keys are `held` (by another incident than its own, or
/// `None`) belongs to; `None`: its own, which it opens.
///
/// Failures counted at the same moment may each claim one of the keys the others need.
/// So that they all agree, with no two waiting on each other, the source IP decides (a
/// spray from one IP is one incident, however many user names it tries): the failure
/// joins whoever holds its IP; one that holds its IP itself still joins an incident already
/// recorded on its user. (So failures for one user from many IPs at the same moment may
/// open one incident per IP; counted one after another, they gather on the user's.)
async fn winner(
    held: &[(FailureKey, Option<String>)],
    deps: &Deps,
) -> Result<Option<String>, TaskError> {
    let first = held
        .iter()
        .min_by_key(|(key, _)| !matches!(key, FailureKey::Ip(_)));
    if let Some((_, Some(holder))) = first {
        return Ok(Some(holder.clone()));
    }
    for holder in held.iter().filter_map(|(_, h)| h.as_ref()) {
        if deps.store.get(holder).await?.is_some() {
            return Ok(Some(holder.clone()));
        }
    }
    Ok(None)
}

/// A failure that joins an incident and is not on the incident's own count yet
/// (`incident_count` 0) is added to it, and what it came to is kept.
async fn added_to_incident(
    event_id: &str,
    counted: CountedEvent,
    deps: &Deps,
) -> Result<CountedEvent, TaskError> {
    if counted.opened || counted.incident_count > 0 {
        return Ok(counted);
    }
    let incident_count = deps
        .failures
        .add_to_incident(&counted.incident_id, event_id)
        .await?;
    let counted = CountedEvent {
        incident_count,
        ..counted
    };
    deps.failures.settle(event_id, &counted).await?;
    Ok(counted)
}

/// A failure counted into an open window: appended to the incident's timeline, and the
/// incident escalated when the count reached the threshold.
async fn joined(
    detection: Detection,
    counted: CountedEvent,
    execution_arn: Option<&str>,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Counting, TaskError> {
    let window = deps.window;
    let id = counted.incident_id.clone();
    append_failure(
        &detection,
        &id,
        counted.incident_count,
        &counted.counts,
        deps,
    )
    .await?;
    let Some((level, crossed)) = escalation(&counted.counts, window) else {
        info!(
            incident_id = %id,
            step = "record.open",
            outcome = "aggregated",
            count = counted.incident_count,
        );
        return Ok(Counting::Done(Box::new(output(
            Outcome::Aggregated,
            Some(id.clone()),
            None,
            Some(format!(
                "failed sign-in {} of incident {id}",
                counted.incident_count
            )),
        ))));
    };
    let mut d = escalated(&detection, &id, crossed, window);
    d.evidence.insert("escalationLevel".into(), json!(level));
    d.evidence
        .insert("incidentFailureCount".into(), json!(counted.incident_count));
    match deps
        .failures
        .escalate(&id, level, now, execution_arn)
        .await?
    {
        Escalation::Reopened => {
            deps.store
                .append(
                    &id,
                    &TimelineEntry {
                        at: now,
                        step: format!("Escalated {level}"),
                        message: d.title.clone(),
                        details: Some(json!({ "counts": counted.counts, "level": level })),
                    },
                )
                .await?;
            info!(incident_id = %id, step = "record.open", outcome = "escalated", level);
            Ok(Counting::Done(Box::new(output(
                Outcome::Opened,
                Some(id),
                Some(d),
                None,
            ))))
        }
        Escalation::InFlight => Err(TaskError::transient(
            "record.open",
            format!(
                "incident {id} reached the failure threshold while its first execution still \
                 runs; the escalation waits for it"
            ),
        )),
        Escalation::AlreadyEscalated | Escalation::Settled(_) | Escalation::Missing => {
            info!(incident_id = %id, step = "record.open", outcome = "aggregated");
            Ok(Counting::Done(Box::new(output(
                Outcome::Aggregated,
                Some(id.clone()),
                None,
                Some(format!(
                    "failed sign-in {} of incident {id} (already escalated or decided)",
                    counted.incident_count
                )),
            ))))
        }
    }
}

/// After the first failure opened its incident: link the keys' windows to it, start its
/// count, and put the failure on its timeline. Safe to run again.
pub(crate) async fn after_opening(
    detection: &Detection,
    counts: &[KeyCount],
    deps: &Deps,
) -> Result<(), TaskError> {
    let id = &detection.incident_id;
    deps.failures.first_of_incident(id).await?;
    for c in counts {
        deps.failures
            .link(&c.key, c.window_start, id, id, deps.window.seconds)
            .await?;
    }
    append_failure(detection, id, 1, counts, deps).await
}

async fn append_failure(
    detection: &Detection,
    incident_id: &str,
    n: u64,
    counts: &[KeyCount],
    deps: &Deps,
) -> Result<(), TaskError> {
    let keys: Vec<String> = counts
        .iter()
        .map(|c| format!("{} {}", c.count, c.key.describe()))
        .collect();
    deps.store
        .append(
            incident_id,
            &TimelineEntry {
                at: detection.event_time,
                step: format!("SignInFailure {n}"),
                message: format!(
                    "failed sign-in {n}: {} ({} in the window)",
                    detection.title,
                    keys.join(", ")
                ),
                details: Some(json!({
                    "count": n,
                    "eventId": detection.event_id,
                    "sourceIp": detection.source_ip,
                    "counts": counts,
                })),
            },
        )
        .await?;
    Ok(())
}

/// The first failure of an incident, with its counts (escalated when the threshold is 1).
fn annotated(detection: &Detection, counts: &[KeyCount], window: FailureWindow) -> Detection {
    match escalation(counts, window) {
        Some((level, crossed)) => {
            let mut d = escalated(detection, &detection.incident_id, crossed, window);
            d.evidence.insert("escalationLevel".into(), json!(level));
            d
        }
        None => {
            let mut d = detection.clone();
            if let Some(max) = counts.iter().map(|c| c.count).max() {
                d.evidence.insert("failureCount".into(), json!(max));
            }
            d.evidence.insert("failureCounts".into(), json!(counts));
            d
        }
    }
}

fn output(
    outcome: Outcome,
    incident_id: Option<String>,
    detection: Option<Detection>,
    reason: Option<String>,
) -> OpenOutput {
    OpenOutput {
        outcome,
        duplicate: outcome == Outcome::Duplicate,
        replayed: false,
        incident_id,
        detection: detection.map(Box::new),
        reason,
        rule_arn: None,
    }
}
