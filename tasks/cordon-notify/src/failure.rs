//! The failure notification: the last line of the workflow's failure path, so it depends on
//! as little as possible.
//!
//! - No detection is needed: when OpenIncident failed, the incident id is derived from the
//!   raw event (as record derives it) and the message shows the event's essentials.
//! - The audit table is not needed. The idempotency marker lives there, but a marker that
//!   cannot be read or written does not stop the message: a possible duplicate email is
//!   better than silence. The marker is per execution (`failure#<execution ARN>`), so a
//!   retry or redrive of this execution does not send it twice when the table works, and a
//!   replay that fails again is reported again.
use cordon_core::event::EventEssentials;
use cordon_core::notify::{FailureReport, NotificationContext, NotificationKind};
use cordon_core::{TaskError, incident};
use tracing::{info, warn};

use crate::config::Deps;
use crate::payload::{Input, Output};

/// The marker kind of the failure notification for `execution_arn`.
pub fn failure_marker(execution_arn: Option<&str>) -> String {
    match execution_arn.filter(|a| !a.is_empty()) {
        Some(arn) => format!("{}#{arn}", NotificationKind::Failure.as_str()),
        None => NotificationKind::Failure.as_str().to_string(),
    }
}

/// Sends the failure notification once per execution, table or no table.
pub(crate) async fn notify_failure(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    let kind = NotificationKind::Failure;
    let id = match (input.incident_id.trim(), &input.event) {
        (id, _) if !id.is_empty() => id.to_string(),
        (_, Some(event)) => incident::incident_id_for_raw_event(event),
        _ => {
            return Err(TaskError::invalid(
                "incidentId",
                "is empty and there is no event to derive it from: pass the raw event as \
                 `event` when OpenIncident failed",
            ));
        }
    };
    let marker = failure_marker(input.execution_arn.as_deref());
    match deps.store.notification(&id, &marker).await {
        Ok(Some(mark)) => {
            info!(incident_id = %id, step = "notify", kind = kind.as_str(), outcome = "already_sent");
            return Ok(Output::already_sent(id, kind, mark.message_id));
        }
        Ok(None) => {}
        Err(e) => warn!(
            incident_id = %id,
            step = "notify",
            kind = kind.as_str(),
            error = %e,
            "the notification marker cannot be read; sending anyway (a duplicate is better than silence)"
        ),
    }

    let caught = input.error.as_ref().and_then(|e| e.caught()).cloned();
    let ctx = NotificationContext {
        incident_id: id.clone(),
        detection: input.detection,
        assessment: input.assessment,
        error: input.error.as_ref().map(|e| e.summary()),
        event: input.event.as_ref().map(EventEssentials::from_event),
        failure: Some(FailureReport {
            step: input.step.unwrap_or_default(),
            error: caught.unwrap_or_default(),
            execution_arn: input.execution_arn,
            state_machine_arn: input.state_machine_arn,
            quarantine_policy_arn: deps.quarantine_policy_arn.clone(),
        }),
        note: input.note,
        ..NotificationContext::default()
    };
    let message_id = deps.publish(kind, &ctx).await?;
    if let Err(e) = deps
        .store
        .mark_notified(&id, &marker, Some(&message_id), (deps.clock)())
        .await
    {
        warn!(
            incident_id = %id,
            step = "notify",
            kind = kind.as_str(),
            error = %e,
            message_id = %message_id,
            "sent, but the marker could not be written: a retry or redrive may send it again"
        );
    }
    info!(
        incident_id = %id,
        step = "notify",
        kind = kind.as_str(),
        outcome = "sent",
        message_id = %message_id,
    );
    Ok(Output::sent(id, kind, message_id))
}
