//! How database errors become scimd errors: unique violations are the client's 409, a lost
//! connection, a lock held past the wait, a database that takes no writes or a full disk is
//! 503, the rest are internal.

use crate::error::Error;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::cell::Cell;

thread_local! {
    /// Set when a statement on this thread met a session that takes no writes; the connection
    /// this thread gives back to its pool next is then dropped (`met_read_only`).
    static MET_READ_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// Whether a statement on this thread met a read-only session since the last call. A session
/// keeps the `default_transaction_read_only` it started with (a standby, a failover's old
/// primary, a managed service's guard against a full disk), so a pool that kept it would go on
/// refusing writes after the database took them again, for up to the pool's 30-minute
/// connection lifetime. The connection that met it is the one this thread holds (a request's
/// statements run on the thread that checked their connection out) and gives back next.
pub(super) fn met_read_only() -> bool {
    MET_READ_ONLY.with(|met| met.replace(false))
}

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Error::Conflict(format!("a unique value is already in use ({})", info.message()))
            }
            // Both are PostgreSQL telling one of two racing transactions to start again.
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Error::WriteConflict,
            DieselError::DatabaseError(_, info) if info.message().contains("deadlock detected") => Error::WriteConflict,
            DieselError::NotFound => Error::NotFound("the resource does not exist".into()),
            // The server went away under the request (a restart, a failover, the network).
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Error::Unavailable(info.message().to_string())
            }
            // PostgreSQL's read_only_sql_transaction (25006): see `met_read_only`.
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                MET_READ_ONLY.with(|met| met.set(true));
                Error::Unavailable(format!("the database takes no writes: {}", info.message()))
            }
            // SQLite's SQLITE_BUSY: another process held the file's lock past the busy timeout.
            DieselError::DatabaseError(_, info) if info.message() == "database is locked" => {
                Error::Unavailable("another process held the SQLite file's lock past the database wait".into())
            }
            DieselError::DatabaseError(_, info) if is_storage_full(info.message()) => {
                Error::StorageFull(info.message().to_string())
            }
            // PostgreSQL's query_canceled (57014) and lock_not_available (55P03): a
            // `statement_timeout` or `lock_timeout` an operator set, or an operator's
            // pg_cancel_backend, as PostgreSQL's English messages word them. scimd sets
            // neither; the same request may well pass later.
            DieselError::DatabaseError(_, info) if info.message().starts_with("canceling statement due to") => {
                Error::Unavailable(info.message().to_string())
            }
            other => Error::internal(other),
        }
    }
}

/// Whether a database's message says it had no room to write: SQLite's SQLITE_FULL (a full
/// disk, or `max_page_count`), or PostgreSQL's `disk_full` (53100) as its English messages
/// word it. Diesel passes PostgreSQL's SQLSTATE on for a few classes only, so the text is what
/// is left; a server with translated messages answers 500 instead, as before.
fn is_storage_full(message: &str) -> bool {
    message == "database or disk is full" || message.contains("No space left on device")
}

