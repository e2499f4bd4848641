//! Connections and pools chosen by URL scheme, and SQLite's pragmas per connection role.
//!
//! Diesel's own `ConnectionManager<AnyConnection>` tries PostgreSQL then SQLite and hides the
//! real connection error, so this small manager picks the variant from the URL itself.

use super::connect_log::ConnectLog;
use crate::error::{Error, Quoted, Result};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, QueryResult};
use std::time::Duration;

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$run` with `$c` bound to the backend's own connection inside `$conn` (an
/// `&mut AnyConnection`). A Diesel statement run on `AnyConnection` itself is walked into a
/// serialized copy and bound again: a user's INSERT cost 140,000 instructions more that way.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $run:expr) => {
        match $conn {
            $crate::store::connection::AnyConnection::Sqlite($c) => $run,
            $crate::store::connection::AnyConnection::Postgresql($c) => $run,
        }
    };
}
pub(super) use on_backend;

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Sqlite { path: String, read_only: bool },
    Postgres { url: String },
}

/// The database `url` names, or why it names none scimd can keep a directory in.
fn parse_url(url: &str) -> std::result::Result<Target, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres { url: url.to_string() });
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if let Some((scheme, _)) = path.split_once("://") {
        // A typo such as postgress:// became a SQLite file of that name, which failed to open.
        return Err(format!(
            "unknown scheme {scheme}: use sqlite://FILE or postgres://USER:PASSWORD@HOST/DB",
            scheme = Quoted(scheme)
        ));
    }
    // SQLite opens an empty name as a temporary database and `:memory:` as one per
    // connection, each gone at exit: an empty SCIMD_DATABASE_URL ran scimd on nothing durable.
    let file = path.strip_prefix("file:").unwrap_or(path);
    if file.trim().is_empty() || file.starts_with(":memory:") || path.contains("mode=memory") {
        return Err("a SQLite database needs a file (sqlite://FILE): an empty name or :memory: keeps nothing".into());
    }
    Ok(Target::Sqlite { path: path.to_string(), read_only: false })
}

/// Why `url` names no database scimd can use (`--database-url`), before anything opens it.
pub fn check_database_url(url: &str) -> std::result::Result<(), String> {
    parse_url(url).map(drop)
}

pub struct Manager {
    target: Target,
    /// The request's database wait: how long a statement waits for a lock another holds (on
    /// SQLite the file's, by a CLI command's write or an operator's `sqlite3`; on PostgreSQL a
    /// row's or a table's) and, on PostgreSQL, how long a connection attempt and a silent
    /// server are given.
    wait: Duration,
    log: ConnectLog,
}

impl Manager {
    /// A new connection to the target, set up for scimd.
    fn open(&self) -> Result<AnyConnection, ConnectionError> {
        self.open_within(self.wait)
    }

    /// `open`, a PostgreSQL connection given up on after `timeout`: libpq by itself waits for
    /// ever on a server that accepts the connection and never answers (one stalled behind a
    /// proxy, say), which held a command past its database wait and would hold r2d2's
    /// connecting threads for good.
    fn open_within(&self, timeout: Duration) -> Result<AnyConnection, ConnectionError> {
        match &self.target {
            Target::Postgres { url } => {
                let url = super::first_connection::with_connect_timeout(url, timeout);
                let url = super::first_connection::with_silence_bound(url, self.wait);
                let mut conn = PgConnection::establish(&url)?;
                // No JIT compiling: PostgreSQL compiles a plan whose estimated cost passes
                // `jit_above_cost`, and its estimates of a walk through nested groups (a filter
                // on a user's groups) are orders of magnitude high: 80 ms of compiling for a
                // statement that ran in 10 (EXPLAIN ANALYZE, 1,001 groups). scimd's statements
                // are short; none runs long enough to gain from it.
                let settings = format!("SET jit = off; {}", super::first_connection::session_bounds(self.wait));
                conn.batch_execute(&settings).map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Postgresql(conn))
            }
            Target::Sqlite { path, read_only } => {
                let mut conn = SqliteConnection::establish(path)?;
                attach_activity(&mut conn, path).map_err(ConnectionError::CouldntSetupConfiguration)?;
                // synchronous=FULL: a 201 means the user survives a power cut. case_sensitive_like:
                // LIKE compares exactly, as on PostgreSQL (filters normalise case themselves).
                let mut pragmas = format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = FULL; PRAGMA case_sensitive_like = ON;",
                    self.wait.as_millis()
                );
                // Each connection caches pages of its own. The one writer keeps 16 MiB (the
                // indexes every write updates; 4 MiB made POST 18% slower, 64 MiB made PUT
                // slower too). Each reader keeps 1 MiB: the operating system caches the file
                // for all of them, and SQLite drops a reader's cache whenever a write commits.
                // On 100,000 users (bench/ab, six alternating rounds) 1 MiB read as fast as
                // 4 MiB (16 MiB was slower: GET by id 59 -> 67 us of CPU) and took peak RSS
                // under pages of 100 users from 97-101 to 74-77 MiB.
                if *read_only {
                    pragmas.push_str(" PRAGMA query_only = ON; PRAGMA cache_size = -1000;");
                } else {
                    // A checkpoint every 4,000 WAL pages (16 MiB) instead of SQLite's 1,000:
                    // each copies a page to the database once however often it changed since
                    // the last, and it runs on the writer thread every write waits for. Four
                    // alternating rounds on 10,000 users: PUT 7,654 -> 8,579/s, POST 8,177 ->
                    // 8,551/s, GET unchanged.
                    // The WAL's file is cut back to 64 MiB whenever it starts over (a size
                    // limit is a setting of the connection that writes, not of the file).
                    // The request log's file needs no fsync per commit: an entry is
                    // acknowledged to no one, and WAL keeps the file whole through a power cut.
                    pragmas.push_str(
                        " PRAGMA cache_size = -16000; PRAGMA wal_autocheckpoint = 4000; \
                         PRAGMA journal_size_limit = 67108864; PRAGMA activity.synchronous = NORMAL;",
                    );
                }
                conn.batch_execute(&pragmas).map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<AnyConnection, ConnectionError> {
        let conn = self.open()?;
        self.log.connected();
        Ok(conn)
    }

    /// Not called: no pool tests its connections on checkout (see `on_live`).
    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1").map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// A connection whose transaction could not be rolled back is not used again, so the next
    /// request cannot inherit half of someone else's transaction; nor is a PostgreSQL session
    /// that refused a write as read-only (`errors::met_read_only`).
    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        use diesel::connection::TransactionManager;
        std::thread::panicking()
            || (matches!(conn, AnyConnection::Postgresql(_)) && super::errors::met_read_only())
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
            || <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
                .transaction_depth()
                .map_or(true, |depth| depth.is_some())
    }
}

/// The request log's own SQLite database beside the directory's (`<file>-activity`), attached
/// to every connection as `activity` (migration 000022). Its writes run on a connection of
/// their own (`Pools::log`) and lock only this file, so they neither wait for the one writer
/// of the directory's file nor hold it up.
pub fn activity_file(path: &str) -> String {
    format!("{path}-activity")
}

fn attach_activity(conn: &mut SqliteConnection, path: &str) -> QueryResult<()> {
    let file = activity_file(path).replace('\'', "''");
    conn.batch_execute(&format!("ATTACH DATABASE '{file}' AS activity"))
}

/// Puts the SQLite database at `path` and its request log in WAL mode, creating them if need
/// be. WAL lets readers run beside the one writer; it is a property of the file, so it is set
/// once before the pools open. The busy timeout comes first: another process's last
/// connection to the file (a CLI command beside the server, or a store closed in the same
/// process) takes an exclusive lock while it closes, and without a timeout this open failed
/// with "database is locked" at that moment.
fn use_wal(path: &str) -> std::result::Result<(), String> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;").map_err(|e| e.to_string())?;
    attach_activity(&mut conn, path)
        .and_then(|()| conn.batch_execute("PRAGMA activity.journal_mode = WAL;"))
        .map_err(|e| format!("its request log {}: {e}", activity_file(path)))
}

pub struct Pools {
    pub read: Pool,
    pub write: Pool,
    /// SQLite's: the request log's writes (`activity_file`).
    pub log: Option<Pool>,
    pub backend: Backend,
}

/// How long a request waits for a connection by default (`Settings::database_wait`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Builds the pools for `url`; a checkout waits up to `wait` for a connection.
pub fn pools(url: &str, pool_size: u32, wait: Duration) -> Result<Pools> {
    // Not the URL itself: it may hold a password.
    let target = parse_url(url).map_err(|e| Error::Setup(format!("cannot open the database: {e}")))?;
    let log = ConnectLog::default();
    let build = |target: Target, size: u32| {
        r2d2::Pool::builder()
            .max_size(size)
            // Connections open on demand in the calling thread. With min_idle > 0 r2d2 opens
            // them on its own threads, and a CLI process could exit while one of those is
            // inside libpq, which crashes it.
            .min_idle(Some(0))
            .connection_timeout(wait)
            // A `SELECT 1` per checkout was a fifth of a PostgreSQL read's CPU; `on_live` finds
            // a dead connection by its first statement failing instead. SQLite's cannot die.
            .test_on_check_out(false)
            .error_handler(Box::new(log.clone()))
            .build(Manager { target, wait, log: log.clone() })
            .map_err(|e| Error::Setup(format!("cannot open the database: {e}")))
    };
    match target {
        Target::Postgres { .. } => {
            let first = Manager { target: target.clone(), wait, log: log.clone() };
            super::first_connection::wait_for_first(wait, &log, |left| first.open_within(left))?;
            let pool = build(target, pool_size.max(2))?;
            Ok(Pools { read: pool.clone(), write: pool, log: None, backend: Backend::Postgres })
        }
        Target::Sqlite { path, .. } => {
            // A file that is not a database was "internal error: file is not a database",
            // naming neither the file nor the operator as the one to act.
            use_wal(&path).map_err(|e| Error::Setup(format!("cannot open the database {path}: {e}")))?;
            let write = build(Target::Sqlite { path: path.clone(), read_only: false }, 1)?;
            let log = build(Target::Sqlite { path: path.clone(), read_only: false }, 1)?;
            let read = build(Target::Sqlite { path, read_only: true }, pool_size.max(1))?;
            Ok(Pools { read, write, log: Some(log), backend: Backend::Sqlite })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_scheme_picks_the_backend() {
        let cases = [
            ("sqlite://scimd.db", Target::Sqlite { path: "scimd.db".into(), read_only: false }),
            ("sqlite:///tmp/x.db", Target::Sqlite { path: "/tmp/x.db".into(), read_only: false }),
            ("sqlite:x.db", Target::Sqlite { path: "x.db".into(), read_only: false }),
            ("data/x.db", Target::Sqlite { path: "data/x.db".into(), read_only: false }),
            ("postgres://u@h/db", Target::Postgres { url: "postgres://u@h/db".into() }),
            ("postgresql://u@h/db", Target::Postgres { url: "postgresql://u@h/db".into() }),
        ];
        for (url, want) in cases {
            assert_eq!(parse_url(url), Ok(want), "{url}");
        }
        let refused =
            ["", "sqlite://", "sqlite:", ":memory:", "sqlite://:memory:", "file::memory:", "file:x?mode=memory"];
        for url in refused.into_iter().chain(["mysql://u:p@h/db", "postgress://u@h/db", "sqlite://postgres://u@h/db"]) {
            assert!(parse_url(url).is_err(), "{url}");
        }
    }

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        value: i64,
    }

    /// `wal_autocheckpoint` has no table-valued form: its PRAGMA answers in a column of its name.
    #[derive(diesel::QueryableByName)]
    struct AutoCheckpoint {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        wal_autocheckpoint: i64,
    }

    /// The writer keeps 16 MiB of pages and checkpoints every 4,000 WAL pages; each reader
    /// keeps 1 MiB and cannot write. A pool handing out other settings fails this.
    #[test]
    fn sqlite_connections_get_their_role_s_settings() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let Pools { read, write, backend, .. } =
            pools(&format!("sqlite://{}/t.db", dir.path().display()), 2, DEFAULT_WAIT).unwrap();
        assert_eq!(backend, Backend::Sqlite);
        let setting = |pool: &Pool, pragma: &str| -> i64 {
            let mut conn = pool.get().unwrap();
            let AnyConnection::Sqlite(c) = &mut *conn else { unreachable!("a SQLite pool") };
            diesel::sql_query(format!("SELECT {pragma} AS value FROM pragma_{pragma}"))
                .get_result::<Setting>(c)
                .unwrap()
                .value
        };
        let mut conn = write.get().unwrap();
        let AnyConnection::Sqlite(c) = &mut *conn else { unreachable!("a SQLite pool") };
        let pages = diesel::sql_query("PRAGMA wal_autocheckpoint").get_result::<AutoCheckpoint>(c).unwrap();
        assert_eq!(pages.wal_autocheckpoint, 4_000);
        drop(conn);
        assert_eq!(setting(&write, "cache_size"), -16_000);
        assert_eq!(setting(&write, "journal_size_limit"), 67_108_864);
        assert_eq!(setting(&write, "synchronous"), 2, "FULL");
        assert_eq!(setting(&read, "cache_size"), -1_000);
        assert_eq!(setting(&read, "query_only"), 1);
    }

    /// PostgreSQL connections do not JIT-compile plans (see `Manager::open`).
    #[test]
    fn postgres_connections_do_not_compile_plans() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = crate::store::test_stores::stores(&dir);
        for store in all.into_iter().filter(|s| s.backend() == Backend::Postgres) {
            #[derive(diesel::QueryableByName)]
            struct Jit {
                #[diesel(sql_type = diesel::sql_types::Text)]
                jit: String,
            }
            let jit = store
                .read(|tx| Ok(diesel::sql_query("SELECT current_setting('jit') AS jit").get_result::<Jit>(tx.conn)?))
                .unwrap();
            assert_eq!(jit.jit, "off");
        }
    }

    /// The admin CLI opens the database a running server uses, and a store may open a file
    /// whose last connection elsewhere is closing: opening waits for a lock on the file held
    /// for a moment (here by a connection in exclusive locking mode until it closes), rather
    /// than failing with "database is locked".
    #[test]
    fn a_sqlite_database_opens_while_another_connection_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        drop(crate::store::Store::open(&url, 2).unwrap());
        let mut holder = SqliteConnection::establish(&format!("{}/t.db", dir.path().display())).unwrap();
        holder
            .batch_execute(
                "PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; \
                 INSERT INTO tenants (name, created_at) VALUES ('w', '2026-11-23'); COMMIT;",
            )
            .unwrap();
        let opened = std::thread::spawn(move || crate::store::Store::open(&url, 2).map(|_| ()));
        std::thread::sleep(Duration::from_millis(300));
        drop(holder);
        opened.join().unwrap().unwrap();
    }

    /// The bundled SQLite is built with .cargo/config.toml's options. Cargo lets an
    /// environment's own `LIBSQLITE3_FLAGS` replace that list, and SQLite would still build.
    #[test]
    fn the_bundled_sqlite_carries_our_compile_options() {
        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<String> =
            diesel::RunQueryDsl::load::<CompileOption>(diesel::sql_query("PRAGMA compile_options"), &mut c)
                .unwrap()
                .into_iter()
                .map(|o| o.compile_options)
                .collect();
        for wanted in
            ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0", "OMIT_SHARED_CACHE", "USE_ALLOCA", "STMTJRNL_SPILL=122880"]
        {
            assert!(options.iter().any(|o| o == wanted), "{wanted} missing from {options:?}");
        }
        // libsqlite3-sys turns it on; our list turns it off (see .cargo/config.toml).
        assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "in {options:?}");
    }
}
