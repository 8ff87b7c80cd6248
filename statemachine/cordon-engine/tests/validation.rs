//! Definition validation: each check rejects a bad definition with a message naming the
//! state and the field.
use cordon_engine::Definition;
use serde_json::{Value, json};

fn errors(def: Value) -> Vec<String> {
    match Definition::parse(&def.to_string()) {
        Ok(_) => panic!("definition was accepted: {def}"),
        Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

/// Like [`assert_rejected`], for a diagnostic that contains `needle`.
fn assert_rejected_mentioning(def: Value, needle: &str) {
    let errs = errors(def);
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "expected a diagnostic mentioning\n  {needle}\ngot\n  {}",
        errs.join("\n  ")
    );
}

fn assert_rejected(def: Value, expected: &str) {
    let errs = errors(def);
    assert!(
        errs.iter().any(|e| e == expected),
        "expected diagnostic\n  {expected}\ngot\n  {}",
        errs.join("\n  ")
    );
}

fn task(extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    json!({"StartAt": "Quarantine", "States": {"Quarantine": t, "Handle": {"Type": "Succeed"}}})
}

#[test]
fn a_valid_definition_parses() {
    let def = json!({
        "Comment": "ok", "StartAt": "Route", "TimeoutSeconds": 3600,
        "States": {
            "Route": {"Type": "Choice", "Choices": [
                {"And": [{"Variable": "$.severity", "StringEquals": "high"}, {"Not": {"Variable": "$.allow", "BooleanEquals": true}}], "Next": "Contain"},
                {"Variable": "$.ts", "TimestampLessThanPath": "$.cutoff", "Next": "Contain"}],
                "Default": "Done"},
            "Contain": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "q", "Payload": {"id.$": "States.Format('inc-{}', $.id)", "all.$": "$"}},
                "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "BackoffRate": 2.5, "JitterStrategy": "FULL", "MaxDelaySeconds": 60},
                          {"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                "TimeoutSeconds": 60, "HeartbeatSeconds": 30, "Next": "Fan"},
            "Fan": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Each", "States": {"Each": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let parsed = Definition::parse(&def.to_string()).unwrap();
    assert_eq!(parsed.timeout_seconds, Some(3600));
    assert_eq!(
        parsed.state_names(),
        vec!["Route", "Contain", "Fan", "Done"]
    );
}

#[test]
fn missing_next_target() {
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}, "B": {"Type": "Succeed"}}}),
        "State 'A': field 'Next' references state 'Nope', which does not exist in this scope",
    );
}

#[test]
fn unknown_start_at() {
    assert_rejected(
        json!({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}),
        "field 'StartAt' references state 'Z', which does not exist",
    );
}

#[test]
fn unknown_default_target() {
    assert_rejected(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "D"}], "Default": "Gone"}, "D": {"Type": "Succeed"}}}),
        "State 'C': field 'Default' references state 'Gone', which does not exist in this scope",
    );
}

#[test]
fn unreachable_state() {
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Pass", "End": true}}}),
        "State 'Orphan': is unreachable: no transition leads to it from StartAt",
    );
}

#[test]
fn missing_end() {
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
        "State 'A': field 'Next' is required unless 'End' is true",
    );
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}}),
        "State 'A': field 'End' cannot be true when 'Next' is also set",
    );
}

#[test]
fn no_terminal_state() {
    let errs = errors(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
    );
    assert!(
        errs.iter().any(|e| e.contains("has no terminal state")),
        "{errs:?}"
    );
}

#[test]
fn bad_retry_shapes() {
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}]})),
        "State 'Quarantine': field 'Retry[0].BackoffRate' must be >= 1.0",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]})),
        "State 'Quarantine': field 'Retry[0].IntervalSeconds' must be a positive integer",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]})),
        "State 'Quarantine': field 'Retry[0].MaxAttempts' must be a non-negative integer",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]})),
        "State 'Quarantine': field 'Retry[0].JitterStrategy' must be \"FULL\" or \"NONE\", got \"SOME\"",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]})),
        "State 'Quarantine': field 'Retry[0].ErrorEquals' uses \"States.ALL\", which must appear only in the last retrier",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]})),
        "State 'Quarantine': field 'Retry[0].ErrorEquals' must contain \"States.ALL\" alone when it is used",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": []}]})),
        "State 'Quarantine': field 'Retry[0].ErrorEquals' must contain at least one error name",
    );
    assert_rejected(
        task(json!({"Retry": [{"IntervalSeconds": 3}]})),
        "State 'Quarantine': field 'Retry[0].ErrorEquals' is required",
    );
    assert_rejected(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "Backoff": 2}]})),
        "State 'Quarantine': field 'Retry[0].Backoff' is not supported (unknown field)",
    );
}