/// Whether `e` is a unique violation on an index or constraint whose name or columns mention
/// `needle` (PostgreSQL reports the constraint name, SQLite the column list).
pub(super) fn is_unique_violation_on(e: &DieselError, needle: &str) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name().is_some_and(|c| c.contains(needle)) || info.message().contains(needle)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::batch_outcome::ended_result;

    #[test]
    fn a_full_disk_is_storage_full_on_either_backend_and_through_a_commit() {
        let database = |kind, message: &str| DieselError::DatabaseError(kind, Box::new(message.to_string()));
        let cases = [
            (database(DatabaseErrorKind::Unknown, "database or disk is full"), "StorageFull"),
            (
                database(
                    DatabaseErrorKind::Unknown,
                    "could not extend file \"base/16384/16390\": No space left on device",
                ),
                "StorageFull",
            ),
            (database(DatabaseErrorKind::Unknown, "database is locked"), "Unavailable"),
            (database(DatabaseErrorKind::Unknown, "canceling statement due to statement timeout"), "Unavailable"),
            (database(DatabaseErrorKind::Unknown, "canceling statement due to user request"), "Unavailable"),
            (database(DatabaseErrorKind::Unknown, "disk I/O error"), "Internal"),
            (database(DatabaseErrorKind::UniqueViolation, "UNIQUE constraint failed"), "Conflict"),
        ];
        for (e, want) in cases {
            let message = e.to_string();
            let got = Error::from(e);
            assert!(format!("{got:?}").starts_with(want), "{message}: {got:?}");
            // A batch's commit that failed so answers each of its writes the same way.
            let through_commit = ended_result(&Err(got)).unwrap_err();
            assert!(format!("{through_commit:?}").starts_with(want), "{message}: {through_commit:?}");
        }
        let internal = ended_result(&Err(Error::internal("disk I/O error"))).unwrap_err();
        assert!(matches!(&internal, Error::Internal(c) if c == "the commit failed: disk I/O error"), "{internal:?}");
    }

    /// A PostgreSQL write on a session that takes no writes is a 503, and the pool drops such
    /// sessions, so writes land again on fresh ones once the database takes them.
    #[test]
    fn a_read_only_database_is_unavailable_and_its_sessions_are_replaced() {
        use diesel::connection::SimpleConnection;
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = crate::store::test_stores::stores(&dir);
        let Some(pg) = stores.into_iter().nth(1) else { return };
        let size = pg.write.max_size() as usize;
        // Every pooled session turned read-only, as after a failover onto a standby.
        let mut sessions: Vec<_> = (0..size).map(|_| pg.write.get().unwrap()).collect();
        for session in &mut sessions {
            session.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").unwrap();
        }
        drop(sessions);
        let create = |name: &str| pg.write(|tx| tx.create_tenant(name, chrono::Utc::now()).map(drop));
        let first = create("refused");
        assert!(matches!(&first, Err(Error::Unavailable(c)) if c.contains("takes no writes")), "{first:?}");
        let landed = (0..=size).position(|i| create(&format!("landed-{i}")).is_ok());
        assert!(landed.is_some_and(|i| i < size), "no write landed on a fresh session: {landed:?}");
        let tenants = pg.read(|tx| tx.list_tenants()).unwrap();
        assert!(tenants.iter().all(|t| t.name != "refused"), "{tenants:?}");

        // A user's POST is one statement whose error is read after its session is back in
        // the pool: that session is dropped all the same.
        let tenant = tenants.iter().find(|t| t.name.starts_with("landed-")).expect("a tenant landed").id;
        let mut session = pg.write.get().unwrap();
        session.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").unwrap();
        drop(session);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let post = |n| runtime.block_on(pg.insert_user(tenant, crate::store::test_stores::new_user(n), vec![], None));
        let refused = post(1);
        assert!(matches!(&refused, Err(Error::Unavailable(_))), "{refused:?}");
        assert!(post(2).is_ok(), "the read-only session was kept");
    }

    /// A lock held past an operator's `lock_timeout` is a 503 the client may retry, not a 500.
    #[test]
    fn a_statement_the_database_cancels_is_unavailable() {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let dir = tempfile::tempdir().unwrap();
        let (urls, _schema) = crate::store::test_stores::urls(&dir);
        let Some(url) = urls.get(1) else { return };
        let pg = crate::store::Store::open(url, 2).unwrap();
        let tenant = pg.write(|tx| tx.create_tenant("acme", chrono::Utc::now())).unwrap().id;
        let mut sessions: Vec<_> = (0..pg.write.max_size()).map(|_| pg.write.get().unwrap()).collect();
        for session in &mut sessions {
            session.batch_execute("SET lock_timeout = '50ms'").unwrap();
        }
        drop(sessions);
        let mut holder = diesel::PgConnection::establish(url).unwrap();
        holder.batch_execute("BEGIN; LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE").unwrap();
        let waited = pg.write(|tx| tx.set_tenant_disabled(tenant, Some(chrono::Utc::now())));
        assert!(matches!(&waited, Err(Error::Unavailable(c)) if c.contains("lock timeout")), "{waited:?}");
        holder.batch_execute("ROLLBACK").unwrap();
    }
}
