//! What an execution did to its state machine, as the console's graph view shows it: each
//! top-level state with its status (succeeded, caught, failed, in progress, not run), when
//! it ran, how long, how many retries and the error; and each transition, taken or not.
//!
//! Built from the definition (ASL JSON) and the execution's history, reduced to
//! [`Step`]s so the reading of AWS's history event types lives in one function
//! ([`steps_from_history`]).
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// A state's status on this execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    /// It failed and a Catch took the execution on.
    Caught,
    /// The execution failed here.
    Failed,
    /// Entered and not left (running, or waiting: a task token).
    InProgress,
    /// Entered, then the execution was stopped or timed out.
    Aborted,
    NotRun,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Caught => "caught",
            Status::Failed => "failed",
            Status::InProgress => "in progress",
            Status::Aborted => "aborted",
            Status::NotRun => "not run",
        }
    }
}

/// A history event reduced to what the graph needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Entered {
        state: String,
        at: DateTime<Utc>,
    },
    Exited {
        state: String,
        at: DateTime<Utc>,
    },
    /// A task (Lambda) attempt started, in the current state.
    Scheduled {
        at: DateTime<Utc>,
    },
    /// An attempt failed, in the current state.
    AttemptFailed {
        error: String,
        cause: String,
        at: DateTime<Utc>,
    },
    ExecutionSucceeded {
        at: DateTime<Utc>,
    },
    ExecutionFailed {
        error: String,
        cause: String,
        at: DateTime<Utc>,
    },
    /// Aborted (stopped) or timed out.
    ExecutionEnded {
        status: String,
        at: DateTime<Utc>,
    },
}

/// One state of the graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    pub name: String,
    /// `Task`, `Choice`, `Pass`, …
    pub kind: String,
    pub status: Status,
    /// When it was last entered.
    pub entered_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// Attempts beyond the first (the Retry policy at work).
    pub retries: u32,
    /// How many times the execution entered it.
    pub visits: u32,
    /// The last error it raised (`Cordon.Aws: …`).
    pub error: Option<String>,
}

/// One transition of the definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `Next`, `Default`, a Choice's condition, `Catch States.ALL`.
    pub label: String,
    pub taken: bool,
}

/// The whole graph of one execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionGraph {
    pub execution_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, …
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub start_at: String,
    /// In definition order.
    pub states: Vec<StateView>,
    pub edges: Vec<Edge>,
    /// The states entered, in order (the path taken).
    pub path: Vec<String>,
    pub error: Option<String>,
}

impl ExecutionGraph {
    pub fn state(&self, name: &str) -> Option<&StateView> {
        self.states.iter().find(|s| s.name == name)
    }
}

/// The transitions a state declares, with their labels.
fn transitions(state: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, choice) in state["Choices"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(next) = choice["Next"].as_str() {
            out.push((next.to_string(), choice_label(choice, i)));
        }
    }
    if let Some(next) = state["Default"].as_str() {
        out.push((next.to_string(), "Default".into()));
    }
    if let Some(next) = state["Next"].as_str() {
        out.push((next.to_string(), "Next".into()));
    }
    for catch in state["Catch"].as_array().into_iter().flatten() {
        if let Some(next) = catch["Next"].as_str() {
            let errors: Vec<&str> = catch["ErrorEquals"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push((next.to_string(), format!("Catch {}", errors.join(", "))));
        }
    }
    out
}

/// `$.x == "auto"` for the simple rules the console shows; `rule N` otherwise.
fn choice_label(choice: &Value, index: usize) -> String {
    let variable = choice["Variable"].as_str();
    let op = choice.as_object().and_then(|o| {
        o.iter()
            .find(|(k, _)| k.as_str() != "Variable" && k.as_str() != "Next")
    });
    match (variable, op) {
        (Some(v), Some((op, value)))
            if value.is_string() || value.is_number() || value.is_boolean() =>
        {
            let short = v.rsplit('.').next().unwrap_or(v);
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let sym = match op.trim_end_matches("Path") {
                "StringEquals" | "NumericEquals" | "BooleanEquals" => "==",
                _ => op.as_str(),
            };
            format!("{short} {sym} {value}")
        }
        _ => format!("rule {}", index + 1),
    }
}

