//! The context object (`$$`), as a state sees it. Built here and only here.
//!
//! It is built only for a state that could read it ([`State::reads_context`], decided when
//! the definition is parsed), and copies the execution input into `$$.Execution.Input` only
//! for a state that could read that ([`State::reads_execution_input`]): for most states it
//! would be copied for nothing. A Task's dispatch is handed the `$$` its fields saw (a
//! Lambda on AWS receives none of it unless its Parameters pass it). Even then it is copied
//! once per execution, not once per state: a context object that nothing holds any more
//! hands its `Execution` member (input included) on to the next one that carries the input.
//!
//! [`State::reads_context`]: crate::definition::State
//! [`State::reads_execution_input`]: crate::definition::State
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::Execution;
use super::state::FrameId;
use crate::definition::Kind;

impl Execution {
    /// `$$` for the frame's current state, with `$$.Task.Token` for a `.waitForTaskToken`
    /// dispatch and `$$.Map.Item` for a Map iteration's ItemSelector; `null` when no field
    /// of the state mentions the context object.
    ///
    /// Built once per state entry and attempt: the state's fields, its dispatch and its
    /// result share it (`context_cache`).
    pub(super) fn context(
        &mut self,
        fid: FrameId,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Arc<Value> {
        let key = self
            .frame(fid)
            .map(|f| (fid, f.entered_event_id, f.retry_total));
        let cacheable = token.is_none() && item.is_none();
        if cacheable
            && let (Some(key), Some((cached, ctx))) = (key, &self.context_cache)
            && key == *cached
        {
            return ctx.clone();
        }
        // The context of the state before is done with once nothing else holds it: its
        // execution half (the copy of the execution input, mostly) is the same for this one.
        if let Some((_, old)) = self.context_cache.take() {
            self.keep_spare(old);
        }
        let mut spare = self.context_spare.take();
        let ctx = Arc::new(self.build_context_from(fid, token, item, &mut spare));
        self.context_spare = spare;
        debug_assert_eq!(
            crate::json_text::compact(&ctx),
            crate::json_text::compact(&self.build_context(fid, token, item)),
            "a context built from a spare is the one built anew"
        );
        if cacheable && let Some(key) = key {
            self.context_cache = Some((key, ctx.clone()));
        }
        ctx
    }

    /// Keeps a context object nothing else holds, if it carries `$$.Execution.Input`, for
    /// the next context to take its `Execution` and `StateMachine` members from rather than
    /// copy the execution input again.
    fn keep_spare(&mut self, old: Arc<Value>) {
        if let Ok(Value::Object(map)) = Arc::try_unwrap(old)
            && map
                .get("Execution")
                .is_some_and(|e| e.get("Input").is_some())
        {
            self.context_spare = Some(map);
        }
    }

    /// [`Execution::context`] built anew, for a reader that cannot update the cache.
    pub(super) fn build_context(
        &self,
        fid: FrameId,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        self.build_context_from(fid, token, item, &mut None)
    }

    /// The context object. `spare` is an earlier context object of this execution that
    /// carries `$$.Execution.Input` (kept by [`Execution::keep_spare`]): its `Execution`
    /// and `StateMachine` members are the same for every state of the execution but for
    /// `RedriveCount`, so a context that carries the input takes them over (leaving `None`)
    /// rather than build them (and copy the input) again.
    fn build_context_from(
        &self,
        fid: FrameId,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
        spare: &mut Option<Map<String, Value>>,
    ) -> Value {
        let st = &self.st;
        let mut state = Map::new();
        let mut with_input = true;
        if let Some(f) = self.frame(fid) {
            let current = self.def.machines[f.machine].get(&f.state);
            if current.is_some_and(|s| !s.reads_context) {
                return Value::Null;
            }
            with_input = current.is_none_or(|s| s.reads_execution_input);
            state.insert("Name".into(), json!(f.state));
            state.insert("EnteredTime".into(), json!(timestamp_text(&f.entered_time)));
            let execution_state = current.is_some_and(|s| {
                matches!(s.kind, Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_))
            });
            if execution_state {
                state.insert("RetryCount".into(), json!(f.retry_total));
            }
        }
        let reused = spare.take_if(|_| with_input).and_then(|mut old| {
            let execution = old.shift_remove("Execution")?;
            let machine = old.shift_remove("StateMachine")?;
            old.clear();
            Some((old, execution, machine))
        });
        let mut ctx = match reused {
            Some((mut ctx, mut execution, machine)) => {
                // The one member that changes during an execution (a redrive).
                if let Some(count) = execution.get_mut("RedriveCount") {
                    *count = json!(st.redrive_count);
                }
                ctx.insert("Execution".into(), execution);
                ctx.insert("StateMachine".into(), machine);
                ctx
            }
            None => {
                let mut ctx = Map::new();
                let mut execution = Map::new();
                execution.insert("Id".into(), json!(st.identity.execution_arn));
                if with_input {
                    execution.insert("Input".into(), Value::clone(&st.input));
                }
                execution.insert("StartTime".into(), json!(timestamp_text(&st.start_time)));
                execution.insert("Name".into(), json!(st.identity.name));
                execution.insert("RoleArn".into(), json!(st.identity.role_arn));
                execution.insert("RedriveCount".into(), json!(st.redrive_count));
                ctx.insert("Execution".into(), Value::Object(execution));
                ctx.insert(
                    "StateMachine".into(),
                    json!({"Id": st.identity.state_machine_arn, "Name": st.identity.state_machine_name}),
                );
                ctx
            }
        };
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
