//! The engine's ASL parser and validator, and a run of whatever it accepts: on a virtual
//! clock (Waits take no time), with every Task failing (so Retry and Catch run), bounded by
//! AWS's 25,000-event history limit as a Standard execution is.
//!
//! Intrinsic functions and Choice rules each get their own target: the fuzzed text is put
//! into a minimal definition (a Pass state's `Parameters`, a Choice state's rule), so the
//! fuzzer spends its effort on the language, not on the definition around it.
use std::sync::Arc;

use cordon_engine::{
    Definition, Execution, Randomness, Runtime, StartOptions, UnresolvedDispatcher, VirtualClock,
};
use serde_json::{Value, json};

use crate::input::split;

/// Definition, then (after the separator) the input.
pub(crate) fn run(data: &[u8]) {
    let (definition, input) = split(data);
    let Ok(definition) = std::str::from_utf8(definition) else {
        return;
    };
    let input = serde_json::from_slice(input).unwrap_or_else(|_| json!({}));
    execute(definition, input);
}

/// An intrinsic function call (`States.Format('{}', $.a)`), then the input.
pub(crate) fn run_intrinsic(data: &[u8]) {
    let (call, input) = split(data);
    let Ok(call) = std::str::from_utf8(call) else {
        return;
    };
    let definition = json!({
        "StartAt": "Call",
        "States": {"Call": {"Type": "Pass", "Parameters": {"result.$": call}, "End": true}}
    });
    let input = serde_json::from_slice(input).unwrap_or_else(|_| json!({}));
    execute(&definition.to_string(), input);
}

/// A Choice rule (JSON, without `Next`), then the input.
pub(crate) fn run_choice(data: &[u8]) {
    let (rule, input) = split(data);
    let Ok(mut rule) = serde_json::from_slice::<Value>(rule) else {
        return;
    };
    if let Some(fields) = rule.as_object_mut() {
        fields.insert("Next".into(), json!("Yes"));
    }
    let definition = json!({
        "StartAt": "Decide",
        "States": {
            "Decide": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Succeed"}
        }
    });
    let input = serde_json::from_slice(input).unwrap_or_else(|_| json!({}));
    execute(&definition.to_string(), input);
}

fn execute(definition: &str, input: Value) {
    let Ok(definition) = Definition::parse(definition) else {
        return;
    };
    let rt = Runtime::new(
        Arc::new(UnresolvedDispatcher),
        Arc::new(VirtualClock::at_epoch()),
    )
    .with_rng(Arc::new(Randomness::seeded(1)));
    let options = StartOptions {
        name: Some("fuzz".into()),
        ..StartOptions::default()
    };
    let Ok(mut execution) = Execution::start(Arc::new(definition), input, options, &rt) else {
        return;
    };
    crate::runtime::block_on(async {
        execution.run_until_finished(&rt).await;
    });
    let _ = execution.describe();
}
