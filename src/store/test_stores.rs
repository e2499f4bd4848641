//! Stores for the store's own unit tests: SQLite always, PostgreSQL too when
//! `SCIMD_TEST_POSTGRES_URL` is set (CI sets it for `cargo test --lib store::`), and rows to
//! put in them.

use super::{GroupWrite, NewUser, Store, UserKeys, UserWrite};
use diesel::connection::SimpleConnection;
use diesel::Connection;

/// A PostgreSQL schema of one test, dropped after it.
pub struct PgSchema {
    admin: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// A store on a fresh SQLite file in `dir` and, when configured, one in a fresh PostgreSQL
/// schema (dropped with the returned guard).
pub fn stores(dir: &tempfile::TempDir) -> (Vec<Store>, Option<PgSchema>) {
    let (urls, schema) = urls(dir);
    (urls.iter().map(|url| Store::open(url, 2).unwrap()).collect(), schema)
}

/// The URLs `stores` opens: a SQLite file in `dir` and, when configured, a fresh PostgreSQL
/// schema (dropped with the returned guard), for a test that opens a store more than once.
pub fn urls(dir: &tempfile::TempDir) -> (Vec<String>, Option<PgSchema>) {
    let mut urls = vec![format!("sqlite://{}/t.db", dir.path().display())];
    let mut schema = None;
    if let Some(admin) = std::env::var("SCIMD_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        conn.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        let sep = if admin.contains('?') { '&' } else { '?' };
        urls.push(format!("{admin}{sep}options=-csearch_path%3D{name}"));
        schema = Some(PgSchema { admin, name });
    }
    (urls, schema)
}

/// A user named `u{n}` with id `u{n}` and nothing else.
pub fn new_user(n: usize) -> NewUser {
    let keys = UserKeys {
        user_name_norm: format!("u{n}"),
        external_id: None,
        display_name_norm: None,
        active: None,
        values: vec![],
    };
    let write = UserWrite { user_name: format!("u{n}"), keys, data: "{}".into(), data_norm: "{}".into() };
    NewUser { id: format!("u{n}"), write, password_hash: None, now: chrono::Utc::now() }
}

/// A group named `name` with no other attributes.
pub fn group_write(name: &str) -> GroupWrite {
    GroupWrite {
        display_name: name.into(),
        display_name_norm: name.into(),
        external_id: None,
        data: "{}".into(),
        data_norm: "{}".into(),
    }
}

#[derive(diesel::QueryableByName)]
struct Plans {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    custom_plans: i64,
}

/// How often PostgreSQL used a generic and a custom plan for the one statement this connection
/// prepared whose text is `LIKE` the pattern: whether it plans the statement on every run.
pub fn pg_plans(conn: &mut super::AnyConnection, like: &str) -> diesel::QueryResult<(i64, i64)> {
    use diesel::RunQueryDsl;
    let super::AnyConnection::Postgresql(pg) = conn else { panic!("not PostgreSQL") };
    let q = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE $1";
    let plans: Vec<Plans> = diesel::sql_query(q).bind::<diesel::sql_types::Text, _>(like).load(pg)?;
    let [p] = &plans[..] else { panic!("{} statements like {like}", plans.len()) };
    Ok((p.generic_plans, p.custom_plans))
}

/// `series(k)`, the numbers 1 … n, for an INSERT that follows (SQLite has no
/// `generate_series` built in).
fn series(n: usize) -> String {
    format!("WITH RECURSIVE series(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM series WHERE k < {n}) ")
}

/// Users `u1` … `u{n}` (key, id and userName alike) in `tenant` by one INSERT, then analyzed:
/// a directory large enough for PostgreSQL's planner to tell plans apart, in a fraction of the
/// time `insert_user` takes for each.
pub fn seed_users(store: &Store, tenant: super::TenantId, n: usize) {
    use diesel::RunQueryDsl;
    let seed = format!(
        "{}INSERT INTO users (pk, tenant_id, id, user_name, user_name_norm, data, data_norm, version, \
         created_at, last_modified) SELECT k, {}, 'u' || k, 'u' || k, 'u' || k, '{{}}', '{{}}', 1, \
         '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM series",
        series(n),
        tenant.get()
    );
    store.write(|tx| Ok(diesel::sql_query(&seed).execute(tx.conn).map(drop)?)).unwrap();
    store.write(|tx| Ok(diesel::sql_query("ANALYZE users").execute(tx.conn).map(drop)?)).unwrap();
}

/// Tenant "acme" with `users` users and `groups` groups `g1` … seeded and analyzed.
pub fn seeded_tenant(store: &Store, users: usize, groups: usize) -> super::TenantId {
    let tenant = store.write(|tx| tx.create_tenant("acme", chrono::Utc::now())).unwrap().id;
    seed_users(store, tenant, users);
    seed_groups(store, tenant, "g", groups);
    tenant
}

/// Groups `{prefix}1` … `{prefix}{n}` without members (id and displayName alike) in `tenant`
/// by one INSERT, then analyzed: as `seed_users`.
pub fn seed_groups(store: &Store, tenant: super::TenantId, prefix: &str, n: usize) {
    use diesel::RunQueryDsl;
    let seed = format!(
        "{1}INSERT INTO groups (tenant_id, id, display_name, display_name_norm, data, data_norm, version, \
         created_at, last_modified) SELECT {0}, '{prefix}' || k, '{prefix}' || k, '{prefix}' || k, '{{}}', '{{}}', \
         1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM series",
        tenant.get(),
        series(n)
    );
    store.write(|tx| Ok(diesel::sql_query(&seed).execute(tx.conn).map(drop)?)).unwrap();
    store.write(|tx| Ok(diesel::sql_query("ANALYZE groups").execute(tx.conn).map(drop)?)).unwrap();
}
