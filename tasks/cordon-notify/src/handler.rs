//! Sending a notification once: check the incident's marker, render, publish, mark.
//! Approval requests go to [`crate::approval`].
use std::time::Duration;

use cordon_aws::links::{LinkKind, LinkSummary, NewLink};
use cordon_core::TaskError;
use cordon_core::notify::{NotificationContext, NotificationKind};
use tracing::{info, warn};

use crate::config::Deps;
use crate::payload::{Input, Output};
use crate::{approval, failure};

/// Notify: see the crate docs.
pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    if input.kind == NotificationKind::Failure {
        return failure::notify_failure(input, deps).await;
    }
    if input.incident_id.trim().is_empty() {
        return Err(TaskError::invalid("incidentId", "is empty"));
    }
    if input.kind == NotificationKind::ApprovalRequest {
        return approval::request_approval(input, deps).await;
    }
    let id = input.incident_id.clone();
    let kind = input.kind;
    // An escalated incident (failed sign-ins over the threshold) is told again, once per level.
    let marker =
        cordon_core::failures::notification_marker(kind.as_str(), input.detection.as_ref());
    if let Some(mark) = deps.store.notification(&id, &marker).await? {
        info!(incident_id = %id, step = "notify", kind = kind.as_str(), outcome = "already_sent");
        return Ok(Output::already_sent(id, kind, mark.message_id));
    }

    let mut release_url = input.release_url;
    let mut release_link = None;
    if kind == NotificationKind::Contained {
        match &deps.approval_url {
            Some(base) => {
                let link = NewLink::release(
                    &id,
                    LinkSummary::new(input.detection.as_ref(), input.assessment.as_ref()),
                    (deps.clock)(),
                    deps.release_link_valid_for,
                );
                let created = deps.links.create(&link).await?;
                match created.id {
                    Some(link_id) => {
                        release_url = Some(format!("{base}/r/{}", link_id.expose()));
                        release_link = Some(created.record.hash);
                    }
                    None => {
                        // An earlier run emailed this release link: that email was sent.
                        let message_id = created.record.message_id.clone();
                        if let Some(m) = &message_id {
                            deps.store
                                .mark_notified(&id, kind.as_str(), Some(m), (deps.clock)())
                                .await?;
                        }
                        info!(incident_id = %id, step = "notify", kind = kind.as_str(), outcome = "already_sent");
                        return Ok(Output::already_sent(id, kind, message_id));
                    }
                }
            }
            None => warn!(
                incident_id = %id,
                step = "notify",
                "CORDON_APPROVAL_URL is not set: the contained notification carries no release link"
            ),
        }
    }

    let ctx = NotificationContext {
        incident_id: id.clone(),
        detection: input.detection,
        assessment: input.assessment,
        approval_url: input.approval_url,
        approval_expires_at: input.approval_expires_at,
        release_url,
        error: input.error.as_ref().map(|e| e.summary()),
        actions_taken: input.actions_taken,
        decided_by: input.decided_by,
        note: input.note,
        ..NotificationContext::default()
    };
    let message_id = deps.publish(kind, &ctx).await?;
    // The message is out. Failing the step now on a throttled write would make the
    // workflow's Retry publish it again, so what is written after the publish is retried
    // here, briefly, and then the step succeeds without it (a later redrive or replay may
    // send it again: a duplicate is better than silence, never worse than a retry).
    let after = AfterPublish {
        incident_id: &id,
        kind: kind.as_str(),
        message_id: &message_id,
    };
    // The marker first: it is what a rerun checks before anything else, so the window in
    // which a crash makes a rerun publish again is this one write.
    let marked = after
        .write("the notified marker", true, || {
            deps.store
                .mark_notified(&id, &marker, Some(&message_id), (deps.clock)())
        })
        .await?;
    if let Some(hash) = &release_link {
        after
            .write("the release link's message id", (), || {
                deps.links
                    .set_message_id(LinkKind::Release, hash, &message_id)
            })
            .await?;
    }
    if !marked {
        warn!(
            incident_id = %id,
            step = "notify",
            kind = kind.as_str(),
            "another run sent this notification concurrently"
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

/// A write that follows a publish (see [`handle`]).
struct AfterPublish<'a> {
    incident_id: &'a str,
    kind: &'a str,
    message_id: &'a str,
}

impl AfterPublish<'_> {
    /// Runs `op`, retrying a transient failure with a short backoff for as long as the
    /// invocation has time left (with no deadline, four times); if it still fails
    /// transiently, logs it and answers `unwritten` so the step succeeds. A permanent
    /// failure is returned.
    async fn write<T, F, Fut>(&self, what: &str, unwritten: T, mut op: F) -> Result<T, TaskError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, TaskError>>,
    {
        let mut attempt = 0u32;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && may_retry(attempt) => {
                    attempt += 1;
                    let backoff = Duration::from_millis(50 << attempt.min(4));
                    tokio::time::sleep(backoff).await;
                }
                Err(e) if e.is_transient() => {
                    warn!(
                        incident_id = %self.incident_id,
                        step = "notify",
                        kind = self.kind,
                        error = %e,
                        message_id = %self.message_id,
                        "sent, but {what} could not be written: a redrive or replay may send it again"
                    );
                    return Ok(unwritten);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a write after a publish is tried again: while the invocation has time for one
/// more (a call that stalls takes up to the SDK's attempt timeout, and the runner stops
/// the handler before its deadline: a write cut there would fail the step, and the
/// workflow's retry would publish again); without a deadline, four times.
fn may_retry(attempt: u32) -> bool {
    const TIME_FOR_ONE_MORE: Duration = Duration::from_secs(12);
    match cordon_aws::deadline::remaining() {
        Some(left) => left > TIME_FOR_ONE_MORE,
        None => attempt < 4,
    }
}
