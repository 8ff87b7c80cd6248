//! The `released` notification: every release is announced on the incident topic, once,
//! naming who released the principal and why, what was undone, what is left to do by hand
//! and what drifted. Lifting a containment silently is what an attacker who got hold of a
//! release link would want; the team hears of every one.
use cordon_core::TaskError;
use cordon_core::model::Detection;
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use cordon_core::release::ReleaseRecord;
use tracing::{info, warn};

use crate::deps::Deps;

/// The incident's notification marker for the `released` notification.
pub const RELEASED_MARKER: &str = "released";

/// Publishes the `released` notification unless its marker says it was sent.
pub(crate) async fn released(
    incident_id: &str,
    detection: Option<&Detection>,
    release: &ReleaseRecord,
    deps: &Deps,
) -> Result<(), TaskError> {
    if deps
        .store
        .notification(incident_id, RELEASED_MARKER)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let mut actions = Vec::new();
    let r = &release.restored;
    for arn in &r.policies_detached {
        actions.push(format!("detached the quarantine policy {arn}"));
    }
    for key in &r.reactivated_keys {
        actions.push(format!(
            "reactivated access key {key} (Cordon had deactivated it)"
        ));
    }
    if !r.tags_removed.is_empty() {
        actions.push(format!("removed tags {}", r.tags_removed.join(", ")));
    }
    for (k, v) in &r.tags_restored {
        actions.push(format!("restored tag {k}={v}"));
    }
    if actions.is_empty() {
        actions.push("nothing needed undoing".into());
    }
    let mut by = release.released_by.display();
    if let Some(ip) = release.released_by.ip.as_deref().filter(|i| !i.is_empty()) {
        by.push_str(&format!(" from {ip}"));
    }
    let ctx = NotificationContext {
        incident_id: incident_id.to_string(),
        detection: detection.cloned(),
        actions_taken: actions,
        decided_by: Some(by),
        note: Some(
            release
                .reason
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "(no reason given)".into()),
        ),
        manual_actions: release.manual_actions.clone(),
        drift: release.drift.clone(),
        ..NotificationContext::default()
    };
    let n = render(NotificationKind::Released, &ctx);
    let message_id = deps
        .notifier
        .publish(&deps.topic_arn, &n.subject, &n.body, &n.attributes)
        .await?;
    let marked = deps
        .store
        .mark_notified(
            incident_id,
            RELEASED_MARKER,
            Some(&message_id),
            (deps.clock)(),
        )
        .await?;
    if !marked {
        warn!(
            incident_id,
            step = "release",
            "another run announced this release concurrently"
        );
    }
    info!(incident_id, step = "release", kind = "released", outcome = "sent", message_id = %message_id);
    Ok(())
}
