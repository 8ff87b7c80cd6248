//! The release task: restore a contained IAM user from the snapshot quarantine took
//! before it changed anything, and record who released it.
//!
//! 1. Load the incident and its snapshot. A missing incident, or one that was never
//!    contained (no snapshot), is refused with `Cordon.InvalidEvent`; an incident that is
//!    already `RELEASED` answers `alreadyReleased: true` and changes nothing.
//! 2. Undo **only what Cordon changed**, as quarantine recorded it on the timeline
//!    (`cordon_core::quarantine::QuarantineRecord`) and as the tag task set it
//!    (`restore.rs`): detach the deny-all policies Cordon attached, reactivate the keys
//!    Cordon deactivated (never a key a responder disabled since), put Cordon's tags back
//!    where they still hold what Cordon set. A console password deleted by remediation
//!    cannot be restored (that needs a new password): it is a manual action.
//! 3. Append a `Release` timeline entry (who, when, why, what, drift) and mark the
//!    incident `RELEASED`.
//! 4. Publish the `released` notification (once), naming who released it and why, with
//!    what was undone, what is left to do by hand and what drifted.
//!
//! **Drift.** Anything that changed since containment (the user deleted or re-created,
//! which its unique id tells, keys deleted, created or disabled by someone else, tags
//! changed, policies, groups, inline policies or MFA devices changed, or a newer incident
//! holding the user) is reported in `drift`, and release does only the part that is still
//! safe. Release never re-grants access that someone removed after containment and never
//! fails as a whole because one part drifted.
//!
//! Every step is safe to run twice: each change is made only if the current state still
//! needs it, so a retried or repeated release converges on the same result.
//!
//! Codemap: this file is the flow (steps 1 and 6, drift that stops a release); `deps`
//! (configuration and dependencies), `output` (input, output, the release record),
//! `restore` (steps 2–5 and the drift report).
use cordon_aws::Aws;
use cordon_aws::incidents::TimelineEntry;
use cordon_core::model::{IncidentStatus, Snapshot, UserFacts};
use cordon_core::quarantine::{QUARANTINE_POLICY_NAME, QuarantineRecord};
use cordon_core::{TaskError, tags};
use tracing::info;

mod announce;
mod deps;
mod force_mfa;
mod output;
mod restore;
mod role_sessions;
mod steps;

pub use deps::{Config, Deps};

/// The release record and its parts are domain data (`cordon_core::release`); they are
/// re-exported here, where callers have always found them.
pub use cordon_core::release::{ReleaseRecord, ReleaseVia, ReleasedBy, Restored};
pub use output::{Input, Output, ReleaseInput, ReleaseOutput};

pub use steps::{QUARANTINE_STEP, RELEASE_STEP};

/// Lambda entry point: same as [`release`].
pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    release(input, deps).await
}

