//! Variables, JSONata and AWS's error texts, end to end on the interpreter (virtual clock).
//! Each test cites the page of the AWS Step Functions developer guide it is written from.
use std::sync::Arc;

use cordon_engine::{
    Definition, EventType, Execution, ExecutionStatus, Randomness, Runtime, StartOptions,
    UnresolvedDispatcher, VirtualClock,
};
use serde_json::{Value, json};

async fn run(def: Value, input: Value) -> Execution {
    let rt = Runtime::new(
        Arc::new(UnresolvedDispatcher),
        Arc::new(VirtualClock::at_epoch()),
    )
    .with_rng(Arc::new(Randomness::seeded(7)));
    let def = Definition::parse(&def.to_string()).unwrap_or_else(|e| panic!("rejected: {e}"));
    let mut ex = Execution::start(Arc::new(def), input, StartOptions::default(), &rt).unwrap();
    ex.run_until_finished(&rt).await;
    ex
}

fn output(ex: &Execution) -> Value {
    assert_eq!(
        ex.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        ex.describe()
    );
    ex.describe().output.unwrap()
}

fn failure(ex: &Execution) -> (String, String) {
    let d = ex.describe();
    assert_eq!(d.status, ExecutionStatus::Failed, "{d:?}");
    (d.error.unwrap_or_default(), d.cause.unwrap_or_default())
}

/// "Passing data between states with variables", section "Evaluation order": `Assign` and
/// `Output` (here `OutputPath`) both see the variables as they were when the state was
/// entered; the new values are visible from the next state on. JSONPath `Assign` reads `$`
/// from the state's result.
#[tokio::test]
async fn assignments_apply_when_the_state_exits() {
    let def = json!({"StartAt": "S0", "States": {
        "S0": {"Type": "Pass", "Result": {"q": "question"},
               "Assign": {"question.$": "$.q", "answer": 42}, "Next": "S1"},
        "S1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.a",
               "OutputPath": "$answer", "Assign": {"answer": "new", "old.$": "$answer"},
               "Next": "S2"},
        "S2": {"Type": "Pass", "Parameters": {"answer.$": "$answer", "old.$": "$old",
               "question.$": "$question"}, "End": true}}});
    let ex = run(def, json!({})).await;
    assert_eq!(
        output(&ex),
        json!({"answer": "new", "old": 42, "question": "question"})
    );
    let exited: Vec<_> = ex
        .history()
        .iter()
        .filter(|e| e.event_type == EventType::PassStateExited)
        .collect();
    let assigned = exited[0]
        .details
        .state_exited_event_details
        .as_ref()
        .and_then(|d| d.assigned_variables.clone())
        .unwrap();
    // `assignedVariables` holds each value as JSON text.
    assert_eq!(assigned["answer"], json!("42"));
    assert_eq!(assigned["question"], json!("\"question\""));
}

/// "Passing data between states with variables", section "Variable scope": a Map
/// iteration reads the variables around it, its own end with it, and it cannot assign a
/// variable of an outer scope.
#[tokio::test]
async fn map_iterations_read_outer_variables_and_cannot_assign_them() {
    let map = |inner: Value| {
        json!({"StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Assign": {"x": 10, "items": [1, 2]}, "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$items", "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                  "ItemProcessor": {"StartAt": "I", "States": {"I": inner}}, "Next": "After"},
            "After": {"Type": "Pass", "Parameters": {"x.$": "$x", "r.$": "$"}, "End": true}}})
    };
    let ex = run(
        map(
            json!({"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.v, $x)"},
                   "Assign": {"mine.$": "$.sum"}, "End": true}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(
        output(&ex),
        json!({"x": 10, "r": [{"sum": 11}, {"sum": 12}]})
    );
    let ex = run(
        map(json!({"Type": "Pass", "Assign": {"x": 0}, "End": true})),
        json!({}),
    )
    .await;
    let (error, cause) = failure(&ex);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("'x' belongs to an outer scope"), "{cause}");
}

