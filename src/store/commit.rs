//! Group commit on SQLite: write transactions that arrive together share one commit.
//!
//! With `synchronous = FULL` every commit waits for an fsync of the WAL (0.1 ms idle, up to
//! ~1 ms under load here), and SQLite has one writer, so writes queue for it anyway. Instead
//! of one commit per request, a *lane* holds one open transaction and runs the requests queued
//! on it one after another, each inside its own savepoint, and the last of them commits for
//! all. A request still answers only after the commit that made its work durable; one that
//! fails rolls back its savepoint alone and answers at once; if the shared commit fails, every
//! request in the batch is told so. Nothing is ever acknowledged that a crash could lose.
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

use super::connection::{AnyConnection, Manager, Pool};
use super::{in_transaction, Tx};
use crate::error::{Error, Result};
use diesel::connection::{Connection, TransactionManager};
use r2d2::PooledConnection;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A batch commits once nobody is queued behind it, or at this size or age, so a steady stream
/// of writers cannot hold every earlier request's answer back for long.
const MAX_BATCH: usize = 128;
const MAX_BATCH_AGE: Duration = Duration::from_millis(20);

type Ended = std::result::Result<(), String>;

/// What a request that does not block on the batch has run when the batch ends.
type OnEnd = Box<dyn FnOnce(&Ended) + Send>;

/// How a batch ended, for the requests waiting on it: threads blocked in `wait`, and the
/// `on_end` callbacks of requests that await it asynchronously.
#[derive(Default)]
struct Outcome {
    ended: Mutex<(Option<Ended>, Vec<OnEnd>)>,
    signal: Condvar,
}

impl Outcome {
    fn set(&self, result: Ended) {
        let callbacks = {
            let mut ended = lock(&self.ended);
            ended.0 = Some(result.clone());
            std::mem::take(&mut ended.1)
        };
        self.signal.notify_all();
        for callback in callbacks {
            callback(&result);
        }
    }

    /// Runs `callback` when the batch ends, or now if it has.
    fn on_end(&self, callback: OnEnd) {
        let mut ended = lock(&self.ended);
        match &ended.0 {
            Some(result) => {
                let result = result.clone();
                drop(ended);
                callback(&result);
            }
            None => ended.1.push(callback),
        }
    }

