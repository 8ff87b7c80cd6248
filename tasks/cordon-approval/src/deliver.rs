//! Delivering a recorded decision: an approval resumes the waiting workflow
//! (`SendTaskSuccess` with the decision and who made it); a release starts the release
//! workflow (`StartExecution` of the release state machine, named after the link, so a
//! second delivery starts nothing twice). The approval function holds no IAM rights:
//! the release itself runs in the release function, through that workflow.
use cordon_aws::Started;
use cordon_aws::links::{ApprovalDecision, DecidedBy, LinkKind, LinkRecord, LinkStatus};
use cordon_core::TaskError;
use cordon_core::release::{ReleaseVia, ReleasedBy};
use tracing::{error, info, warn};

use crate::deps::Deps;

/// Step Functions error codes that mean "this task no longer waits".
const TASK_TIMED_OUT: &str = "TaskTimedOut";
const TASK_GONE: &[&str] = &["InvalidToken", "TaskDoesNotExist"];

/// What delivering found.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// The workflow has the decision.
    Delivered,
    /// The workflow no longer waits (`EXPIRED`: it timed out; `CLOSED`: stopped or
    /// completed).
    Gone(LinkStatus),
    /// Not delivered (Step Functions unavailable, or a configuration problem; logged): the
    /// decision stays recorded, and the next request delivers it.
    Failed,
}

/// The name of the release execution a link starts (at most 80 characters).
pub fn release_execution_name(link: &LinkRecord) -> String {
    format!("release-{}", link.hash.as_str())
}

/// The release function's input for a release decided on `link`.
pub(crate) fn release_input(link: &LinkRecord) -> cordon_release::ReleaseInput {
    let by = link.decided_by.clone().unwrap_or_default();
    let via = match by.verified.as_ref().map(|v| v.method.as_str()) {
        Some("aws") => ReleaseVia::Cli,
        _ => ReleaseVia::ApprovalLink,
    };
    cordon_release::ReleaseInput {
        incident_id: link.incident_id.clone(),
        released_by: ReleasedBy {
            name: by.name.clone(),
            ip: by.ip.clone(),
            user_agent: by.user_agent.clone(),
            via,
            verified: by.verified.clone(),
        },
        reason: by.reason.clone(),
    }
}

/// Delivers `link`'s recorded decision.
pub(crate) async fn deliver(deps: &Deps, link: &LinkRecord) -> Delivery {
    let result = match link.kind {
        LinkKind::Approval => resume(deps, link).await,
        LinkKind::Release => start_release(deps, link).await,
    };
    match result {
        Ok(()) => {
            info!(
                kind = link.kind.as_str(),
                link = link.hash.short(),
                incident_id = %link.incident_id,
                decision = link.decision.map(|d| d.as_str()).unwrap_or(""),
                decided_by = %cordon_core::notify::Clean(&link.decided_by.as_ref().map(DecidedBy::display).unwrap_or_default()),
                outcome = "delivered",
            );
            Delivery::Delivered
        }
        Err(e) => {
            // Only the error code is logged: the callback's inputs include the token.
            let code = match &e {
                TaskError::Aws { code, .. } => code.as_str(),
                TaskError::Transient { .. } => "Transient",
                _ => "Other",
            };
            if link.kind == LinkKind::Approval && code == TASK_TIMED_OUT {
                warn!(link = link.hash.short(), incident_id = %link.incident_id, code, outcome = "task_gone");
                Delivery::Gone(LinkStatus::Expired)
            } else if link.kind == LinkKind::Approval && TASK_GONE.contains(&code) {
                warn!(link = link.hash.short(), incident_id = %link.incident_id, code, outcome = "task_gone");
                Delivery::Gone(LinkStatus::Closed)
            } else {
                error!(link = link.hash.short(), incident_id = %link.incident_id, code, "the decision is recorded but could not be delivered; the next request delivers it");
                Delivery::Failed
            }
        }
    }
}

async fn resume(deps: &Deps, link: &LinkRecord) -> Result<(), TaskError> {
    let token = link.task_token.as_ref().ok_or_else(|| {
        TaskError::invalid(
            "task_token",
            "the approval has no task token (it is incomplete)",
        )
    })?;
    let (Some(decision), Some(decided_at)) = (link.decision, link.decided_at) else {
        return Err(TaskError::invalid("decision", "the link is not decided"));
    };
    let output = ApprovalDecision {
        decision,
        approval_id: link.hash.to_string(),
        decided_by: link.decided_by.clone().unwrap_or_default(),
        decided_at,
    };
    let output = serde_json::to_value(&output)
        .map_err(|e| TaskError::invalid("decision", format!("could not be serialized: {e}")))?;
    deps.callbacks
        .send_task_success(token.expose(), &output)
        .await
        .map_err(|e| cordon_aws::links::redact(e, token))
}

async fn start_release(deps: &Deps, link: &LinkRecord) -> Result<(), TaskError> {
    let input = serde_json::to_value(release_input(link))
        .map_err(|e| TaskError::invalid("release", format!("could not be serialized: {e}")))?;
    match deps
        .workflows
        .start_execution(
            &deps.release_state_machine_arn,
            &release_execution_name(link),
            &input,
        )
        .await?
    {
        Started::Execution(arn) => {
            info!(link = link.hash.short(), incident_id = %link.incident_id, execution = %arn, "release started");
            Ok(())
        }
        // Started by an earlier delivery of this decision.
        Started::AlreadyExists => Ok(()),
    }
}
