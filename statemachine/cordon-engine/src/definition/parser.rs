//! The parser's frame: machines (the top level and each branch), their states' common
//! fields, and the checks over a whole machine (transition targets, reachability, an end).
use std::collections::{BTreeSet, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::diagnostics::{Diagnostic, ValidationError};
use super::model::{Kind, Machine, State, StateIndex};
use super::reader::Obj;
use crate::dataflow::{DataFlow, JsonPathFlow, JsonataFlow, JsonataScope, QueryLanguage};

/// The fields a state of type `ty` may have in `language`, or `None` for an unknown type.
fn allowed_for(ty: &str, language: QueryLanguage) -> Option<Vec<&'static str>> {
    let jsonpath = language == QueryLanguage::JsonPath;
    let mut v: Vec<&str> = vec!["Type", "Comment", "QueryLanguage"];
    // The input/output fields each type has, per query language.
    let (paths, parameters, result_selector, result_path, output, assign, transition) = match ty {
        "Pass" => (true, true, false, true, true, true, true),
        "Task" | "Parallel" => (true, true, true, true, true, true, true),
        "Map" => (true, false, true, true, true, true, true),
        "Choice" => (true, false, false, false, true, true, false),
        "Wait" => (true, false, false, false, true, true, true),
        "Succeed" => (true, false, false, false, true, false, false),
        "Fail" => (false, false, false, false, false, false, false),
        _ => return None,
    };
    if jsonpath {
        if paths {
            v.extend(["InputPath", "OutputPath"]);
        }
        if parameters {
            v.push("Parameters");
        }
        if result_selector {
            v.push("ResultSelector");
        }
        if result_path {
            v.push("ResultPath");
        }
    } else {
        if parameters && ty != "Pass" {
            v.push("Arguments");
        }
        if output {
            v.push("Output");
        }
    }
    if assign {
        v.push("Assign");
    }
    if transition {
        v.extend(["Next", "End"]);
    }
    let extra: &[&str] = match (ty, jsonpath) {
        ("Pass", true) => &["Result"],
        ("Task", _) => &[
            "Resource",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        ],
        ("Choice", _) => &["Choices", "Default"],
        ("Wait", _) => &["Seconds", "Timestamp"],
        ("Fail", _) => &["Error", "Cause"],
        ("Parallel", _) => &["Branches", "Retry", "Catch"],
        ("Map", _) => &[
            "ItemProcessor",
            "Iterator",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "Label",
            "Retry",
            "Catch",
        ],
        _ => &[],
    };
    v.extend_from_slice(extra);
    if jsonpath {
        let path_forms: &[&str] = match ty {
            "Task" => &["TimeoutSecondsPath", "HeartbeatSecondsPath"],
            "Wait" => &["SecondsPath", "TimestampPath"],
            "Fail" => &["ErrorPath", "CausePath"],
            "Map" => &[
                "ItemsPath",
                "Parameters",
                "MaxConcurrencyPath",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCountPath",
            ],
            _ => &[],
        };
        v.extend_from_slice(path_forms);
    } else if ty == "Map" {
        v.push("Items");
    }
    Some(v)
}

/// Parses machines and states, collecting every diagnostic. The fields of each state type are
/// read in `states.rs`.
#[derive(Default)]
pub(super) struct Parser {
    pub(super) machines: Vec<Machine>,
    pub(super) diags: Vec<Diagnostic>,
    all_names: HashSet<String>,
    /// The state machine's `QueryLanguage`: what a state without its own uses, in branches
    /// and item processors too.
    pub(super) top_language: QueryLanguage,
}

impl Parser {
    pub(super) fn diag(&mut self, state: Option<&str>, field: Option<&str>, message: &str) {
        self.diags.push(Diagnostic {
            state: state.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.to_owned(),
        });
    }

    pub(super) fn finish_err(&mut self) -> ValidationError {
        ValidationError {
            diagnostics: std::mem::take(&mut self.diags),
        }
    }

