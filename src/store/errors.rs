//! How database errors become scimd errors: unique violations are the client's 409, a lost
//! connection or a lock held past the wait is 503, the rest are internal.

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
            other => Error::internal(other),
        }
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
