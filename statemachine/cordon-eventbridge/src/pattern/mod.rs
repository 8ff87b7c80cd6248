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

mod compile;
mod error;
mod example;
mod matcher;
mod search;

use std::fmt;

use serde_json::Value;

use compile::parse_object;
use error::err;
pub use error::{PatternError, PatternErrorKind};
pub use example::Example;
use matcher::Branch;
use search::{Membership, Search, flatten};

/// A validated EventBridge event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    source: Value,
    branches: Vec<Branch>,
}

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

    /// The number of `$or` alternatives (1 without `$or`).
    pub fn branch_count(&self) -> usize {
        self.branches.len()
    }

    /// Events this pattern matches, made from `base` (see [`Example`]): every `$or`
    /// alternative and every value the pattern lists for a field is used at least once,
    /// when `base` can be made to match it. Each is checked to match; none is returned
    /// otherwise.
    pub fn examples(&self, base: &Value) -> Vec<Example> {
        example::examples(&self.branches, base)
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
