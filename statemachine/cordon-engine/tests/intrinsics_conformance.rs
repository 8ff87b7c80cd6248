//! A quick conformance harness for the data layer (paths + intrinsics) only.
//!
//! For every case under `conformance/asl/{intrinsic_functions,base}` whose states are all
//! `Pass` states, it runs a minimal Pass-only interpreter built on `cordon_engine::paths` and
//! `cordon_engine::intrinsics`: InputPath, Parameters (payload template with `.$` fields),
//! Result, ResultPath and OutputPath. It compares the output (or error/cause) with what AWS
//! recorded. The full interpreter has its own harness; this one exists so the data layer can
//! be checked in isolation.
use std::path::{Path as FsPath, PathBuf};

use cordon_engine::intrinsics::{self, IntrinsicError};
use cordon_engine::paths::Roots;
use cordon_engine::{json_text, paths};
use serde_json::{Map, Value, json};

fn conformance_root() -> PathBuf {
    let from_env = std::env::var_os("CORDON_CONFORMANCE_DIR").map(PathBuf::from);
    from_env.unwrap_or_else(|| PathBuf::from("/work/shared/conformance/asl"))
}

#[derive(Debug)]
struct Failure {
    error: String,
    cause: String,
}

fn fail(error: &str, cause: String) -> Failure {
    Failure {
        error: error.to_owned(),
        cause,
    }
}

const SM_NAME: &str = "statemachine_abc123";
const EXEC_NAME: &str = "exec-0001";

fn context(input: &Value, state: &str) -> Value {
    json!({
        "Execution": {
            "Id": format!("arn:aws:states:us-east-1:111111111111:execution:{SM_NAME}:{EXEC_NAME}"),
            "Input": input,
            "StartTime": "2024-01-01T00:00:00.000Z",
            "Name": EXEC_NAME,
            "RoleArn": "arn:aws:iam::111111111111:role/sfn",
            "RedriveCount": 0
        },
        "StateMachine": {
            "Id": format!("arn:aws:states:us-east-1:111111111111:stateMachine:{SM_NAME}"),
            "Name": SM_NAME
        },
        "State": { "Name": state, "EnteredTime": "2024-01-01T00:00:00.000Z" }
    })
}

