//! Parsing and validation of Amazon States Language definitions (JSONPath query language).
//!
//! Each state is read field by field (every field through serde, into strongly typed
//! structs), so that an invalid definition is rejected with a message that names the state
//! and the field, such as `State 'Quarantine': field 'Retry[0].BackoffRate' must be >= 1.0`.
//! All problems are collected, not just the first.
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::choice::{ChoiceRule, Comparison, Operand, Operator};
use crate::{error, intrinsics, paths};

/// One problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The state the problem is in, if any.
    pub state: Option<String>,
    /// The field, as a path such as `Retry[0].BackoffRate`, if any.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.state {
            write!(f, "State '{s}': ")?;
        }
        match &self.field {
            Some(field) => write!(f, "field '{field}' {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// An invalid definition: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid State Machine Definition: ")?;
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl ValidationError {
    /// Whether any diagnostic's text contains `needle` (handy in tests).
    pub fn mentions(&self, needle: &str) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.to_string().contains(needle))
    }
}

/// `InputPath`, `OutputPath`, `ResultPath` and `ItemsPath` distinguish "absent" (`$`) from `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptPath {
    Default,
    Null,
    Path(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: OptPath,
}

/// A string that is a literal, a path or an intrinsic call (Fail's Error/Cause).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(String),
    Path(String),
    Intrinsic(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitSpec {
    Seconds(u64),
    SecondsPath(String),
    Timestamp(DateTime<FixedOffset>),
    TimestampPath(String),
}

/// What Task, Parallel and Map share.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Execution {
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    pub result_path: Option<OptPath>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskSpec {
    pub resource: String,
    pub exec: Execution,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tolerance {
    Fixed(f64),
    Path(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MapSpec {
    pub processor: usize,
    pub items_path: OptPath,
    pub item_selector: Option<Value>,
    pub max_concurrency: Seconds,
    pub tolerated_percentage: Option<Tolerance>,
    pub tolerated_count: Option<Tolerance>,
    pub max_items_per_batch: Option<u64>,
    pub batch_input: Option<Value>,
    pub has_item_reader: bool,
    pub exec: Execution,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Pass {
        parameters: Option<Value>,
        result: Option<Value>,
        result_path: OptPath,
    },
    Task(Box<TaskSpec>),
    Choice {
        choices: Vec<(ChoiceRule, String)>,
        default: Option<String>,
    },
    Wait(WaitSpec),
    Succeed,
    Fail {
        error: Option<Expr>,
        cause: Option<Expr>,
    },
    Parallel {
        branches: Vec<usize>,
        exec: Execution,
    },
    Map(Box<MapSpec>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub name: String,
    pub kind: Kind,
    pub input_path: OptPath,
    pub output_path: OptPath,
    /// `None` with `end == true` for terminal states; Choice/Succeed/Fail have neither.
    pub next: Option<String>,
    pub end: bool,
}

/// A state machine or a branch (Parallel branch, Map ItemProcessor).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: Vec<State>,
    index: HashMap<String, usize>,
}

impl Machine {
    pub(crate) fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|&i| &self.states[i])
    }
}

/// A parsed, validated state machine definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub comment: Option<String>,
    pub version: Option<String>,
    /// Execution-level `TimeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// Machine 0 is the top level; Parallel branches and Map processors follow.
    pub(crate) machines: Vec<Machine>,
    source: String,
}

impl Definition {
    /// Parses and validates a definition.
    pub fn parse(json: &str) -> Result<Definition, ValidationError> {
        let value: Value = serde_json::from_str(json).map_err(|e| ValidationError {
            diagnostics: vec![Diagnostic {
                state: None,
                field: None,
                message: format!("definition is not valid JSON: {e}"),
            }],
        })?;
        let mut p = Parser::default();
        let top = match value.as_object() {
            Some(o) => o,
            None => {
                p.diag(None, None, "the definition must be a JSON object");
                return Err(p.finish_err());
            }
        };
        let mut o = Obj::new(
            top,
            None,
            "",
            &[
                "Comment",
                "StartAt",
                "States",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
        );
        let comment = o.get::<String>("Comment");
        let version = o.get::<String>("Version");
        if let Some(v) = &version
            && v != "1.0"
        {
            o.err("Version", "must be \"1.0\"");
        }
        let timeout_seconds = o.positive_int("TimeoutSeconds");
        if let Some(q) = o.get::<String>("QueryLanguage")
            && q != "JSONPath"
        {
            o.err(
                "QueryLanguage",
                &format!("'{q}' is not supported: this engine implements the JSONPath query language only"),
            );
        }
        p.diags.append(&mut o.errs);
        p.machine(top, None, "");
        if p.diags.is_empty() {
            Ok(Definition {
                comment,
                version,
                timeout_seconds,
                machines: p.machines,
                source: json.to_owned(),
            })
        } else {
            Err(p.finish_err())
        }
    }

    /// The definition text this was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn root(&self) -> &Machine {
        &self.machines[0]
    }

    /// The names of the top-level states, in definition order.
    pub fn state_names(&self) -> Vec<&str> {
        self.root().states.iter().map(|s| s.name.as_str()).collect()
    }

    /// Every Task `Resource` in the definition, including in branches.
    pub fn task_resources(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for m in &self.machines {
            for s in &m.states {
                if let Kind::Task(t) = &s.kind {
                    out.push((s.name.as_str(), t.resource.as_str()));
                }
            }
        }
        out
    }
}

/// Reads fields of one JSON object, reporting type errors and unknown fields by name.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    state: Option<String>,
    prefix: String,
    errs: Vec<Diagnostic>,
}

