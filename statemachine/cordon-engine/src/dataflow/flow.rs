//! The per-state data flow, in the state's query language, and the payload limit.
use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::env::Env;
use super::error::FlowError;
use super::jsonpath::{OptPath, apply_path, apply_path_ref, result_path_error};
use super::template::Template;
use crate::error::StatesError;
use crate::json_text::{compact, with_field_added};
use crate::paths::{Path, PutUndo, VariableLookup};

/// AWS's maximum payload size for state input, output and results.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The size AWS counts: the UTF-8 bytes of the compact JSON text. Counted as the text is
/// written, without keeping it (this runs on every state's output).
pub(crate) fn payload_size(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// `States.DataLimitExceeded` when `v` is larger than [`MAX_PAYLOAD_BYTES`].
pub(crate) fn within_limit(v: &Value, state: &str) -> Result<(), FlowError> {
    if payload_size(v) > MAX_PAYLOAD_BYTES {
        return Err(FlowError::Named(StatesError::data_limit(state)));
    }
    Ok(())
}

/// A state's output, with its compact JSON text when the data flow wrote it on the way (the
/// payload limit counts that text, the `*StateExited` event records it).
pub(crate) struct Output {
    pub value: Value,
    pub text: Option<String>,
}

/// What stands in for a raw input moved into the output (shared: no allocation).
pub(crate) fn placeholder_input() -> Arc<Value> {
    static NULL: LazyLock<Arc<Value>> = LazyLock::new(|| Arc::new(Value::Null));
    NULL.clone()
}

/// The raw input out of `raw`: moved when `raw` is its only holder, copied otherwise.
fn take(raw: &mut Arc<Value>) -> Value {
    Arc::unwrap_or_clone(std::mem::replace(raw, placeholder_input()))
}

/// How the output came from the raw input, to give the input back when the output is refused.
enum Undo<'p> {
    /// The output is the result alone: the raw input was not taken.
    Nothing,
    /// The output is the raw input itself (`ResultPath: null`).
    Input,
    /// The result was placed into the raw input at the path.
    Put(&'p Path, PutUndo),
}

impl Undo<'_> {
    /// Puts the raw input back into `raw`, from the output it went into.
    fn restore(self, raw: &mut Arc<Value>, out: Value) {
        match self {
            Undo::Nothing => {}
            Undo::Input => *raw = Arc::new(out),
            Undo::Put(path, u) => *raw = Arc::new(path.undo_put(out, u)),
        }
    }
}

/// A JSONPath state's input and output processing fields. A field a state type does not have
/// is absent: `Default` paths and `None` templates change nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct JsonPathFlow {
    pub input_path: OptPath,
    /// `Parameters` of Pass, Task and Parallel. (Map's `Parameters` is its `ItemSelector`,
    /// applied per item.)
    pub parameters: Option<Template>,
    /// `ResultSelector` of Task, Parallel and Map.
    pub result_selector: Option<Template>,
    /// Whether the ResultSelector can take its values out of the result
    /// ([`Template::can_take`]).
    pub result_selector_takes: bool,
    pub result_path: OptPath,
    pub output_path: OptPath,
}

/// A JSONata state's two data fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct JsonataFlow {
    /// `Arguments` of Task and Parallel.
    pub arguments: Option<Template>,
    /// `Output`: the state's output, from `$states.input` and `$states.result`.
    pub output: Option<Template>,
}

/// A state's input and output processing: InputPath → Parameters → the state's work →
/// ResultSelector → ResultPath → OutputPath in JSONPath; Arguments → the work → Output in
/// JSONata. The interpreter calls only these methods, whatever the query language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DataFlow {
    JsonPath(Box<JsonPathFlow>),
    JsonAta(Box<JsonataFlow>),
}

impl Default for DataFlow {
    fn default() -> Self {
        DataFlow::JsonPath(Box::default())
    }
}

