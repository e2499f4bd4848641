//! The only module that names Diesel: connections and pools by URL scheme, migrations, and the
//! queries per table. Everything above it sees `Store`, `Tx` and plain row types.
//!
//! Every query function takes a `TenantId`, so no query can forget which tenant it serves.

mod activity_file;
mod admin;
#[cfg(test)]
mod appended_rows_tests;
#[cfg(test)]
mod backfill_tests;
mod backfills;
mod batch_outcome;
mod commit;
mod connect_log;
mod connection;
#[cfg(test)]
mod counter_tests;
mod credentials;
mod db_threads;
mod directory;
mod errors;
mod event_append_sqlite;
#[cfg(test)]
mod event_numbering_tests;
mod events;
mod first_connection;
mod group_lanes;
mod group_read;
mod groups;
mod lists;
mod member_locks;
mod member_patch;
mod member_patch_checked;
mod member_reads;
mod members;
mod members_of_groups;
#[cfg(test)]
mod migration_tests;
mod migrations;
#[cfg(test)]
mod page_plan_tests;
mod pool_checkout;
mod positions;
pub mod predicate;
#[cfg(test)]
mod read_batch_tests;
mod read_batches;
mod request_log;
mod request_log_insert;
mod root_list;
mod savepoint;
mod schema;
mod sql;
mod sql_explain;
mod sql_run;
#[cfg(test)]
mod store_tests;
mod stored_time;
mod tenants;
#[cfg(test)]
mod test_stores;
mod tx;
mod user_args_pg;
mod user_change;
mod user_insert;
#[cfg(test)]
mod user_lock_tests;
mod user_read;
mod user_update;
mod users;
mod webhook_endpoints;
mod webhooks;

pub use admin::{AdminSessionRow, AdminTokenRow, AdminUserRow};
pub use commit::ReadMark;
pub use connection::{check_database_url, Backend, DEFAULT_WAIT as DEFAULT_DATABASE_WAIT};
pub use credentials::{CredentialRow, NewCredential};
pub use directory::{BrowsePage, BrowsedGroup, BrowsedUser};
pub use events::{EventRow, NewEvent};
pub use groups::{GroupListQuery, GroupRow, GroupWrite, ListedGroups};
pub use lists::ListQuery;
pub use member_patch::MemberOp;
pub use member_patch_checked::{MemberPatch, MembersPatched};
pub use member_reads::{MemberView, UserGroup};
pub use members::{MemberKind, MemberRef};
pub use members_of_groups::FirstMembers;
pub use request_log::{LogEntry, LogFilter, LogRow};
pub use root_list::{RootListQuery, RootListSide, RootListed, RootRow};
pub use savepoint::Stopped;
pub use tenants::{TenantRow, TenantStats};
pub use tx::Tx;
pub use user_change::PlannedUserWrite;
pub use user_read::UserAndGroups;
pub use users::{ListedUsers, NewUser, UserKeys, UserListQuery, UserRow, UserValueRow, UserWrite};
pub use webhook_endpoints::{EndpointRow, NewEndpoint};
pub use webhooks::{DeliveryRow, DueDelivery};

use crate::error::{Error, Result};
use commit::Lane;
use connection::{AnyConnection, Pool};
use db_threads::DbThreads;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use group_lanes::GroupLanes;
use std::sync::Arc;
use tokio::sync::Notify;
use tx::{backend_of, finish, TxManager};

/// A tenant's internal key. Only the store creates one (from a row), so holding one means the
/// tenant existed when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(i64);

impl TenantId {
    pub fn get(self) -> i64 {
        self.0
    }
}

/// How often a write that lost a race is tried again before the client is told to retry.
pub const MAX_WRITE_ATTEMPTS: usize = 16;

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
    /// PostgreSQL's writes to a group share commits with the same group's (`group_lanes`).
    group_lanes: Option<Arc<GroupLanes>>,
    /// SQLite's request log writes, beside the writer (`connection::activity_file`).
    log: Option<Pool>,
    /// Where requests' database work runs (`offload`), a thread per pooled connection.
    db_threads: Arc<DbThreads>,
    /// The request log's writes, one at a time (`write_request_log_async`).
    log_thread: Arc<DbThreads>,
    backend: Backend,
    /// Woken after a commit that appended events, so webhook delivery starts at once.
    events_committed: Arc<Notify>,
    /// Where deep pages of unfiltered lists start, for read transactions.
    positions: Arc<positions::Positions>,
    /// PostgreSQL's point reads that arrive together, read by one statement.
    read_batches: Arc<read_batches::ReadBatches>,
}

impl Store {
    /// Connects, applies pending migrations, and returns the pools.
    pub fn open(database_url: &str, pool_size: u32) -> Result<Store> {
        Self::open_waiting(database_url, pool_size, connection::DEFAULT_WAIT)
    }

