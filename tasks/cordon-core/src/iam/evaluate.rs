//! One request against a set of identity policies, decided as IAM decides within an
//! account: an explicit `Deny` that applies wins; otherwise an `Allow` that applies
//! allows; otherwise the request is implicitly denied.
//!
//! A statement applies when its action matches (`Action`, or not `NotAction`), its
//! resource matches (`Resource`, or not `NotResource`) and every condition holds. For an
//! implicit deny, [`Near`] names the `Allow` statement that came closest and what it
//! lacked, so a failing least-privilege check says what to change.
use std::fmt;

use super::document::{Effect, Policy, Statement, resolve_variables};
use super::pattern::{action_matches, arn_matches};

/// What is being asked: an action on a resource, with the condition keys the request
/// carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `service:Action`, e.g. `dynamodb:PutItem`.
    pub action: String,
    /// The resource's ARN, or `*` for an action that takes no resource type.
    pub resource: String,
    /// Condition keys and their values (a key may carry several, e.g. `aws:TagKeys`).
    pub context: Vec<(String, Vec<String>)>,
}

impl Request {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: Vec::new(),
        }
    }

    /// Adds a condition key with its values.
    pub fn with(mut self, key: impl Into<String>, values: Vec<String>) -> Request {
        self.context.push((key.into(), values));
        self
    }

    /// The values the request carries for `key` (keys compare case-insensitively).
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        for (key, values) in &self.context {
            write!(f, " [{key}={}]", values.join(","))?;
        }
        Ok(())
    }
}

/// The outcome, with the statement that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed { statement: String },
    ExplicitDeny { statement: String },
    ImplicitDeny { closest: Option<Near> },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed { statement } => write!(f, "allowed by {statement}"),
            Decision::ExplicitDeny { statement } => write!(f, "explicitly denied by {statement}"),
            Decision::ImplicitDeny { closest: None } => {
                write!(
                    f,
                    "no statement allows it (the policy has no Allow statement)"
                )
            }
            Decision::ImplicitDeny {
                closest: Some(near),
            } => {
                write!(f, "no statement allows it; closest: {near}")
            }
        }
    }
}

/// The `Allow` statement closest to allowing a request, and what it lacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Near {
    pub statement: String,
    pub missing: Vec<String>,
}

impl fmt::Display for Near {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.statement, self.missing.join("; "))
    }
}

/// Every identity policy of one principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
}

/// How a statement relates to a request, part by part.
struct Fit {
    action: bool,
    resource: bool,
    /// The conditions that do not hold, described.
    failed_conditions: Vec<String>,
}

impl Fit {
    fn applies(&self) -> bool {
        self.action && self.resource && self.failed_conditions.is_empty()
    }

    /// Closeness: the action counts most, then the resource, then the conditions.
    fn score(&self) -> u8 {
        u8::from(self.action) * 4
            + u8::from(self.resource) * 2
            + u8::from(self.failed_conditions.is_empty())
    }
}

fn fit(statement: &Statement, request: &Request) -> Fit {
    let action = statement
        .actions
        .iter()
        .any(|a| action_matches(a, &request.action))
        != statement.not_action;
    let resource = statement.resources.iter().any(|r| {
        resolve_variables(r, |key| match request.values(key) {
            Some([one]) => Some(one.clone()),
            _ => None,
        })
        .is_some_and(|r| arn_matches(&r, &request.resource))
    }) != statement.not_resource;
    let failed_conditions = statement
        .conditions
        .iter()
        .filter(|c| !c.holds(request.values(&c.key)))
        .map(|c| match request.values(&c.key) {
            Some(v) => format!(
                "condition {:?} {} {:?} does not hold for {:?}",
                c.key,
                operator_name(c),
                c.values,
                v
            ),
            None => format!(
                "condition {:?} {} {:?} needs a key the request does not carry",
                c.key,
                operator_name(c),
                c.values
            ),
        })
        .collect();
    Fit {
        action,
        resource,
        failed_conditions,
    }
}

fn operator_name(c: &super::condition::Condition) -> String {
    let mut name = format!("{:?}", c.operator);
    if c.if_exists {
        name.push_str("IfExists");
    }
    match c.set {
        Some(set) => format!("{set:?}:{name}"),
        None => name,
    }
}

/// Whether `statement` applies to `request` (its effect aside).
pub fn applies(statement: &Statement, request: &Request) -> bool {
    fit(statement, request).applies()
}

impl PolicySet {
    pub fn new(policies: Vec<Policy>) -> PolicySet {
        PolicySet { policies }
    }

