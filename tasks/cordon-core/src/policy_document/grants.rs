//! What an identity policy document grants that amounts to administrator access, decided
//! with the IAM evaluator ([`crate::iam`]).
//!
//! The question is "what can this document grant at most?", so the document is first read
//! the way that answers it:
//!
//! - an `Allow` statement's `Condition` is ignored: a grant that needs MFA, a source IP or
//!   a tag is still a grant to whoever meets it;
//! - a `Deny` with a `Condition` is left out: it may not apply;
//! - a `Resource` entry with a policy variable (`${aws:username}`) names the caller's own
//!   resource, never an arbitrary one, so it is left out (a statement with nothing else
//!   left grants nothing arbitrary);
//! - a statement the evaluator cannot read exactly is left out and named in
//!   [`Grants::skipped`].
//!
//! Then the evaluator is asked about resources nobody would name on purpose (a user, role,
//! group and policy called `cordon-probe-…` in the policy's account): a document that
//! allows an action on those allows it on any resource of the type.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::document::PolicyDocument;
use crate::iam::{Policy, PolicySet, Request};

/// One way a document grants administrator access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Grant {
    /// Every action of every service on every resource (`*`, or a `NotAction` that leaves
    /// IAM in).
    AllActions,
    /// Every IAM action on every IAM resource (`iam:*`).
    IamFullAccess,
    /// `iam:PassRole` on any role: any role, an administrator's included, can be handed to
    /// a service the holder controls.
    PassRoleAnywhere,
    /// A well-known IAM privilege-escalation action on any resource of its type.
    Escalation { action: String },
}

impl Grant {
    /// A line for a notification or a reason.
    pub fn describe(&self) -> String {
        match self {
            Grant::AllActions => "every action on every resource".to_string(),
            Grant::IamFullAccess => "every IAM action (iam:*)".to_string(),
            Grant::PassRoleAnywhere => "iam:PassRole on any role".to_string(),
            Grant::Escalation { action } => format!("{action} on any resource"),
        }
    }
}

/// What a document grants that amounts to administrator access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grants {
    /// Empty when it grants none of it.
    pub grants: Vec<Grant>,
    /// Statements left out because they cannot be evaluated exactly, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl Grants {
    /// It grants administrator access.
    pub fn is_admin(&self) -> bool {
        !self.grants.is_empty()
    }

    /// One line per grant.
    pub fn describe(&self) -> Vec<String> {
        self.grants.iter().map(Grant::describe).collect()
    }

    /// Everything `other` grants too (a group's or a user's several policies).
    pub fn merge(&mut self, other: Grants) {
        for g in other.grants {
            if !self.grants.contains(&g) {
                self.grants.push(g);
            }
        }
        self.skipped.extend(other.skipped);
    }
}

/// The IAM actions that, on any resource of their type, let the holder give itself (or
/// anyone) more access: Rhino Security Labs' list of IAM privilege-escalation methods,
/// with the resource type each acts on.
pub const ESCALATION_ACTIONS: &[(&str, Probe)] = &[
    ("iam:CreatePolicyVersion", Probe::Policy),
    ("iam:SetDefaultPolicyVersion", Probe::Policy),
    ("iam:AttachUserPolicy", Probe::User),
    ("iam:PutUserPolicy", Probe::User),
    ("iam:CreateAccessKey", Probe::User),
    ("iam:CreateLoginProfile", Probe::User),
    ("iam:UpdateLoginProfile", Probe::User),
    ("iam:AttachRolePolicy", Probe::Role),
    ("iam:PutRolePolicy", Probe::Role),
    ("iam:UpdateAssumeRolePolicy", Probe::Role),
    ("iam:AttachGroupPolicy", Probe::Group),
    ("iam:PutGroupPolicy", Probe::Group),
    ("iam:AddUserToGroup", Probe::Group),
];

/// The resource type a probe request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    User,
    Role,
    Group,
    Policy,
}

