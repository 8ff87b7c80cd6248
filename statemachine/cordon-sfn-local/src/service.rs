//! The service core: state machines and executions on the engine, persisted in SQLite.
//!
//! Each running execution is driven by its own tokio task (an "actor") that owns the engine's
//! [`Execution`]: it runs it until parked, persists it, then sleeps until its next timer (the
//! per-execution scheduler) or until a callback or stop arrives. Callbacks and stops reach the
//! actor as the engine's own [`Command`]s through its [`ExecutionHandle`]: while parked, the
//! actor takes them, applies them and persists; while a task dispatch is in flight, the
//! engine takes them itself. Either way a `SendTaskSuccess`/`SendTaskFailure` is written to
//! the callback journal first and acknowledged only once it is (`journal.rs`), so an
//! acknowledged callback survives a crash; one that cannot be written is answered with an
//! error and not applied.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cordon_engine::{
    Callback, CallbackError, Clock, Command, Definition, EventType, Execution, ExecutionHandle,
    ExecutionStatus, RunOutcome, Runtime, StartOptions, SystemClock, TaskDispatcher, TaskFailure,
    TaskRequest, UnresolvedDispatcher,
};
use serde_json::Value;

use crate::error::ApiError;
use crate::journal::{self, Recovery, Replays};
use crate::lambda::{InProcessLambda, LambdaBackend, LambdaDispatcher};
use crate::save::PreparedSave;
use crate::store::{Inserted, Snapshot, StateMachineRow, Store, Synchronous, epoch};

/// How to run the service.
#[derive(Clone)]
pub struct ServiceConfig {
    /// Loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// The SQLite file of this local stack (created if missing).
    pub db_path: PathBuf,
    pub region: String,
    pub account: String,
    /// Where Lambda tasks run. Defaults to an empty [`InProcessLambda`].
    pub lambda: Arc<dyn LambdaBackend>,
    /// Tasks that are not Lambda (e.g. `arn:aws:states:::sns:publish`). Defaults to failing
    /// them with `States.TaskFailed`.
    pub other_tasks: Arc<dyn TaskDispatcher>,
    /// How hard each commit waits for the disk (default: `NORMAL`, see [`Synchronous`]).
    pub synchronous: Synchronous,
}

impl ServiceConfig {
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Self {
            port: 0,
            db_path: db_path.into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            lambda: Arc::new(InProcessLambda::new()),
            other_tasks: Arc::new(UnresolvedDispatcher),
            synchronous: Synchronous::Normal,
        }
    }

    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn with_lambda(mut self, backend: Arc<dyn LambdaBackend>) -> Self {
        self.lambda = backend;
        self
    }

    pub fn with_other_tasks(mut self, dispatcher: Arc<dyn TaskDispatcher>) -> Self {
        self.other_tasks = dispatcher;
        self
    }

    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }
}

/// The task that drives one execution.
struct Actor {
    id: u64,
    handle: ExecutionHandle,
    abort: tokio::task::AbortHandle,
}

/// Where a task token came from: the execution and the Task state that issued it.
#[derive(Debug, Clone)]
struct Issuer {
    execution_arn: String,
    state_name: String,
}

/// Records which execution and state issued each task token before the task is
/// dispatched, so a callback that arrives before the next persist still finds its
/// execution; and completes a dispatch that a journaled callback already answered before a
/// crash (see `journal.rs`).
struct TokenTracker {
    inner: Arc<dyn TaskDispatcher>,
    tokens: Arc<Mutex<HashMap<String, Issuer>>>,
    core: Weak<Core>,
}