/// Evaluates a payload template: `key.$` fields are paths or intrinsic calls.
fn template(t: &Value, input: &Value, ctx: &Value) -> Result<Value, Failure> {
    match t {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match (k.strip_suffix(".$"), v) {
                    (Some(name), Value::String(expr)) => {
                        let value = if intrinsics::is_intrinsic(expr) {
                            intrinsics::evaluate(expr, &Roots::new(input, ctx)).map_err(
                                |e| match e {
                                    IntrinsicError::Invalid(msg) => fail("States.Runtime", msg),
                                    IntrinsicError::Failed { error, cause } => fail(&error, cause),
                                },
                            )?
                        } else {
                            let found = paths::select(expr, &Roots::new(input, ctx))
                                .map_err(|e| fail("States.Runtime", e.to_string()))?;
                            found.ok_or_else(|| {
                                let doc = if expr.starts_with("$$") { ctx } else { input };
                                fail(
                                    "States.Runtime",
                                    format!(
                                        "The JSONPath '{expr}' specified for the field '{k}' \
                                         could not be found in the input '{}'",
                                        json_text::jackson(doc)
                                    ),
                                )
                            })?
                        };
                        out.insert(name.to_owned(), value);
                    }
                    _ => {
                        out.insert(k.clone(), template(v, input, ctx)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| template(item, input, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Path-valued state fields: absent means `$`, JSON null means "nothing".
fn state_path<'a>(state: &'a Value, field: &str) -> Option<Option<&'a str>> {
    match state.get(field) {
        None => Some(Some("$")),
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.as_str())),
        Some(_) => None,
    }
}

fn run_pass(
    state: &Value,
    name: &str,
    raw_input: &Value,
    exec_input: &Value,
) -> Result<Value, Failure> {
    let ctx = context(exec_input, name);
    let input_path =
        state_path(state, "InputPath").ok_or_else(|| fail("Harness", "bad InputPath".into()))?;
    let effective = match input_path {
        None => json!({}),
        Some(p) => paths::select(p, &Roots::new(raw_input, &ctx))
            .map_err(|e| fail("States.Runtime", e.to_string()))?
            .ok_or_else(|| fail("States.Runtime", format!("InputPath '{p}' not found")))?,
    };
    let result = if let Some(params) = state.get("Parameters") {
        template(params, &effective, &ctx)?
    } else if let Some(result) = state.get("Result") {
        result.clone()
    } else {
        effective.clone()
    };
    let result_path =
        state_path(state, "ResultPath").ok_or_else(|| fail("Harness", "bad ResultPath".into()))?;
    let combined = match result_path {
        None => raw_input.clone(),
        Some(p) => paths::put(raw_input.clone(), p, result)
            .map_err(|e| fail("States.ResultPathMatchFailure", e.to_string()))?,
    };
    let output_path =
        state_path(state, "OutputPath").ok_or_else(|| fail("Harness", "bad OutputPath".into()))?;
    match output_path {
        None => Ok(json!({})),
        Some(p) => paths::select(p, &Roots::new(&combined, &ctx))
            .map_err(|e| fail("States.Runtime", e.to_string()))?
            .ok_or_else(|| fail("States.Runtime", format!("OutputPath '{p}' not found"))),
    }
}

/// Runs a Pass-only definition; `None` when the definition uses anything else.
fn run(definition: &Value, input: &Value) -> Option<Result<Value, Failure>> {
    let states = definition.get("States")?.as_object()?;
    if states
        .values()
        .any(|s| s.get("Type").and_then(Value::as_str) != Some("Pass"))
    {
        return None;
    }
    let mut current = definition.get("StartAt")?.as_str()?.to_owned();
    let mut data = input.clone();
    for _ in 0..100 {
        let state = states.get(&current)?;
        data = match run_pass(state, &current, &data, input) {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        if state.get("End").and_then(Value::as_bool) == Some(true) {
            return Some(Ok(data));
        }
        current = state.get("Next")?.as_str()?.to_owned();
    }
    None
}

/// Structural equality where numbers compare by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Removes the value at a JSON pointer (so unchecked fields are not compared).
fn remove_pointer(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

fn read_json(path: &FsPath) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// Runs one case; `Ok(false)` when the case is out of scope for this harness.
fn check_case(dir: &FsPath) -> Result<bool, String> {
    let definition = read_json(&dir.join("definition.json"));
    let input = read_json(&dir.join("input.json"));
    let expected = read_json(&dir.join("expected.json"));
    let Some(outcome) = run(&definition, &input) else {
        return Ok(false);
    };
    let status = expected["status"].as_str().unwrap_or_default();
    let unchecked: Vec<String> = expected
        .get("unchecked")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    match (status, outcome) {
        ("SUCCEEDED", Ok(output)) => {
            let mut actual = json!({ "output": output });
            let mut wanted = json!({ "output": expected["output"].clone() });
            for p in &unchecked {
                if p == "/output" {
                    // Random/clock values: the shape must still match.
                    let keys =
                        |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
                    if keys(&actual["output"]) != keys(&wanted["output"]) {
                        return Err(format!(
                            "output keys differ: {} vs {}",
                            actual["output"], wanted["output"]
                        ));
                    }
                    return Ok(true);
                }
                remove_pointer(&mut actual, p);
                remove_pointer(&mut wanted, p);
            }
            if same(&actual, &wanted) {
                Ok(true)
            } else {
                Err(format!(
                    "output {} != expected {}",
                    actual["output"], wanted["output"]
                ))
            }
        }
        ("FAILED", Err(f)) => {
            let want_error = expected.get("error").and_then(Value::as_str);
            let want_cause = expected.get("cause").and_then(Value::as_str);
            if want_error.is_some_and(|e| e != f.error) {
                return Err(format!("error {} != expected {want_error:?}", f.error));
            }
            // Our causes omit the interpreter's "An error occurred while executing the state..." prefix.
            if want_cause.is_some_and(|c| !c.ends_with(&f.cause)) {
                return Err(format!("cause {:?} != expected {want_cause:?}", f.cause));
            }
            Ok(true)
        }
        (_, Ok(output)) => Err(format!("expected {status}, got output {output}")),
        (_, Err(f)) => Err(format!("expected {status}, got {}: {}", f.error, f.cause)),
    }
}

fn run_category(category: &str, min_in_scope: usize) {
    let root = conformance_root().join(category);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("conformance cases missing at {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let (mut passed, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match check_case(dir) {
            Ok(true) => passed += 1,
            Ok(false) => skipped += 1,
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    eprintln!(
        "{category}: {passed} passed, {} failed, {skipped} out of scope",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        passed >= min_in_scope,
        "only {passed} cases ran in {category}; expected at least {min_in_scope}"
    );
}

#[test]
fn intrinsic_function_cases() {
    run_category("intrinsic_functions", 130);
}

#[test]
fn base_pass_only_cases() {
    run_category("base", 17);
}
