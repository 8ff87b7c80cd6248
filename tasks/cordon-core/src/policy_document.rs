//! IAM policy-document analysis: what a document grants, and whom a trust policy trusts.
//!
//! Shared by the detection rules ([`mod@crate::classify`]: inline administrator policies,
//! externally trusted roles) and the response policy ([`crate::policy`]: does the target
//! already hold administrator rights). Both must agree on what "administrator" means, so
//! that knowledge lives here once.
//!
//! CloudTrail carries a document as a JSON object, a JSON string or a URL-encoded JSON
//! string; [`PolicyDocument::parse`] reads all three. Analysis is lenient: a statement of
//! an unexpected shape grants nothing and trusts no one.
use serde_json::Value;

/// AWS-managed policies treated as administrator-equivalent when attached to a user.
pub const ADMIN_MANAGED_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
];

/// `true` for AWS-managed admin-equivalent policies (see [`ADMIN_MANAGED_POLICIES`]).
pub fn is_admin_managed_policy(arn: &str) -> bool {
    ADMIN_MANAGED_POLICIES.contains(&arn)
}

/// Heuristic for administrator groups: the name contains "admin" (any case). Cordon does
/// not read a group's policies, so membership of such a group counts as an admin grant.
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

    /// The statements that grant administrator access (see [`Statement::grants_admin`]),
    /// as written, for evidence.
    pub fn admin_statements(&self) -> Vec<Value> {
        self.statements()
            .into_iter()
            .filter(Statement::grants_admin)
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

    /// An Allow of `*` (or `*:*`, `iam:*`) on `*`, or of `NotAction` on `*`.
    pub fn grants_admin(&self) -> bool {
        let all_resources = self.resources().iter().any(|r| r == "*");
        let all_actions = self
            .actions()
            .iter()
            .any(|a| a == "*" || a == "*:*" || a.eq_ignore_ascii_case("iam:*"))
            || self.has_not_action();
        self.allows() && all_resources && all_actions
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
                .map(|d| d.admin_statements())
                .unwrap_or_default()
        };
        let doc = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]});
        assert!(admin_statements(&doc).is_empty());
        let doc =
            serde_json::json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": ["*"]}});
        assert_eq!(admin_statements(&doc).len(), 1);
    }
}
