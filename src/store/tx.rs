//! A transaction on a pooled connection (`Tx`), and how a write ends: committed with the
//! statements left for the COMMIT's message, or rolled back.

use super::{connection::AnyConnection, event_append_sqlite, positions, Backend};
use crate::error::{Error, Result};
use diesel::connection::{Connection, TransactionManager};

/// One open transaction. Query functions are methods on it, defined per table.
pub struct Tx<'a> {
    pub(super) conn: &'a mut AnyConnection,
    pub(super) appended_events: bool,
    /// Only in read transactions (`positions`).
    pub(super) positions: Option<&'a positions::Positions>,
    /// Statements left for the end of a PostgreSQL write, sent in the COMMIT's message
    /// (`Tx::append_events`).
    pub(super) at_commit: Option<String>,
    /// Where a SQLite write without a savepoint moves its tenant's event counter.
    pub(super) held_counters: Option<&'a mut event_append_sqlite::HeldCounters>,
}

impl<'a> Tx<'a> {
    /// Statements on `conn` in whatever transaction it is in (or none).
    pub(super) fn new(conn: &'a mut AnyConnection) -> Tx<'a> {
        Tx { conn, appended_events: false, positions: None, at_commit: None, held_counters: None }
    }
}

pub(super) type TxManager = <AnyConnection as Connection>::TransactionManager;

/// Runs `f` in the transaction `begun` opened on `conn` and commits it, or rolls it back if `f`
/// failed; also says whether it appended events, which counts only if it committed. A
/// connection left inside the transaction (a failed rollback, a panic) is discarded by the pool.
pub(super) fn finish<R>(
    conn: &mut AnyConnection,
    positions: Option<&positions::Positions>,
    f: impl FnOnce(&mut Tx<'_>) -> Result<R>,
) -> (Result<R>, bool) {
    let mut tx = Tx { conn, appended_events: false, positions, at_commit: None, held_counters: None };
    let out = f(&mut tx);
    let (appended, at_commit) = (tx.appended_events, tx.at_commit);
    let out = match out {
        Ok(value) => commit(conn, at_commit).map(|()| value),
        Err(e) => {
            roll_back(conn);
            Err(e)
        }
    };
    let appended = appended && out.is_ok();
    (out, appended)
}

/// Commits the transaction open on `conn`, with `at_commit` in the same message as the COMMIT:
/// what it locks is held only until the commit is durable, not for a round trip to scimd and
/// back as well (on a busy machine, mostly the wait for scimd's thread to run again).
pub(super) fn commit(conn: &mut AnyConnection, at_commit: Option<String>) -> Result<()> {
    use diesel::connection::SimpleConnection;
    let Some(sql) = at_commit else { return Ok(TxManager::commit_transaction(conn)?) };
    // Diesel follows libpq's transaction status: after the COMMIT (even a failed one, which
    // ends the transaction too) its manager knows the transaction is over. A failing
    // statement skips the rest of the message, COMMIT included, and leaves it open.
    conn.batch_execute(&format!("{sql}; COMMIT")).map_err(|e| {
        let still_open = TxManager::transaction_manager_status_mut(conn).transaction_depth().is_ok_and(|d| d.is_some());
        if still_open {
            roll_back(conn);
        }
        Error::from(e)
    })
}

/// Rolls back the transaction open on `conn`; a failure leaves it open, so the pool drops it.
pub(super) fn roll_back(conn: &mut AnyConnection) {
    if let Err(e) = TxManager::rollback_transaction(conn) {
        tracing::warn!(error = %e, "rolling back a transaction failed");
    }
}

pub(super) fn backend_of(conn: &AnyConnection) -> Backend {
    match conn {
        AnyConnection::Sqlite(_) => Backend::Sqlite,
        AnyConnection::Postgresql(_) => Backend::Postgres,
    }
}

impl Tx<'_> {
    pub(super) fn backend(&self) -> Backend {
        backend_of(self.conn)
    }
}
