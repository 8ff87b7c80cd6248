//! Acting on a decided link: deliver an approval decision to the waiting workflow
//! (`SendTaskSuccess`), or run the release a release link was used for. When the effect
//! cannot be delivered, the decision is undone (or the link closed) so nothing is lost.
use chrono::{DateTime, Utc};
use cordon_aws::links::{
    ApprovalDecision, DecidedBy, Decision, LinkKind, LinkRecord, LinkStatus, link_ref,
};
use cordon_core::TaskError;
use lambda_http::{Body, Response};
use tracing::{error, info, warn};

use crate::deps::Deps;
use crate::html;
use crate::response::{ApprovalError, respond, unavailable};

/// Step Functions error codes that mean "this task no longer waits".
const TASK_TIMED_OUT: &str = "TaskTimedOut";
const TASK_GONE: &[&str] = &["InvalidToken", "TaskDoesNotExist"];

/// Deliver an approval decision to the waiting workflow.
pub(crate) async fn resume(
    link: LinkRecord,
    decision: Decision,
    by: &DecidedBy,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    let Some(token) = link.task_token.as_ref() else {
        error!(link = link_ref(&link.id), incident_id = %link.incident_id, "the approval has no task token");
        let _ = deps
            .links
            .close(LinkKind::Approval, &link.id, LinkStatus::Closed, now)
            .await;
        return respond(
            500,
            html::message(
                "This approval cannot be used",
                "The approval is incomplete; nothing was changed. Use the Cordon CLI.",
            ),
        );
    };
    let output = ApprovalDecision {
        decision,
        approval_id: link.id.clone(),
        decided_by: by.clone(),
        decided_at: now,
    };
    let sent = match serde_json::to_value(&output) {
        Ok(output) => {
            deps.callbacks
                .send_task_success(token.expose(), &output)
                .await
        }
        Err(e) => Err(TaskError::invalid(
            "decision",
            format!("could not be serialized: {e}"),
        )),
    };
    match sent {
        Ok(()) => {
            info!(
                link = link_ref(&link.id),
                incident_id = %link.incident_id,
                decision = decision.as_str(),
                decided_by_ip = by.ip.as_deref().unwrap_or(""),
                decided_by_name = by.name.as_deref().unwrap_or(""),
                outcome = "decided",
            );
            let (title, text) = match decision {
                Decision::Approve => (
                    "Containment approved",
                    format!(
                        "Thank you. Cordon is quarantining the principal of incident {} now; \
                         you will receive a notification when it is done.",
                        link.incident_id
                    ),
                ),
                _ => (
                    "Containment rejected",
                    format!(
                        "Thank you. Incident {} will be dismissed without containment.",
                        link.incident_id
                    ),
                ),
            };
            respond(200, html::message(title, &text))
        }
        Err(e) => {
            // Only the error code is logged: the callback's inputs include the token.
            let code = match &e {
                TaskError::Aws { code, .. } => code.as_str(),
                TaskError::Transient { .. } => "Transient",
                _ => "Other",
            };
            let gone = if code == TASK_TIMED_OUT {
                Some(LinkStatus::Expired)
            } else if TASK_GONE.contains(&code) {
                Some(LinkStatus::Closed)
            } else {
                None
            };
            match gone {
                Some(status) => {
                    warn!(link = link_ref(&link.id), incident_id = %link.incident_id, code, outcome = "task_gone");
                    let _ = deps
                        .links
                        .close(LinkKind::Approval, &link.id, status, now)
                        .await;
                    let mut closed = link;
                    closed.status = status;
                    let (status, page) = html::closed_page(&closed, now);
                    respond(status, page)
                }
                None => {
                    error!(link = link_ref(&link.id), incident_id = %link.incident_id, code, "SendTaskSuccess failed; the decision is undone so it can be retried");
                    let _ = deps.links.reopen(LinkKind::Approval, &link.id, now).await;
                    unavailable()
                }
            }
        }
    }
}

/// Run the release a release link was used for.
pub(crate) async fn release(
    link: LinkRecord,
    by: &DecidedBy,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    match deps.release.release(&link.incident_id, by).await {
        Ok(summary) => {
            info!(link = link_ref(&link.id), incident_id = %link.incident_id, decided_by_ip = by.ip.as_deref().unwrap_or(""), outcome = "released");
            respond(
                200,
                html::page(
                    "Principal released",
                    &format!(
                        "<p>Incident {} was released.</p><pre>{}</pre>",
                        html::escape(&link.incident_id),
                        html::escape(&summary)
                    ),
                ),
            )
        }
        Err(e) => {
            error!(link = link_ref(&link.id), incident_id = %link.incident_id, error = %e, "release failed; the link is reopened");
            let _ = deps.links.reopen(LinkKind::Release, &link.id, now).await;
            respond(
                if e.is_transient() { 503 } else { 500 },
                html::message(
                    "Release failed",
                    "Cordon could not release the principal; the link can be used again. \
                     Try again in a minute, or run `cordon release` with the incident id.",
                ),
            )
        }
    }
}
