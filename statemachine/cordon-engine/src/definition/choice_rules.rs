//! Choice rules: `Variable` with one comparison operator, or `And`/`Or`/`Not` over nested
//! rules.
use serde_json::Value;

use crate::choice::{ChoiceRule, Comparison, Operator};
use crate::paths::{self, Path};

const RULE_KEYS: &[&str] = &["Variable", "Next", "Comment", "And", "Or", "Not", "Assign"];

/// Parses a choice rule; `top` rules need `Next`, nested ones must not have it.
pub(super) fn parse_rule(
    v: &Value,
    at: &str,
    top: bool,
    problems: &mut Vec<(String, String)>,
) -> Option<ChoiceRule> {
    let Some(m) = v.as_object() else {
        problems.push((at.to_owned(), "must be a JSON object".into()));
        return None;
    };
    let field = |k: &str| format!("{at}.{k}");
    if top {
        match m.get("Next") {
            Some(Value::String(_)) => {}
            Some(_) => problems.push((field("Next"), "must be a string".into())),
            None => problems.push((
                field("Next"),
                "is required in a top-level choice rule".into(),
            )),
        }
    } else {
        for k in ["Next", "Assign"] {
            if m.contains_key(k) {
                problems.push((field(k), "is only allowed in top-level choice rules".into()));
            }
        }
    }
    if m.get("Comment").is_some_and(|c| !c.is_string()) {
        problems.push((field("Comment"), "must be a string".into()));
    }
    let mut operators = Vec::new();
    for k in m.keys() {
        if RULE_KEYS.contains(&k.as_str()) {
            if matches!(k.as_str(), "And" | "Or" | "Not") {
                operators.push(k.as_str());
            }
        } else if Operator::from_name(k).is_some() {
            operators.push(k.as_str());
        } else {
            problems.push((
                field(k),
                "is not a valid choice rule field or comparison operator".into(),
            ));
        }
    }
    if operators.len() != 1 {
        problems.push((
            at.to_owned(),
            if operators.is_empty() {
                "must contain exactly one comparison operator or And/Or/Not".to_owned()
            } else {
                format!(
                    "must contain exactly one comparison operator or And/Or/Not, found {}",
                    operators.join(", ")
                )
            },
        ));
        return None;
    }
    let op = operators[0];
    match op {
        "And" | "Or" => {
            if m.contains_key("Variable") {
                problems.push((field("Variable"), format!("is not allowed with '{op}'")));
            }
            let Some(items) = m
                .get(op)
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
            else {
                problems.push((
                    field(op),
                    "must be a non-empty array of choice rules".into(),
                ));
                return None;
            };
            let mut rules = Vec::new();
            for (i, item) in items.iter().enumerate() {
                rules.push(parse_rule(
                    item,
                    &format!("{at}.{op}[{i}]"),
                    false,
                    problems,
                ));
            }
            let rules: Option<Vec<ChoiceRule>> = rules.into_iter().collect();
            let rules = rules?;
            Some(if op == "And" {
                ChoiceRule::And(rules)
            } else {
                ChoiceRule::Or(rules)
            })
        }
        "Not" => {
            if m.contains_key("Variable") {
                problems.push((field("Variable"), "is not allowed with 'Not'".into()));
            }
            let inner = m.get("Not")?;
            if !inner.is_object() {
                problems.push((field("Not"), "must be a single choice rule object".into()));
                return None;
            }
            parse_rule(inner, &field("Not"), false, problems).map(|r| ChoiceRule::Not(Box::new(r)))
        }
        name => {
            let operator = Operator::from_name(name)?;
            let variable = match m.get("Variable") {
                Some(Value::String(s)) => match paths::validate_reference_path(s)
                    .and_then(|()| Path::parse(s).map_err(|e| e.to_string()))
                {
                    Ok(p) => Some(p),
                    Err(e) => {
                        problems.push((
                            field("Variable"),
                            format!("is not a valid reference path: {e}"),
                        ));
                        None
                    }
                },
                Some(_) => {
                    problems.push((field("Variable"), "must be a string".into()));
                    None
                }
                None => {
                    problems.push((
                        field("Variable"),
                        format!("is required with the '{name}' operator"),
                    ));
                    None
                }
            };
            let raw = m.get(name)?;
            let operand = match operator.check_operand(raw) {
                Ok(o) => o,
                Err(msg) => {
                    problems.push((field(name), msg));
                    return None;
                }
            };
            Some(ChoiceRule::Compare(Comparison {
                variable: variable?,
                operator,
                operand,
            }))
        }
    }
}
