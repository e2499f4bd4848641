//! The only module that names Diesel: connections and pools by URL scheme, migrations, and the
//! queries per table. Everything above it sees `Store`, `Tx` and plain row types.
//!
//! Every query function takes a `TenantId`, so no query can forget which tenant it serves.

mod activity_file;
mod admin;
#[cfg(test)]
mod appended_rows_tests;
mod batch_outcome;
mod commit;
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
mod group_lanes;
mod groups;
mod member_locks;
mod member_patch;
mod member_patch_checked;
mod member_reads;
mod members;
#[cfg(test)]
mod migration_tests;
mod positions;
pub mod predicate;
mod request_log;
mod request_log_insert;
mod savepoint;
mod schema;
mod sql;
mod sql_run;
mod stored_time;
mod tenants;
#[cfg(test)]
mod test_stores;
mod user_args_pg;
mod user_change;
mod user_insert;
#[cfg(test)]
mod user_lock_tests;
mod user_read;
mod user_update;
mod users;
mod webhooks;

pub use admin::{AdminSessionRow, AdminTokenRow, AdminUserRow};
pub use commit::ReadMark;
pub use connection::{Backend, DEFAULT_WAIT as DEFAULT_DATABASE_WAIT};
pub use credentials::{CredentialRow, NewCredential};
pub use directory::{BrowsePage, BrowsedGroup, BrowsedUser};
pub use events::{EventRow, NewEvent};
pub use groups::{GroupListQuery, GroupRow, GroupWrite, ListedGroups};
pub use member_patch::MemberOp;
pub use member_patch_checked::{MemberPatch, MembersPatched};
pub use member_reads::{MemberView, UserGroup};
pub use members::{MemberKind, MemberRef};
pub use request_log::{LogEntry, LogFilter, LogRow};
pub use savepoint::Stopped;
pub use tenants::{TenantRow, TenantStats};
pub use user_change::PlannedUserWrite;
pub use user_read::UserAndGroups;
pub use users::{ListedUsers, NewUser, UserKeys, UserListQuery, UserRow, UserValueRow, UserWrite};
pub use webhooks::{DeliveryRow, DueDelivery, EndpointRow, NewEndpoint};

use crate::error::{Error, Result};
use commit::Lane;
use connection::{AnyConnection, Pool};
use db_threads::DbThreads;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use group_lanes::GroupLanes;
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
}

/// One open transaction. Query functions are methods on it, defined per table.
pub struct Tx<'a> {
    conn: &'a mut AnyConnection,
    appended_events: bool,
    /// Only in read transactions (`positions`).
    positions: Option<&'a positions::Positions>,
    /// Statements left for the end of a PostgreSQL write, sent in the COMMIT's message
    /// (`Tx::append_events`).
    at_commit: Option<String>,
    /// Where a SQLite write without a savepoint moves its tenant's event counter.
    held_counters: Option<&'a mut event_append_sqlite::HeldCounters>,
}

impl<'a> Tx<'a> {
    /// Statements on `conn` in whatever transaction it is in (or none).
    fn new(conn: &'a mut AnyConnection) -> Tx<'a> {
        Tx { conn, appended_events: false, positions: None, at_commit: None, held_counters: None }
    }
}

type TxManager = <AnyConnection as Connection>::TransactionManager;

/// Runs `f` in the transaction `begun` opened on `conn` and commits it, or rolls it back if `f`
/// failed; also says whether it appended events, which counts only if it committed. A
/// connection left inside the transaction (a failed rollback, a panic) is discarded by the pool.
fn finish<R>(
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
fn commit(conn: &mut AnyConnection, at_commit: Option<String>) -> Result<()> {
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
fn roll_back(conn: &mut AnyConnection) {
    if let Err(e) = TxManager::rollback_transaction(conn) {
        tracing::warn!(error = %e, "rolling back a transaction failed");
    }
}

fn backend_of(conn: &AnyConnection) -> Backend {
    match conn {
        AnyConnection::Sqlite(_) => Backend::Sqlite,
        AnyConnection::Postgresql(_) => Backend::Postgres,
    }
}

impl Tx<'_> {
    fn backend(&self) -> Backend {
        backend_of(self.conn)
    }
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
        };
        let mut conn = connection::checkout(&store.write)?;
        connection::run_migrations(&mut conn)?;
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
            let mut conn = connection::begun(&self.read, |conn| {
                let AnyConnection::Postgresql(pg) = conn else { unreachable!("a PostgreSQL pool") };
                AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            })?;
            return finish(&mut conn, Some(&*self.positions), f).0;
        }
        let mut conn = connection::checkout(&self.read)?;
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
    pub fn user_and_groups(
        &self,
        tenant: TenantId,
        key: predicate::UserKey<'_>,
        with_groups: bool,
    ) -> Result<Option<UserAndGroups>> {
        Ok(connection::on_live(&self.read, |conn| user_read::user_and_groups(conn, tenant, key, with_groups))?.1)
    }

