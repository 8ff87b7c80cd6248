//! Which management events a trail records after `PutEventSelectors`.
//!
//! A trail logs an event when any of its selectors matches it. Basic selectors
//! (`eventSelectors`) say it with `includeManagementEvents` (default `true`),
//! `readWriteType` (`All`, `ReadOnly`, `WriteOnly`; default `All`) and
//! `excludeManagementEventSources`. Advanced selectors (`advancedEventSelectors`) select
//! management events with a field selector `eventCategory` equals `Management`, optionally
//! narrowed by `readOnly` (equals `true` / `false`) and `eventSource` (not equals, for
//! the sources CloudTrail lets you exclude). Applying advanced selectors replaces the
//! basic ones, so a set of advanced selectors without a management selector turns
//! management events off. CloudTrail records the request, not the trail's previous
//! selectors, so this reads what the trail records *after* the call.
use serde_json::Value;

use crate::event::{parse_bool_lenient, str_at, value_at};

/// What the trail records of management events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ManagementCoverage {
    /// Write (mutating) management events are recorded.
    pub(super) writes: bool,
    /// Read-only management events are recorded.
    pub(super) reads: bool,
    /// Event sources whose management events no selector records.
    pub(super) excluded_sources: Vec<String>,
    /// Other narrowing Cordon does not model (advanced field selectors on other fields),
    /// as `field operator`.
    pub(super) other_restrictions: Vec<String>,
}

/// One selector's share of the management events.
#[derive(Debug, Default)]
struct Selected {
    writes: bool,
    reads: bool,
    excluded: Vec<String>,
    other: Vec<String>,
}

/// Reads one selector: `Some(None)` when it records no management events, `None` when it
/// cannot be read.
type ReadSelector = fn(&Value) -> Option<Option<Selected>>;

/// The management coverage of a `PutEventSelectors` request, or `None` when the
/// selectors cannot be read (the call is then treated as an uncertain weakening).
pub(super) fn management_coverage(request: &Value) -> Option<ManagementCoverage> {
    let advanced = value_at(request, &["advancedEventSelectors"]).and_then(Value::as_array);
    let basic = value_at(request, &["eventSelectors"]).and_then(Value::as_array);
    // The API takes one kind or the other; advanced selectors replace basic ones.
    let (selectors, read): (&Vec<Value>, ReadSelector) = match (advanced, basic) {
        (Some(a), Some(b)) if a.is_empty() => (b, basic_selector),
        (Some(a), _) => (a, advanced_selector),
        (None, Some(b)) => (b, basic_selector),
        (None, None) => return None,
    };
    let selected: Vec<Selected> = selectors
        .iter()
        .map(read)
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    Some(combine(&selected))
}

/// The union over selectors: recorded when any selector records it; a source is excluded
/// only when every selector that records management events excludes it; a restriction
/// counts only when no selector is free of restrictions.
fn combine(selected: &[Selected]) -> ManagementCoverage {
    let mut coverage = ManagementCoverage {
        writes: selected.iter().any(|s| s.writes),
        reads: selected.iter().any(|s| s.reads),
        ..ManagementCoverage::default()
    };
    if let Some((first, rest)) = selected.split_first() {
        coverage.excluded_sources = first
            .excluded
            .iter()
            .filter(|src| rest.iter().all(|s| s.excluded.contains(src)))
            .cloned()
            .collect();
        if selected.iter().all(|s| !s.other.is_empty()) {
            for s in selected {
                for r in &s.other {
                    if !coverage.other_restrictions.contains(r) {
                        coverage.other_restrictions.push(r.clone());
                    }
                }
            }
        }
    }
    coverage
}

/// A basic selector; `Some(None)` when it records no management events, `None` when it
/// cannot be read.
fn basic_selector(selector: &Value) -> Option<Option<Selected>> {
    selector.as_object()?;
    let include = match value_at(selector, &["includeManagementEvents"]) {
        None | Some(Value::Null) => true,
        Some(v) => parse_bool_lenient(v)?,
    };
    if !include {
        return Some(None);
    }
    let (writes, reads) = match value_at(selector, &["readWriteType"]) {
        None | Some(Value::Null) => (true, true),
        Some(v) => match v.as_str()? {
            t if t.eq_ignore_ascii_case("All") => (true, true),
            t if t.eq_ignore_ascii_case("WriteOnly") => (true, false),
            t if t.eq_ignore_ascii_case("ReadOnly") => (false, true),
            _ => return None,
        },
    };
    let excluded = match value_at(selector, &["excludeManagementEventSources"]) {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => strings(v)?,
    };
    Some(Some(Selected {
        writes,
        reads,
        excluded,
        other: Vec::new(),
    }))
}