    /// Every statement, in policy order.
    pub fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.policies.iter().flat_map(|p| p.statements.iter())
    }

    /// Decides `request`.
    pub fn evaluate(&self, request: &Request) -> Decision {
        let mut allowed = None;
        let mut closest: Option<(u8, &Statement, Fit)> = None;
        for statement in self.statements() {
            let fit = fit(statement, request);
            if fit.applies() {
                match statement.effect {
                    Effect::Deny => {
                        return Decision::ExplicitDeny {
                            statement: statement.label.clone(),
                        };
                    }
                    Effect::Allow => {
                        allowed.get_or_insert_with(|| statement.label.clone());
                    }
                }
            } else if statement.effect == Effect::Allow {
                let score = fit.score();
                if closest.as_ref().is_none_or(|(best, _, _)| score > *best) {
                    closest = Some((score, statement, fit));
                }
            }
        }
        if let Some(statement) = allowed {
            return Decision::Allowed { statement };
        }
        Decision::ImplicitDeny {
            closest: closest.map(|(_, statement, fit)| {
                let mut missing = Vec::new();
                if !fit.action {
                    let which = if statement.not_action {
                        "NotAction"
                    } else {
                        "Action"
                    };
                    missing.push(format!(
                        "{which} {:?} does not cover {}",
                        statement.actions, request.action
                    ));
                }
                if !fit.resource {
                    let which = if statement.not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    };
                    missing.push(format!(
                        "{which} {:?} does not cover {}",
                        statement.resources, request.resource
                    ));
                }
                missing.extend(fit.failed_conditions);
                Near {
                    statement: statement.label.clone(),
                    missing,
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "arn:aws:iam::123456789012:user/alice";
    const QUARANTINE: &str = "arn:aws:iam::123456789012:policy/Quarantine";

    fn set(doc: serde_json::Value) -> PolicySet {
        PolicySet::new(vec![Policy::parse("Fn", &doc).expect("policy")])
    }

    #[test]
    fn allow_needs_action_resource_and_conditions() {
        let p = set(json!([
            {"Sid": "Read", "Effect": "Allow", "Action": ["iam:GetUser", "iam:List*"],
             "Resource": "arn:aws:iam::123456789012:user/*"},
            {"Sid": "Attach", "Effect": "Allow", "Action": "iam:AttachUserPolicy",
             "Resource": "arn:aws:iam::123456789012:user/*",
             "Condition": {"ArnEquals": {"iam:PolicyARN": QUARANTINE}}}
        ]));
        assert!(p.evaluate(&Request::new("iam:GetUser", USER)).is_allowed());
        assert!(
            p.evaluate(&Request::new("IAM:listusertags", USER))
                .is_allowed()
        );
        let attach = Request::new("iam:AttachUserPolicy", USER);
        assert!(!p.evaluate(&attach).is_allowed(), "no iam:PolicyARN");
        let quarantine = attach
            .clone()
            .with("iam:PolicyARN", vec![QUARANTINE.into()]);
        assert_eq!(
            p.evaluate(&quarantine),
            Decision::Allowed {
                statement: "Fn Statement[1] (Sid Attach)".into()
            }
        );
        let admin = attach.with(
            "iam:PolicyARN",
            vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
        );
        let Decision::ImplicitDeny {
            closest: Some(near),
        } = p.evaluate(&admin)
        else {
            panic!("denied with a closest statement")
        };
        assert_eq!(near.statement, "Fn Statement[1] (Sid Attach)");
        assert!(near.missing[0].contains("iam:PolicyARN"), "{near}");
    }

    #[test]
    fn a_policy_variable_in_resource_takes_the_request_value() {
        let p = set(json!([
            {"Effect": "Allow", "Action": "iam:ChangePassword",
             "Resource": "arn:aws:iam::123456789012:user/${aws:username}"}
        ]));
        let change = |user: &str| Request::new("iam:ChangePassword", user);
        let as_alice = |r: Request| r.with("aws:username", vec!["alice".into()]);
        assert!(p.evaluate(&as_alice(change(USER))).is_allowed());
        let bob = "arn:aws:iam::123456789012:user/bob";
        assert!(
            !p.evaluate(&as_alice(change(bob))).is_allowed(),
            "only her own"
        );
        // A request without the key (a role session has no aws:username) matches nothing.
        assert!(!p.evaluate(&change(USER)).is_allowed());
    }

    #[test]
    fn explicit_deny_wins_and_not_elements_invert() {
        let p = set(json!([
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "NoKeys", "Effect": "Deny", "NotAction": "iam:Get*", "Resource": USER}
        ]));
        assert!(p.evaluate(&Request::new("iam:GetUser", USER)).is_allowed());
        assert_eq!(
            p.evaluate(&Request::new("iam:DeleteUser", USER)),
            Decision::ExplicitDeny {
                statement: "Fn Statement[1] (Sid NoKeys)".into()
            }
        );
        assert!(
            p.evaluate(&Request::new(
                "iam:DeleteUser",
                "arn:aws:iam::123456789012:user/bob"
            ))
            .is_allowed()
        );
        let q = set(
            json!([{"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:private"}]),
        );
        assert!(
            q.evaluate(&Request::new(
                "sns:Publish",
                "arn:aws:sns:us-east-1:1:public"
            ))
            .is_allowed()
        );
        assert!(
            !q.evaluate(&Request::new(
                "sns:Publish",
                "arn:aws:sns:us-east-1:1:private"
            ))
            .is_allowed()
        );
    }

    #[test]
    fn the_closest_statement_matches_the_action_first() {
        let p = set(json!([
            {"Sid": "Iam", "Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"},
            {"Sid": "Table", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
             "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/other"}
        ]));
        let request = Request::new(
            "dynamodb:UpdateItem",
            "arn:aws:dynamodb:us-east-1:123456789012:table/incidents",
        );
        let Decision::ImplicitDeny {
            closest: Some(near),
        } = p.evaluate(&request)
        else {
            panic!("denied")
        };
        assert_eq!(near.statement, "Fn Statement[1] (Sid Table)");
        assert_eq!(near.missing.len(), 1);
        assert!(near.missing[0].starts_with("Resource"), "{near}");
        assert_eq!(
            PolicySet::default().evaluate(&request),
            Decision::ImplicitDeny { closest: None }
        );
    }
}