    fn wait(&self) -> Result<()> {
        let mut ended = lock(&self.ended);
        loop {
            match &ended.0 {
                Some(result) => return ended_result(result),
                None => ended = self.signal.wait(ended).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

fn ended_result(result: &Ended) -> Result<()> {
    result.clone().map_err(|e| Error::internal(format!("the commit failed: {e}")))
}

/// One open transaction on one connection, and the requests that have written into it.
struct Batch {
    conn: PooledConnection<Manager>,
    opened: Instant,
    writes: usize,
    appended_events: bool,
    outcome: Arc<Outcome>,
}

/// A queue of write requests that share commits. Requests in one lane run one at a time, on
/// the lane's own thread.
pub(super) struct Lane {
    /// A pool of one thread. `install` runs a closure that borrows from the caller's stack on
    /// that thread and waits for it, which is what a request needs of its writer.
    writer: rayon_core::ThreadPool,
    /// Requests handed to the writer and not yet started: the batch stays open while any are.
    queued: AtomicUsize,
    /// Touched only on the writer thread; a `Mutex` because `Lane` is shared.
    open: Mutex<Option<Batch>>,
    /// Commits made, for tests and for telling how well writes are batched.
    commits: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held (requests run outside them).
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    pub(super) fn new() -> Result<Lane> {
        let writer = rayon_core::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "scimd-writer".into())
            // A panic escaping a queued (`spawn`ed) write would otherwise abort the process;
            // `write` catches the request's own, so this is the last guard.
            .panic_handler(|_| tracing::error!("a queued write panicked outside its savepoint"))
            .build()
            .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Lane { writer, queued: AtomicUsize::new(0), open: Mutex::new(None), commits: AtomicU64::new(0) })
    }

    /// Runs `f` in its own savepoint inside the lane's open transaction (opening one on a
    /// connection from `pool` if none is open), and returns once its work is committed.
    pub(super) fn run<R: Send>(
        &self,
        pool: &Pool,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send,
    ) -> (Result<R>, Committed) {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let (ran, outcome, appended_events) = self.writer.install(|| self.write(pool, f));
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
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.queued.fetch_add(1, Ordering::SeqCst);
        let (lane, pool) = (self.clone(), pool.clone());
        self.writer.spawn(move || {
            let (ran, outcome, appended_events) = lane.write(&pool, f);
            let committed = Committed { appended_events };
            match (ran, outcome) {
                (Err(panic), _) => {
                    let message = panic.downcast_ref::<&str>().copied().unwrap_or("(not a string)");
                    tracing::error!(panic = message, "a write panicked; its savepoint was rolled back");
                    let _ = answer.send((Err(Error::internal("a write panicked")), committed));
                }
                (Ok(Ok(value)), Some(outcome)) => outcome.on_end(Box::new(move |ended| {
                    let _ = answer.send((ended_result(ended).map(|()| value), committed));
                })),
                (Ok(out), _) => {
                    let _ = answer.send((out, committed));
                }
            }
        });
        // The writer always answers; a dropped sender would mean its thread died.
        answered.await.unwrap_or_else(|_| {
            (Err(Error::internal("the writer thread stopped")), Committed { appended_events: false })
        })
    }

    /// On the writer thread: runs one request and commits if nobody is queued behind it.
    fn write<R>(&self, pool: &Pool, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Ran<R> {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let open = lock(&self.open).take();
        let mut batch = match open.map(Ok).unwrap_or_else(|| Batch::open(pool)) {
            Ok(batch) => batch,
            Err(e) => return (Ok(Err(e)), None, false),
        };
        // Nested inside the batch's transaction, this is a savepoint: an error rolls back this
        // request's writes and nobody else's.
        let ran = catch_unwind(AssertUnwindSafe(|| in_transaction(&mut batch.conn, f)));
        let (ran, appended) = match ran {
            Ok((out, appended)) => (Ok(out), appended),
            Err(panic) => (Err(panic), false),
        };
        let mut broken = false;
        match &ran {
            Ok(Ok(_)) => {
                batch.writes += 1;
                batch.appended_events |= appended;
            }
            Ok(Err(_)) => {}
            // The savepoint is still open: roll it back, or give up the whole batch.
            Err(_) => broken = rollback_one(&mut batch.conn).is_err(),
        }

        let outcome = batch.outcome.clone();
        let last = self.queued.load(Ordering::SeqCst) == 0
            || batch.writes >= MAX_BATCH
            || batch.opened.elapsed() >= MAX_BATCH_AGE;
        let committed_events = if broken {
            batch.abandon();
            false
        } else if last {
            let events = batch.appended_events;
            let ok = batch.commit();
            self.commits.fetch_add(1, Ordering::Relaxed);
            ok && events
        } else {
            *lock(&self.open) = Some(batch);
            false
        };
        (ran, Some(outcome), committed_events)
    }

    #[cfg(test)]
    fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

fn rollback_one(conn: &mut AnyConnection) -> std::result::Result<(), diesel::result::Error> {
    <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn)
}

impl Batch {
    fn open(pool: &Pool) -> Result<Batch> {
        let mut conn = pool.get().map_err(Error::internal)?;
        // IMMEDIATE: the write lock is taken (or waited for, up to the busy timeout) before the
        // batch reads anything. With a deferred BEGIN, another process's write to the file (a
        // CLI command beside the server) committing between a write's read and its first
        // change made the change fail at once with "database is locked": SQLite cannot move
        // a read snapshot that is out of date into a write.
        let AnyConnection::Sqlite(sqlite) = &mut *conn else {
            return Err(Error::internal("the group-commit lane is for SQLite"));
        };
        diesel::connection::AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        Ok(Batch { conn, opened: Instant::now(), writes: 0, appended_events: false, outcome: Arc::default() })
    }

    /// Commits and tells every request in the batch; true when it committed.
    fn commit(mut self) -> bool {
        let result = <AnyConnection as Connection>::TransactionManager::commit_transaction(&mut *self.conn);
        let ok = result.is_ok();
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = self.writes, "a group commit failed");
        }
        self.outcome.set(result.map_err(|e| e.to_string()));
        ok
    }

    /// Rolls the whole batch back. If even that fails, the connection's transaction state is
    /// broken and the pool discards it (`Manager::has_broken`).
    fn abandon(mut self) {
        let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(&mut *self.conn);
        self.outcome.set(Err("a request in the same batch failed and the batch was rolled back".into()));
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::{Clock, SystemClock};
    use crate::error::Error;
    use crate::store::Store;
    use std::collections::BTreeSet;

    const THREADS: usize = 16;
    const WRITES_PER_THREAD: usize = 20;

    fn sqlite_store(dir: &tempfile::TempDir) -> Store {
        Store::open(&format!("sqlite://{}/t.db", dir.path().display()), 4).unwrap()
    }

    fn tenant_names(store: &Store) -> BTreeSet<String> {
        store.read(|tx| tx.list_tenants()).unwrap().into_iter().map(|t| t.name).collect()
    }

    /// Each thread writes tenants `t<thread>-<i>`; `fails(thread, i)` makes that write insert
    /// its tenant and then fail, `panics(thread, i)` makes it insert and then panic.
    fn write_concurrently(store: &Store, fails: fn(usize, usize) -> bool, panics: fn(usize, usize) -> bool) -> usize {
        let panicked = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    scope.spawn(move || {
                        for i in 0..WRITES_PER_THREAD {
                            let result = store.write(|tx| {
                                tx.create_tenant(&format!("t{t}-{i}"), SystemClock.now())?;
                                if panics(t, i) {
                                    panic!("a write that panics after writing");
                                }
                                if fails(t, i) {
                                    return Err(Error::Conflict("a write that fails after writing".into()));
                                }
                                Ok(())
                            });
                            assert_eq!(result.is_err(), fails(t, i), "t{t}-{i}: {result:?}");
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join()).filter(Result::is_err).count()
        });
        panicked
    }

    fn expected(skip: fn(usize, usize) -> bool) -> BTreeSet<String> {
        (0..THREADS)
            .flat_map(|t| (0..WRITES_PER_THREAD).map(move |i| (t, i)))
            .filter(|&(t, i)| !skip(t, i))
            .map(|(t, i)| format!("t{t}-{i}"))
            .collect()
    }

    #[test]
    fn concurrent_writes_all_land_and_share_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        let before = store.group_commit.as_ref().unwrap().commits();
        assert_eq!(write_concurrently(&store, |_, _| false, |_, _| false), 0);
        assert_eq!(tenant_names(&store), expected(|_, _| false));
        let commits = store.group_commit.as_ref().unwrap().commits() - before;
        let writes = (THREADS * WRITES_PER_THREAD) as u64;
        assert!(commits < writes, "{commits} commits for {writes} concurrent writes: none were shared");
        // What was acknowledged is on disk: a new process (a fresh store) sees all of it.
        drop(store);
        assert_eq!(tenant_names(&sqlite_store(&dir)).len(), writes as usize);
    }

    #[test]
    fn a_failing_write_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        let fails = |t: usize, i: usize| (t + i) % 3 == 0;
        assert_eq!(write_concurrently(&store, fails, |_, _| false), 0);
        assert_eq!(tenant_names(&store), expected(fails));
    }