#[async_trait]
impl TaskDispatcher for TokenTracker {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        if let Some(t) = &req.task_token {
            lock(&self.tokens).insert(
                t.clone(),
                Issuer {
                    execution_arn: req.execution_arn.clone(),
                    state_name: req.state_name.clone(),
                },
            );
            if let Some(core) = self.core.upgrade()
                && let Some(journaled) = core.replays.take(&req.execution_arn, &req.state_name)
            {
                core.replay(journaled, t.clone());
                // The task did its work before the crash: answer the dispatch as submitted.
                return Ok(Value::Null);
            }
        }
        self.inner.invoke(req).await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Core {
    pub(crate) store: Store,
    rt: Runtime,
    pub(crate) region: String,
    pub(crate) account: String,
    actors: Mutex<HashMap<String, Actor>>,
    tokens: Arc<Mutex<HashMap<String, Issuer>>>,
    replays: Replays,
    definitions: Mutex<HashMap<(String, String), Arc<Definition>>>,
    next_actor: AtomicU64,
}

/// Names of state machines and executions: 1-80 characters, none of AWS's forbidden ones.
pub(crate) fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

impl Core {
    pub(crate) fn new(store: Store, config: &ServiceConfig) -> Arc<Self> {
        let tokens = Arc::new(Mutex::new(HashMap::new()));
        let lambda = LambdaDispatcher::new(
            config.lambda.clone(),
            config.other_tasks.clone(),
            config.region.clone(),
            config.account.clone(),
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Arc::new_cyclic(|core| {
            let dispatcher = TokenTracker {
                inner: Arc::new(lambda),
                tokens: tokens.clone(),
                core: core.clone(),
            };
            Self {
                store,
                // Task tokens are bearer credentials for a waiting execution: they come
                // from the operating system's random generator.
                rt: Runtime::new(Arc::new(dispatcher), clock)
                    .with_rng(Arc::new(cordon_engine::Randomness::from_os())),
                region: config.region.clone(),
                account: config.account.clone(),
                actors: Mutex::new(HashMap::new()),
                tokens,
                replays: Replays::default(),
                definitions: Mutex::new(HashMap::new()),
                next_actor: AtomicU64::new(1),
            }
        })
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.rt.clock.now()
    }

    fn definition(&self, sm: &StateMachineRow) -> Result<Arc<Definition>, ApiError> {
        let key = (sm.arn.clone(), sm.revision_id.clone());
        if let Some(d) = lock(&self.definitions).get(&key) {
            return Ok(d.clone());
        }
        let d = Arc::new(
            Definition::parse(&sm.definition)
                .map_err(|e| ApiError::new("InvalidDefinition", e.to_string()))?,
        );
        lock(&self.definitions).insert(key, d.clone());
        Ok(d)
    }

    fn snapshot(ex: &Execution) -> Snapshot<'_> {
        let st = ex.state();
        let redrivable = !matches!(
            st.status,
            ExecutionStatus::Running | ExecutionStatus::Succeeded
        ) && st.redrive_point.is_some();
        let redrive_date = st
            .history
            .iter()
            .rev()
            .find(|e| e.event_type == EventType::ExecutionRedriven)
            .map(|e| epoch(&e.timestamp));
        Snapshot {
            state: st,
            description: ex.describe().to_aws_json(),
            pending_tokens: ex.pending_task_tokens(),
            retired_tokens: st.expired_tokens.iter().cloned().collect(),
            next_wakeup: ex.next_timer(),
            redrivable,
            redrive_date,
        }
    }

    /// Encodes the execution's save (on this thread, before it goes to the writer).
    fn prepare(&self, ex: &Execution) -> Result<PreparedSave, crate::error::StoreError> {
        self.store.prepare_save(&Self::snapshot(ex))
    }

    /// Saves the execution's state (prepared by [`Self::prepare`]), returning once it is
    /// committed. A failure is logged and the execution goes on in memory: the callbacks
    /// it took are in the journal, so a restart resumes from the last saved state and
    /// applies them again (tasks are re-run from there, as after a crash).
    async fn persist(&self, arn: &str, prepared: Result<PreparedSave, crate::error::StoreError>) {
        let saved = match prepared {
            Ok(save) => self.store.save(save).await,
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            tracing::error!(
                execution = %arn,
                "cannot persist the execution (a restart resumes it from its last saved \
                 state): {e}"
            );
        }
    }

    /// Starts driving `ex` (already persisted) in its own task. Call with `actors` locked.
    fn spawn_actor(self: &Arc<Self>, actors: &mut HashMap<String, Actor>, ex: Execution) {
        let arn = ex.state().identity.execution_arn.clone();
        let id = self.next_actor.fetch_add(1, Ordering::Relaxed);
        let handle = ex.handle();
        let core = self.clone();
        let task = tokio::spawn(async move { core.drive(id, ex).await });
        actors.insert(
            arn,
            Actor {
                id,
                handle,
                abort: task.abort_handle(),
            },
        );
    }

