//! `Tx::lock_user_to_write` on PostgreSQL: a second write that locks the same user waits for
//! the first to end, which is what lets a busy user's writes take turns instead of failing
//! their version checks again and again (SQLite's one writer takes turns by itself).

use super::test_stores::{new_user, stores, urls};
use super::{Backend, Store};
use crate::error::Error;
use chrono::Utc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn a_user_locked_to_write_makes_the_next_writer_of_it_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _schema) = stores(&dir);
    let Some(store) = all.into_iter().find(|s| s.backend() == Backend::Postgres) else { return };
    let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
    store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (second_tx, second_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let store = &store;
        let second = s.spawn(move || {
            locked_rx.recv().unwrap();
            store.write(|tx| tx.lock_user_to_write(tenant, "u1")).unwrap();
            let _ = second_tx.send(());
        });
        let waited = store
            .write(move |tx| {
                tx.lock_user_to_write(tenant, "u1")?;
                locked_tx.send(()).unwrap();
                // The second lock, if it does not wait for this transaction, is taken meanwhile.
                Ok(second_rx.recv_timeout(Duration::from_secs(1)).is_err())
            })
            .unwrap();
        assert!(waited, "the second writer took the lock while the first held it");
        second.join().unwrap();
    });
    // A user missing (here: another tenant's id) is no error: the read after the lock answers 404.
    let other = store.write(|tx| tx.create_tenant("other", Utc::now())).unwrap().id;
    store.write(|tx| tx.lock_user_to_write(other, "u1")).unwrap();
}

/// A writer that stops inside its transaction, as a scimd process paused or cut off does, holds
/// its locks no longer than the database wait: PostgreSQL ends its session, and the next
/// writer of the row goes on. Without the session's `idle_in_transaction_session_timeout` the
/// second write waited until the first woke and committed.
#[test]
fn a_writer_stopped_inside_its_transaction_lets_go_of_its_locks_within_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (urls, _schema) = urls(&dir);
    let Some(url) = urls.into_iter().find(|u| u.starts_with("postgres")) else { return };
    let store = Store::open_waiting(&url, 2, Duration::from_secs(1)).unwrap();
    let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
    store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
    let stopped_for = Duration::from_secs(5);
    let (locked_tx, locked_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let store = &store;
        let stopped = s.spawn(move || {
            store.write(move |tx| {
                tx.lock_user_to_write(tenant, "u1")?;
                locked_tx.send(()).unwrap();
                std::thread::sleep(stopped_for);
                tx.lock_user_to_write(tenant, "u1")
            })
        });
        locked_rx.recv().unwrap();
        let started = Instant::now();
        store.write(|tx| tx.lock_user_to_write(tenant, "u1")).unwrap();
        assert!(started.elapsed() < stopped_for - Duration::from_secs(1), "waited {:?}", started.elapsed());
        // The stopped writer's session is gone: its transaction ends in an error, a 503.
        match stopped.join().unwrap() {
            Err(Error::Unavailable(_)) => {}
            other => panic!("the stopped writer: {other:?}"),
        }
    });
    // Its connection was not given to the next request broken.
    store.write(|tx| tx.lock_user_to_write(tenant, "u1")).unwrap();
}