impl<'a> Obj<'a> {
    fn new(
        map: &'a Map<String, Value>,
        state: Option<&str>,
        prefix: &str,
        allowed: &[&str],
    ) -> Self {
        let mut o = Obj {
            map,
            state: state.map(str::to_owned),
            prefix: prefix.to_owned(),
            errs: Vec::new(),
        };
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                let field = o.field(k);
                o.errs.push(Diagnostic {
                    state: o.state.clone(),
                    field: Some(field),
                    message: "is not supported (unknown field)".into(),
                });
            }
        }
        o
    }

    fn field(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn err(&mut self, key: &str, message: &str) {
        self.errs.push(Diagnostic {
            state: self.state.clone(),
            field: Some(self.field(key)),
            message: message.to_owned(),
        });
    }

    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Deserialises `key` with serde; a type error names the field.
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let v = self.map.get(key)?;
        match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(key, &format!("has the wrong type: {e}"));
                None
            }
        }
    }

    fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if self.map.contains_key(key) {
            self.get(key)
        } else {
            self.err(key, "is required");
            None
        }
    }

    fn positive_int(&mut self, key: &str) -> Option<u64> {
        let v = self.map.get(key)?;
        match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                self.err(key, "must be a positive integer");
                None
            }
        }
    }

    fn non_negative_int(&mut self, key: &str) -> Option<u64> {
        let v = self.map.get(key)?;
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.err(key, "must be a non-negative integer");
                None
            }
        }
    }

    /// A Path field (InputPath, OutputPath, ItemsPath): absent, null, or a valid path.
    fn opt_path(&mut self, key: &str, reference: bool) -> OptPath {
        match self.map.get(key) {
            None => OptPath::Default,
            Some(Value::Null) => OptPath::Null,
            Some(Value::String(s)) => {
                let check = if reference {
                    paths::validate_reference_path(s)
                } else {
                    paths::validate_path(s)
                };
                match check {
                    Ok(()) => OptPath::Path(s.clone()),
                    Err(e) => {
                        self.err(
                            key,
                            &format!("is not a valid {}: {e}", path_kind(reference)),
                        );
                        OptPath::Default
                    }
                }
            }
            Some(_) => {
                self.err(key, "must be a string or null");
                OptPath::Default
            }
        }
    }

    /// A reference path field (SecondsPath, Variable, ...).
    fn ref_path(&mut self, key: &str) -> Option<String> {
        let s = self.get::<String>(key)?;
        match paths::validate_reference_path(&s) {
            Ok(()) => Some(s),
            Err(e) => {
                self.err(key, &format!("is not a valid reference path: {e}"));
                None
            }
        }
    }

    /// A payload template (Parameters, ResultSelector, ItemSelector).
    fn template(&mut self, key: &str) -> Option<Value> {
        let v = self.map.get(key)?;
        if !v.is_object() {
            self.err(key, "must be a JSON object");
            return None;
        }
        let mut problems = Vec::new();
        check_template(v, &self.field(key), &mut problems);
        for (field, msg) in problems {
            self.errs.push(Diagnostic {
                state: self.state.clone(),
                field: Some(field),
                message: msg,
            });
        }
        Some(v.clone())
    }

    /// A value that is a fixed positive integer, or a reference path under `<key>Path`.
    fn seconds_or_path(&mut self, key: &str, positive: bool) -> Option<Seconds> {
        let path_key = format!("{key}Path");
        let fixed = if positive {
            self.positive_int(key)
        } else {
            self.non_negative_int(key)
        };
        let path = self.ref_path(&path_key);
        if self.map.contains_key(key) && self.map.contains_key(&path_key) {
            self.err(key, &format!("cannot be used together with '{path_key}'"));
        }
        fixed.map(Seconds::Fixed).or(path.map(Seconds::Path))
    }
}