    async fn drive(self: Arc<Self>, id: u64, mut ex: Execution) {
        let arn = ex.state().identity.execution_arn.clone();
        loop {
            let outcome = ex.run_until_parked(&self.rt).await;
            let prepared = self.prepare(&ex);
            self.persist(&arn, prepared).await;
            let RunOutcome::Parked { next_wakeup, .. } = outcome else {
                break;
            };
            let clock = self.rt.clock.clone();
            let timer = async move {
                match next_wakeup {
                    Some(t) => clock.sleep_until(t).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                cmd = ex.next_command() => match cmd {
                    Some(cmd) => self.apply(&arn, &mut ex, cmd).await,
                    None => return,
                },
                _ = timer => {}
            }
        }
        let mut actors = lock(&self.actors);
        // A redrive may have replaced this actor already (its final state was saved, so the
        // execution was redrivable): the tokens and replays are the new run's then.
        if actors.get(&arn).is_some_and(|a| a.id == id) {
            actors.remove(&arn);
            drop(actors);
            lock(&self.tokens).retain(|_, issuer| issuer.execution_arn != arn);
            self.replays.drop_execution(&arn);
        }
    }

    /// Applies a command to a parked execution, persisting (committed) before replying.
    async fn apply(&self, arn: &str, ex: &mut Execution, cmd: Command) {
        let Command { callback, reply } = cmd;
        let result = ex.apply(callback, &self.rt);
        if result.is_ok() {
            let prepared = self.prepare(ex);
            self.persist(arn, prepared).await;
        }
        reply.send(result);
    }

    // ------------------------------------------------------------ operations

    /// Resumes every execution that was running when the service last stopped.
    pub(crate) fn resume_all(self: &Arc<Self>) -> Result<usize, crate::error::StoreError> {
        let arns = self.store.running_executions()?;
        let mut actors = lock(&self.actors);
        let mut n = 0;
        for arn in arns {
            let state = match self.store.load_state(&arn) {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(execution = %arn, "cannot load the execution: {e}");
                    continue;
                }
            };
            match Execution::resume(state) {
                Ok(mut ex) => {
                    self.recover_callbacks(&mut ex)?;
                    self.spawn_actor(&mut actors, ex);
                    n += 1;
                }
                Err(e) => tracing::error!(execution = %arn, "cannot resume the execution: {e}"),
            }
        }
        Ok(n)
    }

    /// Applies the journaled callbacks of a resumed execution, or keeps them for the
    /// dispatch they complete (see `journal.rs`).
    fn recover_callbacks(&self, ex: &mut Execution) -> Result<(), crate::error::StoreError> {
        let arn = ex.state().identity.execution_arn.clone();
        let journaled = self.store.journaled_callbacks(&arn)?;
        if journaled.is_empty() {
            return Ok(());
        }
        let mut applied = false;
        for j in journaled {
            let pending = ex.pending_task_tokens();
            let known = self.store.token_owner(&j.token)?.map(|(_, p)| p);
            match journal::recovery(&j, &pending, known) {
                Recovery::Apply(cb) => match ex.apply(cb, &self.rt) {
                    Ok(()) => applied = true,
                    Err(e) => {
                        tracing::warn!(execution = %arn, "a journaled callback no longer applies: {e}");
                        self.store.forget_callback_blocking(j.seq)?;
                    }
                },
                Recovery::Done => self.store.forget_callback_blocking(j.seq)?,
                Recovery::Replay(state) => {
                    tracing::info!(execution = %arn, state = %state, "a callback acknowledged before the crash completes the next dispatch of its state");
                    self.replays.add(j, state);
                }
                Recovery::Lost => {
                    tracing::error!(execution = %arn, seq = j.seq, "a journaled callback cannot be recovered");
                    self.store.forget_callback_blocking(j.seq)?;
                }
            }
        }
        if applied {
            self.store.save_execution(&Self::snapshot(ex))?;
        }
        Ok(())
    }

