//! One execution's save, encoded before it reaches the writer thread: the caller's thread
//! serialises and deflates (`stored.rs`, `chunk.rs`), the writer only runs the statements.
use chrono::{DateTime, Utc};
use cordon_engine::ExecutionState;
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::chunk;
use crate::error::StoreError;
use crate::packed;
use crate::stored::{self, epoch};

/// Everything persisted about an execution after it moved.
pub struct Snapshot<'a> {
    pub state: &'a ExecutionState,
    pub description: Value,
    pub pending_tokens: Vec<String>,
    /// Tokens answered, timed out or aborted: journaled callbacks for them are reflected
    /// by this state and leave the journal with it.
    pub next_wakeup: Option<DateTime<Utc>>,
    pub retired_tokens: Vec<String>,
    pub redrivable: bool,
    pub redrive_date: Option<f64>,
}

/// The columns of a new execution's row that never change.
pub(crate) struct NewRow {
    pub(crate) sm_arn: String,
    pub(crate) name: String,
    pub(crate) start_date: f64,
    /// Packed (`packed.rs`).
    pub(crate) input: Vec<u8>,
}

/// Everything one save writes, ready for the writer.
pub struct PreparedSave {
    pub(crate) arn: String,
    /// Set for the save that creates the execution.
    pub(crate) new_row: Option<NewRow>,
    status: &'static str,
    stop_date: Option<f64>,
    redrive_count: u32,
    redrive_date: Option<f64>,
    redrivable: bool,
    description: Vec<u8>,
    state: Vec<u8>,
    /// The events this save adds: the first one's id, and the chunk.
    chunk: Option<(i64, Vec<u8>)>,
    history_len: usize,
    pending_tokens: Vec<String>,
    retired_tokens: Vec<String>,
    next_wakeup: Option<f64>,
}

impl PreparedSave {
    /// Encodes `snap`, whose history's first `stored_len` events are stored already.
    pub(crate) fn encode(
        snap: &Snapshot<'_>,
        definition_id: i64,
        stored_len: usize,
        input: &str,
        new_row: Option<NewRow>,
    ) -> Result<Self, StoreError> {
        let st = snap.state;
        let new_events = st.history.get(stored_len..).unwrap_or_default();
        let chunk = match new_events.first() {
            Some(first) => {
                let output = stored::description_output(&snap.description);
                Some((first.id as i64, chunk::encode(new_events, input, output)?))
            }
            None => None,
        };
        Ok(Self {
            arn: st.identity.execution_arn.clone(),
            new_row,
            status: st.status.as_str(),
            stop_date: st.stop_time.as_ref().map(epoch),
            redrive_count: st.redrive_count,
            redrive_date: snap.redrive_date,
            redrivable: snap.redrivable,
            description: packed::pack(stored::description_text(&snap.description)?.as_bytes()),
            state: packed::pack(stored::state_text(st, definition_id)?.as_bytes()),
            chunk,
            history_len: st.history.len(),
            pending_tokens: snap.pending_tokens.clone(),
            retired_tokens: snap.retired_tokens.clone(),
            next_wakeup: snap.next_wakeup.as_ref().map(epoch),
        })
    }

    /// The execution, its history length once this is committed, and whether it still runs.
    pub(crate) fn progress(&self) -> (String, usize, bool) {
        (self.arn.clone(), self.history_len, self.status == "RUNNING")
    }

    /// Writes the save (inside the writer's transaction).
    pub(crate) fn write(&self, conn: &Connection) -> Result<(), StoreError> {
        let arn = &self.arn;
        if let Some(row) = &self.new_row {
            conn.prepare_cached(
                "INSERT INTO executions (arn, sm_arn, name, status, start_date, input, description, state) VALUES (?1,?2,?3,?4,?5,?6,x'',x'')",
            )?
            .execute(params![arn, row.sm_arn, row.name, self.status, row.start_date, row.input])?;
        }
        if let Some((first_id, blob)) = &self.chunk {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO history_chunks (execution_arn, first_id, events) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![arn, first_id, blob])?;
        }
        conn.prepare_cached(
            "UPDATE executions SET status = ?2, stop_date = ?3, redrive_count = ?4, redrive_date = ?5, redrivable = ?6, description = ?7, state = ?8, history_len = ?9 WHERE arn = ?1",
        )?
        .execute(params![
            arn,
            self.status,
            self.stop_date,
            self.redrive_count,
            self.redrive_date,
            self.redrivable as i64,
            self.description,
            self.state,
            self.history_len as i64,
        ])?;
        // A new execution has no tokens, timers or callbacks yet.
        let fresh = self.new_row.is_some();
        if !(fresh && self.pending_tokens.is_empty() && self.retired_tokens.is_empty()) {
            conn.prepare_cached("UPDATE task_tokens SET pending = 0 WHERE execution_arn = ?1")?
                .execute([arn])?;
            let mut tok = conn.prepare_cached(
                "INSERT INTO task_tokens (token, execution_arn, pending) VALUES (?1, ?2, 1) ON CONFLICT(token) DO UPDATE SET pending = 1",
            )?;
            for t in &self.pending_tokens {
                tok.execute(params![t, arn])?;
            }
            let mut retired = conn.prepare_cached(
                "INSERT INTO task_tokens (token, execution_arn, pending) VALUES (?1, ?2, 0) ON CONFLICT(token) DO NOTHING",
            )?;
            for t in &self.retired_tokens {
                retired.execute(params![t, arn])?;
            }
        }
        if !fresh {
            // This state reflects every callback whose token it retired.
            conn.prepare_cached(
                "DELETE FROM callbacks WHERE execution_arn = ?1 AND token IN \
                 (SELECT token FROM task_tokens WHERE execution_arn = ?1 AND pending = 0)",
            )?
            .execute([arn])?;
        }
        match self.next_wakeup {
            Some(due) => conn
                .prepare_cached(
                    "INSERT INTO timers (execution_arn, due) VALUES (?1, ?2) ON CONFLICT(execution_arn) DO UPDATE SET due = ?2",
                )?
                .execute(params![arn, due])?,
            None if fresh => 0,
            None => conn
                .prepare_cached("DELETE FROM timers WHERE execution_arn = ?1")?
                .execute([arn])?,
        };
        Ok(())
    }
}
