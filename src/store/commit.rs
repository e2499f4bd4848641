//! Group commit: write transactions that arrive together share one commit. On SQLite every
//! write goes through one lane; on PostgreSQL the writes of one group do (`group_lanes`).
//!
//! With `synchronous = FULL` every commit waits for an fsync of the WAL (0.1 ms idle, up to
//! ~1 ms under load here), and SQLite has one writer, so writes queue for it anyway. Instead
//! of one commit per request, a *lane* holds one open transaction and runs the requests queued
//! on it one after another, each inside its own savepoint, and the last of them commits for
//! all. A request still answers only after the commit that made its work durable; one that
//! fails rolls back its savepoint alone and answers at once; if the shared commit fails, every
//! request in the batch is told so. Nothing is ever acknowledged that a crash could lose.
//!
//! A user's PUT or PATCH planned off the writer runs without a savepoint (`Unguarded`): the
//! only failures a client can cause there are its first statement's, which SQLite undoes by
//! itself, and any later failure rolls the whole batch back.
//!
//! Every write runs on the lane's one thread, so one write follows the next without a thread
//! being woken in between. When each request's thread took its own turn, waking the next one
//! took longer than the write itself: under 32 concurrent PATCHes the lane waited ~140 µs per
//! write for a woken thread to be scheduled, with a third of the CPU idle.
//!
//! An async caller (`run_async`, every SCIM write) does not block a thread at all: its owned
//! closure is queued on the writer, and the commit answers its future. Before, a request went
//! from an async worker to a blocking thread, which handed its closure to the writer and slept
//! twice (for the write, then for the commit): four wake-ups per write, which cost a third of
//! a PATCH's CPU.

use super::batch_outcome::{ended_result, lock, Outcome};
use super::connection::{AnyConnection, Manager, Pool};
use super::event_append_sqlite::HeldCounters;
use super::pool_checkout::{self, waited_since};
use super::savepoint::{begin_batch, roll_back, Ahead, Guarded, InBatch, Stopped, Unguarded};
use super::Tx;
use crate::error::{Error, Result};
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use r2d2::PooledConnection;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A batch commits once nobody is queued behind it, or at this size or age, so a steady stream
/// of writers cannot hold every earlier request's answer back for long.
const MAX_BATCH: usize = 128;
const MAX_BATCH_AGE: Duration = Duration::from_millis(20);

/// One open transaction on one connection, and the requests that have written into it.
struct Batch {
    conn: PooledConnection<Manager>,
    opened: Instant,
    writes: usize,
    appended_events: bool,
    outcome: Arc<Outcome>,
    /// Event counters its unguarded writes moved, written out before anything reads them.
    held: HeldCounters,
    /// PostgreSQL's savepoints opened ahead of their requests.
    ahead: Ahead,
}

/// A queue of write requests that share commits. Requests in one lane run one at a time, on
/// the lane's own thread.
pub(super) struct Lane {
    /// A pool of one thread. `install` runs a closure that borrows from the caller's stack on
    /// that thread and waits for it, which is what a request needs of its writer.
    writer: rayon_core::ThreadPool,
    /// Requests handed to the writer and not yet started: the batch stays open while any are.
    queued: AtomicUsize,
    /// Those of them that run without a savepoint: none is opened ahead for them.
    queued_unguarded: AtomicUsize,
    /// Touched only on the writer thread; a `Mutex` because `Lane` is shared.
    open: Mutex<Option<Batch>>,
    /// Commits made, for tests and for telling how well writes are batched.
    commits: AtomicU64,
    /// Batches rolled back or whose commit failed: a read between writes (`read_async`) may
    /// have seen their writes, which are gone now.
    failures: AtomicU64,
}

/// When a read between writes (`Lane::read_async`) ran.
#[derive(Debug, Clone, Copy)]
pub struct ReadMark {
    failures: u64,
    /// It ran inside an open batch, so it may have seen writes not yet durable.
    uncommitted: bool,
}

impl ReadMark {
    /// Whether what was read may still be lost: an answer made only from it waits for a
    /// commit (a write's), never goes out before.
    pub fn saw_uncommitted(&self) -> bool {
        self.uncommitted
    }
}