impl Probe {
    /// A resource of this type nobody would name on purpose, in `account`.
    fn arn(self, account: &str) -> String {
        let kind = match self {
            Probe::User => "user",
            Probe::Role => "role",
            Probe::Group => "group",
            Probe::Policy => "policy",
        };
        format!("arn:aws:iam::{account}:{kind}/cordon-probe-7f3a9c")
    }
}

/// What `document` grants that amounts to administrator access, for principals of
/// `account` (see the module docs).
pub fn grants(document: &PolicyDocument, account: &str) -> Grants {
    let mut skipped = Vec::new();
    let mut policies = Vec::new();
    for (i, statement) in document.statements().iter().enumerate() {
        let at = format!("Statement[{i}]");
        match widened(statement.as_json()) {
            Err(why) => skipped.push(format!("{at}: {why}")),
            Ok(None) => {}
            Ok(Some(st)) => match Policy::parse(&at, &json!({"Statement": [st]})) {
                Ok(p) => policies.push(p),
                Err(e) => skipped.push(e.to_string()),
            },
        }
    }
    let set = PolicySet::new(policies);
    let allowed = |action: &str, resource: &str| -> bool {
        set.evaluate(&Request::new(action, resource)).is_allowed()
    };
    let user = Probe::User.arn(account);
    let role = Probe::Role.arn(account);
    let any_iam =
        allowed("iam:CordonProbeAction", &user) && allowed("iam:CordonProbeAction", &role);
    let mut out = Vec::new();
    if any_iam
        && allowed(
            "cordonprobe:AnyAction",
            &format!("arn:aws:cordonprobe:us-east-1:{account}:thing/cordon-probe"),
        )
    {
        out.push(Grant::AllActions);
    } else if any_iam {
        out.push(Grant::IamFullAccess);
    } else {
        if allowed("iam:PassRole", &role) {
            out.push(Grant::PassRoleAnywhere);
        }
        for (action, probe) in ESCALATION_ACTIONS {
            if allowed(action, &probe.arn(account)) {
                out.push(Grant::Escalation {
                    action: (*action).to_string(),
                });
            }
        }
    }
    Grants {
        grants: out,
        skipped,
    }
}

/// The statement as it grants at most (see the module docs): `Ok(None)` when it is left
/// out on purpose, `Err` when it cannot be read.
fn widened(statement: &Value) -> Result<Option<Value>, String> {
    let Value::Object(map) = statement else {
        return Err("a statement must be a JSON object".into());
    };
    if map.contains_key("Principal") || map.contains_key("NotPrincipal") {
        return Err("it names a Principal (a resource policy statement)".into());
    }
    let effect = match map.get("Effect").and_then(Value::as_str) {
        Some(e) if e.eq_ignore_ascii_case("allow") => "Allow",
        Some(e) if e.eq_ignore_ascii_case("deny") => "Deny",
        other => return Err(format!("Effect must be Allow or Deny, got {other:?}")),
    };
    let conditional = map.contains_key("Condition");
    if effect == "Deny" && conditional {
        return Ok(None);
    }
    let mut out = Map::new();
    out.insert("Effect".into(), json!(effect));
    for key in ["Action", "NotAction"] {
        if let Some(v) = map.get(key) {
            if has_variable(v) {
                return Err(format!("{key} uses a policy variable"));
            }
            out.insert(key.into(), v.clone());
        }
    }
    for key in ["Resource", "NotResource"] {
        let Some(v) = map.get(key) else { continue };
        let entries: Vec<Value> = match v {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        let kept: Vec<Value> = entries.into_iter().filter(|e| !has_variable(e)).collect();
        if kept.is_empty() {
            if key == "Resource" || effect == "Deny" {
                // Only the caller's own resources (or a deny that may not apply).
                return Ok(None);
            }
            out.insert("Resource".into(), json!("*"));
        } else {
            out.insert(key.into(), Value::Array(kept));
        }
    }
    Ok(Some(Value::Object(out)))
}

fn has_variable(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(items) => items.iter().any(has_variable),
        _ => false,
    }
}

