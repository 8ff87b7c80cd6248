//! Choice rules: the comparison operators, their `*Path` variants, and And/Or/Not.
use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Number, Value};

use crate::paths::{Path, Roots};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    StringMatches,
    Numeric,
    Boolean,
    Timestamp,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Le => o != Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    pub family: Family,
    pub cmp: Cmp,
    /// The `*Path` variant: the operand is a reference path.
    pub path: bool,
}

impl Operator {
    pub(crate) fn from_name(name: &str) -> Option<Operator> {
        let (base, path) = match name.strip_suffix("Path") {
            Some(b) if !b.is_empty() && b != "Is" => (b, true),
            _ => (name, false),
        };
        let is = |family| {
            (!path).then_some(Operator {
                family,
                cmp: Cmp::Eq,
                path: false,
            })
        };
        match base {
            "IsNull" => return is(Family::IsNull),
            "IsPresent" => return is(Family::IsPresent),
            "IsNumeric" => return is(Family::IsNumeric),
            "IsString" => return is(Family::IsString),
            "IsBoolean" => return is(Family::IsBoolean),
            "IsTimestamp" => return is(Family::IsTimestamp),
            "StringMatches" => return is(Family::StringMatches),
            "BooleanEquals" => {
                return Some(Operator {
                    family: Family::Boolean,
                    cmp: Cmp::Eq,
                    path,
                });
            }
            _ => {}
        }
        let (family, rest) = if let Some(r) = base.strip_prefix("String") {
            (Family::String, r)
        } else if let Some(r) = base.strip_prefix("Numeric") {
            (Family::Numeric, r)
        } else if let Some(r) = base.strip_prefix("Timestamp") {
            (Family::Timestamp, r)
        } else {
            return None;
        };
        let cmp = match rest {
            "Equals" => Cmp::Eq,
            "LessThan" => Cmp::Lt,
            "GreaterThan" => Cmp::Gt,
            "LessThanEquals" => Cmp::Le,
            "GreaterThanEquals" => Cmp::Ge,
            _ => return None,
        };
        Some(Operator { family, cmp, path })
    }

