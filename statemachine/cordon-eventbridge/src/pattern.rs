//! Amazon EventBridge event patterns: validation and matching.
//!
//! The semantics follow the EventBridge user guide ("Content filtering in
//! Amazon EventBridge event patterns", "Comparison operators", "Matching on
//! null values and empty strings", "Arrays in event patterns") and, where the
//! guide is silent, the reference implementation it is built on
//! (`aws/event-ruler`, `JsonRuleCompiler` and `ACFinder`):
//!
//! - A pattern is compiled into one or more *branches* (one per `$or`
//!   alternative). Each branch maps a dotted field path (`detail.eventName`)
//!   to a list of matchers; the branch matches when every path matches, and a
//!   path matches when any of its matchers matches (AND across fields, OR
//!   within a list).
//! - The event is flattened into leaf fields (strings, numbers, booleans and
//!   `null`). Arrays add no path segment: a pattern value matches when any
//!   element matches. Matches are *array-consistent*: two fields taken from
//!   objects in different elements of the same array never satisfy one
//!   branch together.
//! - `exists` only sees leaves: a key whose value is an object or an empty
//!   array does not "exist", and a key whose value is `null` does.
//!   `{"exists": false}` also matches when a parent object is missing.
//! - Strings and numbers never match each other. Numbers compare numerically
//!   (`5` equals `5.0`) within ±5.0e9 at six decimal places, as EventBridge
//!   documents; larger numbers (account ids) compare exactly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Number, Value};

/// Numeric matching (and numeric anything-but) is limited to this magnitude.
const NUMERIC_LIMIT: f64 = 5.0e9;

/// Upper bound on the number of `$or` branches one pattern may expand to.
const MAX_BRANCHES: usize = 1024;

/// Keys that may not be used as field names inside a `$or` alternative
/// (event-ruler's `RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP`).
const RESERVED_IN_OR: &[&str] = &[
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

/// A pattern that EventBridge would reject, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at `{}`: {kind}", display_path(.path))]
pub struct PatternError {
    /// Dotted path of the offending field (`detail.eventName`); empty for the root.
    pub path: String,
    /// What is wrong.
    pub kind: PatternErrorKind,
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

/// The reasons a pattern is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternErrorKind {
    #[error("an event pattern must be a JSON object")]
    NotAnObject,
    #[error("the pattern is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("empty objects are not allowed")]
    EmptyObject,
    #[error("empty arrays are not allowed; list at least one value to match")]
    EmptyArray,
    #[error("the value of a field must be an object or an array, e.g. [\"value\"], got {0}")]
    NotObjectOrArray(&'static str),
    #[error(
        "a match value must be a string, number, true, false, null or a match expression object, got {0}"
    )]
    InvalidMatchValue(&'static str),
    #[error("a match expression must have exactly one key, found {0}")]
    ExpressionKeyCount(usize),
    #[error(
        "unknown match operator \"{0}\"; expected one of prefix, suffix, equals-ignore-case, \
         wildcard, anything-but, numeric, exists, cidr"
    )]
    UnknownOperator(String),
    #[error("the value of \"{operator}\" must be {expected}")]
    OperandType {
        operator: String,
        expected: &'static str,
    },
    #[error(
        "unsupported anything-but pattern \"{0}\"; expected prefix, suffix, equals-ignore-case or wildcard"
    )]
    UnsupportedAnythingBut(String),
    #[error(
        "an anything-but list must contain only strings or only numbers, and at least one value"
    )]
    AnythingButMixedList,
    #[error("an empty {0} is not allowed inside anything-but")]
    EmptyAnythingButAffix(&'static str),
    #[error("invalid numeric expression: {0}")]
    Numeric(String),
    #[error("number {0} is out of range: numeric matching is limited to -5.0e9..=5.0e9")]
    NumberOutOfRange(String),
    #[error("invalid wildcard \"{pattern}\": {reason}")]
    Wildcard { pattern: String, reason: String },
    #[error(
        "invalid CIDR \"{0}\": expected an IPv4 or IPv6 network such as 10.0.0.0/24 or 2001:db8::/32"
    )]
    Cidr(String),
    #[error("\"$or\" must be an array of at least two non-empty objects: {0}")]
    Or(&'static str),
    #[error("\"{0}\" is a reserved keyword and cannot be used as a field name inside \"$or\"")]
    ReservedKeyInOr(String),
    #[error("the pattern expands to more than {MAX_BRANCHES} \"$or\" combinations")]
    TooComplex,
}

