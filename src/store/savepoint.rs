//! A lane's transaction statements (`commit`): a batch's BEGIN and a request's savepoint
//! inside it (on SQLite as statements its connection prepares once), and a request run
//! without one.
//!
//! Diesel's nested transactions send `SAVEPOINT …` and `RELEASE SAVEPOINT …` as text, which
//! SQLite parses again every time (`sqlite3_exec`, two per write). Prepared, each is a step of
//! a cached statement: ~8,000 fewer of the writer's instructions per PUT under callgrind.
//! Diesel's own transaction depth stays at the batch's BEGIN meanwhile, so a `transaction()`
//! inside a request still nests as a savepoint of Diesel's. On PostgreSQL (a group's lane,
//! `group_lanes`) the request's deferred event append goes in the RELEASE's message.

use super::connection::AnyConnection;
use super::event_append_sqlite::HeldCounters;
use super::Tx;
use crate::error::{Error, Result};
use diesel::connection::{AnsiTransactionManager, Connection, SimpleConnection, TransactionManager};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};
use std::time::Duration;

/// `SAVEPOINT request` (`OPEN`) or `RELEASE request`: a type each, so Diesel's statement cache
/// knows each by its type and prepares it once per connection.
struct SavepointSql<const OPEN: bool>;

impl<const OPEN: bool> QueryId for SavepointSql<OPEN> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const OPEN: bool> QueryFragment<Sqlite> for SavepointSql<OPEN> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(if OPEN { "SAVEPOINT request" } else { "RELEASE request" });
        Ok(())
    }
}

impl<Conn, const OPEN: bool> RunQueryDsl<Conn> for SavepointSql<OPEN> {}

/// A write that changes nothing: it begins the batch's write transaction on the directory's
/// file alone, as SQLite locks a file for writing when a statement that writes it starts.
/// (`tenant_counter_deltas` is always empty on SQLite and has neither keys nor triggers.)
struct LockDirectoryFile;

impl QueryId for LockDirectoryFile {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Sqlite> for LockDirectoryFile {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("DELETE FROM main.tenant_counter_deltas WHERE 0");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for LockDirectoryFile {}

/// Opens a batch's transaction with the directory file's write lock taken (or waited for, up to
/// the busy timeout) before the batch reads anything. With a deferred BEGIN alone, another
/// process's write to the file (a CLI command beside the server) committing between a write's
/// read and its first change made the change fail at once with "database is locked": SQLite
/// cannot move a read snapshot that is out of date into a write. Not BEGIN IMMEDIATE, which
/// locks every attached file too, the request log's (`connection::activity_file`) among them:
/// its own writes would wait for each batch.
///
/// `wait_left`: the lock is waited for that long instead of the connection's busy timeout (the
/// whole database wait). The writes queued behind one that waited out another process's lock
/// have waited meanwhile: with a whole wait each, eight queued behind a held lock were
/// answered a wait apart, the last after eight (`tests/api/database_outage.rs`).
pub(super) fn begin_batch(sqlite: &mut SqliteConnection, wait_left: Option<Duration>) -> QueryResult<()> {
    let Some(left) = wait_left else { return begin_locked(sqlite) };
    let whole = busy_timeout(sqlite)?;
    sqlite.batch_execute(&format!("PRAGMA busy_timeout = {}", left.as_millis()))?;
    let begun = begin_locked(sqlite);
    // Should this fail with the transaction begun, the pool discards the connection
    // (`Manager::has_broken`).
    sqlite.batch_execute(&format!("PRAGMA busy_timeout = {whole}"))?;
    begun
}

fn begin_locked(sqlite: &mut SqliteConnection) -> QueryResult<()> {
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN")?;
    if let Err(e) = LockDirectoryFile.execute(sqlite) {
        AnsiTransactionManager::rollback_transaction(sqlite)?;
        return Err(e);
    }
    Ok(())
}

/// The connection's busy timeout in milliseconds.
fn busy_timeout(sqlite: &mut SqliteConnection) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        timeout: i64,
    }
    Ok(diesel::sql_query("PRAGMA busy_timeout").get_result::<Timeout>(sqlite)?.timeout)
}