/// An advanced selector; `Some(None)` when it selects no management events (data or
/// network activity events), `None` when it cannot be read.
fn advanced_selector(selector: &Value) -> Option<Option<Selected>> {
    let fields = value_at(selector, &["fieldSelectors"])?.as_array()?;
    let mut management = false;
    let mut read_only: Option<Vec<String>> = None;
    let mut excluded = Vec::new();
    let mut other = Vec::new();
    for field in fields {
        let name = str_at(field, &["field"])?;
        let operators: Vec<(&str, Vec<String>)> = field
            .as_object()?
            .iter()
            .filter(|(k, _)| k.as_str() != "field")
            .map(|(k, v)| Some((k.as_str(), strings(v)?)))
            .collect::<Option<_>>()?;
        for (operator, values) in operators {
            match (name, operator) {
                ("eventCategory", "equals") => {
                    management = values.iter().any(|v| v.eq_ignore_ascii_case("Management"));
                }
                ("readOnly", "equals") => read_only = Some(values),
                ("eventSource", "notEquals") => excluded.extend(values),
                _ => other.push(format!("{name} {operator}")),
            }
        }
    }
    if !management {
        return Some(None);
    }
    let says = |v: &str| {
        read_only
            .as_ref()
            .is_none_or(|vals| vals.iter().any(|x| x.eq_ignore_ascii_case(v)))
    };
    Some(Some(Selected {
        writes: says("false"),
        reads: says("true"),
        excluded,
        other,
    }))
}

/// A JSON array of strings.
fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn coverage(request: Value) -> Option<ManagementCoverage> {
        management_coverage(&request)
    }

    #[test]
    fn basic_selectors() {
        let all = coverage(
            json!({"eventSelectors": [{"readWriteType": "All", "includeManagementEvents": true}]}),
        )
        .expect("readable");
        assert!(all.writes && all.reads && all.excluded_sources.is_empty());
        // Defaults: include management events, All.
        let default =
            coverage(json!({"eventSelectors": [{"dataResources": []}]})).expect("readable");
        assert!(default.writes && default.reads);
        let off = coverage(
            json!({"eventSelectors": [{"includeManagementEvents": false, "readWriteType": "All"}]}),
        )
        .expect("readable");
        assert!(!off.writes && !off.reads);
        let none = coverage(json!({"eventSelectors": []})).expect("readable");
        assert!(!none.writes && !none.reads);
        let write_only = coverage(json!({"eventSelectors": [{"readWriteType": "WriteOnly"}]}))
            .expect("readable");
        assert!(write_only.writes && !write_only.reads);
        // Two selectors: the union.
        let both = coverage(json!({"eventSelectors": [
            {"readWriteType": "ReadOnly"}, {"readWriteType": "WriteOnly", "excludeManagementEventSources": ["kms.amazonaws.com"]}
        ]}))
        .expect("readable");
        assert!(both.writes && both.reads && both.excluded_sources.is_empty());
        let kms = coverage(
            json!({"eventSelectors": [{"excludeManagementEventSources": ["kms.amazonaws.com"]}]}),
        )
        .expect("readable");
        assert_eq!(kms.excluded_sources, ["kms.amazonaws.com"]);
        assert!(coverage(json!({"eventSelectors": [{"readWriteType": "Sometimes"}]})).is_none());
        assert!(coverage(json!({"trailName": "t"})).is_none());
    }

    #[test]
    fn advanced_selectors() {
        let mgmt = |extra: Value| {
            let mut fields = vec![json!({"field": "eventCategory", "equals": ["Management"]})];
            if !extra.is_null() {
                fields.push(extra);
            }
            json!({"advancedEventSelectors": [{"name": "m", "fieldSelectors": fields}]})
        };
        let all = coverage(mgmt(Value::Null)).expect("readable");
        assert!(all.writes && all.reads);
        let writes =
            coverage(mgmt(json!({"field": "readOnly", "equals": ["false"]}))).expect("readable");
        assert!(writes.writes && !writes.reads);
        let kms = coverage(mgmt(
            json!({"field": "eventSource", "notEquals": ["kms.amazonaws.com"]}),
        ))
        .expect("readable");
        assert!(kms.writes && kms.reads);
        assert_eq!(kms.excluded_sources, ["kms.amazonaws.com"]);
        let odd = coverage(mgmt(
            json!({"field": "eventName", "equals": ["CreateUser"]}),
        ))
        .expect("readable");
        assert_eq!(odd.other_restrictions, ["eventName equals"]);
        // Only data events: management events are off.
        let data = coverage(json!({"advancedEventSelectors": [{"fieldSelectors": [
            {"field": "eventCategory", "equals": ["Data"]},
            {"field": "resources.type", "equals": ["AWS::S3::Object"]}
        ]}]}))
        .expect("readable");
        assert!(!data.writes && !data.reads);
        assert!(coverage(json!({"advancedEventSelectors": [{"fieldSelectors": "x"}]})).is_none());
    }
}
