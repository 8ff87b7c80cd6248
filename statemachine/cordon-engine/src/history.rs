//! Execution history events, in the types and shapes of the Step Functions
//! `GetExecutionHistory` API (`HistoryEvent` and its `*EventDetails` members).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;

/// AWS's maximum number of events in one execution's history.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// `HistoryEventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAborted,
    ExecutionTimedOut,
    ExecutionRedriven,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    TaskStateAborted,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    WaitStateAborted,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapStateExited,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    /// A JSONata expression failed; recorded before the state fails.
    EvaluationFailed,
}

/// `HistoryEventExecutionDataDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataDetails {
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStartedEventDetails {
    pub input: String,
    pub input_details: DataDetails,
    pub role_arn: String,
}

/// `{output, outputDetails}`, used by ExecutionSucceeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputEventDetails {
    pub output: String,
    pub output_details: DataDetails,
}

/// `{error, cause}`, used by ExecutionFailed/Aborted/TimedOut and LambdaFunctionFailed/TimedOut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEventDetails {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRedrivenEventDetails {
    pub redrive_count: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateEnteredEventDetails {
    pub name: String,
    pub input: String,
    pub input_details: DataDetails,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateExitedEventDetails {
    pub name: String,
    pub output: String,
    pub output_details: DataDetails,
    /// The variables the state assigned, each as JSON text (boxed: most states assign none,
    /// and every event carries this struct's space).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub assigned_variables: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub assigned_variables_details: Option<DataDetails>,
}

/// `EvaluationFailedEventDetails`: a JSONata expression of state `state` failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationFailedEventDetails {
    pub error: String,
    pub cause: String,
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskScheduledEventDetails {
    pub resource_type: String,
    pub resource: String,
    pub region: String,
    pub parameters: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeout_in_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub heartbeat_in_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStartedEventDetails {
    pub resource_type: String,
    pub resource: String,
}

/// Used by TaskSubmitted and TaskSucceeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputEventDetails {
    pub resource_type: String,
    pub resource: String,
    pub output: String,
    pub output_details: DataDetails,
}

/// Used by TaskFailed and TaskTimedOut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskErrorEventDetails {
    pub resource_type: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaFunctionScheduledEventDetails {
    pub resource: String,
    pub input: String,
    pub input_details: DataDetails,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeout_in_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapStateStartedEventDetails {
    pub length: usize,
}

/// Used by MapIterationStarted/Succeeded/Failed/Aborted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapIterationEventDetails {
    pub name: String,
    pub index: usize,
}

/// One `HistoryEvent`. Exactly one `*EventDetails` member is set, matching `type`
/// (some types, such as ParallelStateStarted, carry none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub timestamp: DateTime<Utc>,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub id: u64,
    pub previous_event_id: u64,
    /// Boxed: the struct has a member for every event type (about 750 bytes), and a history
    /// of small events is moved and grown far more cheaply.
    #[serde(flatten)]
    pub details: Box<EventDetails>,
}

/// The `*EventDetails` members of a history event. The members of events an execution
/// records at most once, or only when something fails, are boxed: every event carries
/// this struct's space, and kept under 1 KiB it is a small allocation (on glibc, one from
/// the thread cache rather than a large one that first consolidates the fast bins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetails {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_started_event_details: Option<ExecutionStartedEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_succeeded_event_details: Option<OutputEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_failed_event_details: Option<Box<ErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_aborted_event_details: Option<Box<ErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_timed_out_event_details: Option<Box<ErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_redriven_event_details: Option<ExecutionRedrivenEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state_entered_event_details: Option<StateEnteredEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state_exited_event_details: Option<StateExitedEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_scheduled_event_details: Option<TaskScheduledEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_started_event_details: Option<TaskStartedEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_submitted_event_details: Option<Box<TaskOutputEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_succeeded_event_details: Option<TaskOutputEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_failed_event_details: Option<Box<TaskErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_timed_out_event_details: Option<Box<TaskErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lambda_function_scheduled_event_details: Option<LambdaFunctionScheduledEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lambda_function_succeeded_event_details: Option<OutputEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lambda_function_failed_event_details: Option<Box<ErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lambda_function_timed_out_event_details: Option<Box<ErrorEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub map_state_started_event_details: Option<MapStateStartedEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub map_iteration_started_event_details: Option<MapIterationEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub map_iteration_succeeded_event_details: Option<MapIterationEventDetails>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub map_iteration_failed_event_details: Option<Box<MapIterationEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub map_iteration_aborted_event_details: Option<Box<MapIterationEventDetails>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evaluation_failed_event_details: Option<Box<EvaluationFailedEventDetails>>,
}

