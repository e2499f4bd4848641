//! Tests that SQLite databases made before a migration that moves data keep it through the move,
//! and that PostgreSQL replicas take turns at the migrations.

use super::migrations::SQLITE_MIGRATIONS;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::Connection;
use diesel_migrations::MigrationHarness;

/// An in-memory database, with the request log's attached as the server's connections have it,
/// migrated up to the migration whose name ends with `before`.
fn migrated_until(before: &str) -> SqliteConnection {
    let mut c = SqliteConnection::establish(":memory:").unwrap();
    c.batch_execute("PRAGMA foreign_keys = ON; ATTACH DATABASE ':memory:' AS activity").unwrap();
    diesel::migration::MigrationConnection::setup(&mut c).unwrap();
    for m in MigrationSource::<Sqlite>::migrations(&SQLITE_MIGRATIONS).unwrap() {
        if m.name().to_string().ends_with(before) {
            break;
        }
        c.run_migration(&m).unwrap();
    }
    c
}

#[derive(diesel::QueryableByName)]
struct Member {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    member_pk: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    display: Option<String>,
}

/// The memberships `sql` selects as `member_pk` and `display`.
fn members(c: &mut SqliteConnection, sql: &str) -> Vec<(i64, Option<String>)> {
    diesel::RunQueryDsl::load::<Member>(diesel::sql_query(sql), c)
        .unwrap()
        .into_iter()
        .map(|m| (m.member_pk, m.display))
        .collect()
}

/// A database made before memberships moved to a table WITHOUT ROWID keeps every
/// membership, its display and its index through the move (and the cascade from its group).
#[test]
fn memberships_survive_the_move_to_a_table_without_rowid() {
    let mut c = migrated_until("_members_without_rowid");
    c.batch_execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 't', '2026-12-03'); \
         INSERT INTO groups (pk, tenant_id, id, display_name, display_name_norm, data, data_norm, version, \
             created_at, last_modified) VALUES (7, 1, 'g', 'G', 'g', '{}', '{}', 1, '2026-12-03', '2026-12-03'), \
             (8, 1, 'h', 'H', 'h', '{}', '{}', 1, '2026-12-03', '2026-12-03'); \
         INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display) VALUES \
             (1, 7, 'User', 3, 'Ann'), (1, 7, 'User', 5, NULL), (1, 7, 'Group', 8, NULL), (1, 8, 'User', 3, NULL);",
    )
    .unwrap();
    let ran = c.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    assert_eq!(ran[0].to_string(), "20261203000013", "the move ran first: {ran:?}");
    let of_g = "SELECT member_pk, display FROM group_members WHERE group_pk = 7 ORDER BY member_type DESC, member_pk";
    assert_eq!(members(&mut c, of_g), [(3, Some("Ann".into())), (5, None), (8, None)]);
    let groups_of_3 =
        "SELECT group_pk AS member_pk, NULL AS display FROM group_members INDEXED BY group_members_member \
         WHERE tenant_id = 1 AND member_type = 'User' AND member_pk = 3 ORDER BY group_pk";
    assert_eq!(members(&mut c, groups_of_3), [(7, None), (8, None)]);
    assert!(c.batch_execute("SELECT rowid FROM group_members").is_err(), "a table WITHOUT ROWID");
    c.batch_execute("DELETE FROM groups WHERE pk = 7").unwrap();
    assert_eq!(members(&mut c, "SELECT member_pk, display FROM group_members"), [(3, None)]);
}

