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
