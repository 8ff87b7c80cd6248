//! The `Condition` element: operators, `...IfExists`, `ForAnyValue:` / `ForAllValues:`.
//!
//! Semantics, from IAM's reference ("Condition operators", "Set operators for multivalued
//! context keys"):
//! - a statement's conditions all hold (AND across operators and keys); a key's values
//!   are alternatives (OR);
//! - a key missing from the request makes a condition false, except for the negated
//!   operators (`StringNotEquals`, `ArnNotLike`, ...), which are then true, `...IfExists`,
//!   which is then true, and `Null`, which tests exactly that;
//! - `ForAnyValue:` holds when some request value matches (false when the key is missing),
//!   `ForAllValues:` when every request value does (true when the key is missing).
//!
//! Keys compare case-insensitively; values case-sensitively unless the operator says
//! `IgnoreCase`. The numeric, date, IP and binary operators are not implemented: a policy
//! that uses one is refused when read ([`Operator::parse`]), never evaluated loosely.
use super::pattern::{arn_matches, glob};

/// The comparison a condition makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Bool,
    Null,
}

/// A set operator for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

/// One key of one operator block, e.g. `"ArnEquals": {"iam:PolicyARN": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    pub set: Option<SetOperator>,
    pub if_exists: bool,
    /// The condition key as written (compared case-insensitively).
    pub key: String,
    /// The policy's values for it.
    pub values: Vec<String>,
}

impl Operator {
    /// Reads an operator name such as `ForAnyValue:StringLikeIfExists`. `Err` names what
    /// Cordon's evaluator does not implement.
    pub fn parse(name: &str) -> Result<(Operator, Option<SetOperator>, bool), String> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let operator = match base {
            "StringEquals" => Operator::StringEquals,
            "StringNotEquals" => Operator::StringNotEquals,
            "StringEqualsIgnoreCase" => Operator::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Operator::StringNotEqualsIgnoreCase,
            "StringLike" => Operator::StringLike,
            "StringNotLike" => Operator::StringNotLike,
            "ArnEquals" => Operator::ArnEquals,
            "ArnNotEquals" => Operator::ArnNotEquals,
            "ArnLike" => Operator::ArnLike,
            "ArnNotLike" => Operator::ArnNotLike,
            "Bool" => Operator::Bool,
            "Null" => Operator::Null,
            other => {
                return Err(format!(
                    "condition operator {name}: {other} is not one Cordon's evaluator \
                     implements (String*, Arn*, Bool, Null, with IfExists and \
                     ForAnyValue:/ForAllValues:)"
                ));
            }
        };
        if operator == Operator::Null && (if_exists || set.is_some()) {
            return Err(format!(
                "condition operator {name}: Null takes no qualifier"
            ));
        }
        Ok((operator, set, if_exists))
    }

    /// The negated operators hold when their positive form does not.
    fn negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::ArnNotEquals
                | Operator::ArnNotLike
        )
    }

    /// Whether one request value matches one policy value, for the positive form.
    fn matches(self, policy: &str, request: &str) -> bool {
        match self {
            Operator::StringEquals | Operator::StringNotEquals => policy == request,
            Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
                policy.eq_ignore_ascii_case(request)
            }
            Operator::StringLike | Operator::StringNotLike => glob(policy, request),
            // IAM documents ArnEquals and ArnLike alike: segment-wise, with wildcards.
            Operator::ArnEquals
            | Operator::ArnNotEquals
            | Operator::ArnLike
            | Operator::ArnNotLike => arn_matches(policy, request),
            Operator::Bool => policy.eq_ignore_ascii_case(request),
            Operator::Null => false,
        }
    }
}