fn err(path: &str, kind: PatternErrorKind) -> PatternError {
    PatternError {
        path: path.to_owned(),
        kind,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A validated EventBridge event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    source: Value,
    branches: Vec<Branch>,
}

/// One `$or` alternative: dotted path → matchers (OR). Sorted by path, which
/// is also the order EventBridge evaluates fields in.
type Branch = BTreeMap<String, Vec<Matcher>>;

impl EventPattern {
    /// Validates `pattern` the way `PutRule` does and compiles it.
    pub fn parse(pattern: &Value) -> Result<Self, PatternError> {
        let obj = pattern
            .as_object()
            .ok_or_else(|| err("", PatternErrorKind::NotAnObject))?;
        let mut branches = vec![Branch::new()];
        parse_object(obj, "", &mut branches, false)?;
        Ok(Self {
            source: pattern.clone(),
            branches,
        })
    }

    /// Parses a pattern given as JSON text (as in `put-rule --event-pattern`).
    pub fn parse_str(json: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| err("", PatternErrorKind::InvalidJson(e.to_string())))?;
        Self::parse(&value)
    }

    /// The pattern exactly as written.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Whether EventBridge would deliver `event` to a rule with this pattern.
    pub fn matches(&self, event: &Value) -> bool {
        let fields = flatten(event);
        self.branches
            .iter()
            .any(|branch| Search::new(branch, &fields).run(0, &Membership::default()))
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)
    }
}

// ---------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn parse_object(
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

