//! Payload templates, compiled once when the definition is parsed: a JSON value whose
//! dynamic parts are JSONPath `.$` fields (a path or an intrinsic function) or JSONata
//! `{% %}` strings, and whose constant parts are copied as they are.
//!
//! Templates are what `Parameters`, `ResultSelector`, `ItemSelector` and `Assign` hold in
//! JSONPath states, and what `Arguments`, `Output`, `Items`, `ItemSelector`, `Assign`, a
//! Choice `Condition` and a Fail's `Error`/`Cause` hold in JSONata states.
use serde_json::{Map, Value};

use super::env::Env;
use super::error::FlowError;
use super::jsonata::{self, JsonataExpr};
use super::query::QueryLanguage;
use crate::error::StatesError;
use crate::intrinsics::{self, Intrinsic, IntrinsicError};
use crate::json_text::compact;
use crate::paths::{Path, Root, Segment, take_at, walk};

/// One dynamic value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A JSONPath path (`$.a`, `$$.Execution.Id`, `$var.b`).
    Path(Path),
    /// A JSONPath intrinsic function call.
    Intrinsic(Intrinsic),
    /// A JSONata expression.
    Jsonata(JsonataExpr),
}

impl Expr {
    /// A JSONPath `.$` value: an intrinsic function call or a path.
    pub(crate) fn jsonpath(text: &str) -> Result<Expr, String> {
        if intrinsics::is_intrinsic(text) {
            Intrinsic::parse(text)
                .map(Expr::Intrinsic)
                .map_err(|e| format!("is not a valid intrinsic function call: {e}"))
        } else if text.starts_with('$') {
            Path::parse(text)
                .map(Expr::Path)
                .map_err(|e| format!("is not a valid path: {e}"))
        } else {
            Err(format!(
                "must be a path (starting with '$') or an intrinsic function, got '{text}'"
            ))
        }
    }

    /// Evaluates the expression of field `field`. JSONPath reads `$` from `document`.
    pub(crate) fn eval(
        &self,
        field: &str,
        document: &Value,
        env: &Env<'_>,
    ) -> Result<Value, FlowError> {
        match self {
            Expr::Intrinsic(i) => i.evaluate(&env.roots(document)).map_err(|e| match e {
                IntrinsicError::Invalid(m) => FlowError::Runtime(m),
                IntrinsicError::Failed { error, cause } => {
                    FlowError::Named(StatesError::new(error, cause))
                }
            }),
            Expr::Path(p) => p.select(&env.roots(document)).ok_or_else(|| {
                let doc = match p.root() {
                    Root::Context => env.context,
                    _ => document,
                };
                FlowError::Runtime(format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    p.as_str(),
                    compact(doc)
                ))
            }),
            Expr::Jsonata(j) => j
                .eval(&env.states())
                .map_err(|f| FlowError::Query(f.cause(j.text(), field))),
        }
    }
}

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// A value with nothing to evaluate inside it.
    Const(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// A dynamic value, with the field name AWS quotes when it fails.
    Dynamic {
        field: String,
        expr: Expr,
    },
}

/// Where a JSONata template is: whether `$states.errorOutput` exists there (a Catch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonataScope {
    pub error_output: bool,
}

impl Template {
    /// Compiles a template of `language` found at `at` (`Parameters`, `Output`, ...),
    /// reporting each problem as (field, message).
    pub(crate) fn compile(
        v: &Value,
        language: QueryLanguage,
        at: &str,
        scope: JsonataScope,
        problems: &mut Vec<(String, String)>,
    ) -> Template {
        // Most of a payload is constant: copy such a value once rather than compile it.
        if !has_dynamic(v, language) {
            return Template::Const(v.clone());
        }
        match language {
            QueryLanguage::JsonPath => compile_jsonpath(v, at, problems),
            QueryLanguage::JsonAta => compile_jsonata(v, at, at, scope, problems),
        }
    }

    /// Whether the template can take its values out of the document it reads rather than
    /// copy them: every dynamic field is a `$`-rooted path of names and indexes, none leading
    /// to another's value or into it. (ResultSelector: the result is not read again.)
    pub(crate) fn can_take(&self) -> bool {
        let mut steps = Vec::new();
        if !self.document_steps(&mut steps) {
            return false;
        }
        steps.iter().enumerate().all(|(i, a)| {
            steps[i + 1..]
                .iter()
                .all(|b| !a.starts_with(b) && !b.starts_with(a))
        })
    }

