//! SQLite persistence: one file per local stack. Every state change of an execution is
//! written here before the API reports it (write-ahead), so a restarted service resumes
//! running executions, fires their due timers and accepts their pending task tokens.
//!
//! Tables: `state_machines` (current definition) and `state_machine_revisions` (every
//! definition an update produced), `executions` (the input, the engine's serialized
//! `ExecutionState` minus its history, input and definition text, status, the
//! DescribeExecution view minus the input; the name is unique per state machine),
//! `definitions` (each definition text an execution ran, once), `history` (one row per
//! event), `task_tokens` (tokens issued and whether still pending), `timers` (the next
//! wake-up of each running execution) and `callbacks`, the callback journal: a
//! `SendTaskSuccess`/`SendTaskFailure` is written there before the API acknowledges it,
//! and removed in the same transaction that saves a state which reflects it, so a
//! callback the API acknowledged survives a crash at any moment (`service.rs` replays the
//! journal when it resumes). What is split off and how it is put back: `stored.rs`.
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use cordon_engine::{ExecutionState, HistoryEvent};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::error::StoreError;
use crate::stored::{self, DefinitionIds};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL,
    revision_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state_machine_revisions (
    sm_arn TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (sm_arn, revision_id)
);
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    sm_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date REAL NOT NULL,
    stop_date REAL,
    input TEXT NOT NULL,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL,
    redrivable INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    history_len INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sm_arn, name)
);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status);
CREATE TABLE IF NOT EXISTS history (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_tokens (
    token TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    pending INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS task_tokens_by_execution ON task_tokens (execution_arn);
CREATE TABLE IF NOT EXISTS timers (
    execution_arn TEXT PRIMARY KEY,
    due REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS callbacks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_arn TEXT NOT NULL,
    state_name TEXT,
    token TEXT NOT NULL,
    callback TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS callbacks_by_execution ON callbacks (execution_arn);
"#;

/// How hard a commit waits for the disk (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `NORMAL`: a committed transaction survives a crash of the process (the default); a
    /// power loss may lose the last commits, never corrupt the file.
    #[default]
    Normal,
    /// `FULL`: every commit is on the disk (fsync) before the API answers.
    Full,
}

/// Seconds since the epoch, with milliseconds, as AWS's JSON timestamps.
pub fn epoch(t: &DateTime<Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0
}

/// A stored state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachineRow {
    pub arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub kind: String,
    pub created: f64,
    pub updated: Option<f64>,
    pub revision_id: String,
}

/// A stored execution's summary and DescribeExecution view.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRow {
    pub arn: String,
    pub sm_arn: String,
    pub name: String,
    pub status: String,
    pub start_date: f64,
    pub stop_date: Option<f64>,
    pub input: String,
    pub redrive_count: u32,
    pub redrive_date: Option<f64>,
    pub redrivable: bool,
    pub description: Value,
}

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

/// A callback written to the journal before it was acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct JournaledCallback {
    pub seq: i64,
    pub execution_arn: String,
    /// The Task state that issued the token, when the service knew it.
    pub state_name: Option<String>,
    pub token: String,
    /// The callback, as [`crate::service`] encodes it.
    pub callback: Value,
}

/// What inserting a new execution found.
pub enum Inserted {
    New,
    /// An execution with this name exists already.
    Exists(Box<ExecutionRow>),
}

pub struct Store {
    conn: Mutex<Connection>,
    definition_ids: Mutex<DefinitionIds>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

const EXEC_COLS: &str = "arn, sm_arn, name, status, start_date, stop_date, input, redrive_count, redrive_date, redrivable, description";

fn exec_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ExecutionRow, String)> {
    let description: String = r.get(10)?;
    Ok((
        ExecutionRow {
            arn: r.get(0)?,
            sm_arn: r.get(1)?,
            name: r.get(2)?,
            status: r.get(3)?,
            start_date: r.get(4)?,
            stop_date: r.get(5)?,
            input: r.get(6)?,
            redrive_count: r.get(7)?,
            redrive_date: r.get(8)?,
            redrivable: r.get::<_, i64>(9)? != 0,
            description: Value::Null,
        },
        description,
    ))
}

