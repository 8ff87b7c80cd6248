//! Administrator access granted to a user, a role or a group, judged by what the policy
//! grants ([`crate::policy_document::grants`]): a managed policy attached, an inline policy
//! put, a user added to a group, a managed policy's default version changed.
//!
//! An event that attaches a customer-managed policy, makes a version default or adds a
//! user to a group does not carry what that grants: the detection asks enrich to read it
//! ([`Inspect`]), and the response policy judges it then (a grant of nothing is recorded
//! and closed; one that cannot be read goes to a human).
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::own::own_policy;

use super::rules;
use crate::error::TaskError;
use crate::event::{excerpt, parse_bool_lenient, str_at, value_at};
use crate::model::{Inspect, Principal};
use crate::policy_document::{
    PolicyDocument, admin_statements, customer_policy_account, grants, is_admin_group_name,
    is_admin_managed_policy, is_aws_compromised_key_policy,
};

/// A policy given to a user, a role or a group: `Attach*Policy` of an AWS-managed policy
/// known to grant administrator access or of a customer-managed policy (read by enrich),
/// and AWS's own compromised-key quarantine appearing on a user; `Put*Policy` of an inline
/// policy that grants administrator access (a document that cannot be read is kept as an
/// uncertain incident).
pub(super) const GRANT_POLICY: Detector = Detector {
    event_source: sources::IAM,
    event_names: &[
        "AttachUserPolicy",
        "AttachRolePolicy",
        "AttachGroupPolicy",
        "PutUserPolicy",
        "PutRolePolicy",
        "PutGroupPolicy",
    ],
    rules: &[
        rules::ADMIN_POLICY_ATTACHED,
        rules::INLINE_ADMIN_POLICY,
        rules::ADMIN_GRANTED_TO_ROLE,
        rules::ADMIN_GRANTED_TO_GROUP,
        rules::AWS_COMPROMISED_KEY_QUARANTINE,
    ],
    examines_failed_calls: false,
    detect: grant_policy,
};

/// `AddUserToGroup`: what the group grants is read by enrich.
pub(super) const ADD_USER_TO_GROUP: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["AddUserToGroup"],
    rules: &[rules::ADDED_TO_ADMIN_GROUP],
    examines_failed_calls: false,
    detect: add_user_to_group,
};

/// `CreatePolicyVersion` (made default) and `SetDefaultPolicyVersion`: a managed policy
/// now grants what its new default version says, to everyone it is attached to. On
/// Cordon's own quarantine or force-MFA policy, that (and `DeletePolicy`,
/// `DeletePolicyVersion`) is tampering.
pub(super) const POLICY_VERSION: Detector = Detector {
    event_source: sources::IAM,
    event_names: &[
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "DeletePolicy",
        "DeletePolicyVersion",
    ],
    rules: &[
        rules::ADMIN_POLICY_VERSION,
        rules::QUARANTINE_POLICY_CHANGED,
    ],
    examines_failed_calls: false,
    detect: policy_version,
};

/// Who a grant is given to.
enum Grantee {
    User(String),
    Role(String),
    Group(String),
}

impl Grantee {
    /// The grantee named by the call's `userName`, `roleName` or `groupName`.
    fn of(call: &Call<'_>) -> Result<Option<Grantee>, TaskError> {
        let name = call.rec.event_name.as_str();
        Ok(if name.ends_with("UserPolicy") {
            call.target_user()?.map(Grantee::User)
        } else if name.ends_with("RolePolicy") {
            call.rec
                .request_str("roleName")
                .map(|r| Grantee::Role(r.to_string()))
        } else {
            call.rec
                .request_str("groupName")
                .map(|g| Grantee::Group(g.to_string()))
        })
    }

    fn describe(&self) -> String {
        match self {
            Grantee::User(n) => format!("IAM user {n}"),
            Grantee::Role(n) => format!("role {n}"),
            Grantee::Group(n) => format!("group {n}"),
        }
    }

