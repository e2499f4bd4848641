//! Tests of the rows appended under a tenant without a foreign key to it (events, pending events,
//! the request log; migrations 000021 and 000022): SQLite's request log written beside the
//! directory's one writer, and a tenant's deletion leaving none of them behind, also when an
//! append or the deletion is in flight as the other runs.

use super::events::NewEvent;
use super::test_stores::{self, new_user};
use super::{Backend, LogEntry, Store, TenantId, Tx};
use chrono::Utc;
use diesel::sql_types::BigInt;
use std::sync::mpsc;
use std::time::Duration;

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

/// SQLite: a batch of the request log is written while the directory's writer is in the middle
/// of a transaction, without waiting for it.
#[test]
fn the_request_log_is_written_beside_the_directory_s_writer() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores.into_iter().filter(|s| s.backend() == Backend::Sqlite) {
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        let (writing_tx, writing) = mpsc::channel();
        let (logged_tx, logged) = mpsc::channel();
        std::thread::scope(|s| {
            let writer = store.clone();
            s.spawn(move || {
                writer
                    .write(move |tx| {
                        tx.insert_user(tenant, &new_user(1))?;
                        writing_tx.send(()).unwrap();
                        let waited = logged.recv_timeout(Duration::from_secs(10));
                        assert!(waited.is_ok(), "the request log's write waited for the writer");
                        Ok(())
                    })
                    .unwrap();
            });
            writing.recv().unwrap();
            assert_eq!(store.write_request_log(|tx| tx.append_request_log(&[entry("acme")])).unwrap(), 1);
            logged_tx.send(()).unwrap();
        });
        assert!(rows_of(&store, tenant).contains(&("request_log", 1)));
    }
}

/// What an uncommitted transaction appends when the deletion starts.
#[derive(Clone, Copy, Debug)]
enum InFlight {
    /// A user's deletion and its event: the user's row is locked (PostgreSQL), or the writer is
    /// busy with it (SQLite).
    UserWrite,
    /// A batch of request log entries: the tenant's row is locked FOR KEY SHARE (PostgreSQL), or
    /// the request log's file is (SQLite).
    RequestLog,
}

/// Runs `first` in a write of its own that stays open 300 ms after it, and `then` as soon as
/// `first` has run.
fn overlapping<R>(
    store: &Store,
    first: impl FnOnce(&mut Tx<'_>) -> crate::error::Result<()> + Send,
    first_on_log: bool,
    then: impl FnOnce() -> R,
) -> R {
    let (ran_tx, ran) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let held = |tx: &mut Tx<'_>| {
                first(tx)?;
                ran_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            };
            match first_on_log {
                true => store.write_request_log(held),
                false => store.write(held),
            }
            .unwrap();
        });
        ran.recv().unwrap();
        then()
    })
}

/// Where these rows have no foreign key to the tenant: a deletion that starts while an append
/// is uncommitted waits for it, then deletes what it appended.
#[test]
fn a_deletion_waits_for_appends_in_flight_and_deletes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores {
        for (n, in_flight) in [InFlight::UserWrite, InFlight::RequestLog].into_iter().enumerate() {
            let name = format!("t{n}");
            let tenant = store.write(|tx| tx.create_tenant(&name, Utc::now())).unwrap().id;
            store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
            let append = |tx: &mut Tx<'_>| {
                match in_flight {
                    InFlight::UserWrite => {
                        let user = tx.user_by_id(tenant, "u1")?.expect("the user");
                        tx.delete_user(tenant, &user)?;
                        tx.append_events(tenant, &[event()], None, Utc::now())?;
                    }
                    InFlight::RequestLog => assert_eq!(tx.append_request_log(&[entry(&name)])?, 1),
                }
                Ok(())
            };
            let on_log = matches!(in_flight, InFlight::RequestLog);
            let deleted = overlapping(&store, append, on_log, || store.write(|tx| tx.delete_tenant(tenant)));
            assert!(deleted.unwrap());
            store.number_events(None).unwrap();
            assert!(nothing_of(&store, tenant), "{:?} {in_flight:?}: {:?}", store.backend(), rows_of(&store, tenant));
        }
    }
}

/// A batch of the request log that starts while a tenant's deletion is uncommitted finds the
/// tenant gone once the deletion commits, and logs nothing for it.
#[test]
fn a_request_log_batch_waits_for_a_deletion_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores {
        let tenant = tenant_with_rows(&store, "acme");
        let delete = |tx: &mut Tx<'_>| tx.delete_tenant(tenant).map(|deleted| assert!(deleted));
        let logged = overlapping(&store, delete, false, || {
            store.write_request_log(|tx| tx.append_request_log(&[entry("acme")]))
        });
        assert_eq!(logged.unwrap(), 0, "{:?}", store.backend());
        assert!(nothing_of(&store, tenant), "{:?}: {:?}", store.backend(), rows_of(&store, tenant));
    }
}