/// Builds the graph of an execution from its state machine's `definition` and its
/// history `steps`. `now` times a state still in progress.
pub fn build(
    execution_arn: &str,
    status: &str,
    definition: &Value,
    steps: &[Step],
    now: DateTime<Utc>,
) -> ExecutionGraph {
    let states_json = definition["States"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let start_at = definition["StartAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut views: BTreeMap<String, StateView> = states_json
        .iter()
        .map(|(name, s)| {
            (
                name.clone(),
                StateView {
                    name: name.clone(),
                    kind: s["Type"].as_str().unwrap_or("?").to_string(),
                    status: Status::NotRun,
                    entered_at: None,
                    duration_ms: None,
                    retries: 0,
                    visits: 0,
                    error: None,
                },
            )
        })
        .collect();

    let mut path: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut attempts_in_visit = 0u32;
    let mut failed_in_visit = false;
    let mut started_at = None;
    let mut ended_at = None;
    let mut execution_error = None;
    for step in steps {
        match step {
            Step::Entered { state, at } => {
                // A state left by a Catch has no Exited event: leaving it is entering the next.
                if let Some(prev) = current.take()
                    && let Some(v) = views.get_mut(&prev)
                    && v.status == Status::InProgress
                {
                    v.status = if failed_in_visit {
                        Status::Caught
                    } else {
                        Status::Succeeded
                    };
                    v.duration_ms = v.entered_at.map(|e| (*at - e).num_milliseconds());
                }
                started_at = started_at.or(Some(*at));
                path.push(state.clone());
                if let Some(v) = views.get_mut(state) {
                    v.status = Status::InProgress;
                    v.entered_at = Some(*at);
                    v.duration_ms = None;
                    v.visits += 1;
                }
                current = Some(state.clone());
                attempts_in_visit = 0;
                failed_in_visit = false;
            }
            Step::Exited { state, at } => {
                if let Some(v) = views.get_mut(state) {
                    v.status = if failed_in_visit {
                        Status::Caught
                    } else {
                        Status::Succeeded
                    };
                    v.duration_ms = v.entered_at.map(|e| (*at - e).num_milliseconds());
                }
                if current.as_deref() == Some(state.as_str()) {
                    current = None;
                }
            }
            Step::Scheduled { .. } => {
                // A new attempt: only the last one's failure decides the status.
                failed_in_visit = false;
                attempts_in_visit += 1;
                if let Some(v) = current.as_ref().and_then(|c| views.get_mut(c)) {
                    v.retries = v.retries.max(attempts_in_visit.saturating_sub(1));
                }
            }
            Step::AttemptFailed { error, cause, .. } => {
                failed_in_visit = true;
                if let Some(v) = current.as_ref().and_then(|c| views.get_mut(c)) {
                    v.error = Some(error_text(error, cause));
                }
            }
            Step::ExecutionSucceeded { at } => {
                ended_at = Some(*at);
                // A Succeed state may end the execution without an Exited event.
                if let Some(v) = current.as_ref().and_then(|c| views.get_mut(c))
                    && v.status == Status::InProgress
                {
                    v.status = Status::Succeeded;
                    v.duration_ms = v.entered_at.map(|e| (*at - e).num_milliseconds());
                }
                current = None;
            }
            Step::ExecutionFailed { error, cause, at } => {
                ended_at = Some(*at);
                execution_error = Some(error_text(error, cause));
                if let Some(v) = current.as_ref().and_then(|c| views.get_mut(c)) {
                    v.status = Status::Failed;
                    v.duration_ms = v.entered_at.map(|e| (*at - e).num_milliseconds());
                    if v.error.is_none() {
                        v.error = execution_error.clone();
                    }
                }
                current = None;
            }
            Step::ExecutionEnded { at, .. } => {
                ended_at = Some(*at);
                if let Some(v) = current.as_ref().and_then(|c| views.get_mut(c)) {
                    v.status = Status::Aborted;
                    v.duration_ms = v.entered_at.map(|e| (*at - e).num_milliseconds());
                }
                current = None;
            }
        }
    }
    // A Fail state is where the execution failed, even when it has no failure event.
    for v in views.values_mut() {
        if v.kind == "Fail" && v.visits > 0 && v.status != Status::InProgress {
            v.status = Status::Failed;
        }
    }
    if let Some(v) = current.as_ref().and_then(|c| views.get_mut(c))
        && v.status == Status::InProgress
    {
        v.duration_ms = v.entered_at.map(|e| (now - e).num_milliseconds());
    }

    let taken: std::collections::BTreeSet<(String, String)> = path
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect();
    let mut edges = Vec::new();
    for (name, state) in &states_json {
        for (to, label) in transitions(state) {
            let is_taken = taken.contains(&(name.clone(), to.clone()));
            edges.push(Edge {
                from: name.clone(),
                to,
                label,
                taken: is_taken,
            });
        }
    }
    let states = states_json
        .keys()
        .filter_map(|name| views.remove(name))
        .collect();
    ExecutionGraph {
        execution_arn: execution_arn.to_string(),
        status: status.to_string(),
        started_at,
        duration_ms: started_at.map(|s| (ended_at.unwrap_or(now) - s).num_milliseconds()),
        start_at,
        states,
        edges,
        path,
        error: execution_error,
    }
}

fn error_text(error: &str, cause: &str) -> String {
    // A Lambda error's cause is its JSON payload; its message is what a person reads.
    let message = serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| v["errorMessage"].as_str().map(str::to_string))
        .unwrap_or_else(|| cause.to_string());
    if message.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {message}")
    }
}