    /// The steps of every path of the template, if all are `$`-rooted walks.
    fn document_steps<'t>(&'t self, out: &mut Vec<&'t [Segment]>) -> bool {
        match self {
            Template::Const(_) => true,
            Template::Object(fields) => fields.iter().all(|(_, t)| t.document_steps(out)),
            Template::Array(items) => items.iter().all(|t| t.document_steps(out)),
            Template::Dynamic {
                expr: Expr::Path(p),
                ..
            } => match p.document_steps() {
                Some(steps) => {
                    out.push(steps);
                    true
                }
                None => false,
            },
            Template::Dynamic { .. } => false,
        }
    }

    /// [`Template::eval`] of a template that [`Template::can_take`], taking the values out of
    /// `document` rather than copying them, when every path finds one. `None` (`document`
    /// untouched) when one does not: [`Template::eval`] then reports it.
    pub(crate) fn eval_taking(&self, document: &mut Value) -> Option<Value> {
        self.all_found(document).then(|| self.take_from(document))
    }

    fn all_found(&self, document: &Value) -> bool {
        match self {
            Template::Const(_) => true,
            Template::Object(fields) => fields.iter().all(|(_, t)| t.all_found(document)),
            Template::Array(items) => items.iter().all(|t| t.all_found(document)),
            Template::Dynamic {
                expr: Expr::Path(p),
                ..
            } => p
                .document_steps()
                .is_some_and(|steps| walk(document, steps).is_some()),
            Template::Dynamic { .. } => false,
        }
    }

    fn take_from(&self, document: &mut Value) -> Value {
        match self {
            Template::Const(v) => v.clone(),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.take_from(document));
                }
                Value::Object(out)
            }
            Template::Array(items) => {
                Value::Array(items.iter().map(|t| t.take_from(document)).collect())
            }
            Template::Dynamic {
                expr: Expr::Path(p),
                ..
            } => p
                .document_steps()
                .and_then(|steps| take_at(document, steps))
                .unwrap_or(Value::Null),
            Template::Dynamic { .. } => Value::Null,
        }
    }

    /// Evaluates the template. JSONPath expressions read `$` from `document`.
    pub(crate) fn eval(&self, document: &Value, env: &Env<'_>) -> Result<Value, FlowError> {
        match self {
            Template::Const(v) => Ok(v.clone()),
            Template::Dynamic { field, expr } => expr.eval(field, document, env),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval(document, env)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(document, env))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }

    /// Whether the template is constant (evaluates to the same value every time).
    pub(crate) fn as_const(&self) -> Option<&Value> {
        match self {
            Template::Const(v) => Some(v),
            _ => None,
        }
    }
}

/// Whether `v` holds anything to evaluate: a `.$` key (JSONPath) or a `{% %}` string
/// (JSONata), at any depth.
fn has_dynamic(v: &Value, language: QueryLanguage) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, child)| {
            (language == QueryLanguage::JsonPath && k.ends_with(".$"))
                || has_dynamic(child, language)
        }),
        Value::Array(items) => items.iter().any(|i| has_dynamic(i, language)),
        Value::String(s) => {
            language == QueryLanguage::JsonAta && jsonata::expression_text(s).is_some()
        }
        _ => false,
    }
}

/// Folds a compiled object or array into a constant when nothing inside it is dynamic.
fn fold(t: Template, original: &Value) -> Template {
    let constant = match &t {
        Template::Object(f) => f.iter().all(|(_, t)| t.as_const().is_some()),
        Template::Array(i) => i.iter().all(|t| t.as_const().is_some()),
        _ => false,
    };
    if constant {
        Template::Const(original.clone())
    } else {
        t
    }
}

/// JSONPath: keys ending in `.$` hold a path or an intrinsic; everything else is literal.
fn compile_jsonpath(v: &Value, at: &str, problems: &mut Vec<(String, String)>) -> Template {
    match v {
        Value::Object(m) => {
            let mut fields = Vec::with_capacity(m.len());
            let mut constant = true;
            for (k, child) in m {
                let field = format!("{at}.{k}");
                match (k.strip_suffix(".$"), child) {
                    (Some(name), Value::String(text)) => {
                        constant = false;
                        match Expr::jsonpath(text) {
                            Ok(expr) => fields.push((
                                name.to_owned(),
                                Template::Dynamic {
                                    field: k.clone(),
                                    expr,
                                },
                            )),
                            Err(msg) => problems.push((field, msg)),
                        }
                    }
                    (Some(_), _) => problems.push((
                        field,
                        "must be a string holding a path or an intrinsic function".into(),
                    )),
                    (None, child) if !has_dynamic(child, QueryLanguage::JsonPath) => {
                        fields.push((k.clone(), Template::Const(child.clone())));
                    }
                    (None, child) => {
                        let t = compile_jsonpath(child, &field, problems);
                        constant &= t.as_const().is_some();
                        fields.push((k.clone(), t));
                    }
                }
            }
            if constant {
                Template::Const(v.clone())
            } else {
                Template::Object(fields)
            }
        }
        Value::Array(items) => {
            let t = Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| compile_jsonpath(item, &format!("{at}[{i}]"), problems))
                    .collect(),
            );
            fold(t, v)
        }
        other => Template::Const(other.clone()),
    }
}

/// JSONata: a string that is `{% ... %}` is an expression, at any depth; keys are literal.
/// `field` is the AWS field name of this value (`Output/a/b[0]`), `at` where a definition
/// problem is reported.
fn compile_jsonata(
    v: &Value,
    at: &str,
    field: &str,
    scope: JsonataScope,
    problems: &mut Vec<(String, String)>,
) -> Template {
    match v {
        Value::String(s) => match jsonata::expression_text(s) {
            Some(text) => match JsonataExpr::parse(text, scope.error_output) {
                Ok(j) => Template::Dynamic {
                    field: field.to_owned(),
                    expr: Expr::Jsonata(j),
                },
                Err(msg) => {
                    problems.push((at.to_owned(), msg));
                    Template::Const(Value::Null)
                }
            },
            None => Template::Const(v.clone()),
        },
        Value::Object(m) => {
            let t = Template::Object(
                m.iter()
                    .map(|(k, child)| {
                        let t = compile_jsonata(
                            child,
                            &format!("{at}.{k}"),
                            &format!("{field}/{k}"),
                            scope,
                            problems,
                        );
                        (k.clone(), t)
                    })
                    .collect(),
            );
            fold(t, v)
        }
        Value::Array(items) => {
            let t = Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        compile_jsonata(
                            item,
                            &format!("{at}[{i}]"),
                            &format!("{field}[{i}]"),
                            scope,
                            problems,
                        )
                    })
                    .collect(),
            );
            fold(t, v)
        }
        other => Template::Const(other.clone()),
    }
}
