//! Matching: the event flattened into leaf fields, searched branch by branch with
//! array consistency.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::matcher::{Branch, Matcher};

// Matching
// ---------------------------------------------------------------------------

/// Which element of which event array a field came from: (array id, index).
#[derive(Debug, Clone, Default)]
pub(super) struct Membership(Vec<(u32, usize)>);

impl Membership {
    pub(super) fn consistent_with(&self, other: &Membership) -> bool {
        other
            .0
            .iter()
            .all(|(id, idx)| self.0.iter().all(|(mine, at)| mine != id || at == idx))
    }

    pub(super) fn merged(&self, other: &Membership) -> Option<Membership> {
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

pub(super) struct Field<'a> {
    value: &'a Value,
    membership: Membership,
}

pub(super) type Fields<'a> = HashMap<String, Vec<Field<'a>>>;

/// Flattens an event into its leaves, keyed by dotted path.
pub(super) fn flatten(event: &Value) -> Fields<'_> {
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

pub(super) fn walk<'a>(
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
pub(super) struct Search<'p, 'e> {
    keys: Vec<(&'p String, &'p Vec<Matcher>)>,
    fields: &'p Fields<'e>,
    /// For each key index, the array ids that fields of keys[idx..] belong to.
    relevant: Vec<Vec<u32>>,
    failed: HashSet<(usize, Vec<(u32, usize)>)>,
}

impl<'p, 'e> Search<'p, 'e> {
    pub(super) fn new(branch: &'p Branch, fields: &'p Fields<'e>) -> Self {
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

    pub(super) fn run(&mut self, idx: usize, membership: &Membership) -> bool {
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
