//! Tests of how events get their numbers: gap-free and in order under concurrent writes, and,
//! on PostgreSQL, without a write waiting for the tenant's counters row.

use super::events::NewEvent;
use super::{test_stores, Backend};
use crate::error::Result;
use chrono::Utc;
use diesel::connection::SimpleConnection;
use std::sync::mpsc;
use std::time::Duration;

fn event(data: String) -> NewEvent {
    NewEvent { event_type: "user.updated", resource_type: Some("User"), resource_id: Some("u".into()), data }
}

/// Writers append while a numbering pass runs again and again: every event gets one number,
/// the numbers run 1..=n, and each writer's events (each write began after its last one
/// committed) are numbered in the order it wrote them.
#[test]
fn events_written_concurrently_are_numbered_once_without_gaps_in_each_writers_order() {
    const WRITERS: usize = 4;
    const WRITES: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores {
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        let (done_tx, done) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            for w in 0..WRITERS {
                let (store, done_tx) = (store.clone(), done_tx.clone());
                s.spawn(move || {
                    for i in 0..WRITES {
                        let batch = [event(format!("{w} {i} 0")), event(format!("{w} {i} 1"))];
                        store.write(|tx| tx.append_events(tenant, &batch, None, Utc::now())).unwrap();
                    }
                    drop(done_tx);
                });
            }
            drop(done_tx);
            let numbering = store.clone();
            s.spawn(move || {
                while done.recv_timeout(Duration::from_millis(1)).is_err_and(|e| e == mpsc::RecvTimeoutError::Timeout) {
                    numbering.number_events(Some(tenant)).unwrap();
                }
            });
        });
        store.number_events(None).unwrap();
        let rows = store.read(|tx| tx.events_after(tenant, 0, 1000)).unwrap();
        let n = WRITERS * WRITES * 2;
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=n as i64).collect::<Vec<_>>());
        let mut last = [None; WRITERS];
        for r in &rows {
            let [w, i, k]: [usize; 3] =
                r.data.split(' ').map(|x| x.parse().unwrap()).collect::<Vec<_>>().try_into().unwrap();
            assert!(last[w] < Some((i, k)), "{:?}: writer {w}'s ({i}, {k}) after {:?}", store.backend(), last[w]);
            last[w] = Some((i, k));
        }
        assert!(last.iter().all(|l| *l == Some((WRITES - 1, 1))), "every event is there");
    }
}

/// What made PostgreSQL writes queue (migration 000014): a write appends its events while
/// the tenant's counters row is locked, and only numbering waits for that lock.
#[test]
fn postgres_writes_append_events_while_the_counters_row_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    let Some(store) = stores.into_iter().find(|s| s.backend() == Backend::Postgres) else { return };
    let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
    let (locked_tx, locked) = mpsc::channel();
    let (release_tx, release) = mpsc::channel::<()>();
    let (wrote_tx, wrote) = mpsc::channel();
    std::thread::scope(|s| {
        let holder = store.clone();
        s.spawn(move || {
            holder
                .write(move |tx| {
                    let lock =
                        format!("SELECT event_seq FROM tenant_counters WHERE tenant_id = {} FOR UPDATE", tenant.0);
                    tx.conn.batch_execute(&lock)?;
                    locked_tx.send(()).unwrap();
                    let _ = release.recv_timeout(Duration::from_secs(60));
                    Ok(())
                })
                .unwrap();
        });
        locked.recv().unwrap();
        let writer = store.clone();
        s.spawn(move || {
            let appended: Result<()> =
                writer.write(|tx| tx.append_events(tenant, &[event("{}".into())], None, Utc::now()));
            wrote_tx.send(appended.is_ok()).unwrap();
        });
        let outcome = wrote.recv_timeout(Duration::from_secs(20));
        release_tx.send(()).unwrap();
        assert_eq!(outcome, Ok(true), "the write waited for the counters row");
    });
    store.number_events(Some(tenant)).unwrap();
    let rows = store.read(|tx| tx.events_after(tenant, 0, 10)).unwrap();
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(store.read(|tx| tx.tenant_stats(tenant)).unwrap().latest_event, 1);
}

#[derive(diesel::QueryableByName)]
struct Vacuums {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How often PostgreSQL's `pending_events` has been vacuumed by hand.
fn vacuums_of_pending_events(store: &super::Store) -> Option<i64> {
    if store.backend() != Backend::Postgres {
        return None;
    }
    let query = "SELECT vacuum_count AS n FROM pg_stat_user_tables \
                 WHERE relname = 'pending_events' AND schemaname = current_schema()";
    let rows: Vec<Vacuums> =
        store.read(|tx| Ok(diesel::RunQueryDsl::load(diesel::sql_query(query), tx.conn)?)).unwrap();
    Some(rows[0].n)
}

/// A pass says how many events it numbered (none on SQLite, which numbers them as they are
/// appended), and a vacuum of the numbered events' leftovers between passes loses nothing.
#[test]
fn numbering_counts_what_it_moved_and_a_vacuum_between_passes_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    for store in stores {
        let pg = store.backend() == Backend::Postgres;
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        let append = |from: usize, to: usize| {
            let batch: Vec<NewEvent> = (from..to).map(|i| event(i.to_string())).collect();
            store.write(|tx| tx.append_events(tenant, &batch, None, Utc::now())).unwrap();
        };
        append(0, 30);
        assert_eq!(store.number_events(Some(tenant)).unwrap(), if pg { 30 } else { 0 });
        append(30, 45);
        let before = vacuums_of_pending_events(&store);
        store.vacuum_pending_events().unwrap();
        assert_eq!(vacuums_of_pending_events(&store), before.map(|n| n + 1), "the vacuum ran");
        append(45, 50);
        assert_eq!(store.number_events(None).unwrap(), if pg { 20 } else { 0 });
        assert_eq!(store.number_events(None).unwrap(), 0, "nothing is numbered twice");
        let rows = store.read(|tx| tx.events_after(tenant, 0, 100)).unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>(), "{:?}", store.backend());
        let data: Vec<String> = rows.into_iter().map(|r| r.data).collect();
        assert_eq!(data, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
    }
}
