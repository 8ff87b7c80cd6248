//! Events a pattern matches, made from a base event: the inverse of matching, for tests
//! that must exercise every alternative of a rule without copying its pattern.
//!
//! For each `$or` alternative (branch) the base event is changed just enough to satisfy
//! every field of the branch: a listed value is written, `{"exists": false}` removes the
//! field, a prefix or suffix is added to a value that lacks it, `anything-but` keeps the
//! base value when it is allowed and writes another otherwise. A field listing several
//! values yields one event per value (the others fields at their first value), so every
//! value the pattern lists is used once. Each event is checked against the branch; one
//! that the construction could not make match is left out, never returned unchecked.
use serde_json::{Map, Value, json};

use super::matcher::{AnythingBut, Branch, Matcher, fold};
use super::search::{Membership, Search, flatten};

/// One event a pattern matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The index of the `$or` alternative it satisfies (0 without `$or`).
    pub branch: usize,
    /// The event.
    pub event: Value,
}

/// Examples of every branch of `branches`, made from `base`.
pub(super) fn examples(branches: &[Branch], base: &Value) -> Vec<Example> {
    let mut out = Vec::new();
    for (index, branch) in branches.iter().enumerate() {
        let fields: Vec<(&String, &Vec<Matcher>)> = branch.iter().collect();
        // Which matcher each field uses: all first, then each other one in turn.
        let mut choices = vec![vec![0; fields.len()]];
        for (f, (_, matchers)) in fields.iter().enumerate() {
            for m in 1..matchers.len() {
                let mut choice = vec![0; fields.len()];
                choice[f] = m;
                choices.push(choice);
            }
        }
        for choice in choices {
            let mut event = if base.is_object() {
                base.clone()
            } else {
                Value::Object(Map::new())
            };
            for (f, (path, matchers)) in fields.iter().enumerate() {
                satisfy(&mut event, path, &matchers[choice[f]]);
            }
            let leaves = flatten(&event);
            if Search::new(branch, &leaves).run(0, &Membership::default()) {
                out.push(Example {
                    branch: index,
                    event,
                });
            }
        }
    }
    out
}

/// Changes the leaf at the dotted `path` of `event` so that `matcher` accepts it.
fn satisfy(event: &mut Value, path: &str, matcher: &Matcher) {
    let keys: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    if let Matcher::Exists(false) = matcher {
        if let Some(Value::Object(parent)) = lookup_mut(event, parents) {
            parent.remove(*last);
        }
        return;
    }
    let current = lookup(event, &keys).filter(|v| is_leaf(v));
    if let Some(value) = value_for(matcher, current) {
        set(event, &keys, value);
    }
}

/// The value to write for `matcher`, given the current leaf (`None`: keep it).
fn value_for(matcher: &Matcher, current: Option<&Value>) -> Option<Value> {
    if current.is_some_and(|v| matcher.matches_leaf(v)) {
        return None;
    }
    let text = |s: String| Some(Value::String(s));
    match matcher {
        Matcher::Exact(_) => Some(literal(matcher)),
        Matcher::Prefix(p) | Matcher::PrefixIgnoreCase(p) => text(format!("{p}example")),
        Matcher::Suffix(s) | Matcher::SuffixIgnoreCase(s) => text(format!("example{s}")),
        Matcher::EqualsIgnoreCase(s) => text(s.clone()),
        Matcher::Wildcard(w) => text(w.example()),
        Matcher::AnythingBut(ab) => Some(allowed(ab)),
        Matcher::Numeric(range) => Some(range.example()),
        Matcher::Cidr(net) => text(net.example()),
        Matcher::Exists(_) => text("example".to_owned()),
    }
}

fn literal(matcher: &Matcher) -> Value {
    match matcher {
        Matcher::Exact(lit) => lit.to_json(),
        _ => Value::Null,
    }
}

/// A value `anything-but` does not exclude.
fn allowed(ab: &AnythingBut) -> Value {
    match ab {
        AnythingBut::Numbers(list) => {
            let mut n: i64 = 0;
            while list.contains(&(n * 1_000_000)) {
                n += 1;
            }
            json!(n)
        }
        _ => {
            let mut candidate = "example".to_owned();
            let mut n = 0;
            while ab.excludes(&Value::String(candidate.clone())) || fold(&candidate) != candidate {
                n += 1;
                candidate = format!("other{n}");
            }
            Value::String(candidate)
        }
    }
}

fn is_leaf(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

fn lookup<'a>(event: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(event, |v, k| v.as_object()?.get(*k))
}

fn lookup_mut<'a>(event: &'a mut Value, keys: &[&str]) -> Option<&'a mut Value> {
    keys.iter()
        .try_fold(event, |v, k| v.as_object_mut()?.get_mut(*k))
}

/// Writes `value` at `keys`, making objects of whatever is missing or not an object on
/// the way.
fn set(event: &mut Value, keys: &[&str], value: Value) {
    match keys.split_first() {
        None => *event = value,
        Some((key, rest)) => {
            if !event.is_object() {
                *event = Value::Object(Map::new());
            }
            if let Value::Object(map) = event {
                let child = map.entry((*key).to_owned()).or_insert(Value::Null);
                set(child, rest, value);
            }
        }
    }
}
