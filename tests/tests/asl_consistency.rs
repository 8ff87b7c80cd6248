//! The incident state machine agrees with the Rust code: error names it matches exist in
//! cordon-core, every Lambda task has the standard retry, and every failure reaches a human:
//! each Task is caught with `States.ALL` into the failure path, which the engine is made to
//! walk from every Task here (no emulator needed: the tasks are scripted).
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use cordon_core::names;
use cordon_engine::{
    Definition, Execution, ExecutionStatus, FnDispatcher, RunOutcome, Runtime, StartOptions,
    TaskFailure, TaskRequest, VirtualClock,
};
use cordon_tests::{all_states, incident_asl};
use serde_json::{Value, json};

/// Lambda service errors Step Functions raises for `arn:aws:states:::lambda:invoke`,
/// which every Lambda task must retry (AWS's recommended set), together with Cordon's own
/// transient error. Nothing else is retried: every other error is caught.
const STANDARD_RETRY: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    names::TRANSIENT,
];

/// The failure path's own tasks: not caught, so that when one fails the execution stops
/// on it and a redrive runs it again.
const FAILURE_PATH: [&str; 2] = ["NotifyFailure", "RecordFailure"];

/// What every `<Step>Failed` state hands the failure path, whatever the step.
const FAILURE_CONTEXT: [&str; 6] = [
    "step",
    "incidentId",
    "detection",
    "assessment",
    "event",
    "error",
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
fn every_lambda_task_retries_every_transient_error_with_backoff() {
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
        for error in STANDARD_RETRY {
            // The retrier that handles `error`: the first whose ErrorEquals names it.
            let retrier = retry
                .iter()
                .find(|r| {
                    r["ErrorEquals"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|e| e == error || e == "States.ALL"))
                })
                .unwrap_or_else(|| {
                    panic!("Lambda task '{name}' does not retry {error}: {retry:?}")
                });
            assert_eq!(
                retrier.get("JitterStrategy").and_then(Value::as_str),
                Some("FULL"),
                "task '{name}': {error} is retried with full jitter"
            );
            let backoff = retrier
                .get("BackoffRate")
                .and_then(Value::as_f64)
                .unwrap_or(2.0);
            assert!(
                backoff > 1.0,
                "task '{name}': {error} is retried with backoff"
            );
            assert!(
                retrier.get("MaxDelaySeconds").is_some(),
                "task '{name}': {error}'s retry caps its delay"
            );
            // Throttled by its reserved concurrency (a burst of incidents worked through a
            // few at a time): waiting for a free slot can outlast a handful of attempts.
            if *error == "Lambda.TooManyRequestsException" {
                let attempts = retrier
                    .get("MaxAttempts")
                    .and_then(Value::as_u64)
                    .unwrap_or(3);
                assert!(
                    attempts >= 10,
                    "task '{name}': a throttled invocation is retried {attempts} times, too few for a burst"
                );
            }
        }
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
    // The incident workflow, and the release workflow a release link starts.
    let template = cordon_tests::template();
    let machines: Vec<_> = template.state_machines().collect();
    let uris: std::collections::BTreeSet<_> = machines
        .iter()
        .filter_map(|m| m.definition_uri.as_deref())
        .collect();
    assert_eq!(
        uris,
        [
            "../statemachine/incident.asl.json",
            "../statemachine/release.asl.json"
        ]
        .into(),
        "the template deploys the incident and the release workflow"
    );
    for machine in machines {
        let uri = machine
            .definition_uri
            .as_deref()
            .expect("a definition file");
        let path = cordon_tests::workspace_root().join(uri.trim_start_matches("../"));
        let text = std::fs::read_to_string(&path).expect("read the ASL");
        cordon_engine::Definition::parse(&text)
            .unwrap_or_else(|e| panic!("{uri} is invalid:\n{e}"));
        let used: std::collections::BTreeSet<String> =
            cordon_tests::substitution_placeholders(&text)
                .into_iter()
                .collect();
        let declared: std::collections::BTreeSet<String> = machine
            .definition_substitutions
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        let missing: Vec<_> = used.difference(&declared).collect();
        let unused: Vec<_> = declared.difference(&used).collect();
        assert!(
            missing.is_empty(),
            "{uri} uses ${{…}} placeholders with no DefinitionSubstitutions entry: {missing:?}"
        );
        assert!(
            unused.is_empty(),
            "DefinitionSubstitutions entries {uri} never uses: {unused:?}"
        );
    }
}

