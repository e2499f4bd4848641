//! Keeps SQLite's request log file (`connection::activity_file`) in step with the directory's
//! file beside it when one of the two was lost or replaced without the other.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::MigrationHarness;

/// The migration that moved the request log into a file of its own.
const MOVED_TO_ITS_OWN_FILE: &str = "20261204000022";

/// `activity.request_log` as the migrations leave it: 000022's CREATE of it, which
/// `tests::a_lost_request_log_file_comes_back_as_the_migrations_made_it` checks no later
/// migration changed.
fn request_log_table() -> &'static str {
    const MOVE: &str = include_str!("../../migrations/sqlite/2026-12-04-000022_request_log_in_its_own_file/up.sql");
    let start = MOVE.find("CREATE TABLE IF NOT EXISTS activity.request_log").expect("000022 creates the table");
    let end = start + MOVE[start..].find(';').expect("the CREATE ends");
    &MOVE[start..end]
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn has_request_log(c: &mut SqliteConnection) -> QueryResult<bool> {
    let sql = "SELECT count(*) AS n FROM activity.sqlite_master WHERE type = 'table' AND name = 'request_log'";
    Ok(diesel::sql_query(sql).get_result::<Count>(c)?.n > 0)
}

/// Before the migrations. A request log in the activity file of a directory that has not moved
/// its log there yet is another directory's: the directory's file was deleted or replaced and
/// is made anew beside an old activity file. Its entries name that directory's tenants by id,
/// and the new directory hands out the same ids, so they would show in the wrong tenant's log.
/// In one IMMEDIATE transaction, so that a second process migrating the same files at once
/// either sees the move done or drops the table before it is made.
pub(super) fn forget_another_directory_s_log(c: &mut SqliteConnection) -> crate::error::Result<()> {
    c.immediate_transaction(|c| {
        if !has_request_log(c)? {
            return Ok(());
        }
        let applied = c.applied_migrations().map_err(|e| crate::error::Error::internal(e.to_string()))?;
        if applied.iter().any(|version| version.to_string() == MOVED_TO_ITS_OWN_FILE) {
            return Ok(());
        }
        c.batch_execute("DROP TABLE activity.request_log")?;
        tracing::warn!("the request log file beside a new directory held another directory's entries: dropped");
        Ok(())
    })
}

