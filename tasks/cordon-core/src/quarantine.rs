//! The IAM policies Cordon attaches when it contains a principal, which of them a
//! detection gets ([`Plan`]), and the record of what one containment changed (what release
//! may undo, and nothing else).
//!
//! - A user is contained with the stack's deny-all policy and AWS's own `AWSDenyAll`.
//! - An MFA finding, when the response policy's `attach_force_mfa_policy` is on, also gets
//!   the stack's force-MFA policy; an MFA audit finding gets only that (a compliance gap is
//!   not an attack: the user keeps working once it has MFA).
//!
//! Both customer-managed policies are resources of `infra/template.yaml` (`QuarantinePolicy`,
//! `ForceMfaPolicy`), their documents written there only; the functions get their ARNs.
//! - A role's sessions issued before containment are revoked the way the IAM console's
//!   "Revoke active sessions" does it: an inline deny-all conditioned on
//!   `aws:TokenIssueTime` ([`revoke_sessions_policy_document`]). New sessions keep working,
//!   so whoever legitimately uses the role assumes it again.
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::classify::rules;
use crate::model::PrincipalKind;
use crate::policy::ResponsePolicy;

/// Name of the deny-all policy (kept from S1/S2 so existing runbooks still apply). The
/// template names it `<stack>-AutomatedSecurityQuarantine`.
pub const QUARANTINE_POLICY_NAME: &str = "AutomatedSecurityQuarantine";
/// The AWS-managed deny-all policy. Nobody in the account can edit it: a
/// `CreatePolicyVersion` on the customer-managed quarantine policy frees no one while this
/// one is attached too.
pub const AWS_DENY_ALL_POLICY_NAME: &str = "AWSDenyAll";

/// `arn:<partition>:iam::aws:policy/AWSDenyAll`.
pub fn aws_deny_all_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{AWS_DENY_ALL_POLICY_NAME}")
}

/// The partition of an ARN (`aws`, `aws-us-gov`, `aws-cn`); `aws` when it is not one.
pub fn partition_of(arn: &str) -> &str {
    arn.strip_prefix("arn:")
        .and_then(|r| r.split(':').next())
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// What remediation did to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// Keys this run deactivated (empty on a re-run: they were already inactive).
    pub deactivated_keys: Vec<String>,
    pub login_profile_deleted: bool,
}

/// What one quarantine run changed, kept as its timeline entry's details: release undoes
/// exactly this (keys this lists, policies this attached) and reports anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuarantineRecord {
    /// The customer-managed deny-all policy.
    pub policy_arn: String,
    /// The deny-all policies this run attached (the customer-managed one and
    /// `AWSDenyAll`, unless already attached).
    pub attached_policy_arns: Vec<String>,
    /// Every deny-all policy was attached before this run.
    pub already_attached: bool,
    pub remediation: Remediation,
    pub snapshot_saved: bool,
    /// The unique id of the user this run contained.
    pub user_id: Option<String>,
    /// The force-MFA policy this run attached or found attached (MFA findings, when the
    /// response policy asks for it); release detaches it unless it predates containment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_mfa_policy_arn: Option<String>,
}
/// Name of the force-MFA policy attached for MFA findings (optional remediation). The
/// template names it `<stack>-CordonForceMFA`.
pub const FORCE_MFA_POLICY_NAME: &str = "CordonForceMFA";
/// Name of the inline policy on a role that denies its sessions issued before containment.
pub const REVOKE_SESSIONS_POLICY_NAME: &str = "CordonRevokeOlderSessions";
/// The `Sid` of its one statement (release removes the policy only when it carries it).
pub const REVOKE_SESSIONS_SID: &str = "CordonRevokeOlderSessions";

/// What containing a detection's principal attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The deny-all quarantine policy on the user.
    pub deny_all: bool,
    /// The force-MFA policy on the user.
    pub force_mfa: bool,
    /// Revoke the role's sessions issued before now.
    pub revoke_role_sessions: bool,
}