/// "Transforming data with JSONata in Step Functions": a JSONata state uses `Arguments`
/// and `Output` over `$states`; a Catch reads the error as `$states.errorOutput`; a failed
/// expression is `States.QueryEvaluationError`, which a Catch can handle, recorded as an
/// `EvaluationFailed` event.
#[tokio::test]
async fn jsonata_states_and_catch() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Arguments": {"n": "{% $states.input.n %}"},
              "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass",
                  "Output": "{% $states.input.n * 2 %}", "End": true}}}],
              "Output": {"doubled": "{% $states.result[0] %}"},
              "Assign": {"seen": "{% $states.result %}"}, "Next": "Bad"},
        "Bad": {"Type": "Pass", "Output": "{% $states.input.missing %}", "Next": "Never"},
        "Never": {"Type": "Succeed"}}});
    let ex = run(def, json!({"n": 21})).await;
    let (error, cause) = failure(&ex);
    assert_eq!(error, "States.QueryEvaluationError");
    assert_eq!(
        cause,
        "An error occurred while executing the state 'Bad' (entered at the event id #8). The JSONata expression '$states.input.missing' specified for the field 'Output' returned nothing (undefined)."
    );
    assert!(
        ex.history()
            .iter()
            .any(|e| e.event_type == EventType::EvaluationFailed)
    );

    let def = json!({"QueryLanguage": "JSONata", "StartAt": "F", "States": {
        "F": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Fail",
                  "Error": "Custom", "Cause": "{% 'bad ' & $states.input.who %}"}}}],
              "Catch": [{"ErrorEquals": ["Custom"], "Next": "Done",
                  "Assign": {"err": "{% $states.errorOutput.Error %}"},
                  "Output": {"cause": "{% $states.errorOutput.Cause %}"}}], "End": true},
        "Done": {"Type": "Pass", "Output": {"cause": "{% $states.input.cause %}", "err": "{% $err %}"}, "End": true}}});
    let ex = run(def, json!({"who": "eve"})).await;
    assert_eq!(output(&ex), json!({"cause": "bad eve", "err": "Custom"}));
}

/// "Map state", `ToleratedFailurePercentagePath` / `MaxConcurrencyPath`: values read
/// through a path are checked when the state runs, with AWS's causes.
#[tokio::test]
async fn map_path_fields_are_checked_with_aws_causes() {
    let def = |field: &str| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
            field: "$.v", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}})
    };
    let cases = [
        (
            "ToleratedFailurePercentagePath",
            json!(100.1),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            "ToleratedFailurePercentagePath",
            json!("NoNumber"),
            "The ToleratedFailurePercentagePath field refers to value \"NoNumber\" which is not a valid float: $.v",
        ),
        (
            "ToleratedFailureCountPath",
            json!(-1),
            "ToleratedFailureCount cannot be negative.",
        ),
        (
            "ToleratedFailureCountPath",
            json!({}),
            "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: $.v",
        ),
        (
            "MaxConcurrencyPath",
            json!(-1),
            "Expected non-negative integer for MaxConcurrency, got '-1' instead.",
        ),
    ];
    for (field, v, cause) in cases {
        let ex = run(def(field), json!({"items": [1], "v": v})).await;
        assert_eq!(
            failure(&ex),
            ("States.Runtime".to_owned(), cause.to_owned()),
            "{field} = {v}"
        );
    }
    let ex = run(
        def("ToleratedFailureCountPath"),
        json!({"items": [1], "v": "2"}),
    )
    .await;
    assert_eq!(output(&ex), json!([1]));
}

/// "Wait state", `TimestampPath`: a value that is not an ISO-8601 timestamp fails the
/// execution; AWS prints the string it found bare.
#[tokio::test]
async fn wait_timestamp_path_cause_prints_the_value_bare() {
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait",
        "TimestampPath": "$.TimestampValue", "End": true}}});
    let ex = run(def, json!({"TimestampValue": "2016-12-05T21:29:29"})).await;
    assert_eq!(
        failure(&ex),
        (
            "States.Runtime".to_owned(),
            "An error occurred while executing the state 'W' (entered at the event id #2). The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.TimestampValue == 2016-12-05T21:29:29".to_owned()
        )
    );
}

/// "Passing data between states with variables", section "Limits": a variable holds at most
/// 256 KiB.
#[tokio::test]
async fn a_variable_holds_at_most_256_kib() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass",
        "Assign": {"big.$": "States.Format('{}{}', $.s, $.s)"}, "End": true}}});
    let ex = run(def, json!({"s": "x".repeat(140_000)})).await;
    let (error, cause) = failure(&ex);
    assert_eq!(error, "States.DataLimitExceeded");
    assert!(cause.contains("'big'"), "{cause}");
}
