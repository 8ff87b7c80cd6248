//! The context object (`$$`), as a state sees it. Built here and only here.
//!
//! It is rebuilt for every state that reads it (a known cost: the execution and state
//! machine parts do not change during an execution and could be built once).
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::Execution;
use super::state::FrameId;
use crate::definition::Kind;

impl Execution {
    /// `$$` for the frame's current state, with `$$.Task.Token` for a `.waitForTaskToken`
    /// dispatch and `$$.Map.Item` for a Map iteration's ItemSelector.
    pub(super) fn context(
        &self,
        fid: FrameId,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let st = &self.st;
        let mut state = Map::new();
        if let Some(f) = self.frame(fid) {
            state.insert("Name".into(), json!(f.state));
            state.insert("EnteredTime".into(), json!(timestamp_text(&f.entered_time)));
            let execution_state = self.def.machines[f.machine].get(&f.state).is_some_and(|s| {
                matches!(s.kind, Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_))
            });
            if execution_state {
                state.insert("RetryCount".into(), json!(f.retry_total));
            }
        }
        let mut ctx = Map::new();
        ctx.insert(
            "Execution".into(),
            json!({
                "Id": st.identity.execution_arn,
                "Input": st.input,
                "StartTime": timestamp_text(&st.start_time),
                "Name": st.identity.name,
                "RoleArn": st.identity.role_arn,
                "RedriveCount": st.redrive_count,
            }),
        );
        ctx.insert(
            "StateMachine".into(),
            json!({"Id": st.identity.state_machine_arn, "Name": st.identity.state_machine_name}),
        );
        ctx.insert("State".into(), Value::Object(state));
        if let Some(t) = token {
            ctx.insert("Task".into(), json!({ "Token": t }));
        }
        if let Some((index, value)) = item {
            ctx.insert(
                "Map".into(),
                json!({"Item": {"Index": index, "Value": value}}),
            );
        }
        Value::Object(ctx)
    }
}

fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