    /// `open`, with requests waiting up to `wait` for a database connection before they fail
    /// with `Error::Unavailable`.
    pub fn open_waiting(database_url: &str, pool_size: u32, wait: std::time::Duration) -> Result<Store> {
        let connection::Pools { read, write, log, backend } = connection::pools(database_url, pool_size, wait)?;
        let group_commit = (backend == Backend::Sqlite).then(|| Lane::new("scimd-writer")).transpose()?.map(Arc::new);
        let group_lanes = (backend == Backend::Postgres).then(GroupLanes::new).transpose()?.map(Arc::new);
        let db_threads = Arc::new(DbThreads::new(read.max_size() as usize)?);
        let store = Store {
            read,
            write,
            log,
            group_commit,
            group_lanes,
            db_threads,
            log_thread: Arc::new(DbThreads::named(1, "scimd-log")?),
            backend,
            events_committed: Arc::new(Notify::new()),
            positions: Arc::default(),
            read_batches: Arc::default(),
        };
        let mut conn = pool_checkout::checkout(&store.write)?;
        migrations::run_migrations(&mut conn)?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` in a read transaction: one consistent snapshot for, e.g., a page and its total.
    pub fn read<R>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        if self.backend == Backend::Postgres {
            // PostgreSQL's default, READ COMMITTED, takes a new snapshot per statement, so a
            // page and its total could disagree; REPEATABLE READ READ ONLY reads one snapshot
            // and never fails to serialise.
            let mut conn = pool_checkout::begun(&self.read, |conn| {
                let AnyConnection::Postgresql(pg) = conn else { unreachable!("a PostgreSQL pool") };
                AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            })?;
            return finish(&mut conn, Some(&*self.positions), f).0;
        }
        let mut conn = pool_checkout::checkout(&self.read)?;
        self.read_sqlite(&mut conn, f)
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
        Some(self.read_sqlite(&mut conn, f))
    }

    /// The user with the unique `key` and, `with_groups`, its groups, by one statement outside any transaction: a statement reads one snapshot by
    /// itself, and BEGIN and COMMIT were two of the four round trips of a PostgreSQL point read.
    /// On PostgreSQL the reads that arrive together share that statement (`read_batches`).
    pub fn user_and_groups(
        &self,
        tenant: TenantId,
        key: predicate::UserKey<'_>,
        with_groups: bool,
    ) -> Result<Option<UserAndGroups>> {
        if self.backend == Backend::Postgres {
            return self.read_batches.read(&self.read, tenant, key, with_groups);
        }
        Ok(pool_checkout::on_live(&self.read, |conn| user_read::user_and_groups(conn, tenant, key, with_groups))?.1)
    }

    /// `Tx::resolve_members` outside a transaction, for a group's write on PostgreSQL to look
    /// its members up before it queues in the group's lane (`ScimService::patch_group`).
    pub fn resolve_members(&self, tenant: TenantId, ids: &[String]) -> Result<Vec<MemberRef>> {
        Ok(pool_checkout::on_live(&self.read, |conn| members::resolve_members(conn, tenant, ids))?.1)
    }

    /// `user_and_groups` as `read_now` runs a read: only on SQLite with a connection idle.
    pub fn user_and_groups_now(
        &self,
        tenant: TenantId,
        key: predicate::UserKey<'_>,
        with_groups: bool,
    ) -> Option<Result<Option<UserAndGroups>>> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let mut conn = self.read.try_get()?;
        Some(user_read::user_and_groups(&mut conn, tenant, key, with_groups).map_err(Error::from))
    }

    /// SQLite: a transaction reads one snapshot of the WAL.
    fn read_sqlite<R>(&self, conn: &mut AnyConnection, f: impl FnOnce(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        let positions = Some(&*self.positions);
        conn.transaction(|conn| {
            f(&mut Tx { conn, appended_events: false, positions, at_commit: None, held_counters: None })
        })
    }

    /// Runs `f` as one write: all of it commits or none of it does, and it returns once the
    /// commit is durable.
    pub fn write<R: Send>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send) -> Result<R> {
        let (out, appended) = match &self.group_commit {
            Some(lane) => {
                let (out, committed) = lane.run(&self.write, f);
                (out, committed.appended_events)
            }
            None => finish(&mut *pool_checkout::begun(&self.write, TxManager::begin_transaction)?, None, f),
        };
        if appended {
            self.events_committed.notify_one();
        }
        out
    }

    /// `write` for work the caller must not wait for, such as recording that a credential was
    /// used while verifying it: `f` is queued (on SQLite's writer, or on a database thread on
    /// PostgreSQL) and this returns at once. `failed` gets the error if it fails. A request
    /// that queues it and then writes waits out a locked or unreachable database once, not
    /// once for `f` and again for its own write.
    pub fn write_detached(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<()> + Send + 'static,
        failed: impl FnOnce(Error) + Send + 'static,
    ) {
        match &self.group_commit {
            Some(lane) => {
                let events_committed = self.events_committed.clone();
                lane.spawn(&self.write, savepoint::Guarded(f), move |out, committed| {
                    if committed.appended_events {
                        events_committed.notify_one();
                    }
                    out.unwrap_or_else(failed);
                });
            }
            None => {
                let store = self.clone();
                self.db_threads.spawn(move || store.write(f).unwrap_or_else(failed));
            }
        }
    }

    /// A write to the request log alone. On SQLite it runs on a connection of its own and
    /// writes only the request log's file, so it waits for no directory write and none waits
    /// for it; elsewhere it is `write`.
    pub fn write_request_log<R: Send>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send) -> Result<R> {
        match &self.log {
            Some(pool) => finish(&mut *pool_checkout::begun(pool, TxManager::begin_transaction)?, None, f).0,
            None => self.write(f),
        }
    }

    /// `write_request_log` for async callers, one batch at a time on a thread of its own
    /// (`scimd-log`, which a profile tells apart from the writer's and the requests' work).
    pub async fn write_request_log_async<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let store = self.clone();
        self.log_thread.run(move || store.write_request_log(f)).await
    }

    /// `write` for async callers: `f` owns what it needs, and the caller's thread is not held
    /// while it queues, runs and commits. On SQLite it goes straight to the writer thread and
    /// the answer comes back after the shared commit (two thread hand-offs fewer than `write`
    /// from the blocking pool); on PostgreSQL it runs on a database thread (`offload`). Retries
    /// `f` when a concurrent write got there first (`Error::WriteConflict`, PostgreSQL only:
    /// SQLite's one writer reads and writes in the same transaction, so nothing can come
    /// between).
    pub async fn write_async<R: Send + 'static>(
        &self,
        mut f: impl FnMut(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let Some(lane) = &self.group_commit else {
            let store = self.clone();
            let retrying = move || {
                let mut attempt = 1;
                loop {
                    match store.write(&mut f) {
                        Err(Error::WriteConflict) if attempt < MAX_WRITE_ATTEMPTS => attempt += 1,
                        other => return other,
                    }
                }
            };
            return self.offload(retrying).await;
        };
        let (out, committed) = lane.run_async(&self.write, f).await;
        if committed.appended_events {
            self.events_committed.notify_one();
        }
        out
    }

    /// Runs a request's blocking database work off the async workers, on one of as many
    /// threads as the read pool has connections (`db_threads`). Not for work that waits on
    /// anything but the database (a password hash): it would hold a thread others queue for.
    pub async fn offload<R: Send + 'static>(&self, f: impl FnOnce() -> Result<R> + Send + 'static) -> Result<R> {
        self.db_threads.run(f).await
    }

    /// Whether the database answers a statement within `wait` (`GET /readyz`), counted from
    /// now: waiting for a database thread, a connection (a dead one replaced, as for any
    /// read) and the answer. Never longer, so that a probe during an outage holds nothing.
    pub async fn ping(&self, wait: std::time::Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + wait;
        let pool = self.read.clone();
        let ping = self.offload(move || {
            use diesel::connection::SimpleConnection;
            pool_checkout::on_live_by(&pool, deadline, |conn| conn.batch_execute("SELECT 1")).map(drop)
        });
        match tokio::time::timeout(wait, ping).await {
            Ok(answered) => answered,
            Err(_) => Err(Error::Unavailable(format!("the database did not answer within {wait:?}"))),
        }
    }

    /// Numbers `tenant`'s (or every tenant's) committed events still waiting for a number
    /// (`Tx::number_events`): on PostgreSQL, what a reader of the events runs first, so that it
    /// sees every change committed before it asked. Nothing to do on SQLite, where it queues
    /// no write. Returns how many it numbered.
    pub fn number_events(&self, tenant: Option<TenantId>) -> Result<i64> {
        match self.backend {
            Backend::Sqlite => Ok(0),
            Backend::Postgres => self.write(|tx| tx.number_events(tenant)),
        }
    }

    /// Removes what numbering passes left behind in PostgreSQL's `pending_events`: each event
    /// is inserted there and deleted when numbered, and until a vacuum removes the dead rows,
    /// every pass steps over all of them (in the table and in its index). Autovacuum looks at a
    /// database once a minute by default; under 2,500 PUTs a second the dead rows reached
    /// 68,000 within 20 s, and passes (9.9 ms each) took a quarter of PostgreSQL's statement
    /// time (`pg_stat_statements`). `SKIP_LOCKED`: another replica's vacuum of it is as good.
    /// No `TRUNCATE`, which would lock out every write's append while it cut the file. Sent
    /// again on another connection if its own had died (a vacuum is safe to repeat). Nothing on
    /// SQLite.
    pub fn vacuum_pending_events(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            return Ok(());
        }
        pool_checkout::on_live(&self.write, |conn| {
            diesel::connection::SimpleConnection::batch_execute(
                conn,
                "VACUUM (SKIP_LOCKED, TRUNCATE FALSE) pending_events",
            )
        })?;
        Ok(())
    }

    /// Notified after each commit that appended events (in this process only: other replicas
    /// find them by polling).
    pub fn events_committed(&self) -> Arc<Notify> {
        self.events_committed.clone()
    }
}
