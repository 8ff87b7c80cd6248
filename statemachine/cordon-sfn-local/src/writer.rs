//! Group commit: one thread writes to SQLite for the whole service, and commits every write
//! that is waiting in one transaction.
//!
//! A caller hands its write (a closure over the connection) to the thread and waits for the
//! reply; the reply is sent only once the transaction holding the write has committed, so
//! whatever a request acknowledges after waiting is as durable as `synchronous` makes a
//! commit (see [`crate::Synchronous`]). Writes queued while a transaction runs go in the next
//! one, so under load one commit (and with `FULL`, one fsync) serves many executions. Each
//! write runs in a savepoint of its own: one that fails is rolled back and answered with its
//! error without undoing the others; a commit that fails answers every write in it with
//! that failure.
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::error::StoreError;

/// Most writes in one transaction (a bound on how long readers wait for the connection).
const MAX_BATCH: usize = 256;

/// Where a write's result goes.
enum Reply<R> {
    Async(tokio::sync::oneshot::Sender<Result<R, StoreError>>),
    Blocking(mpsc::SyncSender<Result<R, StoreError>>),
}

impl<R> Reply<R> {
    fn send(self, r: Result<R, StoreError>) {
        // A caller that stopped waiting does not need the answer.
        let _ = match self {
            Self::Async(tx) => tx.send(r).map_err(drop),
            Self::Blocking(tx) => tx.send(r).map_err(drop),
        };
    }
}

/// One queued write, type-erased.
trait Job: Send {
    /// Runs the write inside the open transaction (in a savepoint).
    fn run(&mut self, conn: &Connection);
    /// Answers the caller once the transaction committed (or failed to).
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Write<R, F> {
    work: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: Reply<R>,
}

impl<R, F> Job for Write<R, F>
where
    R: Send,
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else {
            return;
        };
        let result = conn
            .execute_batch("SAVEPOINT write")
            .map_err(StoreError::from)
            .and_then(|()| match work(conn) {
                Ok(r) => conn
                    .execute_batch("RELEASE write")
                    .map(|()| r)
                    .map_err(Into::into),
                Err(e) => {
                    // Undo this write alone; the transaction goes on with the others.
                    let _ = conn.execute_batch("ROLLBACK TO write; RELEASE write");
                    Err(e)
                }
            });
        self.result = Some(result);
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let Write { result, reply, .. } = *self;
        let answer = match (committed, result) {
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(StoreError::Corrupt("a write was not run".into())),
            (Err(e), _) => Err(StoreError::Commit(e)),
        };
        reply.send(answer);
    }
}

/// The writer thread and its queue.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread that writes through `conn` (readers lock it too).
    pub(crate) fn start(conn: Arc<Mutex<Connection>>) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("cordon-sfn-writer".into())
            .spawn(move || run(&conn, &jobs))
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    fn submit<R, F>(&self, work: F, reply: Reply<R>)
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let job = Box::new(Write {
            work: Some(work),
            result: None,
            reply,
        });
        if let Some(Err(mpsc::SendError(job))) = self.queue.as_ref().map(|q| q.send(job)) {
            job.finish(Err("the writer thread has stopped".into()));
        }
    }

    /// Runs `work` in the next transaction; resolves once that transaction committed.
    pub(crate) async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(work, Reply::Async(tx));
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Commit("the writer thread has stopped".into())))
    }

    /// [`Self::write`], blocking the calling thread until the commit.
    pub(crate) fn write_blocking<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(work, Reply::Blocking(tx));
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError::Commit("the writer thread has stopped".into())))
    }
}

impl Drop for Writer {
    /// Lets the thread finish what is queued and close its hold on the connection.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: &Mutex<Connection>, jobs: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = {
            let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => {
                    for job in &mut batch {
                        job.run(&conn);
                    }
                    conn.execute_batch("COMMIT").map_err(|e| {
                        let _ = conn.execute_batch("ROLLBACK");
                        e.to_string()
                    })
                }
                Err(e) => Err(e.to_string()),
            }
        };
        for job in batch {
            job.finish(committed.clone());
        }
    }
}
