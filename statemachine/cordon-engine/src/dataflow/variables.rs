//! Workflow variables: what `Assign` stores and `$name` reads, in nested scopes.
//!
//! AWS Step Functions developer guide, "Passing data between states with variables":
//! the states of a Parallel branch or a Map iteration run in a scope of their own. They read
//! the variables of the scopes around them, assign new variables in their own scope, and may
//! not assign a variable that an outer scope holds; their variables end with the branch or
//! iteration. (A Distributed Map's child workflows see no outer variables at all.)
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::paths::VariableLookup;

/// Identifies one scope of variables.
pub type ScopeId = u64;

/// The scope of the top-level states.
pub const ROOT_SCOPE: ScopeId = 0;

/// One scope: its variables and the scope around it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariableScope {
    parent: Option<ScopeId>,
    values: Map<String, Value>,
}

/// Every live scope of an execution. Plain serde data: it is persisted with the execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variables {
    scopes: BTreeMap<ScopeId, VariableScope>,
    next: ScopeId,
}

impl Default for Variables {
    fn default() -> Self {
        Variables {
            scopes: BTreeMap::from([(ROOT_SCOPE, VariableScope::default())]),
            next: ROOT_SCOPE + 1,
        }
    }
}

/// Why an assignment was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OuterScopeWrite {
    pub name: String,
}

impl Variables {
    /// Opens a scope inside `parent` (`None`: a scope that sees no outer variables).
    pub(crate) fn open(&mut self, parent: Option<ScopeId>) -> ScopeId {
        let id = self.next;
        self.next += 1;
        self.scopes.insert(
            id,
            VariableScope {
                parent,
                values: Map::new(),
            },
        );
        id
    }

    /// Ends a scope and its variables.
    pub(crate) fn close(&mut self, id: ScopeId) {
        if id != ROOT_SCOPE {
            self.scopes.remove(&id);
        }
    }

    /// The variables visible in scope `id`.
    pub(crate) fn view(&self, id: ScopeId) -> ScopeView<'_> {
        ScopeView { vars: self, id }
    }

    /// Stores `values` in scope `id`, all or none: a name that an enclosing scope holds is
    /// refused.
    pub(crate) fn assign(
        &mut self,
        id: ScopeId,
        values: Vec<(String, Value)>,
    ) -> Result<(), OuterScopeWrite> {
        let outer = self.scopes.get(&id).and_then(|s| s.parent);
        for (name, _) in &values {
            if self.find(outer, name).is_some() {
                return Err(OuterScopeWrite { name: name.clone() });
            }
        }
        if let Some(scope) = self.scopes.get_mut(&id) {
            for (name, value) in values {
                scope.values.insert(name, value);
            }
        }
        Ok(())
    }

    fn find(&self, mut id: Option<ScopeId>, name: &str) -> Option<&Value> {
        while let Some(s) = id.and_then(|i| self.scopes.get(&i)) {
            if let Some(v) = s.values.get(name) {
                return Some(v);
            }
            id = s.parent;
        }
        None
    }

    /// The total size of the stored variables, in bytes of compact JSON.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.scopes
            .values()
            .flat_map(|s| s.values.values())
            .map(super::flow::payload_size)
            .sum()
    }
}

/// The variables one scope sees: its own and those of the scopes around it.
#[derive(Clone, Copy)]
pub(crate) struct ScopeView<'a> {
    vars: &'a Variables,
    id: ScopeId,
}

impl VariableLookup for ScopeView<'_> {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.vars.find(Some(self.id), name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// "Passing data between states with variables", section "Variable scope": inner states
    /// read outer variables, keep their own to themselves, and cannot assign outer ones.
    #[test]
    fn inner_scopes_read_outer_variables_and_keep_their_own() {
        let mut v = Variables::default();
        v.assign(ROOT_SCOPE, vec![("x".into(), json!(42))]).unwrap();
        let inner = v.open(Some(ROOT_SCOPE));
        assert_eq!(v.view(inner).variable("x"), Some(&json!(42)));
        v.assign(inner, vec![("y".into(), json!(1))]).unwrap();
        assert_eq!(v.view(inner).variable("y"), Some(&json!(1)));
        assert_eq!(v.view(ROOT_SCOPE).variable("y"), None);
        assert_eq!(
            v.assign(inner, vec![("x".into(), json!(0))]),
            Err(OuterScopeWrite { name: "x".into() })
        );
        v.close(inner);
        assert_eq!(v.view(ROOT_SCOPE).variable("x"), Some(&json!(42)));
        let isolated = v.open(None);
        assert_eq!(v.view(isolated).variable("x"), None);
    }

    #[test]
    fn a_scope_reassigns_its_own_variables() {
        let mut v = Variables::default();
        v.assign(ROOT_SCOPE, vec![("x".into(), json!(1))]).unwrap();
        v.assign(ROOT_SCOPE, vec![("x".into(), json!(2))]).unwrap();
        assert_eq!(v.view(ROOT_SCOPE).variable("x"), Some(&json!(2)));
        assert_eq!(v.stored_bytes(), 1);
    }
}
