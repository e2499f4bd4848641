//! The only module that names Diesel: connections and pools by URL scheme, migrations, and the
//! queries per table. Everything above it sees `Store`, `Tx` and plain row types.
//!
//! Every query function takes a `TenantId`, so no query can forget which tenant it serves.

mod admin;
mod commit;
mod connection;
mod credentials;
mod directory;
mod errors;
mod events;
mod groups;
mod members;
mod positions;
pub mod predicate;
mod request_log;
mod schema;
mod sql;
mod sql_run;
mod tenants;
#[cfg(test)]
mod test_stores;
mod users;
mod webhooks;

pub use admin::{AdminSessionRow, AdminTokenRow, AdminUserRow};
pub use connection::Backend;
pub use credentials::{CredentialRow, NewCredential};
pub use directory::{BrowsePage, BrowsedGroup, BrowsedUser};
pub use events::{EventRow, NewEvent};
pub use groups::{GroupListQuery, GroupRow, GroupWrite, ListedGroups};
pub use members::{MemberKind, MemberRef, MemberView, UserGroup};
pub use request_log::{LogEntry, LogFilter, LogRow};
pub use tenants::{TenantRow, TenantStats};
pub use users::{ListedUsers, NewUser, UserListQuery, UserRow, UserValueRow, UserWrite};
pub use webhooks::{DeliveryRow, DueDelivery, EndpointRow, NewEndpoint};

use crate::error::{Error, Result};
use commit::Lane;
use connection::{AnyConnection, Pool};
use diesel::connection::Connection;
use std::sync::Arc;
use tokio::sync::Notify;

/// A tenant's internal key. Only the store creates one (from a row), so holding one means the
/// tenant existed when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(i64);

impl TenantId {
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The database behind scimd: a read pool and a write pool (one connection on SQLite, where a
/// single writer is as fast as several and keeps the WAL small; the read pool on PostgreSQL).
#[derive(Clone)]
pub struct Store {
    read: Pool,
    write: Pool,
    /// SQLite's writes share commits (`commit`). PostgreSQL already flushes the WAL once for
    /// all the commits waiting on it, and runs each write's statements while others run theirs:
    /// queueing its writes in one lane was measured slower (PATCH 2,018 → 1,380/s).
    group_commit: Option<Arc<Lane>>,
    backend: Backend,
    /// Woken after a commit that appended events, so webhook delivery starts at once.
    events_committed: Arc<Notify>,
    /// Where deep pages of unfiltered lists start, for read transactions.
    positions: Arc<positions::Positions>,
}

/// One open transaction. Query functions are methods on it, defined per table.
pub struct Tx<'a> {
    conn: &'a mut AnyConnection,
    appended_events: bool,
    /// Only in read transactions (`positions`).
    positions: Option<&'a positions::Positions>,
}

/// Runs `f` in a transaction on `conn` (a savepoint when one is already open); also says
/// whether it appended events, which counts only if it succeeded.
fn in_transaction<R>(conn: &mut AnyConnection, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> (Result<R>, bool) {
    let mut appended = false;
    let out = conn.transaction(|conn| {
        let mut tx = Tx { conn, appended_events: false, positions: None };
        let out = f(&mut tx);
        appended = tx.appended_events;
        out
    });
    let appended = appended && out.is_ok();
    (out, appended)
}

impl Tx<'_> {
    fn backend(&self) -> Backend {
        match self.conn {
            AnyConnection::Sqlite(_) => Backend::Sqlite,
            AnyConnection::Postgresql(_) => Backend::Postgres,
        }
    }
}

impl Store {
    /// Connects, applies pending migrations, and returns the pools.
    pub fn open(database_url: &str, pool_size: u32) -> Result<Store> {
        let (read, write, backend) = connection::pools(database_url, pool_size)?;
        let group_commit = (backend == Backend::Sqlite).then(Lane::new).transpose()?.map(Arc::new);
        let store = Store {
            read,
            write,
            group_commit,
            backend,
            events_committed: Arc::new(Notify::new()),
            positions: Arc::default(),
        };
        let mut conn = store.write.get().map_err(Error::internal)?;
        connection::run_migrations(&mut conn)?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` in a read transaction: one consistent snapshot for, e.g., a page and its total.
    pub fn read<R>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        let mut conn = self.read.get().map_err(Error::internal)?;
        self.read_on(&mut conn, f)
    }

    /// `read`, only if it cannot wait: on SQLite (a read there is in-process and never waits
    /// for a writer, with WAL), and with a read connection idle in the pool. `None` otherwise,
    /// without running `f`. Lets a point read run on the async worker that received it,
    /// without the hand-off to the blocking pool and back.
    pub fn read_now<R>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Option<Result<R>> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let mut conn = self.read.try_get()?;
        Some(self.read_on(&mut conn, f))
    }

    fn read_on<R>(&self, conn: &mut AnyConnection, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        type Manager = <AnyConnection as Connection>::TransactionManager;
        let positions = Some(&*self.positions);
        let AnyConnection::Postgresql(pg) = conn else {
            // SQLite: a transaction reads one snapshot of the WAL.
            return conn.transaction(|conn| f(&mut Tx { conn, appended_events: false, positions }));
        };
        // PostgreSQL's default, READ COMMITTED, takes a new snapshot per statement, so a page
        // and its total could disagree; REPEATABLE READ READ ONLY reads one snapshot and never
        // fails to serialise. A connection left inside the transaction (a failed rollback, a
        // panic) is discarded by the pool.
        AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        let out = f(&mut Tx { conn, appended_events: false, positions });
        match out {
            Ok(value) => Manager::commit_transaction(conn).map(|()| value).map_err(Error::from),
            Err(e) => {
                if let Err(rollback) = Manager::rollback_transaction(conn) {
                    tracing::warn!(error = %rollback, "rolling back a read transaction failed");
                }
                Err(e)
            }
        }
    }

    /// Runs `f` as one write: all of it commits or none of it does, and it returns once the
    /// commit is durable.
    pub fn write<R: Send>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send) -> Result<R> {
        let (out, appended) = match &self.group_commit {
            Some(lane) => {
                let (out, committed) = lane.run(&self.write, f);
                (out, committed.appended_events)
            }
            None => in_transaction(&mut *self.write.get().map_err(Error::internal)?, f),
        };
        if appended {
            self.events_committed.notify_one();
        }
        out
    }

    /// Notified after each commit that appended events (in this process only: other replicas
    /// find them by polling).
    pub fn events_committed(&self) -> Arc<Notify> {
        self.events_committed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_now_runs_only_when_it_would_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}/t.db", dir.path().display()), 1).unwrap();
        // The pool opens connections on demand: `read` opens the one it has.
        store.read(|_| Ok(())).unwrap();
        assert_eq!(store.read_now(|_| Ok(7)).transpose().unwrap(), Some(7));
        let held = store.read.get().unwrap();
        assert!(store.read_now(|_| -> Result<()> { panic!("ran while the only connection was taken") }).is_none());
        drop(held);
        assert_eq!(store.read_now(|_| Ok(8)).transpose().unwrap(), Some(8));
    }
}