/// A database made before the request log moved to its own file keeps every entry through the
/// move (and back, by the migration's down), found by the unqualified name.
#[test]
fn request_log_entries_survive_the_move_to_their_own_file() {
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Entry {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        status: i32,
    }
    let entries = |c: &mut SqliteConnection, from: &str| -> Vec<(String, i32)> {
        let sql = format!("SELECT id, status FROM {from} ORDER BY at");
        diesel::RunQueryDsl::load::<Entry>(diesel::sql_query(sql), c)
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.status))
            .collect()
    };
    let mut c = migrated_until("_request_log_in_its_own_file");
    c.batch_execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 't', '2026-12-04'); \
         INSERT INTO request_log (tenant_id, at, id, method, path, client, status, latency_us) VALUES \
             (1, '2026-12-04 10:00:00', 'a', 'GET', '/Users', 'Okta', 200, 90), \
             (1, '2026-12-04 10:00:01', 'b', 'PATCH', '/Users/x', 'Okta', 400, 120);",
    )
    .unwrap();
    let expected = [("a".to_string(), 200), ("b".to_string(), 400)];
    let ran = c.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    assert_eq!(ran[0].to_string(), "20261204000022", "the move ran first: {ran:?}");
    assert_eq!(entries(&mut c, "activity.request_log"), expected);
    assert_eq!(entries(&mut c, "request_log"), expected);
    assert!(c.batch_execute("SELECT 1 FROM main.request_log").is_err(), "gone from the directory's file");

    while c.revert_last_migration(SQLITE_MIGRATIONS).unwrap().to_string() != "20261204000022" {}
    assert_eq!(entries(&mut c, "main.request_log"), expected);
    assert!(c.batch_execute("SELECT 1 FROM activity.request_log").is_err());
}

/// A database made before migration 000028 gets `group_members.display_norm`, filled in by the
/// start-up's backfill for the memberships it had.
#[test]
fn memberships_made_before_display_norm_get_it_from_the_start_up_after_the_migration() {
    let mut c = migrated_until("_member_display_norm");
    c.batch_execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 't', '2026-12-06'); \
         INSERT INTO groups (pk, tenant_id, id, display_name, display_name_norm, data, data_norm, version, \
             created_at, last_modified) VALUES (7, 1, 'g', 'G', 'g', '{}', '{}', 1, '2026-12-06', '2026-12-06'); \
         INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display) VALUES \
             (1, 7, 'User', 3, 'Ann ÄRGER'), (1, 7, 'User', 5, NULL), (1, 7, 'User', 6, 'bob');",
    )
    .unwrap();
    let mut conn = super::connection::AnyConnection::Sqlite(c);
    super::migrations::run_migrations(&mut conn).unwrap();
    let super::connection::AnyConnection::Sqlite(c) = &mut conn else { unreachable!() };
    let norms = "SELECT member_pk, display_norm AS display FROM group_members ORDER BY member_pk";
    assert_eq!(members(c, norms), [(3, Some("ann ärger".into())), (5, None), (6, None)]);
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// Replicas starting together on one PostgreSQL take turns at the migrations however long a
/// turn takes: one that waits for another's past the database wait starts once it ends,
/// instead of failing on its `lock_timeout`, and its connection has that timeout back after.
#[test]
fn a_replica_waits_its_turn_at_the_migrations_past_the_database_wait() {
    use diesel::RunQueryDsl;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let (urls, _schema) = super::test_stores::urls(&dir);
    let Some(url) = urls.get(1) else { return };
    let lock = super::migrations::MIGRATION_LOCK_KEY;
    // Another replica's turn, three database waits long.
    let mut other = diesel::PgConnection::establish(url).unwrap();
    other.batch_execute(&format!("SELECT pg_advisory_lock({lock})")).unwrap();
    let turn = Duration::from_millis(1500);
    let started = Instant::now();
    let other = std::thread::spawn(move || {
        std::thread::sleep(turn);
        other.batch_execute(&format!("SELECT pg_advisory_unlock({lock})")).unwrap();
    });
    let store = super::Store::open_waiting(url, 1, Duration::from_millis(500)).expect("it waits its turn");
    assert!(started.elapsed() >= turn, "it migrated during the other's turn");
    other.join().unwrap();
    let mut conn = store.write.get().unwrap();
    let super::AnyConnection::Postgresql(pg) = &mut *conn else { panic!("not PostgreSQL") };
    let setting: Setting = diesel::sql_query("SELECT current_setting('lock_timeout') AS value").get_result(pg).unwrap();
    assert_eq!(setting.value, "500ms");
}
