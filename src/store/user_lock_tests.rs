//! `Tx::lock_user_to_write` on PostgreSQL: a second write that locks the same user waits for
//! the first to end, which is what lets a busy user's writes take turns instead of failing
//! their version checks again and again (SQLite's one writer takes turns by itself).

use super::test_stores::{new_user, stores};
use super::Backend;
use chrono::Utc;
use std::sync::mpsc;
use std::time::Duration;

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
