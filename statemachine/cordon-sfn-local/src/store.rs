//! SQLite persistence: one file per local stack. Every state change of an execution is
//! written here before the API reports it (write-ahead), so a restarted service resumes
//! running executions, fires their due timers and accepts their pending task tokens.
//!
//! Tables: `state_machines` (current definition) and `state_machine_revisions` (every
//! definition an update produced), `executions` (the input, the engine's serialized
//! `ExecutionState` minus its history, input, output and definition text, status, the
//! DescribeExecution view minus the input, the large ones deflated; the name is unique
//! per state machine),
//! `definitions` (each definition text an execution ran, once), `history_chunks` (the
//! events each save added, compactly: `chunk.rs`; `history`, one row per event, is what
//! older versions wrote and is still read), `task_tokens` (tokens issued and whether
//! still pending), `timers` (the next wake-up of each running execution) and `callbacks`,
//! the callback journal: a
//! `SendTaskSuccess`/`SendTaskFailure` is written there before the API acknowledges it,
//! and removed in the same transaction that saves a state which reflects it, so a
//! callback the API acknowledged survives a crash at any moment (`service.rs` replays the
//! journal when it resumes). What is split off and how it is put back: `stored.rs`.
//!
//! Every write goes through one writer thread that commits all the writes waiting in one
//! transaction (`writer.rs`); a write's caller gets its answer only after that commit.
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cordon_engine::{ExecutionState, HistoryEvent};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::error::StoreError;
use crate::save::NewRow;
pub use crate::save::{PreparedSave, Snapshot};
pub use crate::stored::epoch;
use crate::stored::{self, DefinitionIds};
use crate::writer::Writer;
use crate::{chunk, packed};

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
CREATE TABLE IF NOT EXISTS history_chunks (
    execution_arn TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    events BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS history_chunks_by_execution
    ON history_chunks (execution_arn, first_id);
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

/// The page size of a new database (an existing one keeps its own): an execution's row and
/// its history chunk are 2-3 KiB each, which left half of each 4 KiB page empty.
const PAGE_SIZE: i64 = 8192;

/// How hard a commit waits for the disk (SQLite's `synchronous`, in WAL mode). Either way
/// the API answers a request only after the transaction holding what it acknowledges
/// committed (writes are grouped: one commit serves every write waiting for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `NORMAL`: a committed transaction is in the WAL file when the API answers, so it
    /// survives a crash or kill of the process (the default); a power loss or OS crash may
    /// lose the last commits, never corrupt the file.
    #[default]
    Normal,
    /// `FULL`: every commit is on the disk (fsync of the WAL) before the API answers, so an
    /// answered request survives a power loss too.
    Full,
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
    /// The connection that writes (the writer thread's; state machines and definition
    /// texts are written through it directly).
    conn: Arc<Mutex<Connection>>,
    /// A second connection for reads, for a database file: in WAL mode it reads the last
    /// commit while the writer runs the next transaction (an in-memory database has one
    /// connection, `conn`).
    reader: Option<Mutex<Connection>>,
    /// Dropping it lets the queued writes commit, then closes the write connection.
    writer: Writer,
    definition_ids: Mutex<DefinitionIds>,
    /// How many history events of each running execution are committed, so a save encodes
    /// only the new ones without waiting for the connection (read from the row when
    /// missing). Saves of one execution are sequential, and this is updated only after a
    /// commit, so it is never ahead of the database.
    stored_events: Mutex<HashMap<String, usize>>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

const EXEC_COLS: &str = "arn, sm_arn, name, status, start_date, stop_date, input, redrive_count, redrive_date, redrivable, description";

/// An execution's row, with its packed columns (input, description) still packed.
type RawRow = (ExecutionRow, SqlValue, SqlValue);

fn exec_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    let input: SqlValue = r.get(6)?;
    let description: SqlValue = r.get(10)?;
    Ok((
        ExecutionRow {
            arn: r.get(0)?,
            sm_arn: r.get(1)?,
            name: r.get(2)?,
            status: r.get(3)?,
            start_date: r.get(4)?,
            stop_date: r.get(5)?,
            input: String::new(),
            redrive_count: r.get(7)?,
            redrive_date: r.get(8)?,
            redrivable: r.get::<_, i64>(9)? != 0,
            description: Value::Null,
        },
        input,
        description,
    ))
}