impl Plan {
    /// The plan for `rule` on a principal of `kind`, under `policy`.
    pub fn for_rule(rule: &str, kind: PrincipalKind, policy: &ResponsePolicy) -> Plan {
        match kind {
            PrincipalKind::Role | PrincipalKind::AssumedRole => Plan {
                deny_all: false,
                force_mfa: false,
                revoke_role_sessions: true,
            },
            _ => {
                let force_mfa = policy.attach_force_mfa_policy && rules::MFA_RULES.contains(&rule);
                let finding = rules::AUDIT_RULES.contains(&rule);
                Plan {
                    deny_all: !(force_mfa && finding),
                    force_mfa,
                    revoke_role_sessions: false,
                }
            }
        }
    }
}

/// Deny every action to sessions of a role issued before `issued_before`: what the IAM
/// console's "Revoke active sessions" puts on a role (it names its policy
/// `AWSRevokeOlderSessions`; Cordon's is [`REVOKE_SESSIONS_POLICY_NAME`], so release removes
/// only its own).
pub fn revoke_sessions_policy_document(issued_before: DateTime<Utc>) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": REVOKE_SESSIONS_SID,
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "DateLessThan": {
                        "aws:TokenIssueTime": issued_before.to_rfc3339_opts(SecondsFormat::Secs, true)
                    }
                }
            }
        ]
    })
}

/// When sessions are revoked, if `document` is Cordon's revocation policy (the one
/// statement [`revoke_sessions_policy_document`] writes).
pub fn revoked_before(document: &Value) -> Option<DateTime<Utc>> {
    let statements = document.get("Statement")?.as_array()?;
    let st = statements
        .iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(REVOKE_SESSIONS_SID))?;
    let at = st
        .pointer("/Condition/DateLessThan/aws:TokenIssueTime")?
        .as_str()?;
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_denies_older_sessions_only() {
        let at = DateTime::parse_from_rfc3339("2024-09-27T14:05:02Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let d = revoke_sessions_policy_document(at);
        let st = &d["Statement"][0];
        assert_eq!(st["Effect"], "Deny");
        assert_eq!(st["Action"], "*");
        assert_eq!(
            st["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2024-09-27T14:05:02Z"
        );
        assert_eq!(revoked_before(&d), Some(at));
        let deny_all = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "*", "Resource": "*"}
        ]});
        assert_eq!(revoked_before(&deny_all), None);
        // IAM inline role policies are at most 10240 characters.
        assert!(d.to_string().len() < 10240);
    }

    #[test]
    fn plans() {
        let off = ResponsePolicy::default();
        let on = ResponsePolicy {
            attach_force_mfa_policy: true,
            ..ResponsePolicy::default()
        };
        let user = PrincipalKind::IamUser;
        let deny_only = Plan {
            deny_all: true,
            force_mfa: false,
            revoke_role_sessions: false,
        };
        assert_eq!(Plan::for_rule(rules::USER_CREATED, user, &on), deny_only);
        assert_eq!(
            Plan::for_rule(rules::AUDIT_MFA_MISSING, user, &off),
            deny_only
        );
        // An audit finding is remediated, not contained.
        let audit = Plan::for_rule(rules::AUDIT_MFA_MISSING, user, &on);
        assert!(audit.force_mfa && !audit.deny_all);
        // An attack on MFA is contained, and MFA is enforced too.
        let attack = Plan::for_rule(rules::MFA_DEACTIVATED, user, &on);
        assert!(attack.force_mfa && attack.deny_all);
        let role = Plan::for_rule(
            rules::ADMIN_GRANTED_TO_ROLE,
            PrincipalKind::AssumedRole,
            &on,
        );
        assert!(role.revoke_role_sessions && !role.deny_all && !role.force_mfa);
    }

    #[test]
    fn the_aws_managed_deny_follows_the_partition() {
        assert_eq!(
            aws_deny_all_policy_arn(partition_of("arn:aws-us-gov:iam::1:policy/Q")),
            "arn:aws-us-gov:iam::aws:policy/AWSDenyAll"
        );
        assert_eq!(partition_of("not an arn"), "aws");
    }
}
