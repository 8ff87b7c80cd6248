//! Releasing a role: taking off the session-revocation policy quarantine put on it. Only
//! Cordon's policy is removed, and only when it still is Cordon's (its one statement
//! carries Cordon's `Sid`): an inline policy of the same name someone wrote since is
//! reported, never deleted. What quarantine revoked is read from its timeline entry
//! (`details.roleSessions`).
use cordon_aws::incidents::TimelineEntry;
use cordon_core::TaskError;
use cordon_core::quarantine::revoked_before;
use serde_json::Value;

use crate::deps::Deps;
use crate::output::ReleaseOutput;

/// The role sessions quarantine revoked for an incident: `(role, policy name)` per
/// Quarantine timeline entry.
pub(crate) fn revoked(timeline: &[TimelineEntry]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = timeline
        .iter()
        .filter(|e| e.step == crate::steps::QUARANTINE_STEP)
        .filter_map(|e| e.details.as_ref()?.get("roleSessions"))
        .filter_map(|r| {
            Some((
                r.get("roleName")?.as_str()?.to_string(),
                r.get("policyName")?.as_str()?.to_string(),
            ))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Takes Cordon's revocation policy off each role in `revoked`.
pub(crate) async fn lift(
    revoked: &[(String, String)],
    deps: &Deps,
    out: &mut ReleaseOutput,
) -> Result<(), TaskError> {
    for (role, policy) in revoked {
        let current: Option<Value> = deps.roles.get_role_inline_policy(role, policy).await?;
        match current {
            None => out.drift.push(format!(
                "the session revocation on role {role} ({policy}) was already removed"
            )),
            Some(doc) if revoked_before(&doc).is_none() => out.drift.push(format!(
                "role {role}'s inline policy {policy} is no longer Cordon's; left as it is"
            )),
            Some(_) => {
                if deps.roles.delete_role_inline_policy(role, policy).await? {
                    out.actions_taken.push(format!(
                        "removed the session revocation {policy} from role {role}"
                    ));
                }
            }
        }
    }
    Ok(())
}
