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
use serde_json::Value;

mod grants;

pub use grants::{Grant, Grants, grants};

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

/// The name of an AWS-managed policy (`arn:<partition>:iam::aws:policy/<path><name>`), in
/// any partition; `None` for anything else.
pub fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam"), Some(""), Some("aws"), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
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
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.starts_with("policy/"))
    .then_some(account)
}

/// The name-only fallback for administrator groups: the name contains "admin" (any
/// case). Used only when a group's policies cannot be read; what the group's policies
/// grant decides otherwise.
pub fn is_admin_group_name(name: &str) -> bool {
    name.to_ascii_lowercase().contains("admin")
}

/// An IAM policy document (identity policy or trust policy): a JSON value with a
/// `Statement` key.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument(Value);

impl PolicyDocument {
    /// Reads a document given as an object, a JSON string, or a URL-encoded JSON string.
    /// `None` when it is none of these or has no `Statement`.
    pub fn parse(v: &Value) -> Option<Self> {
        let doc = match v {
            Value::Object(_) => v.clone(),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .or_else(|| serde_json::from_str::<Value>(&percent_decode(s)).ok())?,
            _ => return None,
        };
        doc.get("Statement")
            .is_some()
            .then_some(PolicyDocument(doc))
    }

    /// The document as CloudTrail gave it (decoded).
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// `Statement` as a list: an array's elements, or a single statement object.
    pub fn statements(&self) -> Vec<Statement<'_>> {
        match self.0.get("Statement") {
            Some(Value::Array(a)) => a.iter().map(Statement).collect(),
            Some(s @ Value::Object(_)) => vec![Statement(s)],
            _ => Vec::new(),
        }
    }

    /// The Allow statements that on their own grant administrator access (see [`grants`]),
    /// as written, for evidence.
    pub fn admin_statements(&self, account: &str) -> Vec<Value> {
        self.statements()
            .into_iter()
            .filter(|st| st.allows())
            .filter(|st| {
                let alone = PolicyDocument(serde_json::json!({"Statement": [st.as_json()]}));
                grants(&alone, account).is_admin()
            })
            .map(|st| st.as_json().clone())
            .collect()
    }

    /// Every principal an Allow statement trusts (`"*"`, AWS, Federated, Service and
    /// CanonicalUser values), in document order.
    pub fn trusted_principals(&self) -> Vec<String> {
        self.statements()
            .into_iter()
            .filter(Statement::allows)
            .flat_map(|st| st.principals())
            .collect()
    }
}

/// One statement of a [`PolicyDocument`], read leniently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statement<'a>(&'a Value);

impl<'a> Statement<'a> {
    pub fn as_json(&self) -> &'a Value {
        self.0
    }

    /// `Effect` is `Allow` (any case).
    pub fn allows(&self) -> bool {
        self.0
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("allow"))
    }

    /// `Action` (a string or a list of strings).
    pub fn actions(&self) -> Vec<String> {
        str_or_list(self.0.get("Action"))
    }

    /// `Resource` (a string or a list of strings).
    pub fn resources(&self) -> Vec<String> {
        str_or_list(self.0.get("Resource"))
    }

    /// The statement uses `NotAction` (everything except a list: as broad as `*`).
    pub fn has_not_action(&self) -> bool {
        self.0.get("NotAction").is_some()
    }

    /// `Principal`: `"*"` as itself, or the AWS, Federated, Service and CanonicalUser
    /// values of an object. The Effect is not considered.
    pub fn principals(&self) -> Vec<String> {
        match self.0.get("Principal") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Object(m)) => ["AWS", "Federated", "Service", "CanonicalUser"]
                .into_iter()
                .flat_map(|key| str_or_list(m.get(key)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A string, or the strings of a list (other entries skipped).
fn str_or_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
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

/// Decodes `%XX` escapes (the `CreateRole` response carries the trust policy this way).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .map(|d| d.admin_statements("111122223333"))
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
