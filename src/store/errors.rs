//! How database errors become scimd errors: unique violations are the client's 409, a lost
//! connection, a lock held past the wait or a full disk is 503, the rest are internal.

use crate::error::Error;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

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
            // SQLite's SQLITE_BUSY: another process held the file's lock past the busy timeout.
            DieselError::DatabaseError(_, info) if info.message() == "database is locked" => {
                Error::Unavailable("another process held the SQLite file's lock past the database wait".into())
            }
            DieselError::DatabaseError(_, info) if is_storage_full(info.message()) => {
                Error::StorageFull(info.message().to_string())
            }
            other => Error::internal(other),
        }
    }
}

/// Whether a database's message says it had no room to write: SQLite's SQLITE_FULL (a full
/// disk, or `max_page_count`), or PostgreSQL's `disk_full` (53100) as its English messages
/// word it. Diesel passes PostgreSQL's SQLSTATE on for a few classes only, so the text is what
/// is left; a server with translated messages answers 500 instead, as before.
pub(super) fn is_storage_full(message: &str) -> bool {
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
}