    /// Delivers a journaled callback to the new attempt (token `token`) of the state it
    /// answered, then forgets it: the state saved at the execution's next park reflects it.
    fn replay(self: Arc<Self>, journaled: crate::store::JournaledCallback, token: String) {
        let Some(callback) = journal::decode(&journaled.callback, &token) else {
            return;
        };
        tokio::spawn(async move {
            let Some(handle) = self.actor(&journaled.execution_arn) else {
                return;
            };
            let arn = journaled.execution_arn.clone();
            match handle.send(callback).await {
                Ok(()) => {
                    // Journal it again under the new token, so the next save retires it.
                    let _ = self
                        .store
                        .journal_callback(
                            &arn,
                            journaled.state_name.as_deref(),
                            &token,
                            &journaled.callback,
                        )
                        .await;
                    if let Err(e) = self.store.forget_callback(journaled.seq).await {
                        tracing::error!(execution = %arn, "cannot update the callback journal: {e}");
                    }
                }
                Err(e) => {
                    tracing::warn!(execution = %arn, "a replayed callback was refused: {e}");
                    let _ = self.store.forget_callback(journaled.seq).await;
                }
            }
        });
    }

    /// Stops driving every execution (their last persisted state stays in the database).
    pub(crate) fn halt(&self) {
        for (_, a) in lock(&self.actors).drain() {
            a.abort.abort();
        }
    }