impl Condition {
    /// Whether the condition holds for a request whose values for this key are `present`
    /// (`None`: the request does not carry the key).
    pub fn holds(&self, present: Option<&[String]>) -> bool {
        if self.operator == Operator::Null {
            let wants_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            let absent = present.is_none_or(<[String]>::is_empty);
            return wants_absent == absent;
        }
        let values = match present {
            Some(values) if !values.is_empty() => values,
            _ => {
                return match self.set {
                    Some(SetOperator::ForAllValues) => true,
                    Some(SetOperator::ForAnyValue) => self.if_exists,
                    None => self.if_exists || self.operator.negated(),
                };
            }
        };
        let positive = |value: &String| self.values.iter().any(|p| self.operator.matches(p, value));
        // A negated operator asks, per request value, that no policy value matches it.
        let one = |value: &String| positive(value) != self.operator.negated();
        match self.set {
            Some(SetOperator::ForAllValues) => values.iter().all(one),
            Some(SetOperator::ForAnyValue) => values.iter().any(one),
            // A single-valued key: it holds if the value matches. A key that carries
            // several values without a set operator is treated as "any" for positive
            // operators and "none" for negated ones.
            None if self.operator.negated() => !values.iter().any(positive),
            None => values.iter().any(positive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(op: &str, values: &[&str]) -> Condition {
        let (operator, set, if_exists) = Operator::parse(op).expect("operator");
        Condition {
            operator,
            set,
            if_exists,
            key: "k".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn v(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn missing_keys() {
        assert!(!condition("StringEquals", &["a"]).holds(None));
        assert!(condition("StringNotEquals", &["a"]).holds(None));
        assert!(condition("StringEqualsIfExists", &["a"]).holds(None));
        assert!(!condition("ArnEquals", &["arn:aws:iam::1:policy/q"]).holds(None));
        assert!(condition("ArnNotLike", &["arn:*"]).holds(None));
        assert!(!condition("ForAnyValue:StringEquals", &["a"]).holds(None));
        assert!(condition("ForAllValues:StringEquals", &["a"]).holds(None));
        assert!(condition("Null", &["true"]).holds(None));
        assert!(!condition("Null", &["false"]).holds(None));
        assert!(condition("Null", &["false"]).holds(Some(&v(&["x"]))));
    }

    #[test]
    fn string_and_arn_operators() {
        let q = "arn:aws:iam::123456789012:policy/Quarantine";
        assert!(condition("ArnEquals", &[q]).holds(Some(&v(&[q]))));
        assert!(
            !condition("ArnEquals", &[q])
                .holds(Some(&v(&["arn:aws:iam::aws:policy/AdministratorAccess"])))
        );
        assert!(condition("ArnLike", &["arn:aws:iam::*:policy/Q*"]).holds(Some(&v(&[q]))));
        assert!(!condition("ArnNotEquals", &[q]).holds(Some(&v(&[q]))));
        assert!(condition("StringEquals", &["a", "b"]).holds(Some(&v(&["b"]))));
        assert!(!condition("StringEquals", &["A"]).holds(Some(&v(&["a"]))));
        assert!(condition("StringEqualsIgnoreCase", &["A"]).holds(Some(&v(&["a"]))));
        assert!(condition("StringLike", &["dynamodb.*"]).holds(Some(&v(&["dynamodb.x"]))));
        assert!(!condition("StringNotLike", &["dynamodb.*"]).holds(Some(&v(&["dynamodb.x"]))));
        assert!(condition("Bool", &["true"]).holds(Some(&v(&["TRUE"]))));
    }

    #[test]
    fn set_operators() {
        let tags = v(&["SecurityStatus", "CordonIncident"]);
        let all = condition(
            "ForAllValues:StringEquals",
            &["SecurityStatus", "CordonIncident"],
        );
        assert!(all.holds(Some(&tags)));
        let one = condition("ForAllValues:StringEquals", &["SecurityStatus"]);
        assert!(!one.holds(Some(&tags)));
        assert!(condition("ForAnyValue:StringEquals", &["CordonIncident"]).holds(Some(&tags)));
        assert!(condition("ForAnyValue:StringNotEquals", &["CordonIncident"]).holds(Some(&tags)));
        assert!(!condition("ForAllValues:StringNotEquals", &["CordonIncident"]).holds(Some(&tags)));
    }

    #[test]
    fn unsupported_operators_are_refused() {
        let e = Operator::parse("NumericLessThan").expect_err("unsupported");
        assert!(e.contains("NumericLessThan"), "{e}");
        assert!(Operator::parse("StringEqualsIfExistz").is_err());
        assert!(Operator::parse("NullIfExists").is_err());
    }
}