fn path_kind(reference: bool) -> &'static str {
    if reference { "reference path" } else { "path" }
}

/// Checks the `.$` fields of a payload template, recursing into objects and arrays.
fn check_template(v: &Value, at: &str, problems: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let field = format!("{at}.{k}");
                if k.ends_with(".$") {
                    match child {
                        Value::String(expr) => {
                            if let Err(msg) = check_expression(expr) {
                                problems.push((field, msg));
                            }
                        }
                        _ => problems.push((
                            field,
                            "must be a string holding a path or an intrinsic function".into(),
                        )),
                    }
                } else {
                    check_template(child, &field, problems);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_template(item, &format!("{at}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// Checks a `.$` value: an intrinsic call or a path.
fn check_expression(expr: &str) -> Result<(), String> {
    if intrinsics::is_intrinsic(expr) {
        intrinsics::validate(expr)
            .map_err(|e| format!("is not a valid intrinsic function call: {e}"))
    } else if expr.starts_with('$') {
        paths::validate_path(expr).map_err(|e| format!("is not a valid path: {e}"))
    } else {
        Err(format!(
            "must be a path (starting with '$') or an intrinsic function, got '{expr}'"
        ))
    }
}

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

#[derive(Default)]
struct Parser {
    machines: Vec<Machine>,
    diags: Vec<Diagnostic>,
    all_names: HashSet<String>,
}

impl Parser {
    fn diag(&mut self, state: Option<&str>, field: Option<&str>, message: &str) {
        self.diags.push(Diagnostic {
            state: state.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.to_owned(),
        });
    }

    fn finish_err(&mut self) -> ValidationError {
        ValidationError {
            diagnostics: std::mem::take(&mut self.diags),
        }
    }

    /// Parses a machine (top level or branch) and returns its index. `owner`/`prefix` locate
    /// a branch, e.g. state `Fanout`, field `Branches[0].`.
    fn machine(&mut self, obj: &Map<String, Value>, owner: Option<&str>, prefix: &str) -> usize {
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
        let input_path = o.opt_path("InputPath", false);
        let output_path = o.opt_path("OutputPath", false);
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
            "Pass" => Some(Kind::Pass {
                parameters: o.template("Parameters"),
                result: o.raw("Result").cloned(),
                result_path: o.opt_path("ResultPath", true),
            }),
            "Task" => self.task(&mut o),
            "Choice" => self.choice(&mut o),
            "Wait" => wait(&mut o),
            "Succeed" => Some(Kind::Succeed),
            "Fail" => Some(Kind::Fail {
                error: fail_expr(&mut o, "Error"),
                cause: fail_expr(&mut o, "Cause"),
            }),
            "Parallel" => self.parallel(&mut o, name),
            "Map" => self.map(&mut o, name),
            _ => None,
        };
        let ok = o.errs.is_empty();
        self.diags.append(&mut o.errs);
        let kind = kind?;
        ok.then(|| State {
            name: name.to_owned(),
            kind,
            input_path,
            output_path,
            next,
            end,
        })
    }

    fn execution(&mut self, o: &mut Obj<'_>, parameters_key: Option<&str>) -> Execution {
        Execution {
            parameters: parameters_key.and_then(|k| o.template(k)),
            result_selector: o.template("ResultSelector"),
            result_path: Some(o.opt_path("ResultPath", true)),
            retry: retriers(o),
            catch: catchers(o),
        }
    }

    fn task(&mut self, o: &mut Obj<'_>) -> Option<Kind> {
        let resource = o.required::<String>("Resource");
        let exec = self.execution(o, Some("Parameters"));
        let timeout = o.seconds_or_path("TimeoutSeconds", true);
        let heartbeat = o.seconds_or_path("HeartbeatSeconds", true);
        if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
            && h >= t
        {
            o.err(
                "HeartbeatSeconds",
                &format!("must be smaller than TimeoutSeconds ({h} >= {t})"),
            );
        }
        if o.raw("Credentials").is_some_and(|c| !c.is_object()) {
            o.err("Credentials", "must be a JSON object");
        }
        Some(Kind::Task(Box::new(TaskSpec {
            resource: resource?,
            exec,
            timeout,
            heartbeat,
        })))
    }

    fn choice(&mut self, o: &mut Obj<'_>) -> Option<Kind> {
        let default = o.get::<String>("Default");
        let Some(raw) = o.raw("Choices") else {
            o.err("Choices", "is required");
            return None;
        };
        let Some(items) = raw.as_array().filter(|a| !a.is_empty()) else {
            o.err("Choices", "must be a non-empty array of choice rules");
            return None;
        };
        let mut choices = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("Choices[{i}]");
            let mut problems = Vec::new();
            let rule = parse_rule(item, &at, true, &mut problems);
            let next = item.get("Next").and_then(Value::as_str).map(str::to_owned);
            for (field, msg) in problems {
                o.errs.push(Diagnostic {
                    state: o.state.clone(),
                    field: Some(field),
                    message: msg,
                });
            }
            if let (Some(rule), Some(next)) = (rule, next) {
                choices.push((rule, next));
            }
        }
        Some(Kind::Choice { choices, default })
    }

    fn branch(&mut self, o: &mut Obj<'_>, v: &Value, owner: &str, prefix: &str) -> Option<usize> {
        let Some(m) = v.as_object() else {
            o.err(prefix.trim_end_matches('.'), "must be a JSON object");
            return None;
        };
        let allowed = ["StartAt", "States", "Comment", "ProcessorConfig"];
        for k in m.keys() {
            if !allowed.contains(&k.as_str()) {
                o.err(&format!("{prefix}{k}"), "is not supported (unknown field)");
            }
        }
        Some(self.machine(m, Some(owner), prefix))
    }

    fn parallel(&mut self, o: &mut Obj<'_>, name: &str) -> Option<Kind> {
        let exec = self.execution(o, Some("Parameters"));
        let Some(raw) = o.raw("Branches") else {
            o.err("Branches", "is required");
            return None;
        };
        let Some(items) = raw.as_array().filter(|a| !a.is_empty()) else {
            o.err("Branches", "must be a non-empty array of branches");
            return None;
        };
        let mut branches = Vec::new();
        for (i, b) in items.iter().enumerate() {
            if let Some(idx) = self.branch(o, b, name, &format!("Branches[{i}].")) {
                branches.push(idx);
            }
        }
        Some(Kind::Parallel { branches, exec })
    }

    fn map(&mut self, o: &mut Obj<'_>, name: &str) -> Option<Kind> {
        if o.raw("ItemSelector").is_some() && o.raw("Parameters").is_some() {
            o.err("Parameters", "cannot be used together with 'ItemSelector'");
        }
        let selector_key = if o.raw("ItemSelector").is_some() {
            "ItemSelector"
        } else {
            "Parameters"
        };
        let exec = self.execution(o, None);
        let item_selector = o.template(selector_key);
        let items_path = match o.opt_path("ItemsPath", false) {
            OptPath::Null => {
                o.err("ItemsPath", "must be a path, not null");
                OptPath::Default
            }
            p => p,
        };
        let processor_key = match (o.raw("ItemProcessor"), o.raw("Iterator")) {
            (Some(_), Some(_)) => {
                o.err("Iterator", "cannot be used together with 'ItemProcessor'");
                return None;
            }
            (Some(_), None) => "ItemProcessor",
            (None, Some(_)) => "Iterator",
            (None, None) => {
                o.err("ItemProcessor", "is required");
                return None;
            }
        };
        let proc_value = o.raw(processor_key)?;
        if let Some(cfg) = proc_value.get("ProcessorConfig") {
            check_processor_config(o, cfg, processor_key);
        }
        let processor = self.branch(o, proc_value, name, &format!("{processor_key}."))?;
        let max_concurrency = o
            .seconds_or_path("MaxConcurrency", false)
            .unwrap_or(Seconds::Fixed(0));
        let tolerated_percentage = tolerance(o, "ToleratedFailurePercentage", Some(100.0));
        let tolerated_count = tolerance(o, "ToleratedFailureCount", None);
        let (mut max_items_per_batch, mut batch_input) = (None, None);
        if let Some(b) = o.raw("ItemBatcher") {
            match b.as_object() {
                Some(bm) => {
                    let mut bo = Obj::new(
                        bm,
                        o.state.as_deref(),
                        "ItemBatcher.",
                        &[
                            "MaxItemsPerBatch",
                            "BatchInput",
                            "MaxInputBytesPerBatch",
                            "MaxItemsPerBatchPath",
                            "MaxInputBytesPerBatchPath",
                        ],
                    );
                    max_items_per_batch = bo.positive_int("MaxItemsPerBatch").or(Some(u64::MAX));
                    batch_input = bo.template("BatchInput");
                    bo.positive_int("MaxInputBytesPerBatch");
                    o.errs.append(&mut bo.errs);
                }
                None => o.err("ItemBatcher", "must be a JSON object"),
            }
        }
        if o.raw("ResultWriter").is_some_and(|w| !w.is_object()) {
            o.err("ResultWriter", "must be a JSON object");
        }
        if let Some(l) = o.get::<String>("Label")
            && l.chars().count() > 40
        {
            o.err("Label", "must be at most 40 characters");
        }
        Some(Kind::Map(Box::new(MapSpec {
            processor,
            items_path,
            item_selector,
            max_concurrency,
            tolerated_percentage,
            tolerated_count,
            max_items_per_batch,
            batch_input,
            has_item_reader: o.raw("ItemReader").is_some(),
            exec,
        })))
    }
}

fn check_processor_config(o: &mut Obj<'_>, cfg: &Value, processor_key: &str) {
    let Some(m) = cfg.as_object() else {
        o.err(
            &format!("{processor_key}.ProcessorConfig"),
            "must be a JSON object",
        );
        return;
    };
    for (k, v) in m {
        let field = format!("{processor_key}.ProcessorConfig.{k}");
        match (k.as_str(), v.as_str()) {
            ("Mode", Some("INLINE" | "DISTRIBUTED")) => {}
            ("Mode", _) => o.err(&field, "must be \"INLINE\" or \"DISTRIBUTED\""),
            ("ExecutionType", Some("STANDARD" | "EXPRESS")) => {}
            ("ExecutionType", _) => o.err(&field, "must be \"STANDARD\" or \"EXPRESS\""),
            _ => o.err(&field, "is not supported (unknown field)"),
        }
    }
}

fn tolerance(o: &mut Obj<'_>, key: &str, max: Option<f64>) -> Option<Tolerance> {
    let path_key = format!("{key}Path");
    if o.raw(key).is_some() && o.raw(&path_key).is_some() {
        o.err(key, &format!("cannot be used together with '{path_key}'"));
    }
    if let Some(v) = o.raw(key) {
        let ok = match max {
            Some(m) => v.as_f64().filter(|x| (0.0..=m).contains(x)),
            None => v.as_u64().map(|n| n as f64),
        };
        return match ok {
            Some(x) => Some(Tolerance::Fixed(x)),
            None => {
                let msg = match max {
                    Some(m) => format!("must be a number between 0 and {m}"),
                    None => "must be a non-negative integer".to_owned(),
                };
                o.err(key, &msg);
                None
            }
        };
    }
    o.ref_path(&path_key).map(Tolerance::Path)
}

fn wait(o: &mut Obj<'_>) -> Option<Kind> {
    let keys = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"];
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| o.raw(k).is_some())
        .collect();
    if present.len() != 1 {
        o.err(
            "Seconds",
            "exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath' is required",
        );
        return None;
    }
    match present[0] {
        "Seconds" => o.non_negative_int("Seconds").map(WaitSpec::Seconds),
        "SecondsPath" => o.ref_path("SecondsPath").map(WaitSpec::SecondsPath),
        "Timestamp" => {
            let s = o.get::<String>("Timestamp")?;
            match crate::choice::parse_timestamp(&s) {
                Some(t) => Some(WaitSpec::Timestamp(t)),
                None => {
                    o.err(
                        "Timestamp",
                        "must be an RFC 3339 timestamp, such as 2016-03-14T01:59:00Z",
                    );
                    None
                }
            }
        }
        _ => o.ref_path("TimestampPath").map(WaitSpec::TimestampPath),
    }
    .map(Kind::Wait)
}

fn fail_expr(o: &mut Obj<'_>, key: &str) -> Option<Expr> {
    let path_key = format!("{key}Path");
    if o.raw(key).is_some() && o.raw(&path_key).is_some() {
        o.err(key, &format!("cannot be used together with '{path_key}'"));
    }
    if let Some(s) = o.get::<String>(key) {
        return Some(Expr::Literal(s));
    }
    let s = o.get::<String>(&path_key)?;
    if intrinsics::is_intrinsic(&s) {
        match intrinsics::validate(&s) {
            Ok(()) => Some(Expr::Intrinsic(s)),
            Err(e) => {
                o.err(
                    &path_key,
                    &format!("is not a valid intrinsic function call: {e}"),
                );
                None
            }
        }
    } else {
        match paths::validate_reference_path(&s) {
            Ok(()) => Some(Expr::Path(s)),
            Err(e) => {
                o.err(&path_key, &format!("is not a valid reference path: {e}"));
                None
            }
        }
    }
}

fn error_equals(o: &mut Obj<'_>, prefix: &str, last: bool) -> Vec<String> {
    let Some(list) = o.required::<Vec<String>>("ErrorEquals") else {
        return Vec::new();
    };
    if list.is_empty() {
        o.err("ErrorEquals", "must contain at least one error name");
    }
    if list.iter().any(|e| e == error::ALL) {
        if list.len() > 1 {
            o.err(
                "ErrorEquals",
                "must contain \"States.ALL\" alone when it is used",
            );
        }
        if !last {
            o.err(
                "ErrorEquals",
                &format!("uses \"States.ALL\", which must appear only in the last {prefix}"),
            );
        }
    }
    for e in &list {
        if e.starts_with("States.") && !error::KNOWN_STATES_ERRORS.contains(&e.as_str()) {
            o.err(
                "ErrorEquals",
                &format!("names unknown error '{e}' (names starting with 'States.' are reserved)"),
            );
        }
    }
    list
}

fn sub_objects<'a>(o: &mut Obj<'a>, key: &str) -> Vec<(usize, &'a Map<String, Value>)> {
    let Some(v) = o.raw(key) else {
        return Vec::new();
    };
    let Some(items) = v.as_array() else {
        o.err(key, "must be an array");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_object() {
            Some(m) => out.push((i, m)),
            None => o.err(&format!("{key}[{i}]"), "must be a JSON object"),
        }
    }
    out
}