fn is_task(state: &Value) -> bool {
    state.get("Type") == Some(&Value::from("Task"))
}

/// The Task states of the workflow proper (not the failure path's own).
fn workflow_tasks(asl: &Value) -> Vec<(String, Value)> {
    all_states(asl)
        .into_iter()
        .filter(|(name, state)| is_task(state) && !FAILURE_PATH.contains(&name.as_str()))
        .collect()
}

/// A Parameters key without its `.$` suffix.
fn field(key: &str) -> &str {
    key.strip_suffix(".$").unwrap_or(key)
}

/// The metrics and the CLI read the timeline entries the workflow appends by step name:
/// every `append` names a step cordon-core knows, and each of those is appended.
#[test]
fn timeline_appends_name_the_steps_cordon_core_knows() {
    use cordon_core::model::timeline_step;
    let mut appended = Vec::new();
    for (name, state) in all_states(&incident_asl()) {
        let payload = &state["Parameters"]["Payload"];
        if payload["action"] != "append" {
            continue;
        }
        let step = payload["step"]
            .as_str()
            .unwrap_or_else(|| panic!("state '{name}' appends without a literal step"));
        assert!(
            timeline_step::ALL.contains(&step),
            "state '{name}' appends step {step:?}, which cordon_core::model::timeline_step \
             does not name"
        );
        assert!(
            payload.get("at.$").is_some(),
            "state '{name}' appends without a fixed time: a retry would write it twice"
        );
        appended.push(step.to_string());
    }
    for step in timeline_step::ALL {
        assert!(
            appended.iter().any(|s| s == step),
            "no state appends {step:?}: {appended:?}"
        );
    }
}

#[test]
fn retries_are_only_for_what_is_transient() {
    for (name, state) in all_states(&incident_asl()) {
        for error in error_names(&state, "Retry") {
            assert!(
                STANDARD_RETRY.contains(&error.as_str()),
                "state '{name}' retries {error}, which is not transient: catch it instead"
            );
        }
    }
}

#[test]
fn every_task_is_caught_into_the_failure_path() {
    let asl = incident_asl();
    let states = asl["States"].as_object().expect("States");
    let tasks = workflow_tasks(&asl);
    assert!(tasks.len() >= 14, "the workflow's tasks: {}", tasks.len());
    for (name, state) in &tasks {
        let catches = state["Catch"]
            .as_array()
            .unwrap_or_else(|| panic!("task '{name}' has no Catch"));
        let last = catches.last().expect("a catcher");
        assert_eq!(
            last["ErrorEquals"],
            json!(["States.ALL"]),
            "task '{name}': the last catcher catches everything"
        );
        let target = format!("{name}Failed");
        assert_eq!(
            last["Next"].as_str(),
            Some(target.as_str()),
            "task '{name}': everything else goes to {target}"
        );
        let result_path = last["ResultPath"].as_str().expect("a ResultPath");
        for c in catches {
            let next = c["Next"].as_str().expect("Next");
            assert!(
                states.contains_key(next),
                "task '{name}' catches to a missing {next}"
            );
        }

        // The Pass that names the step and hands the failure path its context.
        let pass = &states[&target];
        assert_eq!(pass["Type"], "Pass", "{target}");
        assert_eq!(pass["Next"], "NotifyFailure", "{target}");
        let params = pass["Parameters"].as_object().expect("Parameters");
        let keys: BTreeSet<&str> = params.keys().map(|k| field(k)).collect();
        assert_eq!(
            keys,
            FAILURE_CONTEXT.into_iter().collect::<BTreeSet<_>>(),
            "{target} builds the whole failure context"
        );
        assert_eq!(params["step"], json!(name), "{target} names its step");
        assert_eq!(
            params["error.$"].as_str(),
            Some(result_path),
            "{target} passes on what the catch caught"
        );
        assert!(
            cordon_core::notify::standing(name).is_some(),
            "the failure notification does not know where the response stands when '{name}' fails"
        );
    }
    // Every state the failure path reads is one of those Pass states' fields.
    for name in FAILURE_PATH {
        let state = &states[name];
        assert!(
            state.get("Catch").is_none(),
            "{name} is not caught: if it fails, the execution stops on it and a redrive runs it"
        );
        for (key, value) in state["Parameters"]["Payload"].as_object().expect("Payload") {
            if let Some(path) = value.as_str().filter(|_| key.ends_with(".$"))
                && let Some(field) = path.strip_prefix("$.")
            {
                assert!(
                    FAILURE_CONTEXT.contains(&field),
                    "{name} reads {path}, which the failure context may not have"
                );
            }
        }
    }
    assert_eq!(states["NotifyFailure"]["Next"], "RecordFailure");
    assert_eq!(states["RecordFailure"]["Next"], "Failed");
    assert_eq!(states["Failed"]["Type"], "Fail");
}