/// Restore the incident's principal from its pre-containment snapshot. See the crate docs.
pub async fn release(input: ReleaseInput, deps: &Deps) -> Result<ReleaseOutput, TaskError> {
    let id = input.incident_id.trim().to_string();
    if id.is_empty() {
        return Err(TaskError::invalid(
            "incidentId",
            "is empty; pass the id of the incident to release",
        ));
    }

    // a. The incident and its snapshot (a snapshot that does not read back is an error
    // from the store: release never guesses the prior state).
    let record = deps.store.get(&id).await?.ok_or_else(|| {
        TaskError::invalid(
            "incidentId",
            format!("names no recorded incident ({id}); check the id and the table name"),
        )
    })?;
    let snapshot = record.snapshot;
    let user_name = snapshot.as_ref().map(|s| s.user_name.clone());
    let mut out = ReleaseOutput::new(&input, user_name);
    out.incident_id = id.clone();

    if record.status == IncidentStatus::Released {
        let earlier = deps
            .store
            .timeline(&id)
            .await?
            .into_iter()
            .rfind(|e| e.step == RELEASE_STEP);
        out.already_released = true;
        if let Some(entry) = earlier {
            out.released_at = Some(entry.at);
            if let Some(by) = entry
                .details
                .as_ref()
                .and_then(|d| d.get("releasedBy"))
                .and_then(|b| serde_json::from_value(b.clone()).ok())
            {
                out.released_by = by;
            }
        }
        // A release that stopped between marking and announcing is announced now.
        if let Some(release) = &record.release {
            announce::released(&id, record.detection.as_ref(), release, deps).await?;
        }
        info!(incident_id = %id, step = "release", outcome = "already_released");
        return Ok(out);
    }
    let timeline = deps.store.timeline(&id).await?;
    let revoked_sessions = role_sessions::revoked(&timeline);
    let Some(snapshot) = snapshot else {
        if !revoked_sessions.is_empty() {
            // A role: its sessions were revoked, and that is all there is to undo.
            let now = (deps.clock)();
            out.released_at = Some(now);
            role_sessions::lift(&revoked_sessions, deps, &mut out).await?;
            let user = revoked_sessions
                .iter()
                .map(|(role, _)| role.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return finish(&id, &user, now, out, record.detection.as_ref(), deps).await;
        }
        return Err(TaskError::invalid(
            "incidentId",
            format!(
                "incident {id} was never contained (it has no pre-containment snapshot, status \
                 {}), so there is nothing to release",
                record.status.as_str()
            ),
        ));
    };

    let now = (deps.clock)();
    out.released_at = Some(now);
    let user = snapshot.user_name.clone();
    match deps.identity.get_user_facts(&user).await? {
        None => {
            out.user_deleted = true;
            out.drift.push(format!(
                "user {user} no longer exists (deleted after containment); nothing to restore"
            ));
        }
        Some(facts) if recreated(&facts, &snapshot) => {
            out.drift.push(format!(
                "user {user} was deleted and re-created after containment (unique id {}, \
                 created {}); it is a different identity, so nothing was restored",
                facts.user_id,
                facts
                    .created
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "recently".into())
            ));
        }
        Some(facts) => {
            if let Some(other) = held_by_other_incident(&facts, &snapshot, &id) {
                out.drift.push(format!(
                    "user {user} is now held by another incident ({} = {other}); nothing was \
                     restored, so that containment stays in force: release {other} instead",
                    tags::INCIDENT
                ));
            } else {
                let changes = cordons_changes(deps, &id, &snapshot, &facts).await?;
                restore::restore(&facts, &snapshot, &changes, deps, &mut out).await?;
                if let Some(arn) = force_mfa::attached_by_quarantine(&timeline) {
                    force_mfa::detach(&arn, &facts, &snapshot, deps, &mut out).await?;
                }
            }
        }
    }

    finish(&id, &user, now, out, record.detection.as_ref(), deps).await
}

/// f. Who, when, what: the timeline first, then the status (a crash in between leaves the
/// incident releasable, and a re-run converges).
async fn finish(
    id: &str,
    user: &str,
    now: chrono::DateTime<chrono::Utc>,
    out: ReleaseOutput,
    detection: Option<&cordon_core::model::Detection>,
    deps: &Deps,
) -> Result<ReleaseOutput, TaskError> {
    let id = id.to_string();
    let release_record = out.record(now);
    let details = serde_json::to_value(&release_record).map_err(|e| {
        TaskError::invalid(
            "release",
            format!("the release record could not be serialized: {e}"),
        )
    })?;
    deps.store
        .append(
            &id,
            &TimelineEntry {
                at: now,
                step: RELEASE_STEP.into(),
                message: timeline_message(&out, user),
                details: Some(details),
            },
        )
        .await?;
    let marked = deps.store.mark_released(&id, &release_record).await?;
    announce::released(&id, detection, &release_record, deps).await?;
    info!(
        incident_id = %id,
        step = "release",
        outcome = if marked { "released" } else { "released_concurrently" },
        user = %user,
        via = out.released_by.via.as_str(),
        reactivated_keys = out.restored.reactivated_keys.len(),
        policy_detached = out.restored.policy_detached.is_some(),
        drift = out.drift.len(),
    );
    Ok(out)
}

fn timeline_message(out: &ReleaseOutput, user: &str) -> String {
    let mut msg = format!("released {user} (by {})", out.released_by.display());
    if out.actions_taken.is_empty() {
        msg.push_str(": nothing needed restoring");
    } else {
        msg.push_str(&format!(": {}", out.actions_taken.join("; ")));
    }
    if !out.manual_actions.is_empty() {
        msg.push_str(&format!("; manual: {}", out.manual_actions.join("; ")));
    }
    if !out.drift.is_empty() {
        msg.push_str(&format!("; drift: {}", out.drift.join("; ")));
    }
    msg
}

/// The user bearing the name is not the one contained: another unique id (or, for a
/// snapshot that predates recording ids, created after it).
fn recreated(facts: &UserFacts, snapshot: &Snapshot) -> bool {
    match &snapshot.user_id {
        Some(id) => *id != facts.user_id,
        None => facts.created.is_some_and(|c| c > snapshot.taken_at),
    }
}

/// The `CordonIncident` tag names a different incident than this one, and not the value the
/// user had before this containment: a newer containment holds the user.
fn held_by_other_incident(facts: &UserFacts, snapshot: &Snapshot, id: &str) -> Option<String> {
    let current = facts.tags.get(tags::INCIDENT)?;
    let ours = tags::sanitize_tag_value(id);
    let prior = snapshot.cordon_tags.get(tags::INCIDENT);
    (*current != ours && Some(current) != prior).then(|| current.clone())
}

