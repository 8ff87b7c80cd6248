//! The incident state machine agrees with the Rust code: error names it matches exist in
//! cordon-core, and every Lambda task has the standard retry.
use cordon_core::names;
use cordon_tests::{all_states, incident_asl};
use serde_json::Value;

/// Lambda service errors Step Functions raises for `arn:aws:states:::lambda:invoke`,
/// which every Lambda task must retry, together with Cordon's own transient error.
const STANDARD_RETRY: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    names::TRANSIENT,
];

fn error_names(state: &Value, key: &str) -> Vec<String> {
    state
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|rule| {
            rule.get("ErrorEquals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

#[test]
fn asl_matches_only_error_names_that_exist() {
    let asl = incident_asl();
    let mut checked = 0;
    for (name, state) in all_states(&asl) {
        for error in error_names(&state, "Retry")
            .into_iter()
            .chain(error_names(&state, "Catch"))
        {
            checked += 1;
            let known = names::ALL.contains(&error.as_str())
                || (error.starts_with("States.") || error.starts_with("Lambda."));
            assert!(
                known,
                "state '{name}' matches error '{error}', which is neither a States./Lambda. \
                 name nor one of cordon_core::names::ALL ({:?})",
                names::ALL
            );
            if let Some(cordon) = error.strip_prefix("Cordon.") {
                assert!(
                    names::ALL.contains(&error.as_str()),
                    "state '{name}': unknown Cordon error '{cordon}'"
                );
            }
        }
    }
    assert!(checked > 0, "the ASL should match some error names");
}

#[test]
fn every_lambda_task_has_the_standard_retry() {
    let asl = incident_asl();
    let mut tasks = 0;
    for (name, state) in all_states(&asl) {
        let is_lambda = state.get("Type") == Some(&Value::from("Task"))
            && state
                .get("Resource")
                .and_then(Value::as_str)
                .is_some_and(|r| r.starts_with("arn:aws:states:::lambda:invoke"));
        if !is_lambda {
            continue;
        }
        tasks += 1;
        let retry = state
            .get("Retry")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("Lambda task '{name}' has no Retry"));
        let standard = retry.iter().find(|r| {
            let errors: Vec<&str> = r["ErrorEquals"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            STANDARD_RETRY.iter().all(|e| errors.contains(e))
        });
        let standard = standard.unwrap_or_else(|| {
            panic!("Lambda task '{name}' does not retry all of {STANDARD_RETRY:?}: {retry:?}")
        });
        assert_eq!(
            standard.get("JitterStrategy").and_then(Value::as_str),
            Some("FULL"),
            "task '{name}': the standard retry uses full jitter"
        );
        let backoff = standard
            .get("BackoffRate")
            .and_then(Value::as_f64)
            .unwrap_or(2.0);
        assert!(backoff > 1.0, "task '{name}': the standard retry backs off");
        assert!(
            standard.get("MaxDelaySeconds").is_some(),
            "task '{name}': the standard retry caps its delay"
        );
    }
    assert!(tasks >= 5, "expected the five task Lambdas, found {tasks}");
}

#[test]
fn the_engine_accepts_the_incident_definition() {
    let path = cordon_tests::workspace_root().join("statemachine/incident.asl.json");
    let text = std::fs::read_to_string(&path).expect("read the ASL");
    let definition = cordon_engine::Definition::parse(&text)
        .unwrap_or_else(|e| panic!("statemachine/incident.asl.json is invalid:\n{e}"));
    assert!(definition.state_names().contains(&"OpenIncident"));
}

#[test]
fn substitutions_are_consistent_in_both_directions() {
    let path = cordon_tests::workspace_root().join("statemachine/incident.asl.json");
    let text = std::fs::read_to_string(&path).expect("read the ASL");
    let used: std::collections::BTreeSet<String> = cordon_tests::substitution_placeholders(&text)
        .into_iter()
        .collect();
    let template = cordon_tests::template();
    let machines: Vec<_> = template.state_machines().collect();
    assert_eq!(machines.len(), 1, "one state machine in the template");
    let machine = machines[0];
    assert_eq!(
        machine.definition_uri.as_deref(),
        Some("../statemachine/incident.asl.json"),
        "{:?} deploys statemachine/incident.asl.json",
        machine.logical_id
    );
    let declared: std::collections::BTreeSet<String> = machine
        .definition_substitutions
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    let missing: Vec<_> = used.difference(&declared).collect();
    let unused: Vec<_> = declared.difference(&used).collect();
    assert!(
        missing.is_empty(),
        "the ASL uses ${{…}} placeholders with no DefinitionSubstitutions entry: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "DefinitionSubstitutions entries the ASL never uses: {unused:?}"
    );
}