/// The history, reduced to [`Step`]s.
pub fn steps_from_history(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Vec<Step> {
    use aws_sdk_sfn::types::HistoryEventType as T;
    let mut steps = Vec::new();
    for e in events {
        let at = DateTime::from_timestamp(e.timestamp.secs(), e.timestamp.subsec_nanos())
            .unwrap_or_default();
        if let Some(d) = &e.state_entered_event_details {
            steps.push(Step::Entered {
                state: d.name.clone(),
                at,
            });
            continue;
        }
        if let Some(d) = &e.state_exited_event_details {
            steps.push(Step::Exited {
                state: d.name.clone(),
                at,
            });
            continue;
        }
        let failed = |error: Option<&str>, cause: Option<&str>| Step::AttemptFailed {
            error: error.unwrap_or_default().to_string(),
            cause: cause.unwrap_or_default().to_string(),
            at,
        };
        match &e.r#type {
            T::TaskScheduled | T::LambdaFunctionScheduled | T::ActivityScheduled => {
                steps.push(Step::Scheduled { at })
            }
            T::TaskFailed => {
                let d = e.task_failed_event_details.as_ref();
                steps.push(failed(d.and_then(|d| d.error()), d.and_then(|d| d.cause())));
            }
            T::TaskTimedOut => {
                let d = e.task_timed_out_event_details.as_ref();
                steps.push(failed(d.and_then(|d| d.error()), d.and_then(|d| d.cause())));
            }
            T::LambdaFunctionFailed => {
                let d = e.lambda_function_failed_event_details.as_ref();
                steps.push(failed(d.and_then(|d| d.error()), d.and_then(|d| d.cause())));
            }
            T::LambdaFunctionTimedOut => {
                let d = e.lambda_function_timed_out_event_details.as_ref();
                steps.push(failed(d.and_then(|d| d.error()), d.and_then(|d| d.cause())));
            }
            T::ExecutionSucceeded => steps.push(Step::ExecutionSucceeded { at }),
            T::ExecutionFailed => {
                let d = e.execution_failed_event_details.as_ref();
                steps.push(Step::ExecutionFailed {
                    error: d.and_then(|d| d.error()).unwrap_or_default().to_string(),
                    cause: d.and_then(|d| d.cause()).unwrap_or_default().to_string(),
                    at,
                });
            }
            T::ExecutionAborted => steps.push(Step::ExecutionEnded {
                status: "ABORTED".into(),
                at,
            }),
            T::ExecutionTimedOut => steps.push(Step::ExecutionEnded {
                status: "TIMED_OUT".into(),
                at,
            }),
            _ => {}
        }
    }
    steps
}
