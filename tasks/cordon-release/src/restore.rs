//! Steps b–e of a release on a user that still exists: undo exactly what Cordon changed
//! ([`Changes`]) and report everything else.
//!
//! - **Policies**: detach the deny-all policies Cordon attached, never one the user had
//!   before containment.
//! - **Keys**: reactivate only the keys Cordon deactivated. A key that was active before
//!   containment and is inactive now because a responder disabled it (say, a leaked key)
//!   stays inactive and is reported.
//! - **Tags**: a Cordon tag that still has the value Cordon set goes back to its prior
//!   value (or is removed); one a person changed or removed since is reported, not
//!   reverted.
//! - **Password**: a console password deleted by remediation cannot be restored without a
//!   password: it is a manual action.
//!
//! Groups, inline and other managed policies and MFA devices were never Cordon's: any
//! change to them is drift, reported.
use std::collections::{BTreeMap, BTreeSet};

use cordon_core::model::{KeyStatus, Snapshot, UserFacts};
use cordon_core::{TaskError, tags};

use crate::deps::Deps;
use crate::output::ReleaseOutput;

/// What Cordon changed on the user during containment: all that release may undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// The deny-all policies Cordon attached.
    pub policies: BTreeSet<String>,
    /// The access keys Cordon deactivated.
    pub deactivated_keys: BTreeSet<String>,
    /// The tags Cordon set, with the values it set.
    pub tags: BTreeMap<String, String>,
    /// Remediation deleted the console password.
    pub login_profile_deleted: bool,
    /// What an earlier, interrupted run of this release already undid (its `Release`
    /// timeline entry): not drift when this run finds it undone.
    pub undone: cordon_core::release::Restored,
}

impl Changes {
    fn undone_policy(&self, arn: &str) -> bool {
        self.undone.policies_detached.iter().any(|a| a == arn)
            || self.undone.policy_detached.as_deref() == Some(arn)
    }
}

/// The user or the key disappeared between reading and writing.
fn vanished(e: &TaskError) -> bool {
    match e {
        TaskError::PrincipalNotFound(_) => true,
        TaskError::Aws { code, .. } => code == "NoSuchEntity",
        _ => false,
    }
}