fn retriers(o: &mut Obj<'_>) -> Vec<Retrier> {
    let items = sub_objects(o, "Retry");
    let n = o.raw("Retry").and_then(Value::as_array).map_or(0, Vec::len);
    let mut out = Vec::new();
    for (i, m) in items {
        let mut r = Obj::new(
            m,
            o.state.as_deref(),
            &format!("Retry[{i}]."),
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
        );
        let error_equals = error_equals(&mut r, "retrier", i + 1 == n);
        let interval_seconds = r.positive_int("IntervalSeconds").unwrap_or(1);
        let max_attempts = match r.raw("MaxAttempts") {
            None => 3,
            Some(v) => match v.as_u64().and_then(|x| u32::try_from(x).ok()) {
                Some(x) => x,
                None => {
                    r.err("MaxAttempts", "must be a non-negative integer");
                    3
                }
            },
        };
        let backoff_rate = match r.get::<f64>("BackoffRate") {
            Some(b) if b < 1.0 => {
                r.err("BackoffRate", "must be >= 1.0");
                2.0
            }
            Some(b) => b,
            None => 2.0,
        };
        let max_delay_seconds = r.positive_int("MaxDelaySeconds");
        let jitter = match r.get::<String>("JitterStrategy").as_deref() {
            None | Some("NONE") => Jitter::None,
            Some("FULL") => Jitter::Full,
            Some(other) => {
                r.err(
                    "JitterStrategy",
                    &format!("must be \"FULL\" or \"NONE\", got \"{other}\""),
                );
                Jitter::None
            }
        };
        o.errs.append(&mut r.errs);
        out.push(Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        });
    }
    out
}