#[test]
fn bad_catch_shapes() {
    assert_rejected(
        task(json!({"Catch": [{"ErrorEquals": ["States.ALL"]}]})),
        "State 'Quarantine': field 'Catch[0].Next' is required",
    );
    assert_rejected(
        task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}]})),
        "State 'Quarantine': field 'Catch[0].Next' references state 'Nowhere', which does not exist in this scope",
    );
    assert_rejected(
        task(
            json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}, {"ErrorEquals": ["X"], "Next": "Handle"}]}),
        ),
        "State 'Quarantine': field 'Catch[0].ErrorEquals' uses \"States.ALL\", which must appear only in the last catcher",
    );
    assert_rejected(
        task(json!({"Catch": [{"ErrorEquals": ["States.Bogus"], "Next": "Handle"}]})),
        "State 'Quarantine': field 'Catch[0].ErrorEquals' names unknown error 'States.Bogus' (names starting with 'States.' are reserved)",
    );
}

#[test]
fn invalid_paths_and_reference_paths() {
    let errs = errors(task(json!({"InputPath": "not-a-path"})));
    assert!(
        errs.iter()
            .any(|e| e.starts_with("State 'Quarantine': field 'InputPath' is not a valid path")),
        "{errs:?}"
    );
    let errs = errors(task(json!({"ResultPath": "$.items[*]"})));
    assert!(
        errs.iter().any(|e| e
            .starts_with("State 'Quarantine': field 'ResultPath' is not a valid reference path")),
        "{errs:?}"
    );
    let errs = errors(task(json!({"Parameters": {"x.$": "$.a[?(@.b"}})));
    assert!(
        errs.iter().any(
            |e| e.starts_with("State 'Quarantine': field 'Parameters.x.$' is not a valid path")
        ),
        "{errs:?}"
    );
    let errs = errors(task(json!({"Parameters": {"nested": [{"x.$": "plain"}]}})));
    assert!(
        errs.iter().any(|e| e
            .starts_with("State 'Quarantine': field 'Parameters.nested[0].x.$' must be a path")),
        "{errs:?}"
    );
    let errs = errors(task(
        json!({"ResultSelector": {"x.$": "States.NoSuchFunction($)"}}),
    ));
    assert!(
        errs.iter().any(|e| e.starts_with(
            "State 'Quarantine': field 'ResultSelector.x.$' is not a valid intrinsic function call"
        )),
        "{errs:?}"
    );
    let errs = errors(task(json!({"OutputPath": 7})));
    assert!(
        errs.iter()
            .any(|e| e == "State 'Quarantine': field 'OutputPath' must be a string or null"),
        "{errs:?}"
    );
}

#[test]
fn unknown_fields_and_types() {
    assert_rejected(
        task(json!({"Resouce": "typo"})),
        "State 'Quarantine': field 'Resouce' is not supported (unknown field)",
    );
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "End": true}}}),
        "State 'A': field 'End' is not supported (unknown field)",
    );
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Sleep", "End": true}}}),
        "State 'A': field 'Type' has unknown value 'Sleep' (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)",
    );
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1}),
        "field 'Extra' is not supported (unknown field)",
    );
    let errs = errors(task(json!({"Resource": 5})));
    assert!(
        errs.iter()
            .any(|e| e.starts_with("State 'Quarantine': field 'Resource' has the wrong type")),
        "{errs:?}"
    );
    let errs = errors(json!({"StartAt": "A", "States": {}}));
    assert!(
        errs.iter()
            .any(|e| e == "field 'States' must contain at least one state"),
        "{errs:?}"
    );
    assert!(
        Definition::parse("{not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON")
    );
}

#[test]
fn bad_choice_rules() {
    let choice = |rule: Value| json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"}, "D": {"Type": "Succeed"}}});
    assert_rejected(
        choice(json!({"Variable": "$.x", "StringContains": "a", "Next": "D"})),
        "State 'C': field 'Choices[0].StringContains' is not a valid choice rule field or comparison operator",
    );
    assert_rejected(
        choice(json!({"Variable": "$.x", "StringEquals": "a"})),
        "State 'C': field 'Choices[0].Next' is required in a top-level choice rule",
    );
    assert_rejected(
        choice(json!({"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "D"})),
        "State 'C': field 'Choices[0]' must contain exactly one comparison operator or And/Or/Not, found StringEquals, NumericEquals",
    );
    assert_rejected(
        choice(json!({"Variable": "$.x", "BooleanEquals": "true", "Next": "D"})),
        "State 'C': field 'Choices[0].BooleanEquals' must be a boolean",
    );
    assert_rejected(
        choice(json!({"Variable": "$.x", "TimestampEquals": "yesterday", "Next": "D"})),
        "State 'C': field 'Choices[0].TimestampEquals' must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z, got 'yesterday'",
    );
    assert_rejected(
        choice(json!({"And": [{"Variable": "$.x", "IsNull": true, "Next": "D"}], "Next": "D"})),
        "State 'C': field 'Choices[0].And[0].Next' is only allowed in top-level choice rules",
    );
    assert_rejected(
        choice(json!({"Or": [], "Next": "D"})),
        "State 'C': field 'Choices[0].Or' must be a non-empty array of choice rules",
    );
    assert_rejected(
        choice(json!({"NumericEquals": 1, "Next": "D"})),
        "State 'C': field 'Choices[0].Variable' is required with the 'NumericEquals' operator",
    );
    let errs = errors(choice(
        json!({"Variable": "$.x", "StringEqualsPath": "$.y[*]", "Next": "D"}),
    ));
    assert!(
        errs.iter().any(|e| e.starts_with(
            "State 'C': field 'Choices[0].StringEqualsPath' is not a valid reference path"
        )),
        "{errs:?}"
    );
    assert_rejected(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [], "Default": "D"}, "D": {"Type": "Succeed"}}}),
        "State 'C': field 'Choices' must be a non-empty array of choice rules",
    );
}