/// What the scripted tasks do: the disposition enrich answers, the approver's decision,
/// whether quarantine refuses, and which states fail (with which error) until healed.
#[derive(Clone)]
struct Script {
    disposition: &'static str,
    decision: &'static str,
    refuse: bool,
    failing: Arc<Mutex<Vec<(String, &'static str)>>>,
}

impl Script {
    fn route(disposition: &'static str, decision: &'static str, refuse: bool) -> Self {
        Script {
            disposition,
            decision,
            refuse,
            failing: Arc::default(),
        }
    }

    /// This route, with `failures` (state, error) in force.
    fn failing(&self, failures: &[(&str, &'static str)]) -> Self {
        let list = failures.iter().map(|(s, e)| (s.to_string(), *e)).collect();
        Script {
            failing: Arc::new(Mutex::new(list)),
            ..self.clone()
        }
    }

    fn heal(&self) {
        self.failing.lock().expect("lock").clear();
    }
}

fn detection() -> Value {
    json!({"incidentId": "ct-1", "rule": "iam.user-created", "title": "IAM user u created"})
}

/// Plays every Lambda task of the workflow by its function and action, as the real ones
/// answer (`{"Payload": …}`), failing the states the script says.
fn scripted(script: &Script, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let failure = script
        .failing
        .lock()
        .expect("lock")
        .iter()
        .find(|(state, _)| *state == req.state_name)
        .map(|(_, error)| *error);
    if let Some(error) = failure {
        return Err(TaskFailure::new(error, "the scripted failure"));
    }
    let function = req.input["FunctionName"].as_str().unwrap_or("");
    let payload = &req.input["Payload"];
    let out = if function.contains("Record") {
        match payload["action"].as_str() {
            Some("open") => json!({"outcome": "opened", "duplicate": false, "replayed": false,
                "incidentId": "ct-1", "detection": detection(), "reason": null, "ruleArn": null}),
            Some("fail") => json!({"incidentId": "ct-1", "status": "FAILED", "changed": true}),
            _ => json!({"incidentId": "ct-1", "status": "CLOSED", "changed": true}),
        }
    } else if function.contains("Enrich") {
        json!({"incidentId": "ct-1", "facts": null, "principalExists": true,
            "assessment": {"severity": "high", "disposition": script.disposition},
            "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "notify"})
    } else if function.contains("Quarantine") {
        if script.refuse {
            return Err(TaskFailure::new(names::PROTECTED_PRINCIPAL, "protected"));
        }
        json!({"policyArn": "arn:aws:iam::1:policy/q",
            "policyArns": ["arn:aws:iam::1:policy/q", "arn:aws:iam::aws:policy/AWSDenyAll"],
            "alreadyAttached": false,
            "quarantinedAt": "2024-09-27T14:06:00Z", "userName": "u", "principalKind": "IAMUser", "remediation": {},
            "actionsTaken": []})
    } else if function.contains("Tag") {
        json!({"tags": {}})
    } else {
        json!({"messageId": "m-1", "alreadySent": false})
    };
    Ok(json!({"Payload": out}))
}

/// One execution of the real ASL with scripted tasks, on a virtual clock.
struct Run {
    script: Script,
    rt: Runtime,
    ex: Execution,
    requests: Arc<Mutex<Vec<TaskRequest>>>,
}

impl Run {
    fn start(script: Script) -> Run {
        let text = std::fs::read_to_string(
            cordon_tests::workspace_root().join("statemachine/incident.asl.json"),
        )
        .expect("read the ASL");
        let definition = Arc::new(Definition::parse(&text).expect("a valid definition"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let tasks = script.clone();
        let dispatcher = FnDispatcher(move |req: TaskRequest| {
            seen.lock().expect("lock").push(req.clone());
            let out = scripted(&tasks, &req);
            async move { out }
        });
        let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
        let rt = Runtime::new(Arc::new(dispatcher), clock);
        let event = json!({"id": "env-1", "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventID": "ev-1", "eventName": "CreateUser"}});
        let ex = Execution::start(definition, event, StartOptions::default(), &rt).expect("start");
        Run {
            script,
            rt,
            ex,
            requests,
        }
    }

    /// Runs to the end, answering an approval request with the script's decision (or, for
    /// `timeout`, letting it time out).
    async fn finish(&mut self) -> ExecutionStatus {
        loop {
            match self.ex.run_until_parked(&self.rt).await {
                RunOutcome::Finished(status) => return status,
                // "timeout": nobody answers; the clock runs to the approval timeout below.
                RunOutcome::Parked {
                    awaiting_callbacks, ..
                } if awaiting_callbacks > 0 && self.script.decision != "timeout" => {
                    let token = self.ex.pending_task_tokens()[0].clone();
                    self.ex
                        .send_task_success(
                            &token,
                            // As the approval function answers (ApprovalDecision).
                            json!({
                                "decision": self.script.decision,
                                "approvalId": "a".repeat(64),
                                "decidedBy": {"name": "scripted approver"},
                                "decidedAt": "2026-01-01T00:00:00.000Z",
                            }),
                            &self.rt,
                        )
                        .expect("the approval callback");
                }
                // A retry's backoff: the virtual clock jumps to it.
                RunOutcome::Parked {
                    next_wakeup: Some(at),
                    ..
                } => self.rt.clock.sleep_until(at).await,
                other => panic!("the execution is stuck: {other:?}"),
            }
        }
    }

    fn states(&self) -> Vec<String> {
        let history: Vec<Value> = self
            .ex
            .history()
            .iter()
            .map(|e| serde_json::to_value(e).expect("an event"))
            .collect();
        cordon_tests::states_entered(&history)
    }

    fn requests_to(&self, state: &str) -> Vec<TaskRequest> {
        self.requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|q| q.state_name == state)
            .cloned()
            .collect()
    }

    fn error(&self) -> Option<String> {
        self.ex.describe().error
    }
}

/// The routes that between them enter every Task state.
fn routes() -> Vec<Script> {
    vec![
        Script::route("auto", "approve", false),
        Script::route("notify", "approve", false),
        Script::route("ignore", "approve", false),
        Script::route("approve", "approve", false),
        Script::route("approve", "reject", false),
        Script::route("approve", "timeout", false),
        Script::route("auto", "approve", true),
    ]
}

fn tail(states: &[String], expected: &[&str]) -> bool {
    states.len() >= expected.len() && states[states.len() - expected.len()..] == *expected
}

#[tokio::test]
async fn every_task_failure_reaches_a_human_and_is_recorded() {
    let tasks: BTreeSet<String> = workflow_tasks(&incident_asl())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut failed_at = BTreeSet::new();
    for route in routes() {
        let mut clean = Run::start(route.clone());
        assert_eq!(
            clean.finish().await,
            ExecutionStatus::Succeeded,
            "{:?}",
            clean.states()
        );
        for step in clean.states().iter().filter(|s| tasks.contains(*s)) {
            // A crashed function (Lambda.Unknown): not retried, caught, reported, recorded.
            let mut r = Run::start(route.failing(&[(step.as_str(), "Lambda.Unknown")]));
            assert_eq!(
                r.finish().await,
                ExecutionStatus::Failed,
                "{step}: {:?}",
                r.states()
            );
            assert_eq!(r.error().as_deref(), Some("Lambda.Unknown"), "{step}");
            assert_eq!(
                r.requests_to(step).len(),
                1,
                "{step}: Lambda.Unknown is not retried"
            );
            let failed = format!("{step}Failed");
            let states = r.states();
            assert!(
                tail(
                    &states,
                    &[&failed, "NotifyFailure", "RecordFailure", "Failed"]
                ),
                "{step}: {states:?}"
            );
            let notify = r.requests_to("NotifyFailure");
            let payload = &notify[0].input["Payload"];
            assert_eq!(payload["kind"], "failure");
            assert_eq!(payload["step"], json!(step));
            assert_eq!(payload["error"]["Error"], "Lambda.Unknown");
            assert!(payload["executionArn"].is_string() && payload["stateMachineArn"].is_string());
            if step == "OpenIncident" {
                assert_eq!(payload["incidentId"], Value::Null);
                assert_eq!(
                    payload["event"]["detail"]["eventID"], "ev-1",
                    "the raw event"
                );
            } else {
                assert_eq!(payload["incidentId"], "ct-1");
                assert_eq!(payload["detection"], detection());
                assert_eq!(payload["event"], Value::Null);
            }
            let record = r.requests_to("RecordFailure");
            assert_eq!(record[0].input["Payload"]["action"], "fail");
            assert_eq!(record[0].input["Payload"]["step"], json!(step));
            assert_eq!(record[0].input["Payload"]["error"], payload["error"]);
            failed_at.insert(step.clone());
        }
    }
    assert_eq!(failed_at, tasks, "every Task state was made to fail");
}

#[tokio::test]
async fn transient_errors_are_retried_then_caught() {
    let mut r = Run::start(routes()[0].failing(&[("Tag", names::TRANSIENT)]));
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    assert_eq!(r.requests_to("Tag").len(), 7, "1 attempt + MaxAttempts 6");
    assert_eq!(r.error().as_deref(), Some(names::TRANSIENT));
    assert!(
        tail(
            &r.states(),
            &["TagFailed", "NotifyFailure", "RecordFailure", "Failed"]
        ),
        "{:?}",
        r.states()
    );
}

#[tokio::test]
async fn a_handled_failure_is_not_redriven_usefully_but_a_failing_failure_path_is() {
    // Handled: the execution ended in Failed. A redrive restarts there and fails again at
    // once, running no task: the recovery is a replay (a new execution).
    let mut r = Run::start(routes()[0].failing(&[("Quarantine", names::AWS)]));
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    let tasks_run = r.requests.lock().expect("lock").len();
    r.script.heal();
    r.ex.redrive(&r.rt)
        .expect("a failed execution is redrivable");
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    assert_eq!(
        r.requests.lock().expect("lock").len(),
        tasks_run,
        "no task ran"
    );
    assert_eq!(r.states().last().map(String::as_str), Some("Failed"));

    // The audit table is down: the team is told, recording fails, and the execution stops
    // at RecordFailure. A redrive records the failure (and does not notify again).
    let mut r = Run::start(routes()[0].failing(&[
        ("Quarantine", names::AWS),
        ("RecordFailure", names::TRANSIENT),
    ]));
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    assert_eq!(r.states().last().map(String::as_str), Some("RecordFailure"));
    assert_eq!(r.error().as_deref(), Some(names::TRANSIENT));
    assert_eq!(
        r.requests_to("NotifyFailure").len(),
        1,
        "told before recording"
    );
    r.script.heal();
    r.ex.redrive(&r.rt).expect("redrivable");
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    assert!(
        tail(&r.states(), &["RecordFailure", "Failed"]),
        "{:?}",
        r.states()
    );
    assert_eq!(r.requests_to("NotifyFailure").len(), 1, "not told twice");
    assert_eq!(
        r.requests_to("RecordFailure").len(),
        8,
        "7 attempts, then the redrive"
    );
    assert_eq!(r.error().as_deref(), Some(names::AWS), "the original error");

    // The notification itself fails: the execution stops at NotifyFailure; a redrive
    // sends it, then records the failure.
    let mut r = Run::start(
        routes()[0].failing(&[("Quarantine", names::AWS), ("NotifyFailure", names::CONFIG)]),
    );
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    assert_eq!(r.states().last().map(String::as_str), Some("NotifyFailure"));
    assert!(r.requests_to("RecordFailure").is_empty());
    r.script.heal();
    r.ex.redrive(&r.rt).expect("redrivable");
    assert_eq!(r.finish().await, ExecutionStatus::Failed);
    assert!(
        tail(&r.states(), &["NotifyFailure", "RecordFailure", "Failed"]),
        "{:?}",
        r.states()
    );
}
