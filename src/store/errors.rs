//! How database errors become scimd errors: unique violations are the client's 409, a lost
//! connection, a lock held past the wait, a database that takes no writes or a full disk is
//! 503, the rest are internal.

use crate::error::Error;
use diesel::pg::sql_state as pg;
use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError, SqlState};
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

type Information = Box<dyn DatabaseErrorInformation + Send + Sync>;

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Error::Conflict(format!("a unique value is already in use ({})", info.message()))
            }
            // PostgreSQL telling one of two racing transactions to start again.
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Error::WriteConflict,
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
            DieselError::DatabaseError(_, info) => match info.sqlstate() {
                Some(state) => from_postgres(state, info),
                None => from_sqlite(info),
            },
            other => Error::internal(other),
        }
    }
}

/// PostgreSQL's errors by their SQLSTATE (Appendix A of its manual), which every error it
/// sends carries: its messages are in the server's `lc_messages`, so a server set up in German
/// words a deadlock "Verklemmung (Deadlock) entdeckt".
fn from_postgres(state: SqlState, info: Information) -> Error {
    let message = || info.message().to_string();
    match (state, state.class().as_str()) {
        // The other transaction of a deadlock goes on; this one may start again.
        (pg::T_R_DEADLOCK_DETECTED, _) => Error::WriteConflict,
        (pg::DISK_FULL, _) => Error::StorageFull(message()),
        // query_canceled and lock_not_available: a lock held past scimd's `lock_timeout`
        // (the database wait), a `statement_timeout` an operator set, or an operator's
        // pg_cancel_backend. The same request may well pass later.
        (pg::QUERY_CANCELED | pg::LOCK_NOT_AVAILABLE, _) => Error::Unavailable(message()),
        // Connection exceptions, insufficient resources (memory, connections) and operator
        // intervention (a shutdown, a database that cannot take connections yet): the server,
        // not the request, and passing.
        (_, "08" | "53" | "57") => Error::Unavailable(message()),
        _ => Error::internal(format!("{} (SQLSTATE {state})", info.message())),
    }
}

/// SQLite's errors, which carry no SQLSTATE, by their messages: these are fixed in its
/// source (`sqlite3ErrStr`), never translated. Diesel's own few (a PostgreSQL "Received an
/// empty query") come here too, and are internal.
fn from_sqlite(info: Information) -> Error {
    match info.message() {
        // SQLITE_BUSY: another process held the file's lock past the busy timeout.
        "database is locked" => {
            Error::Unavailable("another process held the SQLite file's lock past the database wait".into())
        }
        // SQLITE_FULL: a full disk, or `max_page_count`.
        "database or disk is full" => Error::StorageFull(info.message().to_string()),
        other => Error::internal(other),
    }
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

    /// A PostgreSQL error as libpq hands it over: its SQLSTATE and a message in the server's
    /// language.
    struct Postgres(&'static str, &'static str);

    impl DatabaseErrorInformation for Postgres {
        fn message(&self) -> &str {
            self.1
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
        fn sqlstate(&self) -> Option<SqlState> {
            self.0.parse().ok()
        }
    }

    #[test]
    fn database_errors_by_backend_and_through_a_commit() {
        let sqlite =
            |message: &str| DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string()));
        let postgres =
            |state, message| DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(Postgres(state, message)));
        let cases = [
            (sqlite("database or disk is full"), "StorageFull"),
            (sqlite("database is locked"), "Unavailable"),
            (sqlite("disk I/O error"), "Internal"),
            (
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new("UNIQUE constraint failed".to_string())),
                "Conflict",
            ),
            // PostgreSQL by its SQLSTATE, in English and as a server set up in German words it
            // (its translations, `gettext -d postgres-15`).
            (postgres("53100", "could not extend file \"base/16384/16390\": No space left on device"), "StorageFull"),
            (
                postgres("53100", "konnte Datei »base/16384/16390« nicht erweitern: Auf dem Gerät ist kein Speicherplatz mehr verfügbar"),
                "StorageFull",
            ),
            (postgres("40P01", "deadlock detected"), "WriteConflict"),
            (postgres("40P01", "Verklemmung (Deadlock) entdeckt"), "WriteConflict"),
            (postgres("57014", "canceling statement due to statement timeout"), "Unavailable"),
            (postgres("57014", "storniere Anfrage wegen Zeitüberschreitung der Anfrage"), "Unavailable"),
            (postgres("55P03", "storniere Anfrage wegen Zeitüberschreitung einer Sperre"), "Unavailable"),
            (postgres("57P01", "Verbindung wird abgebrochen aufgrund von Anweisung des Administrators"), "Unavailable"),
            (postgres("57P03", "das Datenbanksystem startet"), "Unavailable"),
            (postgres("53300", "tut mir leid, schon zu viele Verbindungen"), "Unavailable"),
            (postgres("53200", "Speicher aufgebraucht"), "Unavailable"),
            (postgres("08006", "connection failure"), "Unavailable"),
            // Words in a message decide nothing: undefined_table, io_error and internal_error.
            (postgres("42P01", "relation \"deadlock detected\" does not exist"), "Internal"),
            (postgres("58030", "could not write to file: No space left on device"), "Internal"),
            (postgres("XX000", "canceling statement due to an internal error"), "Internal"),
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
        let unknown = Error::from(postgres("42P01", "Relation »users« existiert nicht"));
        assert!(matches!(&unknown, Error::Internal(c) if c.ends_with("(SQLSTATE 42P01)")), "{unknown:?}");
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

    /// A lock held past the database wait (scimd's `lock_timeout`) is a 503 the client may
    /// retry, not a 500, and not a wait for as long as the lock is held.
    #[test]
    fn a_lock_held_past_the_wait_is_unavailable() {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let (urls, _schema) = crate::store::test_stores::urls(&dir);
        let Some(url) = urls.get(1) else { return };
        let pg = crate::store::Store::open_waiting(url, 2, Duration::from_millis(500)).unwrap();
        let tenant = pg.write(|tx| tx.create_tenant("acme", chrono::Utc::now())).unwrap().id;
        let mut holder = diesel::PgConnection::establish(url).unwrap();
        holder.batch_execute("BEGIN; LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE").unwrap();
        // Let go once the write has ended, or in 8 s, so that a write that waits for the lock
        // ends too (and fails this test).
        let (ended, hold_until) = std::sync::mpsc::channel::<()>();
        let holding = std::thread::spawn(move || {
            let _ = hold_until.recv_timeout(Duration::from_secs(8));
            holder.batch_execute("ROLLBACK").unwrap();
        });
        let started = Instant::now();
        let waited = pg.write(|tx| tx.set_tenant_disabled(tenant, Some(chrono::Utc::now())));
        let _ = ended.send(());
        assert!(matches!(&waited, Err(Error::Unavailable(c)) if c.contains("lock timeout")), "{waited:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
        holding.join().unwrap();
    }
}