    pub(crate) async fn start_execution(
        self: &Arc<Self>,
        sm_arn: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<(String, f64), ApiError> {
        let sm = self
            .store
            .state_machine(sm_arn)?
            .ok_or_else(|| sm_does_not_exist(sm_arn))?;
        let name = match name {
            Some(n) if !valid_name(&n) => {
                return Err(ApiError::new("InvalidName", format!("Invalid Name: '{n}'")));
            }
            Some(n) => n,
            None => self.rt.rng.uuid(),
        };
        let input_text = input.unwrap_or_else(|| "{}".into());
        let input: Value = serde_json::from_str(&input_text).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let def = self.definition(&sm)?;
        // An Express execution's name need not be unique: its ARN carries an id of its own
        // (`...:express:<state machine>:<name>:<id>`).
        let express = sm.kind == "EXPRESS";
        let arn = if express {
            format!(
                "arn:aws:states:{}:{}:express:{}:{name}:{}",
                self.region,
                self.account,
                sm.name,
                self.rt.rng.uuid()
            )
        } else {
            format!(
                "arn:aws:states:{}:{}:execution:{}:{name}",
                self.region, self.account, sm.name
            )
        };
        let opts = StartOptions {
            name: Some(name),
            execution_arn: Some(arn.clone()),
            state_machine_name: Some(sm.name.clone()),
            state_machine_arn: Some(sm.arn.clone()),
            role_arn: Some(sm.role_arn.clone()),
            region: Some(self.region.clone()),
            account: Some(self.account.clone()),
            start_time: None,
            express,
        };
        let ex = Execution::start(def, input.clone(), opts, &self.rt)?;
        let start = epoch(&ex.state().start_time);
        let prepared = self.store.prepare_insert(&Self::snapshot(&ex))?;
        // Answered only once the new execution is committed.
        match self.store.insert(prepared).await? {
            Inserted::New => {
                self.spawn_actor(&mut lock(&self.actors), ex);
                Ok((arn, start))
            }
            Inserted::Exists(row) => {
                let same_input = serde_json::from_str::<Value>(&row.input).ok() == Some(input);
                if row.status == "RUNNING" && same_input {
                    Ok((row.arn, row.start_date))
                } else {
                    Err(ApiError::new(
                        "ExecutionAlreadyExists",
                        format!("Execution Already Exists: '{}'", row.arn),
                    ))
                }
            }
        }
    }

    fn actor(&self, arn: &str) -> Option<ExecutionHandle> {
        lock(&self.actors).get(arn).map(|a| a.handle.clone())
    }

    /// Delivers a task-token callback to the execution that issued the token: journaled
    /// first (an error if it cannot be), acknowledged once the execution took it.
    async fn callback(&self, token: &str, callback: Callback) -> Result<(), ApiError> {
        if token.is_empty() || token.len() > 2048 {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and 2048",
            ));
        }
        let tracked = lock(&self.tokens).get(token).cloned();
        let (owner, state_name) = match tracked {
            Some(issuer) => (issuer.execution_arn, Some(issuer.state_name)),
            None => match self.store.token_owner(token)? {
                Some((arn, _)) => (arn, None),
                None => {
                    return Err(ApiError::new(
                        "InvalidToken",
                        "Invalid Token: 'Invalid token'",
                    ));
                }
            },
        };
        // No actor: the execution has ended since it issued the token.
        let handle = self.actor(&owner).ok_or(CallbackError::ExecutionGone)?;
        let journaled = match journal::encode(&callback) {
            Some(stored) => Some(
                self.store
                    .journal_callback(&owner, state_name.as_deref(), token, &stored)
                    .await
                    .map_err(|e| {
                        tracing::error!(execution = %owner, "cannot journal a callback; refused: {e}");
                        ApiError::internal(format!(
                            "the callback could not be persisted, so it was not applied; retry: {e}"
                        ))
                    })?,
            ),
            None => None,
        };
        match handle.send(callback).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(seq) = journaled
                    && let Err(store) = self.store.forget_callback(seq).await
                {
                    tracing::error!(execution = %owner, "cannot remove a refused callback from the journal: {store}");
                }
                Err(e.into())
            }
        }
    }

    pub(crate) async fn send_task_success(
        &self,
        token: &str,
        output: &str,
    ) -> Result<(), ApiError> {
        let output: Value = serde_json::from_str(output)
            .map_err(|e| ApiError::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
        let token_owned = token.to_owned();
        self.callback(
            token,
            Callback::Success {
                token: token_owned,
                output,
            },
        )
        .await
    }

    pub(crate) async fn send_task_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), ApiError> {
        let token_owned = token.to_owned();
        self.callback(
            token,
            Callback::Failure {
                token: token_owned,
                error,
                cause,
            },
        )
        .await
    }

    pub(crate) async fn send_task_heartbeat(&self, token: &str) -> Result<(), ApiError> {
        let token_owned = token.to_owned();
        self.callback(token, Callback::Heartbeat { token: token_owned })
            .await
    }

    /// `StopExecution`: returns the stop date.
    pub(crate) async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<f64, ApiError> {
        let row = self
            .store
            .execution(arn)?
            .ok_or_else(|| exec_does_not_exist(arn))?;
        let mut stop = Some(Callback::Stop { error, cause });
        // A stop handed to an execution with a dispatch in flight is persisted when the
        // engine returns; wait (briefly) for that so a DescribeExecution that follows agrees.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut row = row;
        loop {
            // An execution committed by a StartExecution still being answered gets its actor
            // a moment later: the stop goes to it as soon as it has one.
            if let Some(handle) = self.actor(arn)
                && let Some(stop) = stop.take()
            {
                // The actor may have finished meanwhile; the stored row tells.
                let _ = handle.send(stop).await;
            }
            row = self.store.execution(arn)?.unwrap_or(row);
            if row.status != "RUNNING" || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Ok(row.stop_date.unwrap_or_else(|| epoch(&self.now())))
    }

    /// `RedriveExecution`: returns the redrive date.
    pub(crate) fn redrive_execution(self: &Arc<Self>, arn: &str) -> Result<f64, ApiError> {
        let mut actors = lock(&self.actors);
        let state = self
            .store
            .load_state(arn)?
            .ok_or_else(|| exec_does_not_exist(arn))?;
        // What is stored decides, as DescribeExecution shows it: an actor still registered
        // for a stopped execution has saved its final state and is only cleaning up (it
        // leaves the new run's entry alone).
        if state.status == ExecutionStatus::Running {
            return Err(ApiError::new(
                "ExecutionNotRedrivable",
                format!("Execution is RUNNING and cannot be redriven: '{arn}'"),
            ));
        }
        let mut ex = Execution::resume(state)?;
        ex.redrive(&self.rt)?;
        self.store.save_execution(&Self::snapshot(&ex))?;
        let date = epoch(&self.now());
        self.spawn_actor(&mut actors, ex);
        Ok(date)
    }

    /// Stops the running executions of a state machine, then deletes it.
    pub(crate) async fn delete_state_machine(&self, arn: &str) -> Result<(), ApiError> {
        for row in self.store.executions(arn, Some("RUNNING"))? {
            self.stop_execution(
                &row.arn,
                Some("States.Aborted".into()),
                Some("The state machine was deleted.".into()),
            )
            .await?;
        }
        self.store.delete_state_machine(arn)?;
        lock(&self.definitions).retain(|(a, _), _| a != arn);
        Ok(())
    }

    /// How many executions are being driven right now.
    pub(crate) fn active(&self) -> usize {
        lock(&self.actors).len()
    }
}

pub(crate) fn sm_does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

pub(crate) fn exec_does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        "ExecutionDoesNotExist",
        format!("Execution Does Not Exist: '{arn}'"),
    )
}