fn parse_or(value: &Value, prefix: &str, branches: &mut Vec<Branch>) -> Result<(), PatternError> {
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

fn parse_matchers(items: &[Value], path: &str) -> Result<Vec<Matcher>, PatternError> {
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

fn single_entry<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<(&'a String, &'a Value), PatternError> {
    let mut iter = obj.iter();
    match (iter.next(), obj.len()) {
        (Some(entry), 1) => Ok(entry),
        (_, n) => Err(err(path, PatternErrorKind::ExpressionKeyCount(n))),
    }
}

fn operand(operator: &str, expected: &'static str, path: &str) -> PatternError {
    err(
        path,
        PatternErrorKind::OperandType {
            operator: operator.to_owned(),
            expected,
        },
    )
}

fn parse_expression(expr: &Map<String, Value>, path: &str) -> Result<Matcher, PatternError> {
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

fn strings_or_list(value: &Value, operator: &str, path: &str) -> Result<Vec<String>, PatternError> {
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

fn parse_anything_but(value: &Value, path: &str) -> Result<AnythingBut, PatternError> {
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

fn parse_numeric(items: &[Value], path: &str) -> Result<NumericRange, PatternError> {
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

// ---------------------------------------------------------------------------
// Matchers
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Literal),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(NumericRange),
    Cidr(Cidr),
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    /// The string, and the address when it is an IP (compared as addresses,
    /// so `::1` equals `0:0:0:0:0:0:0:1`).
    String(String, Option<IpAddr>),
    Number(Number),
    Bool(bool),
    Null,
}

impl Literal {
    fn string(s: &str) -> Self {
        Literal::String(s.to_owned(), s.parse().ok())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<i64>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

/// Bounds in comparable (micro-unit) form; `true` = inclusive.
#[derive(Debug, Clone, Default, PartialEq)]
struct NumericRange {
    lower: Option<(i64, bool)>,
    upper: Option<(i64, bool)>,
}

impl NumericRange {
    fn contains(&self, v: i64) -> bool {
        let above = match self.lower {
            Some((b, true)) => v >= b,
            Some((b, false)) => v > b,
            None => true,
        };
        let below = match self.upper {
            Some((b, true)) => v <= b,
            Some((b, false)) => v < b,
            None => true,
        };
        above && below
    }
}

/// A number in EventBridge's comparable form: six decimal places, ±5.0e9.
fn comparable(n: &Number) -> Option<i64> {
    let f = n.as_f64()?;
    if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&f) {
        return None;
    }
    // In range, so |f * 1e6| <= 5e15 < i64::MAX: the cast cannot saturate.
    #[allow(clippy::cast_possible_truncation)]
    Some((f * 1e6).round() as i64)
}

fn comparable_checked(n: &Number, path: &str) -> Result<i64, PatternError> {
    comparable(n).ok_or_else(|| err(path, PatternErrorKind::NumberOutOfRange(n.to_string())))
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn numbers_equal(pattern: &Number, event: &Number) -> bool {
    match (comparable(pattern), comparable(event)) {
        (Some(a), Some(b)) => a == b,
        _ => pattern == event,
    }
}

impl Matcher {
    /// Does this matcher accept `value`, a leaf (never an array or object)?
    fn matches_leaf(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(lit) => match (lit, value) {
                (Literal::String(p, ip), Value::String(e)) => {
                    p == e || ip.is_some_and(|ip| e.parse::<IpAddr>().is_ok_and(|e| e == ip))
                }
                (Literal::Number(p), Value::Number(e)) => numbers_equal(p, e),
                (Literal::Bool(p), Value::Bool(e)) => p == e,
                (Literal::Null, Value::Null) => true,
                _ => false,
            },
            Matcher::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Matcher::PrefixIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| fold(s).starts_with(p.as_str())),
            Matcher::SuffixIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| fold(s).ends_with(p.as_str())),
            Matcher::EqualsIgnoreCase(p) => value.as_str().is_some_and(|s| fold(s) == *p),
            Matcher::Wildcard(w) => value.as_str().is_some_and(|s| w.matches(s)),
            Matcher::AnythingBut(ab) => !ab.excludes(value),
            Matcher::Numeric(range) => value
                .as_number()
                .and_then(comparable)
                .is_some_and(|v| range.contains(v)),
            Matcher::Cidr(net) => value
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(ip)),
            // Presence is decided by the caller: reaching a leaf means it exists.
            Matcher::Exists(wanted) => *wanted,
        }
    }
}

impl AnythingBut {
    /// True when `value` is one of the excluded values. Values of another type
    /// (a number against a string list, null, booleans) are never excluded.
    fn excludes(&self, value: &Value) -> bool {
        match self {
            AnythingBut::Strings(list) => {
                value.as_str().is_some_and(|s| list.iter().any(|x| x == s))
            }
            AnythingBut::Numbers(list) => value
                .as_number()
                .and_then(comparable)
                .is_some_and(|v| list.contains(&v)),
            AnythingBut::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            AnythingBut::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            AnythingBut::EqualsIgnoreCase(list) => {
                value.as_str().is_some_and(|s| list.contains(&fold(s)))
            }
            AnythingBut::Wildcard(list) => value
                .as_str()
                .is_some_and(|s| list.iter().any(|w| w.matches(s))),
        }
    }
}

/// A wildcard pattern split on its unescaped `*`s.
#[derive(Debug, Clone, PartialEq)]
struct Wildcard {
    /// Literal segments; a `*` sits between each consecutive pair.
    segments: Vec<String>,
}

impl Wildcard {
    fn parse(pattern: &str, path: &str) -> Result<Self, PatternError> {
        let invalid = |reason: String| {
            err(
                path,
                PatternErrorKind::Wildcard {
                    pattern: pattern.to_owned(),
                    reason,
                },
            )
        };
        let mut segments = vec![String::new()];
        let mut chars = pattern.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '*' => {
                    if chars.peek().is_some_and(|&(_, n)| n == '*') {
                        return Err(invalid(format!(
                            "consecutive wildcard characters at position {pos}"
                        )));
                    }
                    segments.push(String::new());
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => {
                        if let Some(last) = segments.last_mut() {
                            last.push(escaped);
                        }
                    }
                    _ => {
                        return Err(invalid(format!(
                            "invalid escape at position {pos}: only \\* and \\\\ are allowed"
                        )));
                    }
                },
                other => {
                    if let Some(last) = segments.last_mut() {
                        last.push(other);
                    }
                }
            }
        }
        Ok(Self { segments })
    }

    fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return s == first;
        };
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        // Between the fixed head and tail, place the middle segments greedily.
        let mut window = &s[first.len()..s.len() - last.len()];
        for seg in middle {
            match window.find(seg.as_str()) {
                Some(at) => window = &window[at + seg.len()..],
                None => return false,
            }
        }
        true
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, PartialEq)]
struct Cidr {
    v6: bool,
    network: u128,
    mask: u128,
}

