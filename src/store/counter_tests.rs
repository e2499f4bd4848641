//! Tests of the tenant's user and group counts: exact in every snapshot while adds and removes
//! wait to be folded into the counters row (PostgreSQL, migration 000019), and after.

use super::predicate::Table;
use super::test_stores::{self, new_user};
use super::{Backend, Store, TenantId};
use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;

fn group(n: usize) -> super::GroupWrite {
    let name = format!("g{n}");
    super::GroupWrite {
        display_name: name.clone(),
        display_name_norm: name,
        external_id: None,
        data: "{}".into(),
        data_norm: "{}".into(),
    }
}

#[derive(diesel::QueryableByName)]
struct Pending {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(store: &Store, sql: &str) -> i64 {
    store.read(|tx| Ok(diesel::RunQueryDsl::get_result::<Pending>(diesel::sql_query(sql), tx.conn)?.n)).unwrap()
}

/// Rows of deltas: of one tenant, or of all.
fn rows_of(store: &Store, tenant: Option<TenantId>) -> i64 {
    let only = tenant.map(|t| format!(" WHERE tenant_id = {}", t.0)).unwrap_or_default();
    count(store, &format!("SELECT COUNT(*) AS n FROM tenant_counter_deltas{only}"))
}

/// Adds and removes not yet moved into the counters.
fn pending_changes(store: &Store) -> i64 {
    count(
        store,
        "SELECT CAST(COALESCE(SUM(user_changes + group_changes), 0) AS BIGINT) AS n FROM tenant_counter_deltas",
    )
}

/// (users, groups) as the admin page's two reads and the lists' totals report them.
fn counts(store: &Store, tenant: TenantId) -> [(i64, i64); 3] {
    store
        .read(|tx| {
            let one = tx.tenant_stats(tenant)?;
            let all = tx.all_tenant_stats()?.remove(&tenant).unwrap_or_default();
            let listed = (
                tx.resource_set(tenant, Table::Users)?.count as i64,
                tx.resource_set(tenant, Table::Groups)?.count as i64,
            );
            Ok([(one.users, one.groups), (all.users, all.groups), listed])
        })
        .unwrap()
}

fn versions(store: &Store, tenant: TenantId) -> (Option<i64>, Option<i64>) {
    store
        .read(|tx| {
            Ok((tx.resource_set(tenant, Table::Users)?.version, tx.resource_set(tenant, Table::Groups)?.version))
        })
        .unwrap()
}

/// Adds and removes are counted at once on both backends. On PostgreSQL they wait as deltas
/// until a numbering pass folds them in: until then the set has no version (its remembered
/// positions are not used), and the fold gives it a new one.
#[test]
fn counts_are_exact_before_and_after_the_fold_and_versions_name_only_folded_sets() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores {
        let now = Utc::now();
        let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
        let other = store.write(|tx| tx.create_tenant("other", now)).unwrap().id;
        let before = versions(&store, tenant);
        let users: Vec<_> = (0..3).map(|n| store.write(|tx| tx.insert_user(tenant, &new_user(n))).unwrap()).collect();
        for n in 0..2 {
            store.write(|tx| tx.insert_group(tenant, &format!("g{n}"), &group(n), now)).unwrap();
        }
        store.write(|tx| tx.insert_user(other, &new_user(9))).unwrap();
        store.write(|tx| tx.delete_user(tenant, &users[1])).unwrap();
        assert_eq!(counts(&store, tenant), [(2, 2); 3], "{:?}", store.backend());
        assert_eq!(counts(&store, other), [(1, 0); 3]);
        let waiting = versions(&store, tenant);
        match store.backend() {
            Backend::Postgres => {
                assert_eq!(pending_changes(&store), 7, "six adds and a remove");
                assert!((2..=4).contains(&rows_of(&store, None)), "a row per tenant and backend that wrote");
                assert_eq!(waiting, (None, None));
            }
            Backend::Sqlite => {
                assert_eq!(rows_of(&store, None), 0);
                assert!(waiting.0 > before.0 && waiting.1 > before.1, "{before:?} {waiting:?}");
            }
        }

        store.number_events(None).unwrap();
        assert_eq!(pending_changes(&store), 0);
        assert_eq!(counts(&store, tenant), [(2, 2); 3]);
        assert_eq!(counts(&store, other), [(1, 0); 3]);
        let folded = versions(&store, tenant);
        assert!(folded.0 > before.0 && folded.1 > before.1, "{before:?} {folded:?}");
        assert!(folded.0.is_some() && folded.1.is_some());

        // A retired tenant's deletes count down to nothing; its purge leaves no deltas behind.
        store.write(|tx| tx.retire_tenant(tenant, now)).unwrap();
        assert_eq!(counts(&store, tenant), [(0, 0); 3]);
        assert_eq!(store.write(|tx| tx.purge_retired_tenants()).unwrap(), 1);
        assert_eq!(rows_of(&store, Some(tenant)), 0);
        assert_eq!(counts(&store, other), [(1, 0); 3]);
    }
}

/// Deltas of a tenant whose counters are gone (a deletion that cascaded past them) are dropped
/// by the next pass rather than stopping it; a pass still refuses to number events without
/// counters (`events::tests`).
#[test]
fn a_pass_drops_deltas_of_a_tenant_without_counters() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores.into_iter().filter(|s| s.backend() == Backend::Postgres) {
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        let other = store.write(|tx| tx.create_tenant("other", Utc::now())).unwrap().id;
        store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
        store.write(|tx| tx.insert_user(other, &new_user(2))).unwrap();
        let drop_counters = format!("DELETE FROM tenant_counters WHERE tenant_id = {}", tenant.0);
        store.write(|tx| Ok(tx.conn.batch_execute(&drop_counters)?)).unwrap();
        store.number_events(None).unwrap();
        assert_eq!((rows_of(&store, Some(tenant)), pending_changes(&store)), (0, 0));
        assert_eq!(counts(&store, other), [(1, 0); 3]);
    }
}

/// A pass removes the emptied rows of backends that have gone (a pid no backend has), and
/// keeps live backends' rows, which their next write updates in place.
#[test]
fn a_pass_removes_emptied_rows_of_backends_that_have_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores.into_iter().filter(|s| s.backend() == Backend::Postgres) {
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        let gone = format!("INSERT INTO tenant_counter_deltas (tenant_id, slot) VALUES ({}, -1)", tenant.0);
        store.write(|tx| Ok(tx.conn.batch_execute(&gone)?)).unwrap();
        store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
        let live = rows_of(&store, Some(tenant)) - 1;
        store.number_events(None).unwrap();
        assert_eq!((rows_of(&store, Some(tenant)), pending_changes(&store)), (live, 0));
        assert_eq!(counts(&store, tenant), [(1, 0); 3]);
    }
}
