//! Compiling a pattern: `PutRule`'s validation, and `$or` expanded into branches.

use serde_json::{Map, Value};

use super::error::{MAX_BRANCHES, PatternError, PatternErrorKind, err, json_type};
use super::matcher::{
    AnythingBut, Branch, Cidr, Literal, Matcher, NumericRange, Wildcard, comparable_checked, fold,
};

/// Keys that may not be used as field names inside a `$or` alternative
/// (event-ruler's `RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP`).
pub(super) const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

pub(super) fn parse_object(
    obj: &Map<String, Value>,
    prefix: &str,
    branches: &mut Vec<Branch>,
    in_or: bool,
) -> Result<(), PatternError> {
    if obj.is_empty() {
        return Err(err(prefix, PatternErrorKind::EmptyObject));
    }
    for (key, value) in obj {
        if key == "$or" {
            parse_or(value, prefix, branches)?;
            continue;
        }
        let path = join(prefix, key);
        if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return Err(err(&path, PatternErrorKind::ReservedKeyInOr(key.clone())));
        }
        match value {
            Value::Object(child) => parse_object(child, &path, branches, in_or)?,
            Value::Array(items) => {
                let matchers = parse_matchers(items, &path)?;
                for branch in branches.iter_mut() {
                    branch.insert(path.clone(), matchers.clone());
                }
            }
            other => {
                return Err(err(
                    &path,
                    PatternErrorKind::NotObjectOrArray(json_type(other)),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn parse_or(
    value: &Value,
    prefix: &str,
    branches: &mut Vec<Branch>,
) -> Result<(), PatternError> {
    let path = join(prefix, "$or");
    let items = value
        .as_array()
        .ok_or_else(|| err(&path, PatternErrorKind::Or("it is not an array")))?;
    if items.len() < 2 {
        return Err(err(
            &path,
            PatternErrorKind::Or("it has fewer than two alternatives"),
        ));
    }
    let current = std::mem::take(branches);
    for item in items {
        let alt = item.as_object().ok_or_else(|| {
            err(
                &path,
                PatternErrorKind::Or("an alternative is not an object"),
            )
        })?;
        let mut forked = current.clone();
        parse_object(alt, prefix, &mut forked, true)?;
        branches.extend(forked);
        if branches.len() > MAX_BRANCHES {
            return Err(err(&path, PatternErrorKind::TooComplex));
        }
    }
    Ok(())
}

pub(super) fn parse_matchers(items: &[Value], path: &str) -> Result<Vec<Matcher>, PatternError> {
    if items.is_empty() {
        return Err(err(path, PatternErrorKind::EmptyArray));
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(Matcher::Exact(Literal::string(s))),
            Value::Number(n) => Ok(Matcher::Exact(Literal::Number(n.clone()))),
            Value::Bool(b) => Ok(Matcher::Exact(Literal::Bool(*b))),
            Value::Null => Ok(Matcher::Exact(Literal::Null)),
            Value::Object(expr) => parse_expression(expr, path),
            Value::Array(_) => Err(err(
                path,
                PatternErrorKind::InvalidMatchValue("a nested array"),
            )),
        })
        .collect()
}

pub(super) fn single_entry<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<(&'a String, &'a Value), PatternError> {
    let mut iter = obj.iter();
    match (iter.next(), obj.len()) {
        (Some(entry), 1) => Ok(entry),
        (_, n) => Err(err(path, PatternErrorKind::ExpressionKeyCount(n))),
    }
}

pub(super) fn operand(operator: &str, expected: &'static str, path: &str) -> PatternError {
    err(
        path,
        PatternErrorKind::OperandType {
            operator: operator.to_owned(),
            expected,
        },
    )
}

pub(super) fn parse_expression(
    expr: &Map<String, Value>,
    path: &str,
) -> Result<Matcher, PatternError> {
    let (op, value) = single_entry(expr, path)?;
    match op.as_str() {
        "prefix" | "suffix" => {
            let is_prefix = op == "prefix";
            match value {
                Value::String(s) if is_prefix => Ok(Matcher::Prefix(s.clone())),
                Value::String(s) => Ok(Matcher::Suffix(s.clone())),
                Value::Object(inner) => {
                    let (inner_op, inner_value) = single_entry(inner, path)?;
                    match (inner_op.as_str(), inner_value) {
                        ("equals-ignore-case", Value::String(s)) => {
                            let folded = fold(s);
                            Ok(if is_prefix {
                                Matcher::PrefixIgnoreCase(folded)
                            } else {
                                Matcher::SuffixIgnoreCase(folded)
                            })
                        }
                        ("equals-ignore-case", _) => Err(operand(
                            &format!("{op}.equals-ignore-case"),
                            "a string",
                            path,
                        )),
                        (other, _) => Err(err(
                            path,
                            PatternErrorKind::UnknownOperator(format!("{op}.{other}")),
                        )),
                    }
                }
                _ => Err(operand(
                    op,
                    "a string or {\"equals-ignore-case\": string}",
                    path,
                )),
            }
        }
        "equals-ignore-case" => match value {
            Value::String(s) => Ok(Matcher::EqualsIgnoreCase(fold(s))),
            _ => Err(operand(op, "a string", path)),
        },
        "wildcard" => match value {
            Value::String(s) => Ok(Matcher::Wildcard(Wildcard::parse(s, path)?)),
            _ => Err(operand(op, "a string", path)),
        },
        "anything-but" => parse_anything_but(value, path).map(Matcher::AnythingBut),
        "numeric" => match value {
            Value::Array(items) => parse_numeric(items, path).map(Matcher::Numeric),
            _ => Err(operand(op, "an array such as [\">\", 0, \"<=\", 5]", path)),
        },
        "exists" => match value {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(operand(op, "true or false", path)),
        },
        "cidr" => match value {
            Value::String(s) => Cidr::parse(s)
                .map(Matcher::Cidr)
                .ok_or_else(|| err(path, PatternErrorKind::Cidr(s.clone()))),
            _ => Err(operand(op, "a string", path)),
        },
        other => Err(err(
            path,
            PatternErrorKind::UnknownOperator(other.to_owned()),
        )),
    }
}

pub(super) fn strings_or_list(
    value: &Value,
    operator: &str,
    path: &str,
) -> Result<Vec<String>, PatternError> {
    const EXPECTED: &str = "a string or a non-empty list of strings";
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| operand(operator, EXPECTED, path))
            })
            .collect(),
        _ => Err(operand(operator, EXPECTED, path)),
    }
}