/// Opens the request's savepoint.
fn open_savepoint(conn: &mut AnyConnection) -> Result<()> {
    match conn {
        AnyConnection::Sqlite(sqlite) => SavepointSql::<true>.execute(sqlite).map(|_| ())?,
        AnyConnection::Postgresql(pg) => pg.batch_execute("SAVEPOINT request")?,
    }
    Ok(())
}

/// On PostgreSQL, a request's SAVEPOINT sent ahead of it, in the message that began the batch
/// or ended the savepoint before: a round trip fewer per request, each one the group's row
/// stays locked for (`group_lanes`).
#[derive(Default)]
pub(super) struct Ahead {
    /// This request's savepoint is open already.
    pub open: bool,
    /// Another request follows in this batch: open its savepoint when this one's ends.
    pub next: bool,
}

/// Ends the request's savepoint, keeping its writes; on PostgreSQL after `deferred`, the
/// request's event append (`Tx::at_commit`), in the same message, and opening the next
/// request's savepoint if `next`. A failing statement skips the rest of the message: the
/// savepoint is then still open, for `roll_back`. Returns whether the next one is open.
fn release_savepoint(conn: &mut AnyConnection, deferred: Option<String>, next: bool) -> Result<bool> {
    let AnyConnection::Postgresql(pg) = conn else {
        return match (conn, deferred) {
            (AnyConnection::Sqlite(sqlite), None) => Ok(SavepointSql::<false>.execute(sqlite).map(|_| false)?),
            _ => Err(Error::internal("a deferred statement on SQLite")),
        };
    };
    let mut sql = deferred.map(|append| append + "; ").unwrap_or_default();
    sql.push_str(if next { "RELEASE request; SAVEPOINT request" } else { "RELEASE request" });
    pg.batch_execute(&sql)?;
    Ok(next)
}

