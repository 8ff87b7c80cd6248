//! What the store writes of an execution, and how it puts it back together.
//!
//! An execution's state and its DescribeExecution view are rewritten at every save, so
//! nothing large that never changes may ride in them: the execution input is stored once
//! (the `executions.input` column), the definition text once per distinct definition (the
//! `definitions` table, shared by every execution of it), and the history once per event
//! (`chunk.rs`). The stored state and view name those instead of holding them, the state
//! holds no output either (the view has it), and both are deflated (`packed.rs`).
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_engine::dataflow::Variables;
use cordon_engine::execution::{ExecutionIdentity, Frame, FrameId, RedrivePoint};
use cordon_engine::{ExecutionState, ExecutionStatus};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::error::StoreError;

/// Seconds since the epoch, with milliseconds, as AWS's JSON timestamps.
pub fn epoch(t: &DateTime<Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0
}

/// The table of definition texts; executions name theirs by id.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS definitions (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
";

/// The key under which the stored state names its definition.
const DEFINITION_ID: &str = "definition_id";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// [`ExecutionState`] as stored: every field but the history, the input, the output (the
/// DescribeExecution view holds it) and the definition text, which is named by id. Built by destructuring, so a field added to the
/// engine's state fails to compile here until it is stored too.
#[derive(Serialize)]
struct StoredState<'a> {
    definition_id: i64,
    identity: &'a ExecutionIdentity,
    start_time: &'a DateTime<Utc>,
    stop_time: &'a Option<DateTime<Utc>>,
    status: ExecutionStatus,
    error: &'a Option<String>,
    cause: &'a Option<String>,
    redrive_count: u32,
    frames: &'a std::collections::BTreeMap<FrameId, Frame>,
    runnable: &'a std::collections::VecDeque<FrameId>,
    next_frame_id: FrameId,
    next_seq: u64,
    deadline: &'a Option<DateTime<Utc>>,
    expired_tokens: &'a std::collections::BTreeSet<String>,
    redrive_point: &'a Option<RedrivePoint>,
    variables: &'a Variables,
    express: bool,
}

/// The stored text of an execution's state (see [`StoredState`]).
pub(crate) fn state_text(st: &ExecutionState, definition_id: i64) -> Result<String, StoreError> {
    let ExecutionState {
        definition: _,
        identity,
        input: _,
        start_time,
        stop_time,
        status,
        output: _,
        error,
        cause,
        redrive_count,
        history: _,
        frames,
        runnable,
        next_frame_id,
        next_seq,
        deadline,
        expired_tokens,
        redrive_point,
        variables,
        express,
    } = st;
    serde_json::to_string(&StoredState {
        definition_id,
        identity,
        start_time,
        stop_time,
        status: *status,
        error,
        cause,
        redrive_count: *redrive_count,
        frames,
        runnable,
        next_frame_id: *next_frame_id,
        next_seq: *next_seq,
        deadline,
        expired_tokens,
        redrive_point,
        variables,
        express: *express,
    })
    .map_err(corrupt)
}

/// Puts the definition text, the input and the output (`output_text`, from the view) back
/// into a stored state (a state stored before they were split off still holds them, and is
/// left as it is).
pub(crate) fn restore_state(
    conn: &Connection,
    state: &mut Value,
    input_text: &str,
    output_text: Option<&str>,
) -> Result<(), StoreError> {
    let Some(o) = state.as_object_mut() else {
        return Err(corrupt("the stored execution state is not an object"));
    };
    if let Some(id) = o.remove(DEFINITION_ID) {
        let id = id
            .as_i64()
            .ok_or_else(|| corrupt("the stored definition id is not a number"))?;
        let text: String = conn
            .query_row("SELECT text FROM definitions WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| corrupt(format!("the stored definition {id} is missing")))?;
        o.insert("definition".into(), Value::String(text));
    }
    if !o.contains_key("input") {
        let input: Value = serde_json::from_str(input_text).map_err(corrupt)?;
        o.insert("input".into(), input);
    }
    if !o.contains_key("output") {
        let output = match output_text {
            Some(t) => serde_json::from_str(t).map_err(corrupt)?,
            None => Value::Null,
        };
        o.insert("output".into(), output);
    }
    Ok(())
}

/// The output text a stored DescribeExecution view reports (SUCCEEDED executions only).
pub(crate) fn description_output(description: &Value) -> Option<&str> {
    description.get("output").and_then(Value::as_str)
}

/// The DescribeExecution view as stored: without `input`, which the row holds once.
pub(crate) fn description_text(description: &Value) -> Result<String, StoreError> {
    match description.as_object() {
        Some(o) if o.contains_key("input") => {
            let mut o = o.clone();
            o.remove("input");
            serde_json::to_string(&o).map_err(corrupt)
        }
        _ => serde_json::to_string(description).map_err(corrupt),
    }
}

/// Puts the input (as JSON text, the way DescribeExecution reports it) back into a stored
/// view, in the place the engine puts it: after `stopDate`, before `inputDetails`.
pub(crate) fn restore_description(description: &mut Value, input_text: &str) {
    let Some(o) = description.as_object_mut() else {
        return;
    };
    if o.contains_key("input") {
        return;
    }
    let mut out = serde_json::Map::new();
    for (k, v) in std::mem::take(o) {
        if k == "inputDetails" {
            out.insert("input".into(), Value::String(input_text.to_owned()));
        }
        out.insert(k, v);
    }
    if !out.contains_key("input") {
        out.insert("input".into(), Value::String(input_text.to_owned()));
    }
    *o = out;
}

/// The ids of the definitions stored so far, by text: a definition is looked up in SQLite
/// only the first time an execution of it is stored.
#[derive(Default)]
pub(crate) struct DefinitionIds(HashMap<Arc<str>, i64>);

impl DefinitionIds {
    /// The id of `text`, if it was stored or looked up before.
    pub(crate) fn cached(&self, text: &Arc<str>) -> Option<i64> {
        self.0.get(text).copied()
    }

    /// The id of `text` in the `definitions` table, inserting it the first time.
    pub(crate) fn id(&mut self, conn: &Connection, text: &Arc<str>) -> Result<i64, StoreError> {
        if let Some(id) = self.0.get(text) {
            return Ok(*id);
        }
        conn.execute(
            "INSERT INTO definitions (text) VALUES (?1) ON CONFLICT(text) DO NOTHING",
            params![&**text],
        )?;
        let id: i64 = conn.query_row(
            "SELECT id FROM definitions WHERE text = ?1",
            params![&**text],
            |r| r.get(0),
        )?;
        self.0.insert(text.clone(), id);
        Ok(id)
    }
}