pub(super) fn parse_anything_but(value: &Value, path: &str) -> Result<AnythingBut, PatternError> {
    match value {
        Value::String(s) => Ok(AnythingBut::Strings(vec![s.clone()])),
        Value::Number(n) => Ok(AnythingBut::Numbers(vec![comparable_checked(n, path)?])),
        Value::Array(items) => {
            if items.iter().all(Value::is_string) && !items.is_empty() {
                Ok(AnythingBut::Strings(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                ))
            } else if items.iter().all(Value::is_number) && !items.is_empty() {
                let numbers = items
                    .iter()
                    .filter_map(Value::as_number)
                    .map(|n| comparable_checked(n, path))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(AnythingBut::Numbers(numbers))
            } else {
                Err(err(path, PatternErrorKind::AnythingButMixedList))
            }
        }
        Value::Object(inner) => {
            let (op, inner_value) = single_entry(inner, path)?;
            let operator = format!("anything-but.{op}");
            match op.as_str() {
                "prefix" | "suffix" => {
                    let s = inner_value
                        .as_str()
                        .ok_or_else(|| operand(&operator, "a string", path))?;
                    if s.is_empty() {
                        let which = if op == "prefix" { "prefix" } else { "suffix" };
                        return Err(err(path, PatternErrorKind::EmptyAnythingButAffix(which)));
                    }
                    Ok(if op == "prefix" {
                        AnythingBut::Prefix(s.to_owned())
                    } else {
                        AnythingBut::Suffix(s.to_owned())
                    })
                }
                "equals-ignore-case" => Ok(AnythingBut::EqualsIgnoreCase(
                    strings_or_list(inner_value, &operator, path)?
                        .iter()
                        .map(|s| fold(s))
                        .collect(),
                )),
                "wildcard" => Ok(AnythingBut::Wildcard(
                    strings_or_list(inner_value, &operator, path)?
                        .iter()
                        .map(|s| Wildcard::parse(s, path))
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(err(
                    path,
                    PatternErrorKind::UnsupportedAnythingBut(other.to_owned()),
                )),
            }
        }
        _ => Err(operand(
            "anything-but",
            "a string, a number, a list of strings or numbers, or an object",
            path,
        )),
    }
}

pub(super) fn parse_numeric(items: &[Value], path: &str) -> Result<NumericRange, PatternError> {
    let numeric = |msg: String| err(path, PatternErrorKind::Numeric(msg));
    let op_at = |i: usize| -> Result<&str, PatternError> {
        match items.get(i) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(numeric(format!(
                "expected an operator at position {i}, got {other}"
            ))),
            None => Err(numeric("expected an operator".to_owned())),
        }
    };
    let value_at = |i: usize, op: &str| -> Result<i64, PatternError> {
        match items.get(i) {
            Some(Value::Number(n)) => comparable_checked(n, path),
            _ => Err(numeric(format!("the value of \"{op}\" must be a number"))),
        }
    };
    let first = op_at(0)?;
    let first_value = value_at(1, first)?;
    let mut range = NumericRange::default();
    match first {
        "=" => {
            range.lower = Some((first_value, true));
            range.upper = Some((first_value, true));
        }
        "<" | "<=" => range.upper = Some((first_value, first == "<=")),
        ">" | ">=" => range.lower = Some((first_value, first == ">=")),
        other => return Err(numeric(format!("unrecognized operator \"{other}\""))),
    }
    match items.len() {
        2 => Ok(range),
        4 if matches!(first, ">" | ">=") => {
            let second = op_at(2)?;
            if !matches!(second, "<" | "<=") {
                return Err(numeric(format!(
                    "a range must be written as [\">\" or \">=\", low, \"<\" or \"<=\", high]; \
                     got \"{second}\" as the second operator"
                )));
            }
            let top = value_at(3, second)?;
            if top <= first_value {
                return Err(numeric(
                    "the lower bound must be less than the upper bound".to_owned(),
                ));
            }
            range.upper = Some((top, second == "<="));
            Ok(range)
        }
        _ => Err(numeric(format!(
            "too many or too few terms ({}) after \"{first}\"",
            items.len()
        ))),
    }
}