    /// The rule for administrator access granted to it.
    fn rule(&self, user_rule: &'static str) -> &'static str {
        match self {
            Grantee::User(_) => user_rule,
            Grantee::Role(_) => rules::ADMIN_GRANTED_TO_ROLE,
            Grantee::Group(_) => rules::ADMIN_GRANTED_TO_GROUP,
        }
    }

    /// The one to contain: the user, the role (its sessions), or for a group (which cannot
    /// be contained) the actor who granted it.
    fn principal(&self, call: &Call<'_>) -> Principal {
        match self {
            Grantee::User(n) => call.user_principal(n.clone(), None, None),
            Grantee::Role(n) => call.role_principal(n.clone(), None),
            Grantee::Group(_) => call.actor_principal(),
        }
    }

    fn evidence(&self, ev: &mut BTreeMap<String, Value>) {
        let (key, name) = match self {
            Grantee::User(n) => ("targetUserName", n),
            Grantee::Role(n) => ("targetRoleName", n),
            Grantee::Group(n) => ("targetGroupName", n),
        };
        ev.insert(key.to_string(), json!(name));
    }
}

fn unnamed(call: &Call<'_>) -> Verdict {
    call.none(format!(
        "{} by {} names no user, role or group",
        call.rec.event_name,
        call.actor_name()
    ))
}

fn grant_policy(call: &Call<'_>) -> Verdict {
    if call.rec.event_name.starts_with("Put") {
        put_inline_policy(call)
    } else {
        attach_policy(call)
    }
}

fn attach_policy(call: &Call<'_>) -> Verdict {
    let policy_arn = call.rec.request_str("policyArn").unwrap_or("");
    let Some(grantee) = Grantee::of(call)? else {
        return unnamed(call);
    };
    let policy_name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
    let mut ev = BTreeMap::new();
    ev.insert("policyArn".to_string(), json!(policy_arn));
    grantee.evidence(&mut ev);
    if is_aws_compromised_key_policy(policy_arn)
        && let Grantee::User(user) = &grantee
    {
        let title = format!(
            "AWS quarantined IAM user {user} ({policy_name}): its access key was found \
             exposed in public"
        );
        let principal = grantee.principal(call);
        return call.incident(
            rules::AWS_COMPROMISED_KEY_QUARANTINE,
            title,
            Some(principal),
            ev,
        );
    }
    if let Some(own) = own_policy(policy_arn, call.home) {
        return call.none(format!(
            "{} ({}) attached to {}: containment, not a grant",
            excerpt(policy_arn),
            own.describe(),
            grantee.describe()
        ));
    }
    let inspect = if is_admin_managed_policy(policy_arn) {
        ev.insert("adminPolicyConfirmed".into(), json!(true));
        None
    } else if customer_policy_account(policy_arn) == Some(call.home.account.as_str()) {
        // What it grants is in IAM, not in the event: enrich reads it.
        Some(Inspect::ManagedPolicy {
            policy_arn: policy_arn.to_string(),
        })
    } else {
        return call.none(format!(
            "{} of {} is not a policy that grants administrator access",
            call.rec.event_name,
            excerpt(policy_arn)
        ));
    };
    let title = format!(
        "{policy_name} attached to {} by {}{}",
        grantee.describe(),
        call.actor_name(),
        if inspect.is_some() {
            " (what it grants is read from IAM)"
        } else {
            ""
        }
    );
    let rule = grantee.rule(rules::ADMIN_POLICY_ATTACHED);
    call.incident_inspecting(rule, title, Some(grantee.principal(call)), ev, inspect)
}

fn put_inline_policy(call: &Call<'_>) -> Verdict {
    let doc = value_at(&call.rec.request_parameters, &["policyDocument"]);
    let parsed = doc.and_then(PolicyDocument::parse);
    let policy_name = call.rec.request_str("policyName");
    let Some(grantee) = Grantee::of(call)? else {
        return unnamed(call);
    };
    let mut ev = BTreeMap::new();
    ev.insert("policyName".to_string(), json!(policy_name));
    let account = call.account();
    match &parsed {
        Some(p) => {
            let granted = grants(p, &account);
            if !granted.is_admin() {
                return call.none(format!(
                    "inline policy {} on {} does not grant administrator access",
                    excerpt(policy_name.unwrap_or("(unnamed)")),
                    grantee.describe()
                ));
            }
            ev.insert("adminPolicyConfirmed".into(), json!(true));
            ev.insert("grants".into(), json!(granted.describe()));
            ev.insert(
                "adminStatements".into(),
                Value::Array(admin_statements(p, &account)),
            );
        }
        None => {
            // Uncertain: keep it as an incident; the policy routes it to a human.
            ev.insert("adminPolicyConfirmed".into(), json!(false));
            ev.insert(
                "policyDocumentProblem".into(),
                json!("policyDocument is missing or not a parseable IAM policy"),
            );
        }
    }
    grantee.evidence(&mut ev);
    let title = format!(
        "Inline administrator policy {} put on {} by {}",
        policy_name.unwrap_or("(unnamed)"),
        grantee.describe(),
        call.actor_name()
    );
    let rule = grantee.rule(rules::INLINE_ADMIN_POLICY);
    call.incident(rule, title, Some(grantee.principal(call)), ev)
}

fn add_user_to_group(call: &Call<'_>) -> Verdict {
    let group = call.rec.request_str("groupName").unwrap_or("");
    if group.is_empty() {
        return unnamed(call);
    }
    let target = call.target_user()?;
    let mut ev = BTreeMap::new();
    ev.insert("groupName".to_string(), json!(group));
    ev.insert("targetUserName".to_string(), json!(target));
    // Only a fallback, for when the group's policies cannot be read.
    ev.insert(
        "groupNameSuggestsAdmin".to_string(),
        json!(is_admin_group_name(group)),
    );
    let title = format!(
        "IAM user {} added to group {group} by {}",
        target.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = target.map(|t| call.user_principal(t, None, None));
    call.incident_inspecting(
        rules::ADDED_TO_ADMIN_GROUP,
        title,
        principal,
        ev,
        Some(Inspect::Group {
            group_name: group.to_string(),
        }),
    )
}

fn policy_version(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    if rec.event_name.starts_with("Delete") {
        return super::tampering::quarantine_policy_deleted(call);
    }
    let policy_arn = rec.request_str("policyArn").unwrap_or("");
    let policy_name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
    let version_id = rec
        .request_str("versionId")
        .or_else(|| str_at(&rec.response_elements, &["policyVersion", "versionId"]));
    let mut ev = BTreeMap::new();
    ev.insert("policyArn".to_string(), json!(policy_arn));
    ev.insert("versionId".to_string(), json!(version_id));
    if let Some(own) = own_policy(policy_arn, call.home) {
        if call.by_cloudformation() {
            return call.none(format!(
                "{} on {} by a CloudFormation stack deployment",
                rec.event_name,
                own.describe()
            ));
        }
        let title = format!(
            "{} changed by {} ({}): every contained principal may be free",
            own.describe(),
            call.actor_name(),
            rec.event_name
        );
        return call.incident(
            rules::QUARANTINE_POLICY_CHANGED,
            title,
            Some(call.actor_principal()),
            ev,
        );
    }
    if customer_policy_account(policy_arn) != Some(call.home.account.as_str()) {
        return call.none(format!(
            "{} on {} (not a customer-managed policy of this account)",
            rec.event_name,
            excerpt(policy_arn)
        ));
    }
    let account = call.account();
    let inspect = if rec.event_name == "SetDefaultPolicyVersion" {
        let Some(version) = version_id else {
            return call.none("SetDefaultPolicyVersion names no version".to_string());
        };
        Inspect::PolicyVersion {
            policy_arn: policy_arn.to_string(),
            version_id: version.to_string(),
        }
    } else {
        let default = value_at(&rec.request_parameters, &["setAsDefault"])
            .and_then(parse_bool_lenient)
            .unwrap_or(false);
        if !default {
            return call.none(format!(
                "CreatePolicyVersion on {policy_name} without setAsDefault: the new version \
                 is not in effect"
            ));
        }
        match value_at(&rec.request_parameters, &["policyDocument"]).and_then(PolicyDocument::parse)
        {
            Some(doc) => {
                let granted = grants(&doc, &account);
                if !granted.is_admin() {
                    return call.none(format!(
                        "the new default version of {policy_name} does not grant administrator \
                         access"
                    ));
                }
                ev.insert("adminPolicyConfirmed".into(), json!(true));
                ev.insert("grants".into(), json!(granted.describe()));
            }
            None => {
                ev.insert("adminPolicyConfirmed".into(), json!(false));
                ev.insert(
                    "policyDocumentProblem".into(),
                    json!("policyDocument is missing or not a parseable IAM policy"),
                );
            }
        }
        // The attachments are read by enrich: admin granted to nobody is not urgent.
        Inspect::ManagedPolicy {
            policy_arn: policy_arn.to_string(),
        }
    };
    let title = format!(
        "Default version of policy {policy_name} changed by {} ({})",
        call.actor_name(),
        rec.event_name
    );
    call.incident_inspecting(
        rules::ADMIN_POLICY_VERSION,
        title,
        Some(call.actor_principal()),
        ev,
        Some(inspect),
    )
}