fn catchers(o: &mut Obj<'_>) -> Vec<Catcher> {
    let items = sub_objects(o, "Catch");
    let n = o.raw("Catch").and_then(Value::as_array).map_or(0, Vec::len);
    let mut out = Vec::new();
    for (i, m) in items {
        let mut c = Obj::new(
            m,
            o.state.as_deref(),
            &format!("Catch[{i}]."),
            &["ErrorEquals", "Next", "ResultPath", "Comment"],
        );
        let error_equals = error_equals(&mut c, "catcher", i + 1 == n);
        let next = c.required::<String>("Next");
        let result_path = c.opt_path("ResultPath", true);
        o.errs.append(&mut c.errs);
        if let Some(next) = next {
            out.push(Catcher {
                error_equals,
                next,
                result_path,
            });
        }
    }
    out
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
        Kind::Task(t) => Some(&t.exec.catch),
        Kind::Parallel { exec, .. } => Some(&exec.catch),
        Kind::Map(m) => Some(&m.exec.catch),
        _ => None,
    };
    for (i, c) in catch.into_iter().flatten().enumerate() {
        out.push((format!("Catch[{i}].Next"), c.next.clone()));
    }
    out
}

const RULE_KEYS: &[&str] = &["Variable", "Next", "Comment", "And", "Or", "Not"];

/// Parses a choice rule; `top` rules need `Next`, nested ones must not have it.
fn parse_rule(
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
    } else if m.contains_key("Next") {
        problems.push((
            field("Next"),
            "is only allowed in top-level choice rules".into(),
        ));
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
                Some(Value::String(s)) => match paths::validate_reference_path(s) {
                    Ok(()) => Some(s.clone()),
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
            if let Operand::Path(p) = &operand
                && let Err(e) = paths::validate_reference_path(p)
            {
                problems.push((field(name), format!("is not a valid reference path: {e}")));
                return None;
            }
            Some(ChoiceRule::Compare(Comparison {
                variable: variable?,
                operator,
                operand,
            }))
        }
    }
}