/// Steps b–e on a user that still exists, plus the drift report.
pub(crate) async fn restore(
    facts: &UserFacts,
    snap: &Snapshot,
    changes: &Changes,
    deps: &Deps,
    out: &mut ReleaseOutput,
) -> Result<(), TaskError> {
    let user = snap.user_name.as_str();

    // b. The deny-all policies Cordon attached.
    if changes.policies.is_empty() {
        out.manual_actions.push(format!(
            "Cordon has no record of attaching a quarantine policy to {user}: check its \
             attached policies"
        ));
    }
    for arn in &changes.policies {
        if snap.attached_policy_arns.iter().any(|a| a == arn) {
            out.actions_taken.push(format!(
                "left {arn} attached: it was attached before containment"
            ));
            continue;
        }
        if !facts.attached_policies.iter().any(|p| p.arn == *arn) {
            if changes.undone_policy(arn) {
                continue;
            }
            out.drift.push(format!(
                "the quarantine policy {arn} was already detached (by someone else) before \
                 this release"
            ));
            continue;
        }
        match deps.identity.detach_user_policy(user, arn).await {
            Ok(true) => {
                out.restored.policies_detached.push(arn.clone());
                if out.restored.policy_detached.is_none() {
                    out.restored.policy_detached = Some(arn.clone());
                }
                out.actions_taken
                    .push(format!("detached the quarantine policy {arn}"));
            }
            Ok(false) => {}
            Err(e) if vanished(&e) => out.drift.push(format!(
                "user {user} disappeared while the quarantine policy was being detached"
            )),
            Err(e) => return Err(e),
        }
    }

    // c. Keys: only those Cordon deactivated.
    let current: BTreeMap<&str, KeyStatus> = facts
        .access_keys
        .iter()
        .map(|k| (k.id.as_str(), k.status))
        .collect();
    for key in &snap.active_access_key_ids {
        match current.get(key.as_str()) {
            None => out.drift.push(format!(
                "access key {key} (active before containment) no longer exists; skipped"
            )),
            Some(KeyStatus::Active) => {}
            Some(KeyStatus::Inactive) if !changes.deactivated_keys.contains(key) => {
                out.drift.push(format!(
                    "access key {key} was active before containment and is inactive now, but \
                     Cordon did not deactivate it (a responder did, after containment): left \
                     inactive; reactivate it by hand only if that was not deliberate"
                ))
            }
            Some(KeyStatus::Inactive) => {
                match deps
                    .identity
                    .set_access_key_status(user, key, KeyStatus::Active)
                    .await
                {
                    Ok(()) => {
                        out.restored.reactivated_keys.push(key.clone());
                        out.actions_taken
                            .push(format!("reactivated access key {key}"));
                    }
                    Err(e) if vanished(&e) => out.drift.push(format!(
                        "access key {key} (active before containment) disappeared during \
                         release; skipped"
                    )),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    for key in &snap.inactive_access_key_ids {
        match current.get(key.as_str()) {
            None => out.drift.push(format!(
                "access key {key} (inactive before containment) was deleted since"
            )),
            Some(KeyStatus::Active) => out.drift.push(format!(
                "access key {key} was inactive before containment but is active now; left as \
                 it is: review it"
            )),
            Some(KeyStatus::Inactive) => {}
        }
    }
    let known: BTreeSet<&str> = snap
        .active_access_key_ids
        .iter()
        .chain(&snap.inactive_access_key_ids)
        .map(String::as_str)
        .collect();
    for k in facts
        .access_keys
        .iter()
        .filter(|k| !known.contains(k.id.as_str()))
    {
        out.drift.push(format!(
            "access key {} was created after containment ({}); left as it is, never activated \
             by release",
            k.id,
            match k.status {
                KeyStatus::Active => "active",
                KeyStatus::Inactive => "inactive",
            }
        ));
    }

    // d. The console password cannot be restored without a password.
    if snap.login_profile && !facts.login_profile {
        let why = if changes.login_profile_deleted {
            "Cordon deleted it during containment"
        } else {
            "it was deleted after containment"
        };
        out.manual_actions.push(format!(
            "needs manual action: create a new console password for {user} ({why}; a login \
             profile cannot be restored without a password)"
        ));
    } else if !snap.login_profile && facts.login_profile {
        out.drift.push(format!(
            "a console password was created for {user} after containment"
        ));
    }

    // e. Cordon's tags, where they still say what Cordon set.
    let mut remove = Vec::new();
    let mut restore_tags = BTreeMap::new();
    for key in tags::TAG_KEYS {
        let set = changes.tags.get(*key);
        let now = facts.tags.get(*key);
        let prior = snap.cordon_tags.get(*key);
        match (set, now) {
            (Some(set), Some(now)) if now == set => match prior {
                Some(prior) if prior != now => {
                    restore_tags.insert((*key).to_string(), prior.clone());
                }
                Some(_) => {}
                None => remove.push((*key).to_string()),
            },
            // Put back by an earlier run of this release.
            (Some(_), Some(now)) if changes.undone.tags_restored.get(*key) == Some(now) => {}
            (Some(_), Some(now)) if prior != Some(now) => out.drift.push(format!(
                "tag {key} was changed to {now:?} after containment; left as it is"
            )),
            (Some(_), None) if changes.undone.tags_removed.iter().any(|k| k == key) => {}
            (Some(_), None) if prior.is_some() || set.is_some() => out.drift.push(format!(
                "tag {key} was removed after containment; not put back"
            )),
            _ => {}
        }
    }
    if !remove.is_empty() {
        match deps.identity.untag_user(user, &remove).await {
            Ok(()) => {
                out.actions_taken
                    .push(format!("removed tags {}", remove.join(", ")));
                out.restored.tags_removed = remove;
            }
            Err(e) if vanished(&e) => out.drift.push(format!(
                "user {user} disappeared while its tags were being removed"
            )),
            Err(e) => return Err(e),
        }
    }
    if !restore_tags.is_empty() {
        match deps.identity.tag_user(user, &restore_tags).await {
            Ok(()) => {
                out.actions_taken.push(format!(
                    "restored tags {}",
                    restore_tags
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                out.restored.tags_restored = restore_tags;
            }
            Err(e) if vanished(&e) => out.drift.push(format!(
                "user {user} disappeared while its tags were being restored"
            )),
            Err(e) => return Err(e),
        }
    }

    // Drift in what Cordon did not change: reported, never "fixed" (release does not
    // re-grant access someone removed during the investigation).
    let cordons = |a: &str| changes.policies.contains(a);
    let now_policies: Vec<String> = facts
        .attached_policies
        .iter()
        .map(|p| p.arn.clone())
        .filter(|a| !cordons(a) || snap.attached_policy_arns.contains(a))
        .collect();
    diff(
        &mut out.drift,
        &snap.attached_policy_arns,
        &now_policies,
        "managed policy",
        "attached",
    );
    diff(
        &mut out.drift,
        &snap.inline_policies,
        &facts.inline_policies,
        "inline policy",
        "present",
    );
    diff(
        &mut out.drift,
        &snap.groups,
        &facts.groups,
        "group membership",
        "present",
    );
    diff(
        &mut out.drift,
        &snap.mfa_devices,
        &facts.mfa_devices,
        "MFA device",
        "present",
    );
    Ok(())
}

/// One finding per item added or removed since containment.
fn diff(drift: &mut Vec<String>, before: &[String], now: &[String], what: &str, state: &str) {
    let before: BTreeSet<&str> = before.iter().map(String::as_str).collect();
    let now: BTreeSet<&str> = now.iter().map(String::as_str).collect();
    for gone in before.difference(&now) {
        drift.push(format!(
            "{what} {gone} ({state} before containment) is gone; not put back by release"
        ));
    }
    for new in now.difference(&before) {
        drift.push(format!(
            "{what} {new} is new since containment; left as it is"
        ));
    }
}
