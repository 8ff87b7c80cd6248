//! Approval mode: the token of a `.waitForTaskToken` invocation is stored under a random
//! approval id (once per token), and the email carries only the link to it (once per
//! approval). The token never appears in the email, a log line or an error.
use chrono::Duration;
use cordon_aws::links::{LinkKind, LinkStatus, LinkSummary, NewLink, redact};
use cordon_core::TaskError;
use cordon_core::model::IncidentStatus;
use cordon_core::notify::NotificationContext;
use tracing::info;

use crate::config::Deps;
use crate::payload::{Input, Output};

/// Approval mode: store the token under a random approval id (once per token), then email
/// the link (once per approval).
pub(crate) async fn request_approval(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    let id = input.incident_id.clone();
    let kind = input.kind;
    let token = input.task_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        TaskError::invalid(
            "taskToken",
            "is missing: an approval request must be invoked with .waitForTaskToken and \
             pass \"taskToken.$\": \"$$.Task.Token\"",
        )
    })?;
    let base = deps.approval_url.as_deref().ok_or_else(|| {
        TaskError::Config(
            "environment variable CORDON_APPROVAL_URL is not set; set it to the approval \
             function's URL (the ApprovalFunctionUrl output) so approval links can be sent"
                .into(),
        )
    })?;
    let now = (deps.clock)();
    let timeout = input
        .timeout_seconds
        .filter(|t| *t > 0)
        .unwrap_or(deps.approval_timeout_seconds)
        .clamp(1, i64::MAX as u64 / 2);
    let expires_at = now + Duration::seconds(i64::try_from(timeout).unwrap_or(i64::MAX / 2));
    let summary = LinkSummary::new(input.detection.as_ref(), input.assessment.as_ref());
    let created = deps
        .links
        .create(&NewLink::approval(
            &id,
            token.clone(),
            summary,
            now,
            expires_at,
        ))
        .await
        .map_err(|e| redact(e, &token))?;
    let approval = created.record;
    if let Some(message_id) = approval.message_id.clone() {
        awaiting_approval(deps, &id, now).await?;
        info!(incident_id = %id, step = "notify", kind = kind.as_str(), approval = approval.hash.short(), outcome = "already_sent");
        return Ok(Output::already_sent(id, kind, Some(message_id)));
    }
    let Some(link_id) = created
        .id
        .filter(|_| approval.status == LinkStatus::Pending)
    else {
        // Decided (or closed) before the earlier run recorded its message, or another run
        // is sending it: nothing to ask.
        info!(incident_id = %id, step = "notify", kind = kind.as_str(), approval = approval.hash.short(), status = approval.status.as_str(), outcome = "already_decided");
        return Ok(Output::already_sent(id, kind, None));
    };

    let ctx = NotificationContext {
        incident_id: id.clone(),
        detection: input.detection,
        assessment: input.assessment,
        approval_url: Some(format!("{base}/a/{}", link_id.expose())),
        approval_expires_at: Some(approval.expires_at),
        note: input.note,
        ..NotificationContext::default()
    };
    let message_id = deps.publish(kind, &ctx).await?;
    deps.links
        .set_message_id(LinkKind::Approval, &approval.hash, &message_id)
        .await?;
    // The incident-level marker is informative here (the approval item is the idempotency
    // key, so a redrive with a new token is asked again).
    deps.store
        .mark_notified(&id, kind.as_str(), Some(&message_id), now)
        .await?;
    awaiting_approval(deps, &id, now).await?;
    info!(
        incident_id = %id,
        step = "notify",
        kind = kind.as_str(),
        approval = approval.hash.short(),
        expires_at = %approval.expires_at,
        outcome = "sent",
        message_id = %message_id,
    );
    Ok(Output::sent(id, kind, message_id))
}

/// The request is out: the incident waits for a human (`AWAITING_APPROVAL`, what
/// `cordon incidents list --status awaiting_approval` finds) until the workflow closes it.
/// A no-op on a retry, and on an incident already closed.
async fn awaiting_approval(
    deps: &Deps,
    incident_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), TaskError> {
    deps.store
        .set_status(incident_id, IncidentStatus::AwaitingApproval, now)
        .await
        .map(drop)
}