fn finish_row((mut row, input, description): RawRow) -> Result<ExecutionRow, StoreError> {
    row.input = packed::unpack(ValueRef::from(&input))?;
    let description = packed::unpack(ValueRef::from(&description))?;
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
        let mut store = Self::init(Connection::open(path)?)?;
        if synchronous == Synchronous::Full {
            store.conn().pragma_update(None, "synchronous", "FULL")?;
        }
        let reader = Connection::open(path)?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        store.reader = Some(Mutex::new(reader));
        Ok(store)
    }

    /// A private in-memory database (for tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL + NORMAL: a committed transaction survives a process crash.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(stored::SCHEMA)?;
        let conn = Arc::new(Mutex::new(conn));
        Ok(Self {
            writer: Writer::start(conn.clone())?,
            conn,
            reader: None,
            definition_ids: Mutex::new(DefinitionIds::default()),
            stored_events: Mutex::new(HashMap::new()),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection to read with (sees every commit that has been answered).
    fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        match &self.reader {
            Some(r) => r.lock().unwrap_or_else(|e| e.into_inner()),
            None => self.conn(),
        }
    }

    fn stored_events(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.stored_events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers how much of an execution's history is committed (forgotten once it ended).
    fn committed(&self, arn: String, history_len: usize, running: bool) {
        let mut stored = self.stored_events();
        if running {
            stored.insert(arn, history_len);
        } else {
            stored.remove(&arn);
        }
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
            .read()
            .query_row(
                &format!("SELECT {SM_COLS} FROM state_machines WHERE arn = ?1"),
                [arn],
                sm_row,
            )
            .optional()?)
    }

    pub fn state_machine_by_name(&self, name: &str) -> Result<Option<StateMachineRow>, StoreError> {
        Ok(self
            .read()
            .query_row(
                &format!("SELECT {SM_COLS} FROM state_machines WHERE name = ?1"),
                [name],
                sm_row,
            )
            .optional()?)
    }

    /// Every state machine, oldest first.
    pub fn state_machines(&self) -> Result<Vec<StateMachineRow>, StoreError> {
        let conn = self.read();
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
    fn definition_id(&self, st: &ExecutionState) -> Result<i64, StoreError> {
        let mut ids = self
            .definition_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(id) = ids.cached(&st.definition) {
            return Ok(id);
        }
        ids.id(&self.conn(), &st.definition)
    }

    /// Encodes the save that creates a new execution (see [`Self::insert`]).
    pub fn prepare_insert(&self, snap: &Snapshot<'_>) -> Result<PreparedSave, StoreError> {
        let st = snap.state;
        let input = input_text(snap)?;
        let definition_id = self.definition_id(st)?;
        let new_row = NewRow {
            sm_arn: st.identity.state_machine_arn.clone(),
            name: st.identity.name.clone(),
            start_date: epoch(&st.start_time),
            input: packed::pack(input.as_bytes()),
        };
        PreparedSave::encode(snap, definition_id, 0, &input, Some(new_row))
    }

    /// Encodes a save of an execution already stored (see [`Self::save`]): its new history
    /// events, state, tokens and timer. Runs on the caller's thread, not the writer's.
    pub fn prepare_save(&self, snap: &Snapshot<'_>) -> Result<PreparedSave, StoreError> {
        let st = snap.state;
        let arn = &st.identity.execution_arn;
        let definition_id = self.definition_id(st)?;
        let known = self.stored_events().get(arn).copied();
        let stored_len = match known {
            Some(n) => n,
            None => {
                let n: i64 = self
                    .read()
                    .prepare_cached("SELECT history_len FROM executions WHERE arn = ?1")?
                    .query_row([arn], |r| r.get(0))?;
                usize::try_from(n).unwrap_or(0)
            }
        };
        // The text the row holds (the same serialisation as at insert).
        let input = input_text(snap)?;
        PreparedSave::encode(snap, definition_id, stored_len, &input, None)
    }

    /// Inserts a new execution unless its name is taken on its state machine; resolves once
    /// committed.
    pub async fn insert(&self, save: PreparedSave) -> Result<Inserted, StoreError> {
        let (arn, len, running) = save.progress();
        let inserted = self
            .writer
            .write(move |conn| insert_in(conn, &save))
            .await?;
        if matches!(inserted, Inserted::New) {
            self.committed(arn, len, running);
        }
        Ok(inserted)
    }

    /// Writes a prepared save; resolves once committed.
    pub async fn save(&self, save: PreparedSave) -> Result<(), StoreError> {
        let (arn, len, running) = save.progress();
        self.writer.write(move |conn| save.write(conn)).await?;
        self.committed(arn, len, running);
        Ok(())
    }

    /// Inserts a new execution unless its name is taken on its state machine (blocking
    /// until committed).
    pub fn insert_execution(&self, snap: &Snapshot<'_>) -> Result<Inserted, StoreError> {
        let save = self.prepare_insert(snap)?;
        let (arn, len, running) = save.progress();
        let inserted = self
            .writer
            .write_blocking(move |conn| insert_in(conn, &save))?;
        if matches!(inserted, Inserted::New) {
            self.committed(arn, len, running);
        }
        Ok(inserted)
    }

    /// Writes an execution's new state, its new history events, tokens and timer (blocking
    /// until committed).
    pub fn save_execution(&self, snap: &Snapshot<'_>) -> Result<(), StoreError> {
        let save = self.prepare_save(snap)?;
        let (arn, len, running) = save.progress();
        self.writer.write_blocking(move |conn| save.write(conn))?;
        self.committed(arn, len, running);
        Ok(())
    }

    /// The stored events of an execution, in order: rows an older version wrote, then the
    /// chunks. An event read already is skipped (a save retried after a failed commit
    /// writes its events again).
    fn events(conn: &Connection, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        let Some((input, description)) = conn
            .prepare_cached("SELECT input, description FROM executions WHERE arn = ?1")?
            .query_row([arn], |r| {
                Ok((r.get::<_, SqlValue>(0)?, r.get::<_, SqlValue>(1)?))
            })
            .optional()?
        else {
            return Ok(Vec::new());
        };
        let input = packed::unpack(ValueRef::from(&input))?;
        let mut events: Vec<HistoryEvent> = Vec::new();
        let mut legacy =
            conn.prepare_cached("SELECT event FROM history WHERE execution_arn = ?1 ORDER BY id")?;
        for text in legacy.query_map([arn], |r| r.get::<_, String>(0))? {
            events.push(serde_json::from_str(&text?).map_err(corrupt)?);
        }
        let mut chunks = conn.prepare_cached(
            "SELECT events FROM history_chunks WHERE execution_arn = ?1 ORDER BY first_id",
        )?;
        let mut rows = chunks.query([arn])?;
        let mut output: Option<Option<String>> = None;
        while let Some(row) = rows.next()? {
            let blob = row.get_ref(0)?.as_blob().map_err(corrupt)?;
            // The output is read only for a chunk that references it.
            let output = output.get_or_insert_with(|| {
                packed::unpack(ValueRef::from(&description))
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .and_then(|d| stored::description_output(&d).map(str::to_owned))
            });
            for ev in chunk::decode(blob, &input, output.as_deref())? {
                if events.last().is_none_or(|last| ev.id > last.id) {
                    events.push(ev);
                }
            }
        }
        Ok(events)
    }

    pub fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>, StoreError> {
        let row = self
            .read()
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
        let conn = self.read();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EXEC_COLS} FROM executions WHERE sm_arn = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY rowid DESC"
        ))?;
        let rows = stmt.query_map(params![sm_arn, status], exec_row)?;
        rows.map(|r| finish_row(r?)).collect()
    }

    /// The full engine state of an execution, history included.
    pub fn load_state(&self, arn: &str) -> Result<Option<ExecutionState>, StoreError> {
        let conn = self.read();
        let row: Option<(SqlValue, SqlValue, SqlValue)> = conn
            .query_row(
                "SELECT state, input, description FROM executions WHERE arn = ?1",
                [arn],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((state, input, description)) = row else {
            return Ok(None);
        };
        let text = packed::unpack(ValueRef::from(&state))?;
        let input = packed::unpack(ValueRef::from(&input))?;
        let mut v: Value = serde_json::from_str(&text).map_err(corrupt)?;
        let description: Value =
            serde_json::from_str(&packed::unpack(ValueRef::from(&description))?)
                .map_err(corrupt)?;
        stored::restore_state(
            &conn,
            &mut v,
            &input,
            stored::description_output(&description),
        )?;
        let events = Self::events(&conn, arn)?;
        drop(conn);
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "history".into(),
                serde_json::to_value(events).map_err(corrupt)?,
            );
        }
        // Through text: map keys that are numbers round-trip reliably this way.
        let text = serde_json::to_string(&v).map_err(corrupt)?;
        serde_json::from_str(&text).map(Some).map_err(corrupt)
    }

    /// An execution's history events.
    pub fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        Self::events(&self.read(), arn)
    }

    /// The ARNs of executions that were running when last persisted.
    pub fn running_executions(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.read();
        let mut stmt =
            conn.prepare("SELECT arn FROM executions WHERE status = 'RUNNING' ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The execution a task token was issued by, and whether it is still pending.
    pub fn token_owner(&self, token: &str) -> Result<Option<(String, bool)>, StoreError> {
        Ok(self
            .read()
            .query_row(
                "SELECT execution_arn, pending FROM task_tokens WHERE token = ?1",
                [token],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0)),
            )
            .optional()?)
    }

    /// Writes a callback to the journal; resolves to its sequence number once committed.
    pub async fn journal_callback(
        &self,
        execution_arn: &str,
        state_name: Option<&str>,
        token: &str,
        callback: &Value,
    ) -> Result<i64, StoreError> {
        let row = (
            execution_arn.to_owned(),
            state_name.map(str::to_owned),
            token.to_owned(),
            serde_json::to_string(callback).map_err(corrupt)?,
        );
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO callbacks (execution_arn, state_name, token, callback) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![row.0, row.1, row.2, row.3])?;
                Ok(conn.last_insert_rowid())
            })
            .await
    }

    /// Removes a journaled callback (the execution refused it, or it was replayed and a
    /// state that reflects it was saved); resolves once committed.
    pub async fn forget_callback(&self, seq: i64) -> Result<(), StoreError> {
        self.writer.write(move |conn| forget_in(conn, seq)).await
    }

    /// [`Self::forget_callback`], blocking until committed.
    pub fn forget_callback_blocking(&self, seq: i64) -> Result<(), StoreError> {
        self.writer.write_blocking(move |conn| forget_in(conn, seq))
    }

    /// The journaled callbacks of an execution, oldest first.
    pub fn journaled_callbacks(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<JournaledCallback>, StoreError> {
        let conn = self.read();
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
            .read()
            .query_row(
                "SELECT due FROM timers WHERE execution_arn = ?1",
                [arn],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// The execution input's text, as the row stores it: the view has it already (the engine's
/// compact serialisation, the same as `serde_json::to_string`).
fn input_text(snap: &Snapshot<'_>) -> Result<String, StoreError> {
    match snap.description.get("input").and_then(Value::as_str) {
        Some(text) => Ok(text.to_owned()),
        None => serde_json::to_string(&snap.state.input).map_err(corrupt),
    }
}

fn forget_in(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM callbacks WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// Inserts the row of a new execution with its first save, unless one with its name exists.
fn insert_in(conn: &Connection, save: &PreparedSave) -> Result<Inserted, StoreError> {
    let Some(row) = &save.new_row else {
        return Err(corrupt("an insert without the new row"));
    };
    let existing = conn
        .prepare_cached(&format!(
            "SELECT {EXEC_COLS} FROM executions WHERE sm_arn = ?1 AND name = ?2"
        ))?
        .query_row(params![row.sm_arn, row.name], exec_row)
        .optional()?;
    if let Some(row) = existing {
        return Ok(Inserted::Exists(Box::new(finish_row(row)?)));
    }
    save.write(conn)?;
    Ok(Inserted::New)
}