impl Cidr {
    fn parse(s: &str) -> Option<Self> {
        let (addr, len) = s.split_once('/')?;
        let len: u32 = len.parse().ok()?;
        let (v6, bits, width) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (true, u128::from(a), 128),
        };
        if len > width {
            return None;
        }
        let host_bits = width - len;
        let full = if width == 128 {
            u128::MAX
        } else {
            (1u128 << width) - 1
        };
        let mask = if host_bits >= 128 {
            0
        } else {
            (full >> host_bits) << host_bits
        };
        Some(Self {
            v6,
            network: bits & mask,
            mask,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let (v6, bits) = match ip {
            IpAddr::V4(a) => (false, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, u128::from(a)),
        };
        v6 == self.v6 && bits & self.mask == self.network
    }
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

/// Which element of which event array a field came from: (array id, index).
#[derive(Debug, Clone, Default)]
struct Membership(Vec<(u32, usize)>);

impl Membership {
    fn consistent_with(&self, other: &Membership) -> bool {
        other
            .0
            .iter()
            .all(|(id, idx)| self.0.iter().all(|(mine, at)| mine != id || at == idx))
    }

    fn merged(&self, other: &Membership) -> Option<Membership> {
        if !self.consistent_with(other) {
            return None;
        }
        let mut out = self.clone();
        for entry in &other.0 {
            if !out.0.contains(entry) {
                out.0.push(*entry);
            }
        }
        Some(out)
    }
}

struct Field<'a> {
    value: &'a Value,
    membership: Membership,
}

type Fields<'a> = HashMap<String, Vec<Field<'a>>>;

/// Flattens an event into its leaves, keyed by dotted path.
fn flatten(event: &Value) -> Fields<'_> {
    let mut out = Fields::new();
    if let Value::Object(obj) = event {
        let mut next_array = 0u32;
        let mut membership = Membership::default();
        for (key, child) in obj {
            walk(
                child,
                key.clone(),
                &mut membership,
                &mut next_array,
                &mut out,
            );
        }
    }
    out
}

fn walk<'a>(
    value: &'a Value,
    path: String,
    membership: &mut Membership,
    next_array: &mut u32,
    out: &mut Fields<'a>,
) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                walk(child, format!("{path}.{key}"), membership, next_array, out);
            }
        }
        Value::Array(items) => {
            let id = *next_array;
            *next_array += 1;
            for (idx, item) in items.iter().enumerate() {
                membership.0.push((id, idx));
                walk(item, path.clone(), membership, next_array, out);
                membership.0.pop();
            }
        }
        leaf => out.entry(path).or_default().push(Field {
            value: leaf,
            membership: membership.clone(),
        }),
    }
}

/// Backtracking search over a branch's fields in sorted path order, keeping
/// the chosen array elements consistent (event-ruler's `ACFinder`).
///
/// Failures are memoised on (key index, membership restricted to the arrays
/// the remaining keys can see), so independent arrays cost a sum, not a
/// product.
struct Search<'p, 'e> {
    keys: Vec<(&'p String, &'p Vec<Matcher>)>,
    fields: &'p Fields<'e>,
    /// For each key index, the array ids that fields of keys[idx..] belong to.
    relevant: Vec<Vec<u32>>,
    failed: HashSet<(usize, Vec<(u32, usize)>)>,
}

impl<'p, 'e> Search<'p, 'e> {
    fn new(branch: &'p Branch, fields: &'p Fields<'e>) -> Self {
        let keys: Vec<_> = branch.iter().collect();
        let mut relevant = vec![Vec::new(); keys.len() + 1];
        let mut seen: Vec<u32> = Vec::new();
        for idx in (0..keys.len()).rev() {
            if let Some(fs) = fields.get(keys[idx].0.as_str()) {
                for f in fs {
                    for (id, _) in &f.membership.0 {
                        if !seen.contains(id) {
                            seen.push(*id);
                        }
                    }
                }
            }
            relevant[idx] = seen.clone();
        }
        Self {
            keys,
            fields,
            relevant,
            failed: HashSet::new(),
        }
    }

    fn run(&mut self, idx: usize, membership: &Membership) -> bool {
        let Some(&(path, matchers)) = self.keys.get(idx) else {
            return true;
        };
        let mut projected: Vec<(u32, usize)> = membership
            .0
            .iter()
            .filter(|(id, _)| self.relevant[idx].contains(id))
            .copied()
            .collect();
        projected.sort_unstable();
        let memo_key = (idx, projected);
        if self.failed.contains(&memo_key) {
            return false;
        }
        let fields = self.fields;
        let candidates = fields.get(path.as_str());
        let mut found = false;
        if matchers.iter().any(|m| matches!(m, Matcher::Exists(false))) {
            let present = candidates
                .is_some_and(|fs| fs.iter().any(|f| membership.consistent_with(&f.membership)));
            found = !present && self.run(idx + 1, membership);
        }
        if !found && let Some(fs) = candidates {
            for f in fs {
                if !matchers.iter().any(|m| m.matches_leaf(f.value)) {
                    continue;
                }
                if let Some(merged) = membership.merged(&f.membership)
                    && self.run(idx + 1, &merged)
                {
                    found = true;
                    break;
                }
            }
        }
        if !found {
            self.failed.insert(memo_key);
        }
        found
    }
}
