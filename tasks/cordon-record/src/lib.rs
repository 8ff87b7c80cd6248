//! The record task: the incident audit trail in DynamoDB.
//!
//! One Lambda, four actions (the state machine's `Payload.action`):
//!
//! - `open`: classify the raw EventBridge event for the home account (`CORDON_ACCOUNT_ID`)
//!   and open the incident with a conditional put. When the incident exists already:
//!   - it is `FAILED`: this is a replay (a new execution with the same event). The incident
//!     is reopened (a conditional `FAILED` → `OPEN` update, timeline entry `Replayed`) and
//!     the workflow runs again;
//!   - this execution opened it (a retry of OpenIncident after a partial success): it
//!     carries on from where the first attempt got;
//!   - anything else (a duplicate delivery, a replay of a finished or rejected incident):
//!     `duplicate: true`, and the workflow ends.
//!
//!   A malformed event, or one from another account, is recorded as a `REJECTED`
//!   incident with the reason **and then** fails with `Cordon.InvalidEvent`, so the
//!   workflow's Catch sees it: a rejected event is never a silent drop, and never acted on.
//!
//!   A failed console sign-in is counted first (`signin.rs`): one incident per user or IP
//!   per window, later failures appended to it (`aggregated`), and the failure that reaches
//!   the threshold escalates it.
//! - `append`: add a timeline entry (idempotent for the same `at` + `step`).
//! - `close`: set the final status once (a redrive does not re-close).
//! - `fail`: the failure path's record: close as `FAILED` with the step and the caught
//!   error. Works when the incident was never opened (its id is derived from the raw event).
mod metrics;
use chrono::{DateTime, Utc};
use cordon_aws::incidents::{IncidentRecord, NewIncident, OpenOutcome, TimelineEntry};
use cordon_core::classify::{Dismissal, classify_in, is_other_account};
use cordon_core::model::{Detection, IncidentStatus};
use cordon_core::{Classification, TaskError, incident};
use tracing::{info, warn};

mod deps;
mod io;
mod signin;

pub use deps::{Config, Deps};
pub use io::{
    AppendInput, AppendOutput, CloseInput, CloseOutput, FailInput, Input, OpenInput, OpenOutput,
    Outcome, Output,
};

pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    match input {
        Input::Open(i) => open(i, deps).await.map(Output::Open),
        Input::Append(i) => append(i, deps).await.map(Output::Append),
        Input::Close(i) => close(i, deps).await.map(Output::Close),
        Input::Fail(i) => fail(i, deps).await.map(Output::Close),
    }
}

/// How an `open` found the incident.
enum Opening {
    /// This call created it.
    Opened,
    /// It was `FAILED`, and this call reopened it for a replay.
    Replayed { previous: Box<IncidentRecord> },
    /// This execution opened (or reopened) it on an earlier attempt of the same step.
    Resumed { current: Box<IncidentRecord> },
    /// Someone else's: a duplicate delivery, or a finished or rejected incident.
    Duplicate,
}