/// What Cordon changed on the user: the deny-all policies and keys every quarantine run
/// recorded (`QuarantineRecord` on its timeline entry), and the tags the tag task set (its
/// values follow from the incident id and the containment time).
///
/// A deny-all policy that is attached now but was not before containment is Cordon's even
/// when no record names it (a run that attached it and stopped before recording): it is
/// one of Cordon's deny-all policies, and the snapshot proves the user did not have it.
async fn cordons_changes(
    deps: &Deps,
    id: &str,
    snapshot: &Snapshot,
    facts: &UserFacts,
) -> Result<restore::Changes, TaskError> {
    let mut changes = restore::Changes::default();
    let mut deny_alls = vec![deps.deny_all_policy_arn.clone()];
    deny_alls.extend(deps.quarantine_policy_arn.clone());
    for entry in deps.store.timeline(id).await? {
        if entry.step == RELEASE_STEP {
            // A run that restored and stopped before marking the incident released.
            if let Some(earlier) = entry
                .details
                .and_then(|d| serde_json::from_value::<ReleaseRecord>(d).ok())
            {
                let r = earlier.restored;
                changes.undone.policies_detached.extend(r.policies_detached);
                changes.undone.policies_detached.extend(r.policy_detached);
                changes.undone.reactivated_keys.extend(r.reactivated_keys);
                changes.undone.tags_removed.extend(r.tags_removed);
                changes.undone.tags_restored.extend(r.tags_restored);
            }
            continue;
        }
        if entry.step != QUARANTINE_STEP {
            continue;
        }
        let Some(record) = entry
            .details
            .and_then(|d| serde_json::from_value::<QuarantineRecord>(d).ok())
        else {
            continue;
        };
        if !record.policy_arn.is_empty() {
            // Records written before the list existed name one policy.
            if record.attached_policy_arns.is_empty() && !record.already_attached {
                changes.policies.insert(record.policy_arn.clone());
            }
            deny_alls.push(record.policy_arn);
        }
        changes.policies.extend(record.attached_policy_arns);
        changes
            .deactivated_keys
            .extend(record.remediation.deactivated_keys);
        changes.login_profile_deleted |= record.remediation.login_profile_deleted;
    }
    deny_alls.extend(
        facts
            .attached_policies
            .iter()
            .filter(|p| p.name == QUARANTINE_POLICY_NAME)
            .map(|p| p.arn.clone()),
    );
    for arn in deny_alls {
        let attached_now = facts.attached_policies.iter().any(|p| p.arn == arn);
        if attached_now && !snapshot.attached_policy_arns.contains(&arn) {
            changes.policies.insert(arn);
        }
    }
    changes.tags = tags::quarantine_tags(id, snapshot.taken_at)
        .into_iter()
        .collect();
    Ok(changes)
}

/// Release with the SDK-backed dependencies configured from the process environment
/// (`CORDON_TABLE_NAME`, `CORDON_QUARANTINE_POLICY_ARN`, `AWS_ENDPOINT_URL`, …): what
/// `cordon release` runs.
pub async fn release_from_env(input: ReleaseInput) -> Result<ReleaseOutput, TaskError> {
    let config = Config::from_env()?;
    let aws = Aws::from_env().await;
    let deps = Deps::build(config, &aws, cordon_aws::system_clock());
    release(input, &deps).await
}

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
    measure: measure,
}

/// A release counts once (`Releases`): a retry that finds the incident already released
/// counts nothing.
fn measure(
    output: &Output,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<cordon_core::metrics::MetricsLine> {
    use cordon_core::metrics::{MetricsLine, NAMESPACE, metric};
    if output.already_released {
        return Vec::new();
    }
    let mut line = MetricsLine::new(NAMESPACE, at);
    let _ = line.count(metric::RELEASES);
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_counts_once() {
        let input = ReleaseInput {
            incident_id: "ct-1".into(),
            released_by: Default::default(),
            reason: None,
        };
        let mut out = ReleaseOutput::new(&input, Some("mallory".into()));
        let at = chrono::Utc::now();
        let lines: Vec<String> = measure(&out, at)
            .iter()
            .flat_map(cordon_core::metrics::MetricsLine::render)
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        cordon_core::metrics::validate(&lines[0]).expect("valid EMF");
        assert!(lines[0].contains("\"Releases\":1.0"), "{}", lines[0]);
        // A retry that finds the incident released counts nothing.
        out.already_released = true;
        assert!(measure(&out, at).is_empty());
    }
}