impl EventDetails {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn state_entered(name: &str, input: String) -> Self {
        Self {
            state_entered_event_details: Some(StateEnteredEventDetails {
                name: name.to_owned(),
                input,
                input_details: DataDetails::default(),
            }),
            ..Self::default()
        }
    }

    /// `*StateExited` with the state's output and the variables it assigned (name → JSON
    /// text), if any.
    pub fn state_exited(
        name: &str,
        output: String,
        assigned: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Self {
        let assigned_variables_details = assigned.as_ref().map(|_| DataDetails::default());
        Self {
            state_exited_event_details: Some(StateExitedEventDetails {
                name: name.to_owned(),
                output,
                output_details: DataDetails::default(),
                assigned_variables: assigned.map(Box::new),
                assigned_variables_details,
            }),
            ..Self::default()
        }
    }

    pub fn map_iteration(event_type: EventType, name: &str, index: usize) -> Self {
        let d = Some(MapIterationEventDetails {
            name: name.to_owned(),
            index,
        });
        let mut out = Self::default();
        match event_type {
            EventType::MapIterationStarted => out.map_iteration_started_event_details = d,
            EventType::MapIterationSucceeded => out.map_iteration_succeeded_event_details = d,
            EventType::MapIterationFailed => {
                out.map_iteration_failed_event_details = d.map(Box::new)
            }
            _ => out.map_iteration_aborted_event_details = d.map(Box::new),
        }
        out
    }
}

/// The events of one Task's life, in the form AWS records for its resource: `LambdaFunction*`
/// events for a plain Lambda function ARN, `Task*` events (with `resourceType` and
/// `resource`) for every other form.
pub(crate) struct TaskEvents<'a>(pub &'a Resource);

