//! The seeds: the shared fixtures and conformance cases (`../shared`), and what is built
//! from them. Nothing here is invented: every seed is a real event, definition, path or
//! pattern the project already holds.
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::input::join;

/// `../shared` of the checkout (the fixtures and conformance corpora).
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("the seeds need {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    entries
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every fixture event.
pub(crate) fn events() -> Vec<Vec<u8>> {
    read_dir_sorted(&shared_dir().join("fixtures/events"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| read(&p))
        .collect()
}

/// Every conformance case directory (JSONPath and JSONata corpora).
fn cases() -> Vec<PathBuf> {
    let mut cases = Vec::new();
    for corpus in ["asl", "asl-jsonata"] {
        for group in read_dir_sorted(&shared_dir().join("conformance").join(corpus)) {
            if !group.is_dir() {
                continue;
            }
            for case in read_dir_sorted(&group) {
                if case.join("definition.json").is_file() {
                    cases.push(case);
                }
            }
        }
    }
    cases
}

fn case_json(case: &Path, file: &str) -> Value {
    std::fs::read(case.join(file))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// Each case's definition and input, plus the workflow itself.
pub(crate) fn definitions() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = cases()
        .iter()
        .map(|case| {
            join(
                &read(&case.join("definition.json")),
                &read(&case.join("input.json")),
            )
        })
        .collect();
    seeds.push(join(
        &read(&checkout().join("statemachine/incident.asl.json")),
        b"{}",
    ));
    seeds
}

/// Every string anywhere in `value` that satisfies `keep`, with its key.
fn strings<'v>(value: &'v Value, key: &str, out: &mut Vec<(String, &'v str)>) {
    match value {
        Value::String(s) => out.push((key.to_owned(), s)),
        Value::Array(items) => items.iter().for_each(|v| strings(v, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| strings(v, k, out)),
        _ => {}
    }
}

fn definition_strings(case: &Path) -> Vec<(String, String)> {
    let definition = case_json(case, "definition.json");
    let mut found = Vec::new();
    strings(&definition, "", &mut found);
    found.into_iter().map(|(k, v)| (k, v.to_owned())).collect()
}

/// The intrinsic-function calls of the JSONPath corpus, each with its case's input.
pub(crate) fn intrinsics() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for case in cases() {
        let input = read(&case.join("input.json"));
        for (key, value) in definition_strings(&case) {
            if key.ends_with(".$") && value.starts_with("States.") {
                seeds.push(join(value.as_bytes(), &input));
            }
        }
    }
    seeds
}

/// Every Choice rule of the corpus, with its case's input.
pub(crate) fn choice_rules() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for case in cases() {
        let definition = case_json(&case, "definition.json");
        let input = read(&case.join("input.json"));
        let mut states = Vec::new();
        collect_states(&definition, &mut states);
        for state in states {
            if state["Type"] == "Choice"
                && let Some(rules) = state["Choices"].as_array()
            {
                for rule in rules {
                    let mut rule = rule.clone();
                    if let Some(m) = rule.as_object_mut() {
                        m.remove("Next");
                    }
                    seeds.push(join(rule.to_string().as_bytes(), &input));
                }
            }
        }
    }
    seeds
}

/// The states of a definition, nested ones (Parallel branches, Map processors) included.
fn collect_states<'v>(definition: &'v Value, out: &mut Vec<&'v Value>) {
    if let Some(states) = definition["States"].as_object() {
        for state in states.values() {
            out.push(state);
            for branch in state["Branches"].as_array().into_iter().flatten() {
                collect_states(branch, out);
            }
            for key in ["Iterator", "ItemProcessor"] {
                collect_states(&state[key], out);
            }
        }
    }
}

/// Every path of the JSONPath corpus (`InputPath`, `ResultPath`, `"x.$"` values…), each
/// with its case's input as the document.
pub(crate) fn paths() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for case in cases() {
        let input = read(&case.join("input.json"));
        for (key, value) in definition_strings(&case) {
            if value.starts_with('$')
                && (key.ends_with("Path") || key.ends_with(".$") || key == "Variable")
            {
                seeds.push(join(value.as_bytes(), &input));
            }
        }
    }
    seeds
}

/// The EventBridge rules' patterns of the template (read by the template's one reader,
/// for the fixtures' home account), each with every fixture event.
pub(crate) fn patterns() -> Vec<Vec<u8>> {
    let values = cordon_template::Values::new("111122223333", "us-east-1", "aws", "cordon");
    let rules = cordon_eventbridge::load_rules(&checkout().join("infra/template.yaml"), &values)
        .unwrap_or_else(|e| panic!("reading the template's rules: {e}"));
    let events = events();
    let mut seeds = Vec::new();
    for rule in &rules {
        let pattern = rule.pattern.source().to_string();
        for event in &events {
            seeds.push(join(pattern.as_bytes(), event));
        }
    }
    seeds
}

/// PutEvents requests carrying each fixture event.
pub(crate) fn put_events_requests() -> Vec<Vec<u8>> {
    events()
        .iter()
        .filter_map(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        .map(|event| {
            json!({"Entries": [{
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": event["detail"].to_string(),
                "Resources": event["resources"],
                "Time": event["time"],
            }]})
            .to_string()
            .into_bytes()
        })
        .collect()
}

/// Step Functions API calls: each case's definition created and validated, and the
/// read calls on what exists, each as `Operation` + separator + body.
pub(crate) fn sfn_requests() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for case in cases().into_iter().take(64) {
        let definition = String::from_utf8_lossy(&read(&case.join("definition.json"))).into_owned();
        seeds.push(join(
            b"ValidateStateMachineDefinition",
            json!({"definition": definition}).to_string().as_bytes(),
        ));
        seeds.push(join(
            b"CreateStateMachine",
            json!({"name": "fuzz", "definition": definition, "roleArn": "arn:aws:iam::123456789012:role/fuzz"})
                .to_string()
                .as_bytes(),
        ));
    }
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:fuzz";
    for (operation, body) in [
        ("DescribeStateMachine", json!({"stateMachineArn": machine})),
        ("ListStateMachines", json!({"maxResults": 10})),
        (
            "ListExecutions",
            json!({"stateMachineArn": machine, "statusFilter": "RUNNING"}),
        ),
        (
            "StartExecution",
            json!({"stateMachineArn": machine, "name": "e", "input": "{}"}),
        ),
        (
            "DescribeExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:fuzz:e"}),
        ),
        (
            "GetExecutionHistory",
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:fuzz:e", "reverseOrder": true}),
        ),
        ("SendTaskSuccess", json!({"taskToken": "x", "output": "{}"})),
        (
            "SendTaskFailure",
            json!({"taskToken": "x", "error": "E", "cause": "c"}),
        ),
    ] {
        seeds.push(join(operation.as_bytes(), body.to_string().as_bytes()));
    }
    seeds
}