#[test]
fn branches_are_validated_recursively() {
    assert_rejected(
        json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Next": "Missing"}}}]}}}),
        "State 'Inner': field 'Next' references state 'Missing', which does not exist in this scope",
    );
    assert_rejected(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {
            "StartAt": "Step", "States": {"Step": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0}]}}}}}}),
        "State 'Step': field 'Retry[0].BackoffRate' must be >= 1.0",
    );
    assert_rejected(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true}}}),
        "State 'M': field 'ItemProcessor' is required",
    );
    assert_rejected(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ToleratedFailurePercentage": 150,
            "Iterator": {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}}}}),
        "State 'M': field 'ToleratedFailurePercentage' must be a number between 0 and 100",
    );
    assert_rejected(
        json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Fan", "States": {"Fan": {"Type": "Succeed"}}}]}}}),
        "State 'Fan': is defined more than once (state names must be unique across the whole state machine, branches included)",
    );
    assert_rejected(
        json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "End": true, "Branches": []}}}),
        "State 'Fan': field 'Branches' must be a non-empty array of branches",
    );
}

#[test]
fn wait_task_and_fail_field_rules() {
    assert_rejected(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "Timestamp": "2024-01-01T00:00:00Z", "End": true}}}),
        "State 'W': field 'Seconds' exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath' is required",
    );
    assert_rejected(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2024-01-01 00:00:00", "End": true}}}),
        "State 'W': field 'Timestamp' must be an RFC 3339 timestamp, such as 2016-03-14T01:59:00Z",
    );
    assert_rejected(
        task(json!({"TimeoutSeconds": 30, "HeartbeatSeconds": 30})),
        "State 'Quarantine': field 'HeartbeatSeconds' must be smaller than TimeoutSeconds (30 >= 30)",
    );
    assert_rejected(
        task(json!({"TimeoutSeconds": 30, "TimeoutSecondsPath": "$.t"})),
        "State 'Quarantine': field 'TimeoutSeconds' cannot be used together with 'TimeoutSecondsPath'",
    );
    assert_rejected(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}}),
        "State 'F': field 'Error' cannot be used together with 'ErrorPath'",
    );
}

/// The query language decides which fields a state may have (AWS Step Functions developer
/// guide, "Setting the query language in Step Functions": JSONata states use `Arguments` and
/// `Output` instead of the five JSONPath fields, and a state machine set to JSONata cannot
/// have JSONPath states).
#[test]
fn query_language_field_rules() {
    let ok = |v: serde_json::Value| {
        Definition::parse(&v.to_string()).unwrap_or_else(|e| panic!("rejected: {e}"));
    };
    ok(json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}));
    ok(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "End": true}}}),
    );
    ok(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x.$": "$.a", "y": 1}, "End": true}}}),
    );
    assert_rejected(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}}),
        "State 'A': 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
    );
    assert_rejected(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": {}, "End": true}}}),
        "State 'A': field 'Output' is refused: The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage",
    );
    assert_rejected(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.a", "End": true}}}),
        "State 'A': field 'InputPath' is refused: The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage",
    );
    assert_rejected(
        json!({"QueryLanguage": "JSONPATH", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        "field 'QueryLanguage' must be one of the following: [JSONPath, JSONata]",
    );
    assert_rejected_mentioning(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% phone %}", "End": true}}}),
        "Reference to 'phone' at the top level is not supported.",
    );
    assert_rejected_mentioning(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"states": 1}, "End": true}}}),
        "'states' is a reserved variable name",
    );
    assert_rejected_mentioning(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"1x": 1}, "End": true}}}),
        "'1x' is not a valid variable name",
    );
}

#[test]
fn reports_every_problem_at_once() {
    let errs = errors(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B", "Bogus": 1},
        "B": {"Type": "Task", "End": true}}}));
    assert!(errs.len() >= 2, "{errs:?}");
    assert!(errs.contains(&"State 'A': field 'Bogus' is not supported (unknown field)".to_owned()));
    assert!(errs.contains(&"State 'B': field 'Resource' is required".to_owned()));
}