impl Opening {
    fn outcome(&self) -> &'static str {
        match self {
            Opening::Opened => "opened",
            Opening::Replayed { .. } => "replayed",
            Opening::Resumed { .. } => "resumed",
            Opening::Duplicate => "duplicate",
        }
    }
}
async fn open(input: OpenInput, deps: &Deps) -> Result<OpenOutput, TaskError> {
    let now = (deps.clock)();
    let classification = match classify_in(&input.event, &deps.home()) {
        Ok(c) => c,
        Err(e @ TaskError::InvalidEvent { .. }) => {
            return reject(input, e, now, deps).await;
        }
        Err(e) => return Err(e),
    };
    let classification = match classification {
        Classification::NotAnIncident {
            reason,
            dismissal: Dismissal::SignedInWithMfa,
        } => signin::with_mfa(&input.event, reason, deps).await?,
        other => other,
    };
    match classification {
        Classification::Incident(detection) => {
            let execution = input.execution_arn.as_deref();
            let (detection, first_failure) =
                match signin::before_opening(detection, execution, now, deps).await? {
                    signin::Counting::Open(d) => (*d, None),
                    signin::Counting::OpenFirst(d, counts) => (*d, Some(counts)),
                    signin::Counting::Done(output) => return Ok(*output),
                };
            let id = detection.incident_id.clone();
            let incident = NewIncident::detected(detection.clone(), input.event, now)
                .with_execution_arn(input.execution_arn);
            let opening = match deps.store.open(&incident).await? {
                OpenOutcome::Opened => Opening::Opened,
                OpenOutcome::Duplicate => existing(&incident, now, deps).await?,
            };
            record_opening(&opening, &detection, now, deps).await?;
            if let (Some(counts), false) = (&first_failure, matches!(opening, Opening::Duplicate)) {
                signin::after_opening(&detection, counts, deps).await?;
            }
            info!(
                incident_id = %id,
                step = "record.open",
                outcome = opening.outcome(),
                rule = %detection.rule,
            );
            let duplicate = matches!(opening, Opening::Duplicate);
            Ok(OpenOutput {
                outcome: if duplicate {
                    Outcome::Duplicate
                } else {
                    Outcome::Opened
                },
                duplicate,
                replayed: matches!(opening, Opening::Replayed { .. }),
                incident_id: Some(id),
                detection: Some(Box::new(detection)),
                reason: None,
                rule_arn: None,
            })
        }
        Classification::NotAnIncident { reason, dismissal } => {
            if dismissal == Dismissal::NoRule {
                // A rule routed an event no detection covers: the EventBridge rules and
                // the classifier disagree (tests/tests/agreement should have caught it).
                warn!(step = "record.open", outcome = "no_rule", %reason);
            } else {
                info!(step = "record.open", outcome = "not_an_incident", %reason);
            }
            Ok(OpenOutput {
                outcome: Outcome::NotAnIncident,
                duplicate: false,
                replayed: false,
                incident_id: None,
                detection: None,
                reason: Some(reason),
                rule_arn: None,
            })
        }
        Classification::AuditTrigger { rule_arn } => {
            info!(step = "record.open", outcome = "audit_trigger");
            Ok(OpenOutput {
                outcome: Outcome::AuditTrigger,
                duplicate: false,
                replayed: false,
                incident_id: None,
                detection: None,
                reason: None,
                rule_arn,
            })
        }
    }
}

