//! IAM policy-document analysis: what a document grants, and whom a trust policy trusts.
//!
//! Shared by the detection rules ([`mod@crate::classify`]: inline administrator policies,
//! externally trusted roles) and the response policy ([`crate::policy`]: does the target
//! already hold administrator rights). Both must agree on what "administrator" means, so
//! that knowledge lives here once.
//!
//! CloudTrail carries a document as a JSON object, a JSON string or a URL-encoded JSON
//! string; [`PolicyDocument::parse`] reads all three.
//!
//! "Administrator" means what a document grants, not what it is called ([`grants`]):
//! every action (effectively `*`), every IAM action (`iam:*`), `iam:PassRole` on any role,
//! or one of the well-known IAM privilege-escalation actions on any user, role, group or
//! policy. It is decided with the IAM evaluator ([`crate::iam`]). The AWS-managed policies
//! known to grant it ([`ADMIN_MANAGED_POLICIES`]) are recognised by ARN, because an event
//! that attaches one does not carry its document.

mod document;
mod grants;

pub use document::{PolicyDocument, Statement, percent_decode};
pub use grants::{Grant, Grants, admin_statements, grants};

/// AWS-managed policies that grant administrator access (by the definition above), by
/// name: AWS publishes their documents, which never narrow.
pub const ADMIN_MANAGED_POLICIES: &[&str] = &[
    "AdministratorAccess",
    "IAMFullAccess",
    "AdministratorAccess-Amplify",
    "AdministratorAccess-AWSElasticBeanstalk",
];

/// AWS's own quarantine policies, which AWS attaches to a user whose access key it found
/// exposed in public.
pub const AWS_COMPROMISED_KEY_POLICIES: &[&str] = &[
    "AWSCompromisedKeyQuarantine",
    "AWSCompromisedKeyQuarantineV2",
    "AWSCompromisedKeyQuarantineV3",
];

/// An IAM ARN (`arn:<partition>:iam::<account>:<resource>`, any partition) split into its
/// account (`aws` for AWS-managed policies) and resource; `None` for anything else.
pub fn iam_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some((account, resource))
}

/// The name of an AWS-managed policy (`arn:<partition>:iam::aws:policy/<path><name>`), in
/// any partition; `None` for anything else.
pub fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let ("aws", resource) = iam_arn(arn)? else {
        return None;
    };
    resource
        .strip_prefix("policy/")
        .and_then(|p| p.rsplit('/').next())
        .filter(|n| !n.is_empty())
}

/// `true` for the AWS-managed policies that grant administrator access (see
/// [`ADMIN_MANAGED_POLICIES`]), in any partition.
pub fn is_admin_managed_policy(arn: &str) -> bool {
    aws_managed_policy_name(arn).is_some_and(|n| ADMIN_MANAGED_POLICIES.contains(&n))
}

/// `true` for AWS's compromised-key quarantine policies ([`AWS_COMPROMISED_KEY_POLICIES`]).
pub fn is_aws_compromised_key_policy(arn: &str) -> bool {
    aws_managed_policy_name(arn).is_some_and(|n| AWS_COMPROMISED_KEY_POLICIES.contains(&n))
}

/// The account of a customer-managed policy ARN (`arn:<p>:iam::<account>:policy/...`).
pub fn customer_policy_account(arn: &str) -> Option<&str> {
    customer_policy(arn).map(|(account, _)| account)
}

/// A customer-managed policy ARN (`arn:<p>:iam::<account>:policy/<path+name>`) split into
/// its account and what follows `policy/`; `None` for anything else (AWS-managed policies
/// have the account `aws`).
pub fn customer_policy(arn: &str) -> Option<(&str, &str)> {
    let (account, resource) = iam_arn(arn)?;
    let name = resource.strip_prefix("policy/")?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some((account, name))
}

/// The name-only fallback for administrator groups: the name contains "admin" (any
/// case). Used only when a group's policies cannot be read; what the group's policies
/// grant decides otherwise.
pub fn is_admin_group_name(name: &str) -> bool {
    name.to_ascii_lowercase().contains("admin")
}

/// `"*"`, a bare account id or an ARN in another account than `home`.
pub fn is_external_principal(p: &str, home: &str) -> bool {
    if p == "*" {
        return true;
    }
    if p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()) {
        return p != home;
    }
    if let Some(rest) = p.strip_prefix("arn:") {
        // arn:partition:service:region:account:resource
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() == 5 && parts[1] == "iam" {
            let account = parts[3];
            return !account.is_empty() && account != home && account != "aws";
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn external_principals() {
        assert!(is_external_principal(
            "arn:aws:iam::444455556666:root",
            "111122223333"
        ));
        assert!(!is_external_principal(
            "arn:aws:iam::111122223333:root",
            "111122223333"
        ));
        assert!(is_external_principal("*", "111122223333"));
        assert!(is_external_principal("444455556666", "111122223333"));
        assert!(!is_external_principal("ec2.amazonaws.com", "111122223333"));
    }

    #[test]
    fn admin_statement_detection() {
        let admin_statements = |doc: &Value| {
            PolicyDocument::parse(doc)
                .map(|d| admin_statements(&d, "111122223333"))
                .unwrap_or_default()
        };
        let doc = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]});
        assert!(admin_statements(&doc).is_empty());
        let doc =
            serde_json::json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": ["*"]}});
        assert_eq!(admin_statements(&doc).len(), 1);
        let doc = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/*"}
        ]});
        assert_eq!(admin_statements(&doc).len(), 1);
    }

    #[test]
    fn managed_policy_names() {
        assert!(is_admin_managed_policy(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
        assert!(is_admin_managed_policy(
            "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"
        ));
        assert!(!is_admin_managed_policy(
            "arn:aws:iam::111122223333:policy/AdministratorAccess"
        ));
        assert!(!is_admin_managed_policy(
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        ));
        assert!(is_aws_compromised_key_policy(
            "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
        ));
        assert_eq!(
            aws_managed_policy_name("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
            Some("ViewOnlyAccess")
        );
        assert_eq!(
            customer_policy_account("arn:aws:iam::111122223333:policy/team/Deploy"),
            Some("111122223333")
        );
        assert_eq!(
            customer_policy_account("arn:aws:iam::aws:policy/AdministratorAccess"),
            None
        );
    }
}