    /// Checks the operand's JSON type at definition time (and parses a `*Path` operand).
    pub(crate) fn check_operand(&self, raw: &Value) -> Result<Operand, String> {
        if self.path {
            return match raw {
                Value::String(s) => crate::paths::validate_reference_path(s)
                    .and_then(|()| Path::parse(s).map_err(|e| e.to_string()))
                    .map(Operand::Path)
                    .map_err(|e| format!("is not a valid reference path: {e}")),
                _ => Err("must be a reference path string".into()),
            };
        }
        let ok = match self.family {
            Family::String | Family::StringMatches => raw.is_string(),
            Family::Numeric => raw.is_number(),
            Family::Timestamp => {
                if let Some(s) = raw.as_str() {
                    if parse_timestamp(s).is_none() {
                        return Err(format!(
                            "must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z, got '{s}'"
                        ));
                    }
                    true
                } else {
                    false
                }
            }
            Family::Boolean
            | Family::IsNull
            | Family::IsPresent
            | Family::IsNumeric
            | Family::IsString
            | Family::IsBoolean
            | Family::IsTimestamp => raw.is_boolean(),
        };
        if ok {
            Ok(Operand::Literal(raw.clone()))
        } else {
            let want = match self.family {
                Family::String | Family::StringMatches | Family::Timestamp => "a string",
                Family::Numeric => "a number",
                _ => "a boolean",
            };
            Err(format!("must be {want}"))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    pub variable: Path,
    pub operator: Operator,
    pub operand: Operand,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Compare(Comparison),
}

fn invalid_path(path: &str) -> String {
    format!("Invalid path '{path}': The choice state's condition path references an invalid value.")
}

impl ChoiceRule {
    /// Evaluates the rule (`$` is the state's input after InputPath, `$name` a variable). An
    /// `Err` is the message of a `States.Runtime` failure.
    pub(crate) fn eval(&self, roots: &Roots<'_>) -> Result<bool, String> {
        match self {
            ChoiceRule::And(rules) => {
                for r in rules {
                    if !r.eval(roots)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for r in rules {
                    if r.eval(roots)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(r) => Ok(!r.eval(roots)?),
            ChoiceRule::Compare(c) => c.eval(roots),
        }
    }
}

impl Comparison {
    fn eval(&self, roots: &Roots<'_>) -> Result<bool, String> {
        let var = self.variable.select(roots);
        let op = self.operator;
        let expected_bool = || match &self.operand {
            Operand::Literal(Value::Bool(b)) => *b,
            _ => true,
        };
        let Some(var) = var else {
            return if op.family == Family::IsPresent {
                Ok(!expected_bool())
            } else {
                Err(invalid_path(self.variable.as_str()))
            };
        };
        let is = |holds: bool| Ok(holds == expected_bool());
        match op.family {
            Family::IsPresent => return is(true),
            Family::IsNull => return is(var.is_null()),
            Family::IsNumeric => return is(var.is_number()),
            Family::IsString => return is(var.is_string()),
            Family::IsBoolean => return is(var.is_boolean()),
            Family::IsTimestamp => {
                return is(var.as_str().and_then(parse_timestamp).is_some());
            }
            _ => {}
        }
        let operand = match &self.operand {
            Operand::Literal(v) => v.clone(),
            Operand::Path(p) => p.select(roots).ok_or_else(|| invalid_path(p.as_str()))?,
        };
        Ok(match op.family {
            Family::String => match (var.as_str(), operand.as_str()) {
                (Some(a), Some(b)) => op.cmp.holds(utf16_cmp(a, b)),
                _ => false,
            },
            Family::StringMatches => match (var.as_str(), operand.as_str()) {
                (Some(a), Some(p)) => string_matches(a, p),
                _ => false,
            },
            Family::Numeric => match (&var, &operand) {
                (Value::Number(a), Value::Number(b)) => {
                    num_cmp(a, b).is_some_and(|o| op.cmp.holds(o))
                }
                _ => false,
            },
            Family::Boolean => match (&var, &operand) {
                (Value::Bool(a), Value::Bool(b)) => a == b,
                _ => false,
            },
            Family::Timestamp => {
                match (
                    var.as_str().and_then(parse_timestamp),
                    operand.as_str().and_then(parse_timestamp),
                ) {
                    (Some(a), Some(b)) => op.cmp.holds(a.cmp(&b)),
                    _ => false,
                }
            }
            _ => false,
        })
    }
}

/// Java-style string ordering (UTF-16 code units), as AWS compares strings.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Compares two JSON numbers by value, exactly for integers.
pub(crate) fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Parses a timestamp the way the ASL requires: RFC 3339, an uppercase `T` separator and an
/// uppercase `Z` or a numeric offset.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b.get(10) != Some(&b'T') || s.contains('z') || s.contains('t') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal `*` and `\\` a literal `\`.
pub(crate) fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Lit(char),
        Star,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Lit(n)),
                None => toks.push(Tok::Lit('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Lit(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        match toks.get(pi) {
            Some(Tok::Lit(c)) if *c == text[ti] => {
                ti += 1;
                pi += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        assert!(Operator::from_name("StringEquals").is_some());
        assert!(Operator::from_name("StringEqualsPath").unwrap().path);
        assert!(Operator::from_name("NumericGreaterThanEqualsPath").is_some());
        assert!(Operator::from_name("TimestampLessThanEquals").is_some());
        assert!(Operator::from_name("IsTimestamp").is_some());
        assert!(Operator::from_name("IsNullPath").is_none());
        assert!(Operator::from_name("StringMatchesPath").is_none());
        assert!(Operator::from_name("StringContains").is_none());
        assert!(Operator::from_name("BooleanEqualsPath").unwrap().path);
    }

    #[test]
    fn wildcards() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("log.csv", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("abcbc", "*bc"));
        assert!(string_matches("xay", "*a*"));
    }

    #[test]
    fn timestamps_are_strict() {
        assert!(parse_timestamp("2012-10-09T19:00:55Z").is_some());
        assert!(parse_timestamp("2012-10-09T19:00:55+01:00").is_some());
        assert!(parse_timestamp("2012-10-09T19:00:55.123Z").is_some());
        assert!(parse_timestamp("2012-10-09T19:00:55").is_none());
        assert!(parse_timestamp("2012-10-09 19:00:55Z").is_none());
        assert!(parse_timestamp("2012-10-09t19:00:55z").is_none());
        assert!(parse_timestamp("2023-02-24").is_none());
    }

    #[test]
    fn numbers_compare_by_value() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert_eq!(
            num_cmp(&n(serde_json::json!(1)), &n(serde_json::json!(1.0))),
            Some(Ordering::Equal)
        );
        assert_eq!(
            num_cmp(&n(serde_json::json!(-1)), &n(serde_json::json!(u64::MAX))),
            Some(Ordering::Less)
        );
    }
}