    /// Parses a machine (top level or branch) and returns its index. `owner`/`prefix` locate
    /// a branch, e.g. state `Fanout`, field `Branches[0].`.
    pub(super) fn machine(
        &mut self,
        obj: &Map<String, Value>,
        owner: Option<&str>,
        prefix: &str,
    ) -> usize {
        let idx = self.machines.len();
        self.machines.push(Machine {
            start_at: String::new(),
            states: Vec::new(),
            index: StateIndex::default(),
        });
        let start_at = match obj.get("StartAt") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                self.diag(owner, Some(&format!("{prefix}StartAt")), "must be a string");
                String::new()
            }
            None => {
                self.diag(owner, Some(&format!("{prefix}StartAt")), "is required");
                String::new()
            }
        };
        let states_obj = match obj.get("States") {
            Some(Value::Object(m)) if !m.is_empty() => Some(m),
            Some(Value::Object(_)) => {
                self.diag(
                    owner,
                    Some(&format!("{prefix}States")),
                    "must contain at least one state",
                );
                None
            }
            Some(_) => {
                self.diag(
                    owner,
                    Some(&format!("{prefix}States")),
                    "must be a JSON object",
                );
                None
            }
            None => {
                self.diag(owner, Some(&format!("{prefix}States")), "is required");
                None
            }
        };
        let mut states = Vec::new();
        if let Some(m) = states_obj {
            for (name, sv) in m {
                if let Some(s) = self.state(name, sv) {
                    states.push(s);
                }
            }
            if !start_at.is_empty() && !m.contains_key(&start_at) {
                self.diag(
                    owner,
                    Some(&format!("{prefix}StartAt")),
                    &format!("references state '{start_at}', which does not exist"),
                );
            }
        }
        let index = states
            .iter()
            .enumerate()
            .map(|(i, s): (usize, &State)| (s.name.clone(), i))
            .collect();
        let machine = Machine {
            start_at,
            states,
            index,
        };
        if states_obj.is_some() {
            self.check_graph(&machine, states_obj.map(|m| m.len()).unwrap_or(0));
        }
        self.machines[idx] = machine;
        idx
    }

    /// Transition targets exist, every state is reachable, and there is a way to end.
    fn check_graph(&mut self, m: &Machine, declared: usize) {
        for s in &m.states {
            for (field, target) in transitions(s) {
                if m.get(&target).is_none() {
                    self.diag(
                        Some(&s.name),
                        Some(&field),
                        &format!("references state '{target}', which does not exist in this scope"),
                    );
                }
            }
        }
        // Only judge reachability when every state parsed, or the report gets noisy.
        if m.states.len() != declared || m.get(&m.start_at).is_none() {
            return;
        }
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([m.start_at.clone()]);
        while let Some(n) = queue.pop_front() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(s) = m.get(&n) {
                for (_, t) in transitions(s) {
                    queue.push_back(t);
                }
            }
        }
        for s in &m.states {
            if !seen.contains(&s.name) {
                self.diag(
                    Some(&s.name),
                    None,
                    "is unreachable: no transition leads to it from StartAt",
                );
            }
        }
        let terminal = m
            .states
            .iter()
            .any(|s| s.end || matches!(s.kind, Kind::Succeed | Kind::Fail { .. }));
        if !terminal {
            self.diag(
                None,
                None,
                &format!(
                    "the state machine starting at '{}' has no terminal state (End: true, Succeed or Fail)",
                    m.start_at
                ),
            );
        }
    }

    fn state(&mut self, name: &str, v: &Value) -> Option<State> {
        if !self.all_names.insert(name.to_owned()) {
            self.diag(
                Some(name),
                None,
                "is defined more than once (state names must be unique across the whole state machine, branches included)",
            );
        }
        if name.chars().count() > 80 {
            self.diag(Some(name), None, "name must be at most 80 characters");
        }
        let Some(map) = v.as_object() else {
            self.diag(Some(name), None, "must be a JSON object");
            return None;
        };
        let ty = match map.get("Type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => {
                self.diag(Some(name), Some("Type"), "must be a string");
                return None;
            }
            None => {
                self.diag(Some(name), Some("Type"), "is required");
                return None;
            }
        };
        let language = match map.get("QueryLanguage") {
            None => self.top_language,
            Some(Value::String(q)) => match QueryLanguage::from_name(q) {
                Some(QueryLanguage::JsonPath) if self.top_language == QueryLanguage::JsonAta => {
                    self.diag(
                        Some(name),
                        None,
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                    );
                    return None;
                }
                Some(q) => q,
                None => {
                    self.diag(
                        Some(name),
                        Some("QueryLanguage"),
                        "must be one of the following: [JSONPath, JSONata]",
                    );
                    return None;
                }
            },
            Some(_) => {
                self.diag(Some(name), Some("QueryLanguage"), "must be a string");
                return None;
            }
        };
        let Some(allowed) = allowed_for(&ty, language) else {
            self.diag(
                Some(name),
                Some("Type"),
                &format!(
                    "has unknown value '{ty}' (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"
                ),
            );
            return None;
        };
        let mut o = Obj::new(map, Some(name), "", &allowed, language);
        o.get::<String>("Comment");
        let mut flow = match language {
            QueryLanguage::JsonPath => DataFlow::JsonPath(Box::new(JsonPathFlow {
                input_path: o.opt_path("InputPath", false),
                output_path: o.opt_path("OutputPath", false),
                ..JsonPathFlow::default()
            })),
            QueryLanguage::JsonAta => DataFlow::JsonAta(Box::new(JsonataFlow {
                output: o.template("Output"),
                ..JsonataFlow::default()
            })),
        };
        let assign = o.assign(JsonataScope {
            error_output: false,
        });
        let next = o.get::<String>("Next");
        let end = o.get::<bool>("End").unwrap_or(false);
        let needs_transition = !matches!(ty.as_str(), "Choice" | "Succeed" | "Fail");
        if needs_transition {
            if map.contains_key("Next") && end {
                o.err("End", "cannot be true when 'Next' is also set");
            } else if !map.contains_key("Next") && !end {
                o.err("Next", "is required unless 'End' is true");
            }
        }
        let kind = match ty.as_str() {
            "Pass" => self.pass(&mut o, &mut flow),
            "Task" => self.task(&mut o, &mut flow),
            "Choice" => self.choice(&mut o),
            "Wait" => self.wait(&mut o),
            "Succeed" => Some(Kind::Succeed),
            "Fail" => self.fail(&mut o),
            "Parallel" => self.parallel(&mut o, &mut flow, name),
            "Map" => self.map(&mut o, &mut flow, name),
            _ => None,
        };
        let ok = o.errs.is_empty();
        self.diags.append(&mut o.errs);
        let kind = kind?;
        ok.then(|| State {
            name: name.to_owned(),
            kind,
            flow,
            assign,
            next,
            end,
            reads_context: mentions_context(map),
            reads_execution_input: mentions_execution_input(map),
        })
    }
}