/// What `Lane::run` reports besides the request's own result.
pub(super) struct Committed {
    /// A batch this request belonged to committed events (someone may deliver them).
    pub appended_events: bool,
}

/// What the writer hands back: the request's own result (or its panic), the batch it joined,
/// and whether the commit that request made (if it was the last) carried events.
type Ran<R> = (std::thread::Result<Result<R>>, Option<Arc<Outcome>>, bool);

impl Lane {
    /// A lane whose thread is called `name`.
    pub(super) fn new(name: &'static str) -> Result<Lane> {
        let writer = rayon_core::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(move |_| name.into())
            // A panic escaping a queued (`spawn`ed) write would otherwise abort the process;
            // `write` catches the request's own, so this is the last guard.
            .panic_handler(|_| tracing::error!("a queued write panicked outside its savepoint"))
            .build()
            .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Lane {
            writer,
            queued: AtomicUsize::new(0),
            queued_unguarded: AtomicUsize::new(0),
            open: Mutex::new(None),
            commits: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    /// Runs the read `f` on the writer between two writes: inside the open batch when there is
    /// one (seeing its writes, not yet committed), else on the writer's idle connection (one
    /// statement reads one snapshot by itself). The writer's page cache stays valid across its
    /// own commits, where a read connection finds its cache stale after each of them and reads
    /// every page again (the sixteenth round). Reads do not count as queued: a batch commits
    /// when no write is waiting, and a read after it reads what it committed. Inside a batch it
    /// may find a tenant's event counter behind the batch's held one (`HeldCounters`): what it
    /// reads is a user and its groups, never the counters.
    pub(super) async fn read_async<R: Send + 'static>(
        self: &Arc<Self>,
        pool: &Pool,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<(R, ReadMark)> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (lane, pool, queued_at) = (self.clone(), pool.clone(), Instant::now());
        self.writer.spawn(move || {
            let read =
                catch_unwind(AssertUnwindSafe(|| waited_since(queued_at, || lane.read_between_writes(&pool, f))));
            let _ = answer.send(read.unwrap_or_else(|_| Err(Error::internal("a read on the writer panicked"))));
        });
        answered.await.unwrap_or_else(|_| Err(Error::internal("the writer thread stopped")))
    }

    fn read_between_writes<R>(&self, pool: &Pool, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Result<(R, ReadMark)> {
        let failures = self.failures.load(Ordering::SeqCst);
        let mut open = lock(&self.open);
        let (value, uncommitted) = match open.as_mut() {
            Some(batch) => (f(&mut Tx::new(&mut batch.conn))?, true),
            None => {
                drop(open);
                let mut conn = super::pool_checkout::checkout(pool)?;
                (f(&mut Tx::new(&mut conn))?, false)
            }
        };
        Ok((value, ReadMark { failures, uncommitted }))
    }

    /// `run_async` for a write planned from `read_async`'s read, run without a savepoint
    /// (`Unguarded`): `Error::WriteConflict`, with nothing written, when a batch failed since,
    /// as its writes may be what was read. (A version check alone would not do: the version a
    /// failed batch wrote is written again by the next write of that user.)
    pub(super) async fn run_after_read<R: Send + 'static>(
        self: &Arc<Self>,
        pool: &Pool,
        mark: ReadMark,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<R, Stopped> + Send + 'static,
    ) -> (Result<R>, Committed) {
        let lane = self.clone();
        let checked = move |tx: &mut Tx<'_>| match lane.failures.load(Ordering::SeqCst) == mark.failures {
            true => f(tx),
            false => Err(Stopped::Before(Error::WriteConflict)),
        };
        self.queue(pool, Unguarded(checked)).await
    }

