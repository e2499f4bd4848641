//! A test's own database: a SQLite file in a temporary directory, or a new schema in the
//! PostgreSQL database named by `SCIMD_TEST_POSTGRES_URL`, removed when the test ends; with
//! raw SQL for states and checks the API cannot reach.

use crate::helpers::Backend;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::sync::mpsc::{Receiver, Sender};

/// Where a test's database lives, removed when the test ends.
pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, schema: String, url: String },
}

impl TestDb {
    pub fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
                Some(TestDb::Sqlite { _dir: dir, url })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("SCIMD_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin_url).expect("SCIMD_TEST_POSTGRES_URL connects");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create schema");
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
                Some(TestDb::Postgres { admin_url, schema, url })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// Runs raw SQL against the test database (to set up states the API cannot reach).
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { url, .. } => {
                let mut c = diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://")).unwrap();
                c.batch_execute(sql).unwrap();
            }
            TestDb::Postgres { url, .. } => {
                let mut c = diesel::PgConnection::establish(url).unwrap();
                c.batch_execute(sql).unwrap();
            }
        }
    }
}

/// A write held open on a connection of its own (`TestDb::hold`) until `commit`: lets a
/// test make a change land while a request waits for it.
pub struct HeldWrite {
    release: Sender<()>,
    done: std::thread::JoinHandle<()>,
}

impl HeldWrite {
    pub fn commit(self) {
        self.release.send(()).expect("the holding thread waits");
        self.done.join().expect("the held write commits");
    }
}

impl TestDb {
    /// Runs `sql` in a transaction and keeps it open (its locks held) until `commit`. On
    /// SQLite the transaction takes the database's write lock, so scimd's writes wait too.
    pub fn hold(&self, sql: &str) -> HeldWrite {
        fn run<C: Connection>(mut c: C, begin: &str, started: Sender<()>, wait: Receiver<()>) {
            c.batch_execute(begin).unwrap();
            started.send(()).unwrap();
            wait.recv().unwrap();
            c.batch_execute("COMMIT").unwrap();
        }
        let (started, up) = std::sync::mpsc::channel();
        let (release, wait) = std::sync::mpsc::channel();
        let done = match self {
            TestDb::Sqlite { url, .. } => {
                let path = url.trim_start_matches("sqlite://").to_string();
                let begin = format!("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE; {sql}");
                std::thread::spawn(move || {
                    run(diesel::SqliteConnection::establish(&path).unwrap(), &begin, started, wait)
                })
            }
            TestDb::Postgres { url, .. } => {
                let (url, begin) = (url.clone(), format!("BEGIN; {sql}"));
                std::thread::spawn(move || run(diesel::PgConnection::establish(&url).unwrap(), &begin, started, wait))
            }
        };
        up.recv().expect("the held write began");
        HeldWrite { release, done }
    }
}

/// One text column, as `TestDb::text` reads it.
#[derive(diesel::QueryableByName)]
struct TextColumn {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

impl TestDb {
    /// The `value` column of the first row `sql` returns (to check what the API never shows).
    pub fn text(&self, sql: &str) -> Option<String> {
        use diesel::RunQueryDsl;
        let rows: Vec<TextColumn> = match self {
            TestDb::Sqlite { url, .. } => {
                let mut c = diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://")).unwrap();
                diesel::sql_query(sql).load(&mut c).unwrap()
            }
            TestDb::Postgres { url, .. } => {
                let mut c = diesel::PgConnection::establish(url).unwrap();
                diesel::sql_query(sql).load(&mut c).unwrap()
            }
        };
        rows.into_iter().next().and_then(|r| r.value)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, schema, .. } = self {
            if let Ok(mut c) = diesel::PgConnection::establish(admin_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}
