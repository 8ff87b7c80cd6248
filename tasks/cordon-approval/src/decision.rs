//! The single-use decision, whatever the channel: the approval page's POST and the
//! operator CLI (`cordon approve` / `cordon reject`, through [`decide_incident`]) both
//! claim the link once ([`claim`]) and deliver an approval to the waiting workflow
//! ([`deliver_approval`]). Pages and messages are the caller's business.
use chrono::{DateTime, Utc};
use cordon_aws::links::{
    ApprovalDecision, DecideOutcome, DecidedBy, Decision, LinkKind, LinkRecord, LinkStatus,
    link_ref,
};
use cordon_core::TaskError;
use tracing::{error, info, warn};

use crate::deps::Deps;

/// Step Functions error codes that mean "this task no longer waits".
const TASK_TIMED_OUT: &str = "TaskTimedOut";
const TASK_GONE: &[&str] = &["InvalidToken", "TaskDoesNotExist"];

/// What claiming a link did.
#[derive(Debug)]
pub enum Claim {
    /// This call decided; the link as it now is.
    Decided(Box<LinkRecord>),
    /// No such link.
    NotFound,
    /// Decided, expired or closed before: the link as it is (a pending link past its
    /// expiry is marked `EXPIRED` first).
    Refused(Box<LinkRecord>),
}

/// What delivering an approval decision did.
#[derive(Debug)]
pub enum Delivery {
    /// Step Functions accepted the decision: the workflow goes on.
    Delivered,
    /// Step Functions no longer waits (timed out, stopped or already completed): the link
    /// is closed with the status given.
    TaskGone(LinkStatus),
    /// The link holds no task token; it is closed and nothing was changed.
    Incomplete,
    /// The decision could not be delivered (Step Functions unreachable, throttled, …): it
    /// was undone, so it can be made again.
    Undelivered(TaskError),
}

/// The whole decision for an approval of `incident_id`, as `cordon approve` / `reject`
/// make it: the incident's newest approval link, claimed once, then delivered. `by`
/// carries the caller's verified identity.
pub async fn decide_incident(
    incident_id: &str,
    decision: Decision,
    by: &DecidedBy,
    deps: &Deps,
) -> Result<(Claim, Option<Delivery>), TaskError> {
    let Some(link) = deps.links.approval_for_incident(incident_id).await? else {
        return Ok((Claim::NotFound, None));
    };
    let claim = claim(LinkKind::Approval, &link.id, decision, by, deps).await?;
    let delivery = match &claim {
        Claim::Decided(link) => {
            let now = (deps.clock)();
            Some(deliver_approval(link, decision, by, now, deps).await)
        }
        _ => None,
    };
    Ok((claim, delivery))
}

/// Decide link `id` once (`status = PENDING` and unexpired).
pub async fn claim(
    kind: LinkKind,
    id: &str,
    decision: Decision,
    by: &DecidedBy,
    deps: &Deps,
) -> Result<Claim, TaskError> {
    let now = (deps.clock)();
    match deps.links.decide(kind, id, decision, by, now).await? {
        DecideOutcome::Decided(link) => Ok(Claim::Decided(link)),
        DecideOutcome::NotFound => Ok(Claim::NotFound),
        DecideOutcome::AlreadyDecided(_) | DecideOutcome::Expired => {
            let Some(current) = deps.links.get(kind, id).await? else {
                return Ok(Claim::NotFound);
            };
            if current.status == LinkStatus::Pending && current.is_expired(now) {
                let _ = deps.links.close(kind, id, LinkStatus::Expired, now).await;
            }
            info!(
                kind = kind.as_str(),
                link = link_ref(id),
                outcome = "refused",
                status = current.status.as_str()
            );
            Ok(Claim::Refused(Box::new(current)))
        }
    }
}

/// Deliver a claimed approval decision to the waiting workflow (`SendTaskSuccess`). When
/// it cannot be delivered the decision is undone, or the link closed if the workflow no
/// longer waits, so nothing is lost.
pub async fn deliver_approval(
    link: &LinkRecord,
    decision: Decision,
    by: &DecidedBy,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Delivery {
    let Some(token) = link.task_token.as_ref() else {
        error!(link = link_ref(&link.id), incident_id = %link.incident_id, "the approval has no task token");
        let _ = deps
            .links
            .close(LinkKind::Approval, &link.id, LinkStatus::Closed, now)
            .await;
        return Delivery::Incomplete;
    };
    // The decision's time is the claim's, so an undo matches exactly this decision.
    let decided_at = link.decided_at.unwrap_or(now);
    let output = ApprovalDecision {
        decision,
        approval_id: link.id.clone(),
        decided_by: by.clone(),
        decided_at,
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
    let e = match sent {
        Ok(()) => {
            info!(
                link = link_ref(&link.id),
                incident_id = %link.incident_id,
                decision = decision.as_str(),
                decided_by_ip = by.ip.as_deref().unwrap_or(""),
                decided_by_name = by.name.as_deref().unwrap_or(""),
                decided_by_verified = by.verified.as_ref().map(|v| v.display()).unwrap_or(""),
                outcome = "decided",
            );
            return Delivery::Delivered;
        }
        Err(e) => e,
    };
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
            Delivery::TaskGone(status)
        }
        None => {
            error!(link = link_ref(&link.id), incident_id = %link.incident_id, code, "SendTaskSuccess failed; the decision is undone so it can be retried");
            let _ = deps
                .links
                .reopen(LinkKind::Approval, &link.id, decided_at)
                .await;
            Delivery::Undelivered(redact_token(e, token))
        }
    }
}

/// The error without the task token, should a message ever carry it.
fn redact_token(e: TaskError, token: &cordon_aws::links::Secret) -> TaskError {
    cordon_aws::links::redact(e, token)
}