/// Runs `f` in a savepoint: an error rolls back its writes alone. Also says whether it
/// appended events, which counts only if it succeeded, and whether the savepoint could not be
/// ended (the caller then gives up the whole batch). A panic in `f` leaves the savepoint open
/// for the caller to `roll_back`.
pub(super) fn in_savepoint<R>(
    conn: &mut AnyConnection,
    ahead: &mut Ahead,
    f: impl FnOnce(&mut Tx<'_>) -> Result<R>,
) -> (Result<R>, bool, bool) {
    if !std::mem::take(&mut ahead.open) {
        if let Err(e) = open_savepoint(conn) {
            return (Err(e), false, false);
        }
    }
    let mut tx = Tx::new(conn);
    let out = f(&mut tx);
    let (appended, deferred) = (tx.appended_events, tx.at_commit.take());
    match out {
        Ok(value) => match release_savepoint(conn, deferred, ahead.next) {
            Ok(next_open) => {
                ahead.open = next_open;
                (Ok(value), appended, false)
            }
            Err(e) => (Err(e), false, roll_back(conn).is_err()),
        },
        Err(e) => (Err(e), false, roll_back(conn).is_err()),
    }
}

/// Why a write run without a savepoint of its own (`without_savepoint`) failed.
#[derive(Debug)]
pub enum Stopped {
    /// Before it changed anything: the batch goes on without it.
    Before(Error),
    /// After its first change, which cannot be undone alone: the whole batch is rolled back.
    After(Error),
}

impl Stopped {
    pub fn into_error(self) -> Error {
        match self {
            Stopped::Before(e) | Stopped::After(e) => e,
        }
    }
}

/// `in_savepoint` for a write whose failures a client can cause all come from its first
/// statement, which the database undoes by itself when it fails: on SQLite every statement is
/// atomic, and on PostgreSQL such a write is one statement whose function catches what a
/// client can cause (`scimd_patch_members_many`). No SAVEPOINT and RELEASE (on SQLite no
/// copy of each page it first changes into the savepoint's journal, together ~10,000 of the
/// writer's instructions per PUT; on PostgreSQL a round trip). It says when it stopped
/// (`Stopped`); one that stopped after its first change leaves the batch to be given up. Its
/// events move their tenant's counter in the batch's `held` counters on SQLite, and its
/// deferred event append (`Tx::at_commit`) is sent once it is done on PostgreSQL.
pub(super) fn without_savepoint<R>(
    conn: &mut AnyConnection,
    held: &mut HeldCounters,
    ahead: &mut Ahead,
    f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<R, Stopped>,
) -> (Result<R>, bool, bool) {
    // Opened ahead for a request with a savepoint that was queued behind this one, at the
    // time, but reached the lane after it.
    if std::mem::take(&mut ahead.open) {
        if let Err(e) = release_savepoint(conn, None, false) {
            return (Err(e), false, true);
        }
    }
    let mut tx = Tx::new(conn);
    tx.held_counters = Some(held);
    let out = f(&mut tx);
    let (appended, deferred) = (tx.appended_events, tx.at_commit.take());
    match out {
        Ok(value) => match deferred.map(|sql| conn.batch_execute(&sql)).transpose() {
            Ok(_) => (Ok(value), appended, false),
            Err(e) => (Err(e.into()), false, true),
        },
        Err(Stopped::Before(e)) => (Err(e), false, false),
        Err(Stopped::After(e)) => (Err(e), false, true),
    }
}

/// Undoes the request's writes and ends its savepoint. Fails if the connection is not where
/// the savepoint left it (a panic inside one of Diesel's own nested transactions): the caller
/// then gives up the whole batch.
pub(super) fn roll_back(conn: &mut AnyConnection) -> Result<()> {
    let depth =
        <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.map(|d| d.get()) != Some(1) {
        return Err(Error::internal(format!("a request left a transaction open at depth {depth:?}")));
    }
    // On PostgreSQL this also clears Diesel's mark of a failed statement in the transaction
    // (libpq reports it in a transaction again), so the batch can go on and commit.
    Ok(conn.batch_execute("ROLLBACK TO request; RELEASE request")?)
}

/// A request as the writer runs it inside a batch.
pub(super) trait InBatch<R> {
    /// Whether it runs in a savepoint of its own, which a panic leaves open to roll back.
    const SAVEPOINT: bool;
    /// Its result, whether it appended events, and whether the batch must be given up.
    fn run(self, conn: &mut AnyConnection, held: &mut HeldCounters, ahead: &mut Ahead) -> (Result<R>, bool, bool);
}

/// In a savepoint of the batch's transaction: an error rolls back this request's writes and
/// nobody else's.
pub(super) struct Guarded<F>(pub F);

impl<R, F: FnOnce(&mut Tx<'_>) -> Result<R>> InBatch<R> for Guarded<F> {
    const SAVEPOINT: bool = true;
    fn run(self, conn: &mut AnyConnection, _: &mut HeldCounters, ahead: &mut Ahead) -> (Result<R>, bool, bool) {
        in_savepoint(conn, ahead, self.0)
    }
}

/// Without a savepoint (`savepoint::without_savepoint`): a failure after its first change
/// rolls back the whole batch.
pub(super) struct Unguarded<F>(pub F);

impl<R, F: FnOnce(&mut Tx<'_>) -> std::result::Result<R, Stopped>> InBatch<R> for Unguarded<F> {
    const SAVEPOINT: bool = false;
    fn run(self, conn: &mut AnyConnection, held: &mut HeldCounters, ahead: &mut Ahead) -> (Result<R>, bool, bool) {
        without_savepoint(conn, held, ahead, self.0)
    }
}
