//! What enrich learned before a detection is assessed, and the judgements made from it:
//! what an inspected policy or group grants, whether a tampered principal was contained,
//! whether a role's sessions can be revoked.
use crate::classify::rules;
use crate::model::{Detection, Inspection, Principal, PrincipalKind, RoleFacts, UserFacts};
use crate::policy_document::{is_admin_group_name, is_admin_managed_policy};

/// Everything enrich read about a detection. Every part is optional: what could not be
/// read is absent, and the assessment says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The target IAM user, when the principal is one and it exists.
    pub user: Option<&'a UserFacts>,
    /// The role, when the principal is a role (or a session of one) and it exists.
    pub role: Option<&'a RoleFacts>,
    /// What enrich read for the detection's [`Detection::inspect`].
    pub inspection: Option<&'a Inspection>,
    /// The incident that holds the principal contained, per Cordon's own records (an
    /// incident `CONTAINED` and not released).
    pub contained_by: Option<&'a str>,
}

/// How an inspected grant changes the verdict.
pub(super) enum Judged {
    /// It grants administrator access, as the rule assumes.
    Confirmed(String),
    /// It grants none: recorded and closed (`ignore`), or told (`notify`) when the event
    /// itself showed a grant that IAM no longer has.
    Harmless(String),
    /// Administrator access granted to a policy attached to nothing yet.
    Unattached(String),
    /// It could not be read: a human decides.
    Uncertain(String),
}

/// The verdict on a detection that asked enrich to read a grant.
pub(super) fn judge_inspection(d: &Detection, facts: &Facts<'_>) -> Option<Judged> {
    let inspect = d.inspect.as_ref()?;
    let event_said_admin = d
        .evidence
        .get("adminPolicyConfirmed")
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let name_suggests_admin = d
        .evidence
        .get("groupNameSuggestsAdmin")
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let Some(ins) = facts.inspection else {
        return Some(Judged::Uncertain(format!(
            "{} could not be read",
            inspect.describe()
        )));
    };
    let Some(grants) = &ins.grants else {
        let why = ins.problem.as_deref().unwrap_or("unreadable");
        return Some(if name_suggests_admin {
            Judged::Uncertain(format!(
                "{} could not be read ({why}); its name suggests an administrator group",
                ins.subject
            ))
        } else {
            Judged::Uncertain(format!("{} could not be read ({why})", ins.subject))
        });
    };
    if !grants.is_admin() {
        return Some(Judged::Harmless(if event_said_admin {
            format!(
                "{} no longer grants administrator access (it was changed back since)",
                ins.subject
            )
        } else {
            format!("{} grants no administrator access", ins.subject)
        }));
    }
    let what = grants.describe().join(", ");
    if d.rule == rules::ADMIN_POLICY_VERSION && ins.attachment_count == Some(0) {
        return Some(Judged::Unattached(format!(
            "{} grants {what}, but is attached to no user, group or role",
            ins.subject
        )));
    }
    Some(Judged::Confirmed(format!("{} grants {what}", ins.subject)))
}

/// The target already holds administrator rights (escalates the severity).
pub(super) fn holds_admin_rights(f: &UserFacts) -> bool {
    f.attached_policies
        .iter()
        .any(|p| is_admin_managed_policy(&p.arn))
        || f.groups.iter().any(|g| is_admin_group_name(g))
}

/// A `cordon.quarantine-tampered` detection about a principal Cordon does not hold
/// contained: why it is not contained again.
pub(super) fn not_held(d: &Detection, facts: &Facts<'_>) -> Option<String> {
    if d.rule != rules::QUARANTINE_TAMPERED || facts.contained_by.is_some() {
        return None;
    }
    let who = d
        .principal
        .as_ref()
        .map(Principal::display_name)
        .unwrap_or_else(|| "the principal".into());
    Some(format!(
        "{who} is not held by a CONTAINED incident (released, or never contained by Cordon): \
         not contained again"
    ))
}

/// Why a role (or a session of one) cannot have its sessions revoked, if it cannot.
pub(super) fn role_not_containable(p: &Principal, facts: &Facts<'_>, home: &str) -> Option<String> {
    let Some(role) = facts.role else {
        return Some(format!(
            "role {} was not found in this account; its sessions cannot be revoked",
            p.name.as_deref().unwrap_or("(unknown)")
        ));
    };
    if p.account_id.as_deref().is_some_and(|a| a != home) {
        return Some(format!(
            "{} belongs to another account; Cordon revokes sessions of this account's roles only",
            p.display_name()
        ));
    }
    role.unmodifiable()
}

/// The role as a principal (its ARN, not a session's), for the protection checks. Its
/// unique id is the one IAM reports now (the role Cordon would act on): an event naming a
/// role seldom carries the role's id, and protection is matched by id only.
pub(super) fn role_principal(p: &Principal, facts: &Facts<'_>) -> Principal {
    match facts.role {
        Some(role) if p.kind == PrincipalKind::Role => Principal {
            principal_id: Some(role.role_id.clone()),
            ..p.clone()
        },
        Some(role) if p.kind == PrincipalKind::AssumedRole => Principal {
            kind: PrincipalKind::Role,
            name: Some(role.role_name.clone()),
            arn: Some(role.arn.clone()),
            account_id: p.account_id.clone(),
            principal_id: Some(role.role_id.clone()),
        },
        _ => p.clone(),
    }
}