impl DataFlow {
    /// The input the state's own fields read (JSONPath: after InputPath; JSONata: the raw
    /// input).
    pub(crate) fn selected_input<'a>(&self, env: &Env<'a>) -> Result<Cow<'a, Value>, FlowError> {
        match self {
            DataFlow::JsonPath(f) => apply_path_ref(&f.input_path, env.input, env),
            DataFlow::JsonAta(_) => Ok(Cow::Borrowed(env.input)),
        }
    }

    /// The value the state works on (AWS's "effective input"): InputPath then Parameters, or
    /// Arguments.
    pub(crate) fn effective_input(&self, env: &Env<'_>) -> Result<Value, FlowError> {
        match self {
            DataFlow::JsonPath(f) => {
                let selected = apply_path_ref(&f.input_path, env.input, env)?;
                match &f.parameters {
                    Some(p) => p.eval(&selected, env),
                    None => Ok(selected.into_owned()),
                }
            }
            DataFlow::JsonAta(f) => match &f.arguments {
                Some(a) => a.eval(env.input, env),
                None => Ok(env.input.clone()),
            },
        }
    }

    /// The state's output from its result: ResultSelector, ResultPath into the raw state
    /// input, the payload limit, then OutputPath; or `Output` (by default the result). JSONata's
    /// `$states.result` is the result.
    ///
    /// ResultPath places the result into the raw input itself, moved out of `raw` rather than
    /// copied when `raw` is its only holder. On success `raw` may be left holding a
    /// placeholder (the input is in the output now); on failure it holds the raw input as it
    /// was, which a Retry, a Catch or a redrive of the failed state reads.
    ///
    /// `raw_text`, the compact text of the raw input when the caller has it, saves writing
    /// the input again in the output's text when the output is the input with a field added.
    pub(crate) fn output(
        &self,
        state: &str,
        raw: &mut Arc<Value>,
        raw_text: Option<&str>,
        context: &Value,
        variables: &dyn VariableLookup,
        result: Value,
    ) -> Result<Output, FlowError> {
        match self {
            DataFlow::JsonPath(f) => {
                let result = match &f.result_selector {
                    Some(sel) => {
                        let mut result = result;
                        let taken = match f.result_selector_takes {
                            true => sel.eval_taking(&mut result),
                            false => None,
                        };
                        match taken {
                            Some(selected) => selected,
                            None => sel.eval(&result, &Env::new(raw, context, variables))?,
                        }
                    }
                    None => result,
                };
                let no_output_path = matches!(f.output_path, OptPath::Default);
                // The output's text, when it can be had without writing the whole output.
                let mut text = None;
                let (out, undo) = match &f.result_path {
                    OptPath::Default => (result, Undo::Nothing),
                    OptPath::Null => {
                        if no_output_path {
                            text = raw_text.map(str::to_owned);
                        }
                        (take(raw), Undo::Input)
                    }
                    OptPath::Path(path) => {
                        // A new field of an object: the input's text with the field added.
                        if no_output_path
                            && let (Some(raw_text), Some(name), Value::Object(fields)) =
                                (raw_text, path.single_field(), &**raw)
                            && !fields.contains_key(name)
                        {
                            text = with_field_added(raw_text, name, &compact(&result));
                        }
                        match path.put_undoable(take(raw), result) {
                            Ok((out, u)) => (out, Undo::Put(path, u)),
                            Err((e, target)) => {
                                let err = result_path_error(path, e, &target);
                                *raw = Arc::new(target);
                                return Err(err);
                            }
                        }
                    }
                };
                // Without an OutputPath this is the output, whose text the exit event records:
                // written once, for both.
                if no_output_path && text.is_none() {
                    text = Some(compact(&out));
                }
                debug_assert!(
                    text.as_deref().is_none_or(|t| t == compact(&out)),
                    "the output's text is the text of the output"
                );
                let size = text
                    .as_ref()
                    .map_or_else(|| payload_size(&out), String::len);
                if size > MAX_PAYLOAD_BYTES {
                    undo.restore(raw, out);
                    return Err(FlowError::Named(StatesError::data_limit(state)));
                }
                if text.is_some() {
                    return Ok(Output { value: out, text });
                }
                let selected =
                    apply_path(&f.output_path, &out, &Env::new(&out, context, variables));
                match selected {
                    Ok(value) => Ok(Output { value, text: None }),
                    Err(e) => {
                        undo.restore(raw, out);
                        Err(e)
                    }
                }
            }
            DataFlow::JsonAta(f) => {
                let out = match &f.output {
                    Some(o) => {
                        let env = Env::new(raw, context, variables);
                        o.eval(raw, &env.with_result(&result))?
                    }
                    None => result,
                };
                let text = compact(&out);
                if text.len() > MAX_PAYLOAD_BYTES {
                    return Err(FlowError::Named(StatesError::data_limit(state)));
                }
                Ok(Output {
                    value: out,
                    text: Some(text),
                })
            }
        }
    }

    /// The output of a state without a result (Choice, Wait, Succeed): OutputPath over the
    /// input its fields read, or `Output` (by default the raw input).
    pub(crate) fn output_of_input(
        &self,
        env: &Env<'_>,
        selected: &Value,
    ) -> Result<Value, FlowError> {
        match self {
            DataFlow::JsonPath(f) => apply_path(&f.output_path, selected, env),
            DataFlow::JsonAta(f) => match &f.output {
                Some(o) => o.eval(env.input, env),
                None => Ok(env.input.clone()),
            },
        }
    }

    /// Whether a state without a result leaves with its input as it is: no InputPath or
    /// OutputPath (JSONPath), no Output (JSONata).
    pub(crate) fn passes_input_through(&self) -> bool {
        match self {
            DataFlow::JsonPath(f) => {
                matches!(f.input_path, OptPath::Default)
                    && matches!(f.output_path, OptPath::Default)
            }
            DataFlow::JsonAta(f) => f.output.is_none(),
        }
    }

    /// Whether the state is written in JSONata.
    pub(crate) fn is_jsonata(&self) -> bool {
        matches!(self, DataFlow::JsonAta(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_size_is_compact_json() {
        assert_eq!(payload_size(&serde_json::json!({"a": [1, 2]})), 11);
    }
}