impl TaskEvents<'_> {
    /// `TaskScheduled` and `TaskStarted` (or the `LambdaFunction*` pair), for the effective
    /// input's text.
    pub(crate) fn scheduled(
        &self,
        region: &str,
        input: String,
        timeout_in_seconds: Option<u64>,
        heartbeat_in_seconds: Option<u64>,
    ) -> [(EventType, EventDetails); 2] {
        let r = self.0;
        if r.is_lambda_function() {
            let scheduled = EventDetails {
                lambda_function_scheduled_event_details: Some(
                    LambdaFunctionScheduledEventDetails {
                        resource: r.as_str().to_owned(),
                        input,
                        input_details: DataDetails::default(),
                        timeout_in_seconds,
                    },
                ),
                ..EventDetails::default()
            };
            return [
                (EventType::LambdaFunctionScheduled, scheduled),
                (EventType::LambdaFunctionStarted, EventDetails::none()),
            ];
        }
        let scheduled = EventDetails {
            task_scheduled_event_details: Some(TaskScheduledEventDetails {
                resource_type: r.resource_type().to_owned(),
                resource: r.resource_name().to_owned(),
                region: region.to_owned(),
                parameters: input,
                timeout_in_seconds,
                heartbeat_in_seconds,
            }),
            ..EventDetails::default()
        };
        let started = EventDetails {
            task_started_event_details: Some(TaskStartedEventDetails {
                resource_type: r.resource_type().to_owned(),
                resource: r.resource_name().to_owned(),
            }),
            ..EventDetails::default()
        };
        [
            (EventType::TaskScheduled, scheduled),
            (EventType::TaskStarted, started),
        ]
    }

    /// `TaskSubmitted`: a `.waitForTaskToken` dispatch returned (always the `Task*` form).
    pub(crate) fn submitted(&self, output: String) -> (EventType, EventDetails) {
        let details = EventDetails {
            task_submitted_event_details: Some(Box::new(self.output(output))),
            ..EventDetails::default()
        };
        (EventType::TaskSubmitted, details)
    }

    pub(crate) fn succeeded(&self, output: String) -> (EventType, EventDetails) {
        if self.0.is_lambda_function() {
            let details = EventDetails {
                lambda_function_succeeded_event_details: Some(OutputEventDetails {
                    output,
                    output_details: DataDetails::default(),
                }),
                ..EventDetails::default()
            };
            return (EventType::LambdaFunctionSucceeded, details);
        }
        let details = EventDetails {
            task_succeeded_event_details: Some(self.output(output)),
            ..EventDetails::default()
        };
        (EventType::TaskSucceeded, details)
    }

    /// `TaskFailed`, or `TaskTimedOut` when the Task ran out of time or heartbeat.
    pub(crate) fn failed(
        &self,
        error: Option<String>,
        cause: Option<String>,
        timed_out: bool,
    ) -> (EventType, EventDetails) {
        let mut d = EventDetails::default();
        if self.0.is_lambda_function() {
            let e = Some(Box::new(ErrorEventDetails { error, cause }));
            return if timed_out {
                d.lambda_function_timed_out_event_details = e;
                (EventType::LambdaFunctionTimedOut, d)
            } else {
                d.lambda_function_failed_event_details = e;
                (EventType::LambdaFunctionFailed, d)
            };
        }
        let e = Some(Box::new(TaskErrorEventDetails {
            resource_type: self.0.resource_type().to_owned(),
            resource: self.0.resource_name().to_owned(),
            error,
            cause,
        }));
        if timed_out {
            d.task_timed_out_event_details = e;
            (EventType::TaskTimedOut, d)
        } else {
            d.task_failed_event_details = e;
            (EventType::TaskFailed, d)
        }
    }

    fn output(&self, output: String) -> TaskOutputEventDetails {
        TaskOutputEventDetails {
            resource_type: self.0.resource_type().to_owned(),
            resource: self.0.resource_name().to_owned(),
            output,
            output_details: DataDetails::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_aws_shape() {
        let ev = HistoryEvent {
            timestamp: DateTime::<Utc>::default(),
            event_type: EventType::PassStateEntered,
            id: 2,
            previous_event_id: 1,
            details: Box::new(EventDetails::state_entered("A", "{}".into())),
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["type"], "PassStateEntered");
        assert_eq!(v["previousEventId"], 1);
        assert_eq!(v["stateEnteredEventDetails"]["name"], "A");
        assert_eq!(
            v["stateEnteredEventDetails"]["inputDetails"]["truncated"],
            false
        );
        assert!(v.get("stateExitedEventDetails").is_none());
        let back: HistoryEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev);
    }

    /// Every event allocates an `EventDetails`: it stays a small allocation (glibc serves
    /// requests up to 1,008 bytes from its small bins and thread cache).
    #[test]
    fn event_details_stay_a_small_allocation() {
        assert!(
            std::mem::size_of::<EventDetails>() <= 1008,
            "{} bytes",
            std::mem::size_of::<EventDetails>()
        );
    }

    /// A boxed member reads and writes as the plain one did.
    #[test]
    fn boxed_members_serialise_as_plain_ones() {
        let (ty, d) = TaskEvents(&Resource::parse("arn:aws:states:::lambda:invoke")).failed(
            Some("E".into()),
            Some("c".into()),
            false,
        );
        assert_eq!(ty, EventType::TaskFailed);
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"taskFailedEventDetails": {
                "resourceType": "lambda", "resource": "invoke", "error": "E", "cause": "c"}})
        );
        let back: EventDetails = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);
    }
}