    /// Runs `f` in its own savepoint inside the lane's open transaction (opening one on a
    /// connection from `pool` if none is open), and returns once its work is committed.
    pub(super) fn run<R: Send>(
        &self,
        pool: &Pool,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send,
    ) -> (Result<R>, Committed) {
        self.queued.fetch_add(1, Ordering::SeqCst);
        // A caller on a database thread has queued since it was given the work.
        let queued_at = pool_checkout::queued_at();
        let (ran, outcome, appended_events) =
            self.writer.install(|| waited_since(queued_at, || self.write(pool, Guarded(f))));
        let result = match ran {
            Err(panic) => resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(value)) => match outcome {
                Some(outcome) => outcome.wait().map(|()| value),
                None => Ok(value),
            },
        };
        (result, Committed { appended_events })
    }

    /// `run` for a caller that must not block: `f` is queued on the writer, and the future
    /// completes once its work is committed (or failed). The caller's thread is free meanwhile,
    /// and nothing wakes it but the answer. A panic in `f` becomes an internal error.
    pub(super) async fn run_async<R: Send + 'static>(
        self: &Arc<Self>,
        pool: &Pool,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> (Result<R>, Committed) {
        self.queue(pool, Guarded(f)).await
    }

    /// Queues `request` on the writer (`run_async` for one in a savepoint); the future
    /// completes once its work is committed (or failed).
    pub(super) async fn queue<R: Send + 'static, W: InBatch<R> + Send + 'static>(
        self: &Arc<Self>,
        pool: &Pool,
        request: W,
    ) -> (Result<R>, Committed) {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.spawn(pool, request, move |out, committed| {
            let _ = answer.send((out, committed));
        });
        // The writer always answers; a dropped sender would mean its thread died.
        answered.await.unwrap_or_else(|_| {
            (Err(Error::internal("the writer thread stopped")), Committed { appended_events: false })
        })
    }

    /// Queues `request` on the writer and calls `answer` once its work is committed (or
    /// failed), on the writer's thread or the one that committed: for a request whose answer
    /// goes to several callers (`Store::patch_members_in_lane`), none of which may be gone.
    pub(super) fn spawn<R: Send + 'static, W: InBatch<R> + Send + 'static>(
        self: &Arc<Self>,
        pool: &Pool,
        request: W,
        answer: impl FnOnce(Result<R>, Committed) + Send + 'static,
    ) {
        if !W::SAVEPOINT {
            self.queued_unguarded.fetch_add(1, Ordering::SeqCst);
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        let (lane, pool, queued_at) = (self.clone(), pool.clone(), Instant::now());
        self.writer.spawn(move || {
            let (ran, outcome, appended_events) = waited_since(queued_at, || lane.write(&pool, request));
            let committed = Committed { appended_events };
            match (ran, outcome) {
                (Err(panic), _) => {
                    let message = panic.downcast_ref::<&str>().copied().unwrap_or("(not a string)");
                    tracing::error!(panic = message, "a write panicked; its writes were rolled back");
                    answer(Err(Error::internal("a write panicked")), committed);
                }
                (Ok(Ok(value)), Some(outcome)) => outcome.on_end(Box::new(move |ended| {
                    answer(ended_result(ended).map(|()| value), committed);
                })),
                (Ok(out), _) => answer(out, committed),
            }
        });
    }

    /// On the writer thread: runs one request and commits if nobody is queued behind it.
    fn write<R, W: InBatch<R>>(&self, pool: &Pool, request: W) -> Ran<R> {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if !W::SAVEPOINT {
            self.queued_unguarded.fetch_sub(1, Ordering::SeqCst);
        }
        let open = lock(&self.open).take();
        let mut batch = match open.map(Ok).unwrap_or_else(|| Batch::open(pool, W::SAVEPOINT)) {
            Ok(batch) => batch,
            Err(e) => return (Ok(Err(e)), None, false),
        };
        // A request with a savepoint may read the tenants' event counters.
        let held = if W::SAVEPOINT { batch.write_out_held() } else { Ok(()) };
        let ran = match held {
            Ok(()) => {
                // Known now to be followed: a request already queued runs in this batch unless
                // this one fills it or ages it out (a savepoint opened for nobody is harmless),
                // and it needs a savepoint unless one queued does not (which ends a savepoint
                // opened for it, a round trip).
                batch.ahead.next = matches!(*batch.conn, AnyConnection::Postgresql(_))
                    && self.queued.load(Ordering::SeqCst) > 0
                    && self.queued_unguarded.load(Ordering::SeqCst) == 0
                    && !batch.full_with(batch.writes + 1);
                catch_unwind(AssertUnwindSafe(|| request.run(&mut batch.conn, &mut batch.held, &mut batch.ahead)))
            }
            Err(e) => Ok((Err(e), false, true)),
        };
        let (ran, appended, mut broken) = match ran {
            Ok((out, appended, broken)) => (Ok(out), appended, broken),
            Err(panic) => (Err(panic), false, false),
        };
        match &ran {
            Ok(Ok(_)) => {
                batch.writes += 1;
                batch.appended_events |= appended;
            }
            Ok(Err(_)) => {}
            // A savepoint is still open: roll it back, or give up the whole batch (as without
            // one, where what the request wrote cannot be told apart from the batch's).
            Err(_) => broken = !W::SAVEPOINT || roll_back(&mut batch.conn).is_err(),
        }

        let outcome = batch.outcome.clone();
        let last = self.queued.load(Ordering::SeqCst) == 0 || batch.full_with(batch.writes);
        let committed_events = if broken {
            batch.abandon();
            self.failures.fetch_add(1, Ordering::SeqCst);
            false
        } else if last {
            let events = batch.appended_events;
            let ok = batch.commit();
            self.commits.fetch_add(1, Ordering::Relaxed);
            if !ok {
                self.failures.fetch_add(1, Ordering::SeqCst);
            }
            ok && events
        } else {
            *lock(&self.open) = Some(batch);
            false
        };
        (ran, Some(outcome), committed_events)
    }

    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

impl Batch {
    /// Begins a batch for a first request that runs in a savepoint (`savepoint`) or not.
    fn open(pool: &Pool, savepoint: bool) -> Result<Batch> {
        // On PostgreSQL a connection the server closed is replaced before the batch begins,
        // and the first request's savepoint is opened with the BEGIN.
        let conn = super::pool_checkout::begun(pool, |conn| match conn {
            AnyConnection::Sqlite(sqlite) => begin_batch(sqlite, pool_checkout::wait_left(pool)),
            AnyConnection::Postgresql(pg) => AnsiTransactionManager::begin_transaction_sql(
                pg,
                if savepoint { "BEGIN; SAVEPOINT request" } else { "BEGIN" },
            ),
        })?;
        let ahead = Ahead { open: savepoint && matches!(*conn, AnyConnection::Postgresql(_)), next: false };
        Ok(Batch {
            conn,
            opened: Instant::now(),
            writes: 0,
            appended_events: false,
            outcome: Arc::default(),
            held: HeldCounters::default(),
            ahead,
        })
    }

    /// Whether the batch commits now, whoever is queued, once it holds `writes` writes.
    fn full_with(&self, writes: usize) -> bool {
        writes >= MAX_BATCH || self.opened.elapsed() >= MAX_BATCH_AGE
    }

    fn write_out_held(&mut self) -> Result<()> {
        match &mut *self.conn {
            AnyConnection::Sqlite(sqlite) => self.held.write_out(sqlite),
            AnyConnection::Postgresql(_) => Ok(()),
        }
    }

    /// Commits and tells every request in the batch; true when it committed.
    fn commit(mut self) -> bool {
        let result = self.write_out_held().and_then(|()| {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(&mut *self.conn).map_err(Error::from)
        });
        match result {
            Ok(()) => {
                self.outcome.set(Ok(()));
                true
            }
            Err(e) => {
                // A full disk fails every batch alike; its answers log it, a few times a minute.
                if !matches!(e, Error::StorageFull(_)) {
                    tracing::error!(error = %e, writes = self.writes, "a group commit failed");
                }
                self.abandon_with(e);
                false
            }
        }
    }

    /// Rolls the whole batch back. If even that fails, the connection's transaction state is
    /// broken and the pool discards it (`Manager::has_broken`).
    fn abandon(self) {
        self.abandon_with(Error::internal("a request in the same batch failed and the batch was rolled back"));
    }

    fn abandon_with(mut self, cause: Error) {
        let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(&mut *self.conn);
        self.outcome.set(Err(cause));
    }
}

#[cfg(test)]
#[path = "commit_tests.rs"]
mod tests;
