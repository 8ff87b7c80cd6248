//! IAM roles: trust policies that let another account (or anyone) assume a role.
use std::collections::BTreeMap;

use serde_json::json;

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::rules;
use crate::event::{excerpt, str_at, value_at};
use crate::model::{Principal, PrincipalKind};
use crate::policy_document::{PolicyDocument, is_external_principal};

/// `CreateRole` or `UpdateAssumeRolePolicy` with a trust policy naming an external
/// account or `*`. A trust policy that cannot be read is kept as an (uncertain) incident.
pub(super) const EXTERNAL_TRUST: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["CreateRole", "UpdateAssumeRolePolicy"],
    rules: &[rules::ROLE_EXTERNAL_TRUST],
    examines_failed_calls: false,
    detect: external_trust,
};

fn external_trust(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let key = if rec.event_name == "CreateRole" {
        "assumeRolePolicyDocument"
    } else {
        "policyDocument"
    };
    let role = value_at(&rec.response_elements, &["role"]);
    let doc = value_at(&rec.request_parameters, &[key])
        .and_then(PolicyDocument::parse)
        .or_else(|| {
            role.and_then(|r| r.get("assumeRolePolicyDocument"))
                .and_then(PolicyDocument::parse)
        });
    let role_name = rec
        .request_str("roleName")
        .or_else(|| role.and_then(|r| str_at(r, &["roleName"])))
        .map(str::to_string);
    let role_arn = role.and_then(|r| str_at(r, &["arn"])).map(str::to_string);
    let home = call.account();
    let mut ev = BTreeMap::new();
    ev.insert("roleName".to_string(), json!(role_name));
    ev.insert("roleArn".to_string(), json!(role_arn));
    match &doc {
        Some(d) => {
            let principals = d.trusted_principals();
            let external: Vec<&String> = principals
                .iter()
                .filter(|p| is_external_principal(p, &home))
                .collect();
            if external.is_empty() {
                return call.none(format!(
                    "{} for role {}: trust policy names no external account",
                    rec.event_name,
                    excerpt(role_name.as_deref().unwrap_or("(unknown)"))
                ));
            }
            ev.insert("externalPrincipals".into(), json!(external));
            ev.insert("trustPrincipals".into(), json!(principals));
            ev.insert("trustPolicyParsed".into(), json!(true));
        }
        None => {
            ev.insert("trustPolicyParsed".into(), json!(false));
        }
    }
    let title = format!(
        "Role {} trusts an external account ({} by {})",
        role_name.as_deref().unwrap_or("(unknown)"),
        rec.event_name,
        call.actor_name()
    );
    let principal = role_name.map(|n| Principal {
        kind: PrincipalKind::Role,
        name: Some(n),
        arn: role_arn,
        account_id: Some(home.clone()),
        principal_id: role
            .and_then(|r| str_at(r, &["roleId"]))
            .map(str::to_string),
    });
    call.incident(rules::ROLE_EXTERNAL_TRUST, title, principal, ev)
}
