//! The parser's frame: machines (the top level and each branch), their states' common
//! fields, and the checks over a whole machine (transition targets, reachability, an end).
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::diagnostics::{Diagnostic, ValidationError};
use super::model::{Kind, Machine, State};
use super::reader::Obj;
use crate::dataflow::DataFlow;

const COMMON: &[&str] = &["Type", "Comment", "InputPath", "OutputPath", "Next", "End"];

fn allowed_for(ty: &str) -> Option<Vec<&'static str>> {
    let extra: &[&str] = match ty {
        "Pass" => &["Parameters", "Result", "ResultPath"],
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &["Choices", "Default"],
        "Wait" => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        "Succeed" => &[],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
        ],
        "Map" => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
        ],
        _ => return None,
    };
    let mut v: Vec<&str> = match ty {
        // Choice has no Next/End; Succeed and Fail have no Next/End and Fail has no paths.
        "Choice" => vec!["Type", "Comment", "InputPath", "OutputPath"],
        "Succeed" => vec!["Type", "Comment", "InputPath", "OutputPath"],
        "Fail" => vec!["Type", "Comment"],
        _ => COMMON.to_vec(),
    };
    v.extend_from_slice(extra);
    Some(v)
}

/// Parses machines and states, collecting every diagnostic. The fields of each state type are
/// read in `states.rs`.
#[derive(Default)]
pub(super) struct Parser {
    pub(super) machines: Vec<Machine>,
    pub(super) diags: Vec<Diagnostic>,
    all_names: HashSet<String>,
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
            index: HashMap::new(),
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
        let Some(allowed) = allowed_for(&ty) else {
            self.diag(
                Some(name),
                Some("Type"),
                &format!(
                    "has unknown value '{ty}' (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"
                ),
            );
            return None;
        };
        let mut o = Obj::new(map, Some(name), "", &allowed);
        o.get::<String>("Comment");
        let mut flow = DataFlow {
            input_path: o.opt_path("InputPath", false),
            output_path: o.opt_path("OutputPath", false),
            ..DataFlow::default()
        };
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
            next,
            end,
        })
    }
}

/// All transitions out of a state, as (field, target).
fn transitions(s: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(n) = &s.next {
        out.push(("Next".to_owned(), n.clone()));
    }
    let catch = match &s.kind {
        Kind::Choice { choices, default } => {
            for (i, (_, next)) in choices.iter().enumerate() {
                out.push((format!("Choices[{i}].Next"), next.clone()));
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
