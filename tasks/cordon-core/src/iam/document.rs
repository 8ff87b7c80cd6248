//! An identity policy document, read strictly into typed statements.
//!
//! Strict because a statement the evaluator misreads would make offline looser than AWS:
//! an unknown key in a statement, `Action` and `NotAction` together (or neither), a
//! `Principal` (identity policies have none), a policy variable anywhere but `Resource`
//! (`${aws:username}`; there it is resolved from the request, see [`resolve_variables`]),
//! a variable with a default or a special character variable (`${*}`), or an operator
//! [`super::condition`] does not implement is a [`PolicyError`] naming the statement.
use serde_json::Value;

use super::condition::{Condition, Operator};

/// A policy document and where it came from (for messages: "EnrichFunction
/// Policies[0]", "ApprovalCallbackPolicy").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub source: String,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `<source> Statement[<i>]`, with ` (Sid <sid>)` when it has one.
    pub label: String,
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Action`, or `NotAction` when `not_action` is set.
    pub actions: Vec<String>,
    pub not_action: bool,
    /// `Resource`, or `NotResource` when `not_resource` is set.
    pub resources: Vec<String>,
    pub not_resource: bool,
    pub conditions: Vec<Condition>,
}

/// Why a document cannot be evaluated exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct PolicyError {
    /// The policy source and statement.
    pub at: String,
    pub message: String,
}

impl Policy {
    /// Reads `document` (`{"Version": ..., "Statement": ...}`, or a bare statement list as
    /// SAM writes inline policies) from `source`.
    pub fn parse(source: &str, document: &Value) -> Result<Policy, PolicyError> {
        let error = |message: String| PolicyError {
            at: source.to_owned(),
            message,
        };
        let statements = match document {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            Value::Object(map) => {
                if let Some(key) = map
                    .keys()
                    .find(|k| !["Version", "Id", "Statement"].contains(&k.as_str()))
                {
                    return Err(error(format!(
                        "unexpected key {key:?} in a policy document"
                    )));
                }
                match map.get("Version").map(Value::as_str) {
                    None | Some(Some("2012-10-17" | "2008-10-17")) => {}
                    Some(other) => {
                        return Err(error(format!(
                            "Version {other:?} is not an IAM policy language version"
                        )));
                    }
                }
                match map.get("Statement") {
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(single @ Value::Object(_)) => vec![single],
                    _ => return Err(error("a policy document needs a Statement".into())),
                }
            }
            _ => return Err(error("a policy document must be a JSON object".into())),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| Statement::parse(&format!("{source} Statement[{i}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sids: Vec<&str> = statements.iter().filter_map(|s| s.sid.as_deref()).collect();
        sids.sort_unstable();
        if let Some(w) = sids.windows(2).find(|w| w[0] == w[1]) {
            return Err(error(format!("Sid {:?} is used twice", w[0])));
        }
        Ok(Policy {
            source: source.to_owned(),
            statements,
        })
    }
}

impl Statement {
    fn parse(at: &str, value: &Value) -> Result<Statement, PolicyError> {
        let sid = value.get("Sid").and_then(Value::as_str).map(str::to_owned);
        let label = match &sid {
            Some(sid) => format!("{at} (Sid {sid})"),
            None => at.to_owned(),
        };
        let error = |message: String| PolicyError {
            at: label.clone(),
            message,
        };
        let Value::Object(map) = value else {
            return Err(error("a statement must be a JSON object".into()));
        };
        const KEYS: &[&str] = &[
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        ];
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(error(match key.as_str() {
                "Principal" | "NotPrincipal" => {
                    format!("{key} belongs in a resource policy, not an identity policy")
                }
                _ => format!("unexpected key {key:?}"),
            }));
        }
        let effect = match map.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => {
                return Err(error(format!(
                    "Effect must be Allow or Deny, got {other:?}"
                )));
            }
        };
        let (actions, not_action) = one_of(map, "Action", "NotAction").map_err(error)?;
        let (resources, not_resource) = one_of(map, "Resource", "NotResource").map_err(error)?;
        for action in &actions {
            if action != "*" && !action.contains(':') {
                return Err(error(format!("action {action:?} is not service:Action")));
            }
        }
        let conditions = match map.get("Condition") {
            None => Vec::new(),
            Some(block) => conditions(block).map_err(error)?,
        };
        Ok(Statement {
            label,
            sid,
            effect,
            actions,
            not_action,
            resources,
            not_resource,
            conditions,
        })
    }
}

/// `Action` xor `NotAction` (or `Resource` xor `NotResource`), as a list of strings.
fn one_of(
    map: &serde_json::Map<String, Value>,
    key: &str,
    not_key: &str,
) -> Result<(Vec<String>, bool), String> {
    match (map.get(key), map.get(not_key)) {
        (Some(v), None) => Ok((strings(key, v)?, false)),
        (None, Some(v)) => Ok((strings(not_key, v)?, true)),
        (Some(_), Some(_)) => Err(format!(
            "a statement has either {key} or {not_key}, not both"
        )),
        (None, None) => Err(format!("a statement needs {key} or {not_key}")),
    }
}

/// A string or a non-empty list of strings, with no policy variable in it.
fn strings(key: &str, value: &Value) -> Result<Vec<String>, String> {
    let items = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{key} entries must be strings, got {other}")),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(format!(
                "{key} must be a string or a list of strings, got {other}"
            ));
        }
    };
    for item in &items {
        if !item.contains("${") {
            continue;
        }
        if !key.ends_with("Resource") {
            return Err(format!(
                "{key} {item:?} uses a policy variable, which Cordon's evaluator resolves only \
                 in Resource and NotResource"
            ));
        }
        variables(item).map_err(|e| format!("{key} {item:?}: {e}"))?;
    }
    Ok(items)
}

/// The condition keys a pattern's policy variables name (`${aws:username}` → `aws:username`).
fn variables(pattern: &str) -> Result<Vec<&str>, String> {
    let mut keys = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "a policy variable is not closed with }".to_string())?;
        let key = &after[..end];
        let plain = !key.is_empty()
            && key.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'-' | b'_' | b'.')
            });
        if !plain {
            return Err(format!(
                "the policy variable ${{{key}}} (a default value or a special character) is not \
                 supported by Cordon's evaluator"
            ));
        }
        keys.push(key);
        rest = &after[end + 1..];
    }
    Ok(keys)
}

/// `pattern` with each policy variable replaced by the request's value for its key, as IAM
/// does; `None` when the request has no single value for one of them (the pattern then
/// matches nothing).
pub(super) fn resolve_variables(
    pattern: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if !pattern.contains("${") {
        return Some(pattern.to_owned());
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        out.push_str(&value(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn conditions(block: &Value) -> Result<Vec<Condition>, String> {
    let Value::Object(operators) = block else {
        return Err("Condition must be a mapping of operators".into());
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        let (operator, set, if_exists) = Operator::parse(name)?;
        let Value::Object(keys) = keys else {
            return Err(format!(
                "Condition {name} must map condition keys to values"
            ));
        };
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                single => vec![scalar(single)?],
            };
            if let Some(variable) = values.iter().find(|s| s.contains("${")) {
                return Err(format!(
                    "Condition {name} {key}: {variable:?} uses a policy variable, which \
                     Cordon's evaluator does not resolve"
                ));
            }
            out.push(Condition {
                operator,
                set,
                if_exists,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Condition values may be strings, numbers or booleans; IAM compares their text.
fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("a condition value must be a scalar, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_documents_and_bare_statement_lists() {
        let doc = json!({"Version": "2012-10-17", "Statement": {"Sid": "A", "Effect": "Allow",
            "Action": "iam:GetUser", "Resource": ["arn:aws:iam::1:user/*"]}});
        let p = Policy::parse("P", &doc).expect("policy");
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.statements[0].label, "P Statement[0] (Sid A)");
        assert_eq!(p.statements[0].actions, ["iam:GetUser"]);
        let list = json!([{"Effect": "Deny", "NotAction": ["kms:*"], "NotResource": "*"}]);
        let p = Policy::parse("Q", &list).expect("policy");
        assert!(p.statements[0].not_action && p.statements[0].not_resource);
        assert_eq!(p.statements[0].effect, Effect::Deny);
    }

    #[test]
    fn refuses_what_it_cannot_evaluate_exactly() {
        let bad = |s: Value| {
            Policy::parse("P", &json!([s]))
                .expect_err("refused")
                .to_string()
        };
        assert!(bad(json!({"Effect": "Allow", "Resource": "*"})).contains("Action or NotAction"));
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b", "NotAction": "a:c", "Resource": "*"}))
                .contains("not both")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b"})).contains("Resource or NotResource")
        );
        assert!(
            bad(json!({"Effect": "allow", "Action": "a:b", "Resource": "*"})).contains("Effect")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Principal": "*"}))
                .contains("resource policy")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:${aws:username}", "Resource": "*"}))
                .contains("only in Resource")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b",
            "Resource": "arn:aws:iam::1:user/${aws:username, 'x'}"}))
            .contains("not supported")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b",
            "Resource": "arn:aws:s3:::b/${*}"}))
            .contains("not supported")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b",
            "Resource": "arn:aws:iam::1:user/${aws:username"}))
            .contains("not closed")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "a:b", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}}))
            .contains("DateLessThan")
        );
        assert!(
            bad(json!({"Effect": "Allow", "Action": "GetUser", "Resource": "*"}))
                .contains("service:Action")
        );
        assert_eq!(
            resolve_variables("arn:aws:iam::1:user/${aws:username}/x", |k| {
                (k == "aws:username").then(|| "alice".to_string())
            }),
            Some("arn:aws:iam::1:user/alice/x".to_string())
        );
        assert_eq!(
            resolve_variables("arn:aws:iam::1:user/${aws:username}", |_| None),
            None
        );
        let dup = json!([{"Sid": "A", "Effect": "Allow", "Action": "a:b", "Resource": "*"},
                         {"Sid": "A", "Effect": "Allow", "Action": "a:c", "Resource": "*"}]);
        assert!(
            Policy::parse("P", &dup)
                .expect_err("dup")
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn reads_conditions() {
        let doc = json!([{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*",
            "Condition": {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::1:policy/Q"},
                          "ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]},
                          "Bool": {"aws:SecureTransport": true}}}]);
        let p = Policy::parse("P", &doc).expect("policy");
        let c = &p.statements[0].conditions;
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].key, "iam:PolicyARN");
        assert_eq!(c[1].values, ["a", "b"]);
        assert_eq!(c[2].values, ["true"]);
    }
}