/// After the migrations. A directory whose request log file was lost (deleted, or left behind
/// when the directory's file was copied or restored alone) gets an empty log. Without it every
/// batch of log entries, every page of the log, and every tenant's deletion failed on the
/// missing table.
pub(super) fn recreate_lost_log(c: &mut SqliteConnection) -> QueryResult<()> {
    if has_request_log(c)? {
        return Ok(());
    }
    c.batch_execute(request_log_table())?;
    tracing::warn!("the request log file was missing: made a new, empty one");
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::request_log::{LogEntry, LogFilter};
    use crate::store::{connection::activity_file, Store, TenantId};
    use chrono::Utc;

    fn entry(tenant_name: &str) -> LogEntry {
        LogEntry {
            id: "0001".into(),
            tenant_name: tenant_name.into(),
            at: Utc::now(),
            method: "GET".into(),
            path: "/Users".into(),
            client: "okta",
            status: 200,
            ..LogEntry::default()
        }
    }

    fn logged(store: &Store, tenant: TenantId) -> usize {
        let filter = LogFilter { limit: 10, ..LogFilter::default() };
        store.read(|tx| tx.request_log(tenant, &filter)).unwrap().len()
    }

    /// Each object of the request log's file, as SQLite keeps its definition.
    fn activity_schema(store: &Store) -> Vec<(String, Option<String>)> {
        #[derive(diesel::QueryableByName)]
        struct Object {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            sql: Option<String>,
        }
        let sql = "SELECT name, sql FROM activity.sqlite_master ORDER BY name";
        let objects = store.read(|tx| Ok(diesel::RunQueryDsl::load::<Object>(diesel::sql_query(sql), tx.conn)?));
        // Compared without comments and line breaks: SQLite keeps a definition's text as written.
        let bare = |sql: String| {
            let code: Vec<&str> = sql.lines().map(|line| line.split("--").next().unwrap_or("")).collect();
            code.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
        };
        objects.unwrap().into_iter().map(|o| (o.name, o.sql.map(bare))).collect()
    }

    /// A directory file in a new temporary directory, its tenant `name` with one entry in the
    /// log, and its schema of the log's file; the store is closed again.
    fn directory_with_an_entry(name: &str) -> (tempfile::TempDir, String, TenantId, Vec<(String, Option<String>)>) {
        let dir = tempfile::tempdir().unwrap();
        let path = format!("{}/t.db", dir.path().display());
        let store = Store::open(&format!("sqlite://{path}"), 2).unwrap();
        let tenant = store.write(|tx| tx.create_tenant(name, Utc::now())).unwrap().id;
        assert_eq!(store.write_request_log(|tx| tx.append_request_log(&[entry(name)])).unwrap(), 1);
        assert_eq!(logged(&store, tenant), 1);
        let schema = activity_schema(&store);
        assert!(open_here(&path) && open_here(&activity_file(&path)), "the store's connections hold its files");
        drop(store);
        wait_closed(&path);
        wait_closed(&activity_file(&path));
        (dir, path, tenant, schema)
    }

    /// Waits until no connection to `file` is open: no descriptor of this process refers to it.
    /// A dropped store's threads let go of their connections a moment after its last answer,
    /// and a last connection removes the WAL by its name: when the test had already removed the
    /// files, it could remove the new directory's WAL under the next store (once in CI,
    /// 2026-12-05: a read connection failed with "disk I/O error"). The WAL's removal is no sign
    /// that they have all closed: two connections closing at once may each find the other still
    /// there and leave it (once in a whole test run, 2026-12-07, after 10 s of waiting for it).
    fn wait_closed(file: &str) {
        for _ in 0..1_000 {
            if !open_here(file) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{file} is still open: a connection to it stayed open");
    }

    /// Whether a descriptor of this process refers to `file`.
    fn open_here(file: &str) -> bool {
        let file = std::fs::canonicalize(file).unwrap();
        let fds = std::fs::read_dir("/proc/self/fd").unwrap();
        fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok()).any(|target| target == file)
    }

    fn remove_with_its_wal(file: &str) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{file}{suffix}"));
        }
    }

    #[test]
    fn a_lost_request_log_file_comes_back_as_the_migrations_made_it() {
        let (_dir, path, tenant, migrated) = directory_with_an_entry("acme");
        remove_with_its_wal(&activity_file(&path));

        let store = Store::open(&format!("sqlite://{path}"), 2).unwrap();
        assert_eq!(activity_schema(&store), migrated);
        assert_eq!(logged(&store, tenant), 0);
        assert_eq!(store.write_request_log(|tx| tx.append_request_log(&[entry("acme")])).unwrap(), 1);
        assert_eq!(logged(&store, tenant), 1);
        assert!(store.write(|tx| tx.delete_tenant(tenant)).unwrap());
    }

    #[test]
    fn a_new_directory_beside_an_old_request_log_file_starts_with_an_empty_log() {
        let (_dir, path, old, _) = directory_with_an_entry("old");
        remove_with_its_wal(&path);

        let store = Store::open(&format!("sqlite://{path}"), 2).unwrap();
        let new = store.write(|tx| tx.create_tenant("new", Utc::now())).unwrap().id;
        assert_eq!(new, old, "the new directory hands out the old tenant's id again");
        assert_eq!(logged(&store, new), 0);
    }

    #[test]
    fn a_directory_reopened_keeps_its_log() {
        let (_dir, path, tenant, _) = directory_with_an_entry("acme");
        let store = Store::open(&format!("sqlite://{path}"), 2).unwrap();
        assert_eq!(logged(&store, tenant), 1);
    }
}