/// The Allow statements of `doc` that on their own grant administrator access (see
/// [`grants`]), as written, for evidence.
pub fn admin_statements(doc: &PolicyDocument, account: &str) -> Vec<Value> {
    doc.statements()
        .into_iter()
        .filter(|st| st.allows())
        .filter(|st| {
            PolicyDocument::parse(&json!({"Statement": [st.as_json()]}))
                .is_some_and(|alone| grants(&alone, account).is_admin())
        })
        .map(|st| st.as_json().clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "111122223333";

    fn of(statements: Value) -> Grants {
        let doc = PolicyDocument::parse(&json!({"Version": "2012-10-17", "Statement": statements}))
            .expect("a document");
        grants(&doc, ACCOUNT)
    }

    #[test]
    fn everything_is_all_actions() {
        assert_eq!(
            of(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])).grants,
            [Grant::AllActions]
        );
        // NotAction that leaves IAM in is as broad.
        assert_eq!(
            of(json!([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}])).grants,
            [Grant::AllActions]
        );
        // An MFA condition does not make it less of a grant.
        assert_eq!(
            of(json!([{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]))
            .grants,
            [Grant::AllActions]
        );
        // Lower-case effect, a single statement object.
        let doc = PolicyDocument::parse(
            &json!({"Statement": {"Effect": "allow", "Action": "*:*", "Resource": "*"}}),
        )
        .expect("doc");
        assert!(grants(&doc, ACCOUNT).is_admin());
    }

    #[test]
    fn power_user_is_not_admin_but_iam_star_is() {
        // PowerUserAccess: everything but IAM, Organizations and Account.
        let power = of(json!([
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole", "iam:ListRoles"], "Resource": "*"}
        ]));
        assert!(!power.is_admin(), "{power:?}");
        assert_eq!(
            of(json!([{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}])).grants,
            [Grant::IamFullAccess]
        );
        assert_eq!(
            of(json!([{"Effect": "Allow", "Action": "IAM:*", "Resource": "arn:aws:iam::*:*"}]))
                .grants,
            [Grant::IamFullAccess]
        );
    }

    #[test]
    fn pass_role_and_escalation_actions_on_any_resource() {
        assert_eq!(
            of(json!([{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]))
                .grants,
            [Grant::PassRoleAnywhere]
        );
        let g = of(
            json!([{"Effect": "Allow", "Action": ["iam:CreatePolicyVersion", "iam:Attach*"], "Resource": "*"}]),
        );
        assert_eq!(
            g.describe(),
            [
                "iam:CreatePolicyVersion on any resource",
                "iam:AttachUserPolicy on any resource",
                "iam:AttachRolePolicy on any resource",
                "iam:AttachGroupPolicy on any resource"
            ]
        );
        // Scoped to one named role: not "any role".
        assert!(
            !of(json!([{"Effect": "Allow", "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::111122223333:role/app-lambda"}]))
            .is_admin()
        );
        // Every role of the account is any role.
        assert!(
            of(json!([{"Effect": "Allow", "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::111122223333:role/*"}]))
            .is_admin()
        );
    }

    #[test]
    fn self_service_and_denies() {
        // The self-management pattern: only the caller's own user.
        assert!(
            !of(json!([{"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:UpdateLoginProfile"],
                "Resource": "arn:aws:iam::*:user/${aws:username}"}]))
            .is_admin()
        );
        // An unconditional deny wins; a conditional one may not apply.
        assert!(
            !of(json!([
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "*", "Resource": "*"}
            ]))
            .is_admin()
        );
        assert!(
            of(json!([
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
            ]))
            .is_admin()
        );
        // Cordon's own quarantine: a deny grants nothing.
        assert!(!of(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}])).is_admin());
    }

    #[test]
    fn unreadable_statements_are_named_not_guessed() {
        let g = of(json!([
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"},
            {"Effect": "Maybe", "Action": "*", "Resource": "*"},
            "garbage",
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        ]));
        assert!(!g.is_admin());
        assert_eq!(g.skipped.len(), 3, "{g:?}");
    }
}
