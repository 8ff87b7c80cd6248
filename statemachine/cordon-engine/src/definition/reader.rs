//! [`Obj`], the field reader every part of the parser uses: it reads one JSON object field by
//! field (through serde), and reports type errors and unknown fields by name.
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::diagnostics::Diagnostic;
use crate::dataflow::{FixedOrPath, OptPath};
use crate::{intrinsics, paths};

/// Reads fields of one JSON object, reporting type errors and unknown fields by name.
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    pub(super) state: Option<String>,
    prefix: String,
    pub(super) errs: Vec<Diagnostic>,
}

impl<'a> Obj<'a> {
    pub(super) fn new(
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

    pub(super) fn field(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(super) fn err(&mut self, key: &str, message: &str) {
        self.errs.push(Diagnostic {
            state: self.state.clone(),
            field: Some(self.field(key)),
            message: message.to_owned(),
        });
    }

    /// Records problems found below this object, each as (field path, message).
    pub(super) fn problems(&mut self, problems: Vec<(String, String)>) {
        for (field, message) in problems {
            self.errs.push(Diagnostic {
                state: self.state.clone(),
                field: Some(field),
                message,
            });
        }
    }

    /// A required, non-empty array of `what` (`Choices`, `Branches`).
    pub(super) fn non_empty_array(&mut self, key: &str, what: &str) -> Option<&'a Vec<Value>> {
        let Some(raw) = self.raw(key) else {
            self.err(key, "is required");
            return None;
        };
        let items = raw.as_array().filter(|a| !a.is_empty());
        if items.is_none() {
            self.err(key, &format!("must be a non-empty array of {what}"));
        }
        items
    }

    /// Reports `key` when `other` is set as well.
    pub(super) fn exclusive(&mut self, key: &str, other: &str) {
        if self.map.contains_key(key) && self.map.contains_key(other) {
            self.err(key, &format!("cannot be used together with '{other}'"));
        }
    }

    pub(super) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Deserialises `key` with serde; a type error names the field.
    pub(super) fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let v = self.map.get(key)?;
        match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(key, &format!("has the wrong type: {e}"));
                None
            }
        }
    }

    pub(super) fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if self.map.contains_key(key) {
            self.get(key)
        } else {
            self.err(key, "is required");
            None
        }
    }

    pub(super) fn positive_int(&mut self, key: &str) -> Option<u64> {
        let v = self.map.get(key)?;
        match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                self.err(key, "must be a positive integer");
                None
            }
        }
    }

    pub(super) fn non_negative_int(&mut self, key: &str) -> Option<u64> {
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
    pub(super) fn opt_path(&mut self, key: &str, reference: bool) -> OptPath {
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
    pub(super) fn ref_path(&mut self, key: &str) -> Option<String> {
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
    pub(super) fn template(&mut self, key: &str) -> Option<Value> {
        let v = self.map.get(key)?;
        if !v.is_object() {
            self.err(key, "must be a JSON object");
            return None;
        }
        let mut problems = Vec::new();
        check_template(v, &self.field(key), &mut problems);
        self.problems(problems);
        Some(v.clone())
    }

    /// A value that is a fixed positive integer, or a reference path under `<key>Path`.
    pub(super) fn seconds_or_path(
        &mut self,
        key: &str,
        positive: bool,
    ) -> Option<FixedOrPath<u64>> {
        let path_key = format!("{key}Path");
        let fixed = if positive {
            self.positive_int(key)
        } else {
            self.non_negative_int(key)
        };
        let path = self.ref_path(&path_key);
        self.exclusive(key, &path_key);
        fixed
            .map(FixedOrPath::Fixed)
            .or(path.map(FixedOrPath::Path))
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