    #[test]
    fn a_panicking_write_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        // Thread 0 panics on its 5th write (and so never makes the rest).
        let panics = |t: usize, i: usize| t == 0 && i == 4;
        assert_eq!(write_concurrently(&store, |_, _| false, panics), 1);
        assert_eq!(tenant_names(&store), expected(|t, i| t == 0 && i >= 4));
        // The lane still works afterwards.
        store.write(|tx| tx.create_tenant("after", SystemClock.now()).map(|_| ())).unwrap();
        assert!(tenant_names(&store).contains("after"));
    }

    /// `write_async` from many tasks at once: each answer comes after its commit, failures and
    /// a panic roll back alone, and the rest share commits.
    #[test]
    fn async_writes_share_commits_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        let before = store.group_commit.as_ref().unwrap().commits();
        let fails = |i: usize| i % 5 == 0;
        let panics = |i: usize| i == 7;
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let results = runtime.block_on(futures_util::future::join_all((0..64).map(|i| {
            store.write_async(move |tx| {
                tx.create_tenant(&format!("a{i:02}"), SystemClock.now())?;
                if panics(i) {
                    panic!("an async write that panics after writing");
                }
                if fails(i) {
                    return Err(Error::Conflict("an async write that fails after writing".into()));
                }
                Ok(i)
            })
        })));
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(n) => assert!(*n == i && !fails(i) && !panics(i)),
                Err(Error::Conflict(_)) => assert!(fails(i)),
                Err(Error::Internal(_)) => assert!(panics(i)),
                Err(e) => panic!("a{i:02}: {e:?}"),
            }
        }
        let landed: BTreeSet<String> =
            (0..64).filter(|&i| !fails(i) && !panics(i)).map(|i| format!("a{i:02}")).collect();
        assert_eq!(tenant_names(&store), landed);
        let commits = store.group_commit.as_ref().unwrap().commits() - before;
        assert!(commits < landed.len() as u64, "{commits} commits for {} async writes", landed.len());
        drop(store);
        assert_eq!(tenant_names(&sqlite_store(&dir)), landed);
    }

    #[test]
    fn a_panic_escaping_a_queued_job_leaves_the_process_and_the_writer_running() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        store.group_commit.as_ref().unwrap().writer.spawn(|| panic!("outside any savepoint"));
        store.write(|tx| tx.create_tenant("after", SystemClock.now()).map(|_| ())).unwrap();
        assert!(tenant_names(&store).contains("after"));
    }

    #[test]
    fn writes_run_on_the_writer_thread_and_panics_reach_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        let name = store.write(|_| Ok(std::thread::current().name().map(str::to_string))).unwrap();
        assert_eq!(name.as_deref(), Some("scimd-writer"));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(|_| -> crate::error::Result<()> { panic!("on the writer") })
        }));
        let message = caught.unwrap_err().downcast::<&str>().map(|m| *m).unwrap_or_default();
        assert_eq!(message, "on the writer");
    }
}