    /// `Tx::resolve_members` outside a transaction, for a group's write on PostgreSQL to look
    /// its members up before it queues in the group's lane (`ScimService::patch_group`).
    pub fn resolve_members(&self, tenant: TenantId, ids: &[String]) -> Result<Vec<MemberRef>> {
        Ok(connection::on_live(&self.read, |conn| members::resolve_members(conn, tenant, ids))?.1)
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
            None => finish(&mut *connection::begun(&self.write, TxManager::begin_transaction)?, None, f),
        };
        if appended {
            self.events_committed.notify_one();
        }
        out
    }

    /// A write to the request log alone. On SQLite it runs on a connection of its own and
    /// writes only the request log's file, so it waits for no directory write and none waits
    /// for it; elsewhere it is `write`.
    pub fn write_request_log<R: Send>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send) -> Result<R> {
        match &self.log {
            Some(pool) => finish(&mut *connection::begun(pool, TxManager::begin_transaction)?, None, f).0,
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
        connection::on_live(&self.write, |conn| {
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

    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }

    fn backend_pid(tx: &mut Tx<'_>) -> Result<i32> {
        let AnyConnection::Postgresql(pg) = &mut *tx.conn else { unreachable!() };
        Ok(diesel::RunQueryDsl::get_result::<Pid>(diesel::sql_query("SELECT pg_backend_pid() AS pid"), pg)?.pid)
    }

    /// Ends the server side of these connections and waits until PostgreSQL has let them go.
    fn terminate(admin_url: &str, pids: &[i32]) {
        use diesel::connection::SimpleConnection;
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        for pid in pids {
            admin.batch_execute(&format!("SELECT pg_terminate_backend({pid})")).unwrap();
        }
        let list = pids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
        for _ in 0..500 {
            let alive: i64 = diesel::RunQueryDsl::get_result(
                diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                    "(SELECT count(*) FROM pg_stat_activity WHERE pid IN ({list}))"
                ))),
                &mut admin,
            )
            .unwrap();
            if alive == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("backends {list} did not exit");
    }

    /// The pool does not test connections on checkout; a connection whose server side ended
    /// is replaced when its BEGIN (or a read's one statement) fails, for reads and writes, however
    /// many of them died.
    #[test]
    fn postgres_connections_that_died_in_the_pool_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = test_stores::stores(&dir);
        let Some(store) = stores.iter().find(|s| s.backend() == Backend::Postgres) else { return };
        let admin_url = std::env::var("SCIMD_TEST_POSTGRES_URL").unwrap();

        let first = store.read(backend_pid).unwrap();
        terminate(&admin_url, &[first]);
        let second = store.read(backend_pid).unwrap();
        assert_ne!(first, second);

        terminate(&admin_url, &[second]);
        let third = store.write(backend_pid).unwrap();
        assert_ne!(second, third);

        // Both of the pool's connections dead at once (one nested read holds the other).
        let both = store.read(|outer| Ok((backend_pid(outer)?, store.read(backend_pid)?))).unwrap();
        assert_ne!(both.0, both.1);
        terminate(&admin_url, &[both.0, both.1]);
        let fresh = store.write(backend_pid).unwrap();
        assert!(fresh != both.0 && fresh != both.1);
        assert_eq!(store.read(backend_pid).unwrap(), fresh);

        // A read by one statement, outside a transaction, too.
        terminate(&admin_url, &[fresh]);
        assert!(store.user_and_groups(TenantId(1), predicate::UserKey::Id("nobody"), true).unwrap().is_none());
        assert_ne!(store.read(backend_pid).unwrap(), fresh);

        // A user's write statements (`write_on_live_pg`), with every pooled connection dead.
        let now = chrono::Utc::now();
        let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
        let kill_pool = || {
            let both = store.read(|outer| Ok((backend_pid(outer)?, store.read(backend_pid)?))).unwrap();
            terminate(&admin_url, &[both.0, both.1]);
        };
        let keys = UserKeys {
            user_name_norm: "a".into(),
            external_id: None,
            display_name_norm: None,
            active: Some(true),
            values: Vec::new(),
        };
        let write = UserWrite { user_name: "a".into(), keys, data: "{}".into(), data_norm: "{}".into() };
        let new = NewUser { id: "u1".into(), write: write.clone(), password_hash: None, now };
        kill_pool();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let row = runtime.block_on(store.insert_user(tenant, new, Vec::new(), None)).unwrap();
        kill_pool();
        let planned = PlannedUserWrite { was: write.keys.clone(), write, password_hash: None, events: Vec::new() };
        assert_eq!(store.write_planned_user(tenant, &row, &planned, None, now).unwrap().version, 2);

        // The webhook worker's vacuum of numbered events.
        kill_pool();
        store.vacuum_pending_events().unwrap();
    }
}