/// The incident exists: reopen it if it failed, carry on if this execution opened it, else
/// it is a duplicate.
async fn existing(
    incident: &NewIncident,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Opening, TaskError> {
    let id = &incident.incident_id;
    let current = deps.store.get(id).await?.ok_or_else(|| {
        // The conditional put found it a moment ago: read again on the retry.
        TaskError::transient(
            "dynamodb:GetItem",
            format!("incident {id} exists but could not be read back yet"),
        )
    })?;
    if current.status == IncidentStatus::Failed {
        return Ok(if deps.store.reopen(incident, now).await? {
            Opening::Replayed {
                previous: Box::new(current),
            }
        } else {
            // Another replay reopened it first; it carries on, this one ends.
            Opening::Duplicate
        });
    }
    let ours = incident.execution_arn.is_some() && current.execution_arn == incident.execution_arn;
    let in_progress = matches!(
        current.status,
        IncidentStatus::Open | IncidentStatus::AwaitingApproval
    );
    Ok(if ours && in_progress {
        Opening::Resumed {
            current: Box::new(current),
        }
    } else {
        Opening::Duplicate
    })
}

/// The timeline entries of an opening. Each is keyed by a time the incident item keeps
/// (`opened_at`, `replayed_at`), so a retried open writes none twice.
async fn record_opening(
    opening: &Opening,
    detection: &Detection,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<(), TaskError> {
    let id = &detection.incident_id;
    let opened = |at: DateTime<Utc>| TimelineEntry {
        at,
        step: "OpenIncident".into(),
        message: format!("incident opened: {}", detection.title),
        details: Some(serde_json::json!({ "rule": detection.rule })),
    };
    match opening {
        Opening::Opened => {
            deps.store.append(id, &opened(now)).await?;
        }
        Opening::Replayed { previous } => {
            deps.store
                .append(id, &replayed_entry(now, Some(previous)))
                .await?;
        }
        Opening::Resumed { current } => {
            if let Some(at) = current.opened_at {
                deps.store.append(id, &opened(at)).await?;
            }
            if let Some(at) = current.replayed_at {
                deps.store.append(id, &replayed_entry(at, None)).await?;
            }
        }
        Opening::Duplicate => {}
    }
    Ok(())
}

/// The `Replayed` timeline entry: what failed before, and which execution took over.
fn replayed_entry(at: DateTime<Utc>, previous: Option<&IncidentRecord>) -> TimelineEntry {
    let summary = previous.and_then(|p| p.summary.clone());
    TimelineEntry {
        at,
        step: "Replayed".into(),
        message: match &summary {
            Some(s) => format!("replayed: the FAILED incident was reopened (it had failed: {s})"),
            None => "replayed: the FAILED incident was reopened".to_string(),
        },
        details: previous.map(|p| {
            serde_json::json!({
                "previousExecutionArn": p.execution_arn,
                "previousSummary": summary,
            })
        }),
    }
}

/// Record a rejected event (malformed, or of another account) as a REJECTED incident with
/// the reason, then fail with the original error.
async fn reject(
    input: OpenInput,
    error: TaskError,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<OpenOutput, TaskError> {
    let id = incident::rejected_incident_id(&input.event);
    let message = error.to_string();
    let other_account = is_other_account(&error);
    let mut incident = NewIncident::rejected(&id, input.event, &message, now)
        .with_execution_arn(input.execution_arn);
    if other_account {
        incident.title = Some(format!(
            "event not from the home account {} rejected",
            deps.home_account
        ));
    }
    let outcome = deps.store.open(&incident).await?;
    if outcome == OpenOutcome::Opened {
        deps.store
            .append(
                &id,
                &TimelineEntry {
                    at: now,
                    step: "Rejected".into(),
                    message: message.clone(),
                    details: None,
                },
            )
            .await?;
    }
    warn!(
        incident_id = %id,
        step = "record.open",
        outcome = if other_account { "rejected_other_account" } else { "rejected" },
        error = %message,
    );
    Err(error)
}

async fn append(input: AppendInput, deps: &Deps) -> Result<AppendOutput, TaskError> {
    let at = input.at.unwrap_or_else(|| (deps.clock)());
    let counts = metrics::counted_entry(&input.step, input.details.as_ref());
    let appended = deps
        .store
        .append(
            &input.incident_id,
            &TimelineEntry {
                at,
                step: input.step.clone(),
                message: input.message,
                details: input.details,
            },
        )
        .await?;
    info!(
        incident_id = %input.incident_id,
        step = "record.append",
        timeline_step = %input.step,
        outcome = if appended { "appended" } else { "already_recorded" },
    );
    Ok(AppendOutput {
        incident_id: input.incident_id,
        appended,
        counts: counts.filter(|_| appended),
    })
}

/// Close the incident as `FAILED` with the step and the error the workflow caught. A
/// missing incident (OpenIncident failed) is recorded under the id its event gives it.
async fn fail(input: FailInput, deps: &Deps) -> Result<CloseOutput, TaskError> {
    let incident_id = match (
        input.incident_id.filter(|id| !id.trim().is_empty()),
        &input.event,
    ) {
        (Some(id), _) => id,
        (None, Some(event)) => incident::incident_id_for_raw_event(event),
        (None, None) => {
            return Err(TaskError::invalid(
                "incidentId",
                "is null and there is no event to derive it from: pass the raw event as \
                 `event` when OpenIncident failed",
            ));
        }
    };
    let step = input.step.filter(|s| !s.trim().is_empty());
    let summary = match &step {
        Some(step) => format!("{step} failed: {}", input.error.summary()),
        None => input.error.summary(),
    };
    let now = (deps.clock)();
    let outcome = deps
        .store
        .close(
            &incident_id,
            IncidentStatus::Failed,
            now,
            Some(&summary),
            input.execution_arn.as_deref(),
        )
        .await?;
    if outcome.changed || outcome.by_caller {
        deps.store
            .append(
                &incident_id,
                &TimelineEntry {
                    at: outcome.closed_at.unwrap_or(now),
                    step: "Close".into(),
                    message: format!("closed as FAILED: {summary}"),
                    details: Some(serde_json::json!({
                        "step": step,
                        "error": input.error.error,
                        "cause": input.error.message(),
                        "executionArn": input.execution_arn,
                    })),
                },
            )
            .await?;
    }
    warn!(
        incident_id = %incident_id,
        step = "record.fail",
        failed_step = step.as_deref().unwrap_or("unknown"),
        error = input.error.name().unwrap_or("unknown"),
        outcome = if outcome.changed { "failed" } else { "already_closed" },
        status = outcome.status.as_str(),
    );
    Ok(CloseOutput {
        incident_id,
        status: outcome.status,
        changed: outcome.changed,
        closing: None,
    })
}

async fn close(input: CloseInput, deps: &Deps) -> Result<CloseOutput, TaskError> {
    let now = (deps.clock)();
    let outcome = deps
        .store
        .close(
            &input.incident_id,
            input.status,
            now,
            input.summary.as_deref(),
            input.execution_arn.as_deref(),
        )
        .await?;
    // The closing entry is written by the call that closed the incident, or by a retry of
    // it (same execution, same status) in case the first try stopped before writing it; it
    // is keyed by the close time, so it is written once.
    if outcome.changed || outcome.by_caller {
        deps.store
            .append(
                &input.incident_id,
                &TimelineEntry {
                    at: outcome.closed_at.unwrap_or(now),
                    step: "Close".into(),
                    message: match &input.summary {
                        Some(s) => format!("closed as {}: {s}", outcome.status.as_str()),
                        None => format!("closed as {}", outcome.status.as_str()),
                    },
                    details: None,
                },
            )
            .await?;
    }
    info!(
        incident_id = %input.incident_id,
        step = "record.close",
        status = outcome.status.as_str(),
        outcome = if outcome.changed { "closed" } else { "already_closed" },
    );
    // The metrics (time to contain, per rule and severity) read the incident once, when
    // this call closed it; a read that fails costs a metric sample, never the close.
    let closing = match outcome.changed {
        true => deps
            .store
            .get(&input.incident_id)
            .await
            .ok()
            .flatten()
            .map(|record| metrics::Closing::of(&record)),
        false => None,
    };
    Ok(CloseOutput {
        incident_id: input.incident_id,
        status: outcome.status,
        changed: outcome.changed,
        closing,
    })
}

// Only `CORDON_TABLE_NAME` is read: the failure path's record depends on nothing else.
cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
    measure: measure,
}

/// The domain metrics of an invocation's result: first opens, first closes and first
/// appends of a decision or a timeout only, so a retried step counts nothing twice (see
/// `metrics.rs`).
fn measure(output: &Output, at: DateTime<Utc>) -> Vec<cordon_core::metrics::MetricsLine> {
    match output {
        Output::Open(open) if open.outcome == Outcome::Opened && !open.replayed => {
            metrics::opened(open.detection.as_ref().map(|d| d.rule.as_str()), at)
        }
        Output::Close(close) if close.changed => {
            metrics::closed(close.status, close.closing.as_ref(), at)
        }
        Output::Append(AppendOutput {
            counts: Some(name), ..
        }) => metrics::count(name, at),
        _ => Vec::new(),
    }
}
