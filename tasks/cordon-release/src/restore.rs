//! Steps b–e of a release on a user that still exists: detach the quarantine policy,
//! reactivate the keys that were active, report the password, restore Cordon's tags; and
//! the drift report for what Cordon did not change.
use std::collections::{BTreeMap, BTreeSet};

use cordon_core::model::{KeyStatus, Snapshot, UserFacts};
use cordon_core::quarantine::QUARANTINE_POLICY_NAME;
use cordon_core::{TaskError, tags};

use crate::deps::Deps;
use crate::output::ReleaseOutput;

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
    policy_arn: Option<&str>,
    deps: &Deps,
    out: &mut ReleaseOutput,
) -> Result<(), TaskError> {
    let user = snap.user_name.as_str();

    // b. The quarantine policy, unless the user had it before containment.
    match policy_arn {
        None => out.manual_actions.push(format!(
            "could not tell which quarantine policy was attached (no Quarantine timeline entry, \
             CORDON_QUARANTINE_POLICY_ARN unset, no {QUARANTINE_POLICY_NAME} attached): check \
             {user}'s attached policies"
        )),
        Some(arn) if snap.attached_policy_arns.iter().any(|a| a == arn) => {
            out.actions_taken.push(format!(
                "left {arn} attached: it was attached before containment"
            ));
        }
        Some(arn) => {
            if facts.attached_policies.iter().any(|p| p.arn == arn) {
                match deps.identity.detach_user_policy(user, arn).await {
                    Ok(true) => {
                        out.restored.policy_detached = Some(arn.to_string());
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
        }
    }

    // c. Keys: reactivate exactly those that were Active before and are Inactive now.
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
        out.manual_actions.push(format!(
            "needs manual action: create a new console password for {user} (the login profile \
             was deleted during containment and cannot be restored without a password)"
        ));
    } else if !snap.login_profile && facts.login_profile {
        out.drift.push(format!(
            "a console password was created for {user} after containment"
        ));
    }

    // e. Cordon's tags: remove them, or restore the values the user had before.
    let mut remove = Vec::new();
    let mut restore_tags = BTreeMap::new();
    for key in tags::TAG_KEYS {
        match snap.cordon_tags.get(*key) {
            Some(prior) if facts.tags.get(*key) != Some(prior) => {
                restore_tags.insert((*key).to_string(), prior.clone());
            }
            Some(_) => {}
            None if facts.tags.contains_key(*key) => remove.push((*key).to_string()),
            None => {}
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
    let quarantine_added = policy_arn.filter(|a| !snap.attached_policy_arns.iter().any(|p| p == a));
    let now_policies: Vec<String> = facts
        .attached_policies
        .iter()
        .map(|p| p.arn.clone())
        .filter(|a| Some(a.as_str()) != quarantine_added)
        .collect();
    let before_policies: Vec<String> = snap
        .attached_policy_arns
        .iter()
        .filter(|a| Some(a.as_str()) != quarantine_added)
        .cloned()
        .collect();
    diff(
        &mut out.drift,
        &before_policies,
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
