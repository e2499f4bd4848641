//! Tests that a tenant's deletion leaves nothing of it behind, including the rows appended
//! under it without a foreign key on PostgreSQL (migration 000021), also when an append is in
//! flight as it runs.

use super::events::NewEvent;
use super::{test_stores, Backend, LogEntry, NewUser, Store, TenantId, UserKeys, UserWrite};
use chrono::Utc;
use diesel::sql_types::BigInt;
use std::sync::mpsc;
use std::time::Duration;

fn new_user(n: usize) -> NewUser {
    let keys = UserKeys {
        user_name_norm: format!("u{n}"),
        external_id: None,
        display_name_norm: None,
        active: None,
        values: vec![],
    };
    let write = UserWrite { user_name: format!("u{n}"), keys, data: "{}".into(), data_norm: "{}".into() };
    NewUser { id: format!("u{n}"), write, password_hash: None, now: Utc::now() }
}

fn event() -> NewEvent {
    NewEvent {
        event_type: "user.deleted",
        resource_type: Some("User"),
        resource_id: Some("u".into()),
        data: "{}".into(),
    }
}

fn entry(tenant_name: &str) -> LogEntry {
    LogEntry {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_name: tenant_name.into(),
        at: Utc::now(),
        method: "GET".into(),
        path: "/Users".into(),
        client: "other",
        status: 200,
        ..LogEntry::default()
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The tenant's rows in each table that keeps rows under a tenant's id.
fn rows_of(store: &Store, tenant: TenantId) -> Vec<(&'static str, i64)> {
    let mut tables = vec!["users", "events", "request_log", "tenant_counter_deltas", "tenant_counters"];
    if store.backend() == Backend::Postgres {
        tables.push("pending_events");
    }
    tables
        .into_iter()
        .map(|table| {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = {}", tenant.0);
            let n = store.read(|tx| Ok(diesel::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), tx.conn)?.n));
            (table, n.unwrap())
        })
        .collect()
}

fn nothing_of(store: &Store, tenant: TenantId) -> bool {
    rows_of(store, tenant).iter().all(|(_, n)| *n == 0)
}

/// A tenant with a user, its numbered events and request log entries.
fn tenant_with_rows(store: &Store, name: &str) -> TenantId {
    let tenant = store.write(|tx| tx.create_tenant(name, Utc::now())).unwrap().id;
    store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
    store.write(|tx| tx.append_events(tenant, &[event()], None, Utc::now())).unwrap();
    store.write(|tx| tx.append_request_log(&[entry(name), entry(name)])).unwrap();
    store.number_events(None).unwrap();
    tenant
}

/// Deleted at once, or retired and then purged, with an event still pending (on PostgreSQL):
/// nothing of the tenant is left, and another tenant keeps all of its rows.
#[test]
fn a_deleted_tenant_leaves_no_rows_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores {
        let [gone, retired, kept] = ["gone", "retired", "kept"].map(|name| tenant_with_rows(&store, name));
        for tenant in [gone, retired] {
            store.write(|tx| tx.append_events(tenant, &[event()], None, Utc::now())).unwrap();
        }
        let before = rows_of(&store, kept);
        assert!(before.contains(&("events", 1)) && before.contains(&("request_log", 2)), "{before:?}");
        if store.backend() == Backend::Postgres {
            assert!(rows_of(&store, gone).contains(&("pending_events", 1)));
        }

        assert!(store.write(|tx| tx.delete_tenant(gone)).unwrap());
        assert!(nothing_of(&store, gone), "{:?}: {:?}", store.backend(), rows_of(&store, gone));
        store.write(|tx| tx.retire_tenant(retired, Utc::now())).unwrap();
        assert_eq!(store.write(|tx| tx.purge_retired_tenants()).unwrap(), 1);
        assert!(nothing_of(&store, retired), "{:?}: {:?}", store.backend(), rows_of(&store, retired));
        assert_eq!(rows_of(&store, kept), before);
    }
}

/// What an uncommitted transaction appends when the deletion starts.
#[derive(Clone, Copy, Debug)]
enum InFlight {
    /// A user's deletion and its event: the user's row is locked.
    UserWrite,
    /// A batch of request log entries: the tenant's row is locked FOR KEY SHARE.
    RequestLog,
}

/// PostgreSQL, where these rows have no foreign key to the tenant: a deletion that starts while
/// an append is uncommitted waits for it, then deletes what it appended.
#[test]
fn a_deletion_waits_for_appends_in_flight_and_deletes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores.into_iter().filter(|s| s.backend() == Backend::Postgres) {
        for (n, in_flight) in [InFlight::UserWrite, InFlight::RequestLog].into_iter().enumerate() {
            let name = format!("t{n}");
            let tenant = store.write(|tx| tx.create_tenant(&name, Utc::now())).unwrap().id;
            store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
            let (appended_tx, appended) = mpsc::channel();
            std::thread::scope(|s| {
                let (appender, name) = (store.clone(), name.clone());
                s.spawn(move || {
                    appender
                        .write(|tx| {
                            match in_flight {
                                InFlight::UserWrite => {
                                    let user = tx.user_by_id(tenant, "u1")?.expect("the user");
                                    tx.delete_user(tenant, &user)?;
                                    tx.append_events(tenant, &[event()], None, Utc::now())?;
                                }
                                InFlight::RequestLog => {
                                    assert_eq!(tx.append_request_log(&[entry(&name)])?, 1);
                                }
                            }
                            appended_tx.send(()).unwrap();
                            std::thread::sleep(Duration::from_millis(300));
                            Ok(())
                        })
                        .unwrap();
                });
                appended.recv().unwrap();
                assert!(store.write(|tx| tx.delete_tenant(tenant)).unwrap());
            });
            store.number_events(None).unwrap();
            assert!(nothing_of(&store, tenant), "{in_flight:?}: {:?}", rows_of(&store, tenant));
        }
    }
}
