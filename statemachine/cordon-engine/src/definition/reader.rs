//! [`Obj`], the field reader every part of the parser uses: it reads one JSON object field by
//! field (through serde), in the query language of the state it belongs to, and reports type
//! errors and unknown fields by name.
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::diagnostics::Diagnostic;
use crate::dataflow::{
    Assign, FixedOrPath, JsonataExpr, JsonataScope, OptPath, QueryLanguage, Template,
    expression_text,
};
use crate::paths::{self, Path, Root};

/// Fields only JSONPath states have.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ResultSelector",
    "Parameters",
    "Result",
    "ItemsPath",
    "MaxConcurrencyPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "Variable",
];

/// Fields only JSONata states have.
const JSONATA_ONLY: &[&str] = &["Output", "Arguments", "Items", "Condition"];

/// Reads fields of one JSON object, reporting type errors and unknown fields by name.
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    pub(super) state: Option<String>,
    prefix: String,
    pub(super) errs: Vec<Diagnostic>,
    /// The query language of the state this object belongs to.
    pub(super) language: QueryLanguage,
}

impl<'a> Obj<'a> {
    pub(super) fn new(
        map: &'a Map<String, Value>,
        state: Option<&str>,
        prefix: &str,
        allowed: &[&str],
        language: QueryLanguage,
    ) -> Self {
        let mut o = Obj {
            map,
            state: state.map(str::to_owned),
            prefix: prefix.to_owned(),
            errs: Vec::new(),
            language,
        };
        for k in map.keys() {
            if allowed.contains(&k.as_str()) {
                continue;
            }
            let other = match language {
                QueryLanguage::JsonPath if JSONATA_ONLY.contains(&k.as_str()) => {
                    Some(QueryLanguage::JsonAta)
                }
                QueryLanguage::JsonAta if JSONPATH_ONLY.contains(&k.as_str()) => {
                    Some(QueryLanguage::JsonPath)
                }
                _ => None,
            };
            let field = o.field(k);
            let message = match other {
                // AWS's words, from ValidateStateMachineDefinition.
                Some(other) => format!(
                    "is refused: The QueryLanguage is set to '{}', but field '{k}' is only supported for the '{}' QueryLanguage",
                    language.name(),
                    other.name()
                ),
                None => "is not supported (unknown field)".into(),
            };
            o.errs.push(Diagnostic {
                state: o.state.clone(),
                field: Some(field),
                message,
            });
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

    /// `QueryLanguage`: exactly `JSONPath` or `JSONata`.
    pub(super) fn query_language(&mut self) -> Option<QueryLanguage> {
        let v = self.map.get("QueryLanguage")?;
        match v.as_str().and_then(QueryLanguage::from_name) {
            Some(q) => Some(q),
            None => {
                self.err(
                    "QueryLanguage",
                    "must be one of the following: [JSONPath, JSONata]",
                );
                None
            }
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

    /// A Path field (InputPath, OutputPath, ItemsPath, ResultPath): absent, null, or a valid
    /// path. A `reference` path (ResultPath) must be a reference path into the state input.
    pub(super) fn opt_path(&mut self, key: &str, reference: bool) -> OptPath {
        match self.map.get(key) {
            None => OptPath::Default,
            Some(Value::Null) => OptPath::Null,
            Some(Value::String(s)) => {
                let parsed = if reference {
                    paths::ReferencePath::parse(s).and_then(|r| {
                        if r.root() == &Root::Document {
                            Path::parse(s)
                        } else {
                            Err(paths::PathError::Invalid {
                                path: s.clone(),
                                reason: "a ResultPath can only refer to the state input ('$')"
                                    .into(),
                            })
                        }
                    })
                } else {
                    Path::parse(s)
                };
                match parsed {
                    Ok(p) => OptPath::Path(p),
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

    /// A reference path field (SecondsPath, TimeoutSecondsPath, ...), parsed for selection.
    pub(super) fn ref_path(&mut self, key: &str) -> Option<Path> {
        let s = self.get::<String>(key)?;
        match paths::validate_reference_path(&s)
            .and_then(|()| Path::parse(&s).map_err(|e| e.to_string()))
        {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(key, &format!("is not a valid reference path: {e}"));
                None
            }
        }
    }

    /// A payload template in this object's query language: JSONPath templates
    /// (Parameters, ResultSelector, ItemSelector) must be objects; a JSONata field (Arguments,
    /// Output, Items, ...) holds any JSON value with `{% %}` expressions in it.
    pub(super) fn template(&mut self, key: &str) -> Option<Template> {
        self.template_in(
            key,
            JsonataScope {
                error_output: false,
            },
        )
    }

    pub(super) fn template_in(&mut self, key: &str, scope: JsonataScope) -> Option<Template> {
        let v = self.map.get(key)?;
        if self.language == QueryLanguage::JsonPath && !v.is_object() {
            self.err(key, "must be a JSON object");
            return None;
        }
        let at = match self.language {
            // AWS names JSONata fields `Output/a/b[0]`, `Catch[1]/Output/v`.
            QueryLanguage::JsonAta => jsonata_field(&self.prefix, key),
            QueryLanguage::JsonPath => self.field(key),
        };
        let mut problems = Vec::new();
        let t = Template::compile(v, self.language, &at, scope, &mut problems);
        self.problems(problems);
        Some(t)
    }

    /// `Assign`, in this object's query language.
    pub(super) fn assign(&mut self, scope: JsonataScope) -> Option<Assign> {
        let v = self.map.get("Assign")?;
        let at = match self.language {
            QueryLanguage::JsonAta => jsonata_field(&self.prefix, "Assign"),
            QueryLanguage::JsonPath => self.field("Assign"),
        };
        let mut problems = Vec::new();
        let a = Assign::compile(v, self.language, &at, scope, &mut problems);
        self.problems(problems);
        a
    }

    /// A JSONata expression field (`"{% ... %}"`), if `key` holds one.
    pub(super) fn jsonata(&mut self, key: &str) -> Option<JsonataExpr> {
        let text = self.map.get(key)?.as_str().and_then(expression_text)?;
        match JsonataExpr::parse(text, false) {
            Ok(j) => Some(j),
            Err(e) => {
                self.err(key, &e);
                None
            }
        }
    }

    /// A number field that is fixed, a reference path under `<key>Path` (JSONPath), or a
    /// JSONata expression (JSONata).
    pub(super) fn seconds_or_path(
        &mut self,
        key: &str,
        positive: bool,
    ) -> Option<FixedOrPath<u64>> {
        if self.language == QueryLanguage::JsonAta
            && let Some(j) = self.jsonata(key)
        {
            return Some(FixedOrPath::Jsonata(j));
        }
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

/// The AWS name of a JSONata field `key` of an object found at `prefix` (`Catch[1].` →
/// `Catch[1]/Output`).
fn jsonata_field(prefix: &str, key: &str) -> String {
    match prefix.strip_suffix('.') {
        Some(p) if !p.is_empty() => format!("{p}/{key}"),
        _ => key.to_owned(),
    }
}

fn path_kind(reference: bool) -> &'static str {
    if reference { "reference path" } else { "path" }
}