/// Whether any key or string in the state's JSON (nested states included) mentions the
/// context object: `$$` (JSONPath paths, intrinsic arguments) or `$states` (JSONata, whose
/// `$states.context` is the only way to it). Over-approximates, never misses.
fn mentions_context(map: &serde_json::Map<String, Value>) -> bool {
    any_text(map, &|s| s.contains("$$") || s.contains("$states"))
}

/// Whether `mentions` holds for any key or string in `map`, at any depth.
fn any_text(map: &serde_json::Map<String, Value>, mentions: &dyn Fn(&str) -> bool) -> bool {
    fn value(v: &Value, mentions: &dyn Fn(&str) -> bool) -> bool {
        match v {
            Value::String(s) => mentions(s),
            Value::Array(a) => a.iter().any(|v| value(v, mentions)),
            Value::Object(o) => any_text(o, mentions),
            _ => false,
        }
    }
    map.iter().any(|(k, v)| mentions(k) || value(v, mentions))
}

/// Whether any key or string in the state's JSON (nested states included) could read
/// `$$.Execution.Input`. Over-approximates, never misses: every `$$` must be followed by
/// `.Name` with `Name` other than `Execution`, or by `.Execution.Name` with `Name` other
/// than `Input` (names of letters, digits and `_`); anything else (`$$` alone, brackets,
/// wildcards, `..`, `$states` in JSONata) counts as a read.
fn mentions_execution_input(map: &serde_json::Map<String, Value>) -> bool {
    /// The leading run of letters, digits and `_` of `s`, and what follows it.
    fn name(s: &str) -> (&str, &str) {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        s.split_at(end)
    }
    /// Whether the path after a `$$` could reach `Execution.Input`.
    fn reaches_input(rest: &str) -> bool {
        let Some(rest) = rest.strip_prefix('.') else {
            return true;
        };
        let (first, rest) = name(rest);
        if first != "Execution" {
            return first.is_empty();
        }
        let Some(rest) = rest.strip_prefix('.') else {
            return true;
        };
        let (second, _) = name(rest);
        second.is_empty() || second == "Input"
    }
    any_text(map, &|s| {
        s.contains("$states")
            || s.match_indices("$$")
                .any(|(i, _)| reaches_input(&s[i + 2..]))
    })
}

/// All transitions out of a state, as (field, target).
fn transitions(s: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(n) = &s.next {
        out.push(("Next".to_owned(), n.clone()));
    }
    let catch = match &s.kind {
        Kind::Choice { choices, default } => {
            for (i, c) in choices.iter().enumerate() {
                out.push((format!("Choices[{i}].Next"), c.next.clone()));
            }
            if let Some(d) = default {
                out.push(("Default".to_owned(), d.clone()));
            }
            None
        }
        kind => kind.error_handling().map(|e| &e.catch),
    };
    for (i, c) in catch.into_iter().flatten().enumerate() {
        out.push((format!("Catch[{i}].Next"), c.next.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::mentions_execution_input;

    fn reads(v: serde_json::Value) -> bool {
        mentions_execution_input(v.as_object().unwrap())
    }

    #[test]
    fn only_paths_that_cannot_reach_the_execution_input_skip_it() {
        for skip in [
            json!({"a.$": "$$.Execution.Id"}),
            json!({"a.$": "States.Format('{}-{}', $$.Execution.Name, $$.State.Name)"}),
            json!({"a.$": "$$.Task.Token", "b.$": "$$.Map.Item.Value", "c.$": "$.x"}),
            json!({"a.$": "$$.Execution.Inputs"}),
        ] {
            assert!(!reads(skip.clone()), "{skip}");
        }
        for read in [
            json!({"a.$": "$$"}),
            json!({"a.$": "$$.Execution"}),
            json!({"a.$": "$$.Execution.Input"}),
            json!({"a.$": "$$.Execution.*"}),
            json!({"a.$": "$$..x"}),
            json!({"a.$": "$$['Execution']"}),
            json!({"a.$": "$$.Execution['Input']"}),
            json!({"a.$": "States.JsonToString($$)"}),
            json!({"Output": "{% $states.context %}"}),
            json!({"$$.Execution.Input": 1}),
        ] {
            assert!(reads(read.clone()), "{read}");
        }
    }
}