fn finish_row((mut row, description): (ExecutionRow, String)) -> Result<ExecutionRow, StoreError> {
    row.description = serde_json::from_str(&description).map_err(corrupt)?;
    stored::restore_description(&mut row.description, &row.input);
    Ok(row)
}

fn sm_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StateMachineRow> {
    Ok(StateMachineRow {
        arn: r.get(0)?,
        name: r.get(1)?,
        definition: r.get(2)?,
        role_arn: r.get(3)?,
        kind: r.get(4)?,
        created: r.get(5)?,
        updated: r.get(6)?,
        revision_id: r.get(7)?,
    })
}

const SM_COLS: &str = "arn, name, definition, role_arn, type, created, updated, revision_id";

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, Synchronous::Normal)
    }

    /// Opens (creating if needed) the database at `path`, committing as `synchronous` says.
    pub fn open_with(path: &Path, synchronous: Synchronous) -> Result<Self, StoreError> {
        let store = Self::init(Connection::open(path)?)?;
        if synchronous == Synchronous::Full {
            store.conn().pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(store)
    }

    /// A private in-memory database (for tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL + NORMAL: a committed transaction survives a process crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(stored::SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            definition_ids: Mutex::new(DefinitionIds::default()),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ------------------------------------------------------------ state machines

    pub fn insert_state_machine(&self, sm: &StateMachineRow) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            &format!("INSERT INTO state_machines ({SM_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
            params![
                sm.arn,
                sm.name,
                sm.definition,
                sm.role_arn,
                sm.kind,
                sm.created,
                sm.updated,
                sm.revision_id
            ],
        )?;
        tx.execute(
            "INSERT INTO state_machine_revisions (sm_arn, revision_id, definition, role_arn, created) VALUES (?1,?2,?3,?4,?5)",
            params![sm.arn, sm.revision_id, sm.definition, sm.role_arn, sm.created],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn update_state_machine(&self, sm: &StateMachineRow) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE state_machines SET definition = ?2, role_arn = ?3, updated = ?4, revision_id = ?5 WHERE arn = ?1",
            params![sm.arn, sm.definition, sm.role_arn, sm.updated, sm.revision_id],
        )?;
        tx.execute(
            "INSERT INTO state_machine_revisions (sm_arn, revision_id, definition, role_arn, created) VALUES (?1,?2,?3,?4,?5)",
            params![sm.arn, sm.revision_id, sm.definition, sm.role_arn, sm.updated.unwrap_or(sm.created)],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn state_machine(&self, arn: &str) -> Result<Option<StateMachineRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {SM_COLS} FROM state_machines WHERE arn = ?1"),
                [arn],
                sm_row,
            )
            .optional()?)
    }

    pub fn state_machine_by_name(&self, name: &str) -> Result<Option<StateMachineRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {SM_COLS} FROM state_machines WHERE name = ?1"),
                [name],
                sm_row,
            )
            .optional()?)
    }

    /// Every state machine, oldest first.
    pub fn state_machines(&self) -> Result<Vec<StateMachineRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SM_COLS} FROM state_machines ORDER BY created, rowid"
        ))?;
        let rows = stmt.query_map([], sm_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn delete_state_machine(&self, arn: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM state_machines WHERE arn = ?1", [arn])?;
        Ok(())
    }

    // ------------------------------------------------------------ executions

    /// The id of the execution's definition text, stored (once) outside any execution's
    /// transaction, so a rolled-back save never leaves an id behind that names nothing.
    fn definition_id(&self, conn: &Connection, st: &ExecutionState) -> Result<i64, StoreError> {
        self.definition_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .id(conn, &st.definition)
    }

    /// Inserts a new execution unless its name is taken on its state machine.
    pub fn insert_execution(&self, snap: &Snapshot<'_>) -> Result<Inserted, StoreError> {
        let st = snap.state;
        let mut conn = self.conn();
        let definition_id = self.definition_id(&conn, st)?;
        let tx = conn.transaction()?;
        let existing = tx
            .query_row(
                &format!("SELECT {EXEC_COLS} FROM executions WHERE sm_arn = ?1 AND name = ?2"),
                params![st.identity.state_machine_arn, st.identity.name],
                exec_row,
            )
            .optional()?;
        if let Some(row) = existing {
            return Ok(Inserted::Exists(Box::new(finish_row(row)?)));
        }
        tx.execute(
            "INSERT INTO executions (arn, sm_arn, name, status, start_date, input, description, state) VALUES (?1,?2,?3,?4,?5,?6,'{}','{}')",
            params![
                st.identity.execution_arn,
                st.identity.state_machine_arn,
                st.identity.name,
                st.status.as_str(),
                epoch(&st.start_time),
                serde_json::to_string(&st.input).map_err(corrupt)?,
            ],
        )?;
        Self::save_in(&tx, snap, definition_id)?;
        tx.commit()?;
        Ok(Inserted::New)
    }

    /// Writes an execution's new state, its new history events, tokens and timer.
    pub fn save_execution(&self, snap: &Snapshot<'_>) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let definition_id = self.definition_id(&conn, snap.state)?;
        let tx = conn.transaction()?;
        Self::save_in(&tx, snap, definition_id)?;
        tx.commit()?;
        Ok(())
    }

    fn save_in(
        tx: &rusqlite::Transaction<'_>,
        snap: &Snapshot<'_>,
        definition_id: i64,
    ) -> Result<(), StoreError> {
        let st = snap.state;
        let arn = &st.identity.execution_arn;
        let stored_len: i64 = tx.query_row(
            "SELECT history_len FROM executions WHERE arn = ?1",
            [arn],
            |r| r.get(0),
        )?;
        let stored_len = usize::try_from(stored_len).unwrap_or(0);
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO history (execution_arn, id, event) VALUES (?1, ?2, ?3)",
            )?;
            for ev in st.history.iter().skip(stored_len) {
                let text = serde_json::to_string(ev).map_err(corrupt)?;
                ins.execute(params![arn, ev.id as i64, text])?;
            }
        }
        tx.execute(
            "UPDATE executions SET status = ?2, stop_date = ?3, redrive_count = ?4, redrive_date = ?5, redrivable = ?6, description = ?7, state = ?8, history_len = ?9 WHERE arn = ?1",
            params![
                arn,
                st.status.as_str(),
                st.stop_time.as_ref().map(epoch),
                st.redrive_count,
                snap.redrive_date,
                snap.redrivable as i64,
                stored::description_text(&snap.description)?,
                stored::state_text(st, definition_id)?,
                st.history.len() as i64,
            ],
        )?;
        tx.execute(
            "UPDATE task_tokens SET pending = 0 WHERE execution_arn = ?1",
            [arn],
        )?;
        {
            let mut tok = tx.prepare_cached(
                "INSERT INTO task_tokens (token, execution_arn, pending) VALUES (?1, ?2, 1) ON CONFLICT(token) DO UPDATE SET pending = 1",
            )?;
            for t in &snap.pending_tokens {
                tok.execute(params![t, arn])?;
            }
            let mut retired = tx.prepare_cached(
                "INSERT INTO task_tokens (token, execution_arn, pending) VALUES (?1, ?2, 0) ON CONFLICT(token) DO NOTHING",
            )?;
            for t in &snap.retired_tokens {
                retired.execute(params![t, arn])?;
            }
        }
        // This state reflects every callback whose token it retired.
        tx.execute(
            "DELETE FROM callbacks WHERE execution_arn = ?1 AND token IN \
             (SELECT token FROM task_tokens WHERE execution_arn = ?1 AND pending = 0)",
            [arn],
        )?;
        match &snap.next_wakeup {
            Some(t) => tx.execute(
                "INSERT INTO timers (execution_arn, due) VALUES (?1, ?2) ON CONFLICT(execution_arn) DO UPDATE SET due = ?2",
                params![arn, epoch(t)],
            )?,
            None => tx.execute("DELETE FROM timers WHERE execution_arn = ?1", [arn])?,
        };
        Ok(())
    }

    pub fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>, StoreError> {
        let row = self
            .conn()
            .query_row(
                &format!("SELECT {EXEC_COLS} FROM executions WHERE arn = ?1"),
                [arn],
                exec_row,
            )
            .optional()?;
        row.map(finish_row).transpose()
    }

    /// Executions of a state machine, newest first, optionally of one status.
    pub fn executions(
        &self,
        sm_arn: &str,
        status: Option<&str>,
    ) -> Result<Vec<ExecutionRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EXEC_COLS} FROM executions WHERE sm_arn = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY rowid DESC"
        ))?;
        let rows = stmt.query_map(params![sm_arn, status], exec_row)?;
        rows.map(|r| finish_row(r?)).collect()
    }

    /// The full engine state of an execution, history included.
    pub fn load_state(&self, arn: &str) -> Result<Option<ExecutionState>, StoreError> {
        let conn = self.conn();
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT state, input FROM executions WHERE arn = ?1",
                [arn],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((text, input)) = row else {
            return Ok(None);
        };
        let mut v: Value = serde_json::from_str(&text).map_err(corrupt)?;
        stored::restore_state(&conn, &mut v, &input)?;
        let mut stmt =
            conn.prepare_cached("SELECT event FROM history WHERE execution_arn = ?1 ORDER BY id")?;
        let events = stmt
            .query_map([arn], |r| r.get::<_, String>(0))?
            .map(|t| -> Result<Value, StoreError> { serde_json::from_str(&t?).map_err(corrupt) })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(o) = v.as_object_mut() {
            o.insert("history".into(), Value::Array(events));
        }
        // Through text: map keys that are numbers round-trip reliably this way.
        let text = serde_json::to_string(&v).map_err(corrupt)?;
        serde_json::from_str(&text).map(Some).map_err(corrupt)
    }

    /// An execution's history events.
    pub fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT event FROM history WHERE execution_arn = ?1 ORDER BY id")?;
        let rows = stmt.query_map([arn], |r| r.get::<_, String>(0))?;
        rows.map(|t| serde_json::from_str(&t?).map_err(corrupt))
            .collect()
    }

    /// The ARNs of executions that were running when last persisted.
    pub fn running_executions(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT arn FROM executions WHERE status = 'RUNNING' ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The execution a task token was issued by, and whether it is still pending.
    pub fn token_owner(&self, token: &str) -> Result<Option<(String, bool)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT execution_arn, pending FROM task_tokens WHERE token = ?1",
                [token],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0)),
            )
            .optional()?)
    }

    /// Writes a callback to the journal (committed when this returns); its sequence number.
    pub fn journal_callback(
        &self,
        execution_arn: &str,
        state_name: Option<&str>,
        token: &str,
        callback: &Value,
    ) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO callbacks (execution_arn, state_name, token, callback) VALUES (?1, ?2, ?3, ?4)",
            params![
                execution_arn,
                state_name,
                token,
                serde_json::to_string(callback).map_err(corrupt)?
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Removes a journaled callback (the execution refused it, or it was replayed and a
    /// state that reflects it was saved).
    pub fn forget_callback(&self, seq: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM callbacks WHERE seq = ?1", [seq])?;
        Ok(())
    }

    /// The journaled callbacks of an execution, oldest first.
    pub fn journaled_callbacks(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<JournaledCallback>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, execution_arn, state_name, token, callback FROM callbacks \
             WHERE execution_arn = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([execution_arn], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, execution_arn, state_name, token, text) = row?;
            Ok(JournaledCallback {
                seq,
                execution_arn,
                state_name,
                token,
                callback: serde_json::from_str(&text).map_err(corrupt)?,
            })
        })
        .collect()
    }

    /// The due time of a running execution's next timer (epoch seconds).
    pub fn timer(&self, arn: &str) -> Result<Option<f64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT due FROM timers WHERE execution_arn = ?1",
                [arn],
                |r| r.get(0),
            )
            .optional()?)
    }
}
