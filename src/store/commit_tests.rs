//! The group-commit lane under concurrent, failing and panicking writes, and its reads between writes.

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::store::savepoint::{Guarded, Unguarded};
use crate::store::{Stopped, Store, Tx};
use diesel::Connection;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

const THREADS: usize = 16;
const WRITES_PER_THREAD: usize = 20;

fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    Store::open(&format!("sqlite://{}/t.db", dir.path().display()), 4).unwrap()
}

/// The lane still takes a write, and it lands.
fn still_writes(store: &Store) {
    store.write(|tx| tx.create_tenant("after", SystemClock.now()).map(|_| ())).unwrap();
    assert!(tenant_names(store).contains("after"));
}

fn tenant_names(store: &Store) -> BTreeSet<String> {
    store.read(|tx| tx.list_tenants()).unwrap().into_iter().map(|t| t.name).collect()
}

/// Each thread writes tenants `t<thread>-<i>`; `fails(thread, i)` makes that write insert
/// its tenant and then fail, `panics(thread, i)` makes it insert and then panic.
fn write_concurrently(store: &Store, fails: fn(usize, usize) -> bool, panics: fn(usize, usize) -> bool) -> usize {
    let panicked = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..WRITES_PER_THREAD {
                        let result = store.write(|tx| {
                            tx.create_tenant(&format!("t{t}-{i}"), SystemClock.now())?;
                            if panics(t, i) {
                                panic!("a write that panics after writing");
                            }
                            if fails(t, i) {
                                return Err(Error::Conflict("a write that fails after writing".into()));
                            }
                            Ok(())
                        });
                        assert_eq!(result.is_err(), fails(t, i), "t{t}-{i}: {result:?}");
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).filter(Result::is_err).count()
    });
    panicked
}

fn expected(skip: fn(usize, usize) -> bool) -> BTreeSet<String> {
    (0..THREADS)
        .flat_map(|t| (0..WRITES_PER_THREAD).map(move |i| (t, i)))
        .filter(|&(t, i)| !skip(t, i))
        .map(|(t, i)| format!("t{t}-{i}"))
        .collect()
}

#[test]
fn concurrent_writes_all_land_and_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let before = store.group_commit.as_ref().unwrap().commits();
    assert_eq!(write_concurrently(&store, |_, _| false, |_, _| false), 0);
    assert_eq!(tenant_names(&store), expected(|_, _| false));
    let commits = store.group_commit.as_ref().unwrap().commits() - before;
    let writes = (THREADS * WRITES_PER_THREAD) as u64;
    assert!(commits < writes, "{commits} commits for {writes} concurrent writes: none were shared");
    // What was acknowledged is on disk: a new process (a fresh store) sees all of it.
    drop(store);
    assert_eq!(tenant_names(&sqlite_store(&dir)).len(), writes as usize);
}

#[test]
fn a_failing_write_rolls_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let fails = |t: usize, i: usize| (t + i) % 3 == 0;
    assert_eq!(write_concurrently(&store, fails, |_, _| false), 0);
    assert_eq!(tenant_names(&store), expected(fails));
}

#[test]
fn a_panicking_write_rolls_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    // Thread 0 panics on its 5th write (and so never makes the rest).
    let panics = |t: usize, i: usize| t == 0 && i == 4;
    assert_eq!(write_concurrently(&store, |_, _| false, panics), 1);
    assert_eq!(tenant_names(&store), expected(|t, i| t == 0 && i >= 4));
    // The lane still works afterwards.
    still_writes(&store);
}

/// `write_async` from many tasks at once: each answer comes after its commit, failures and
/// a panic roll back alone, and the rest share commits.
#[test]
fn async_writes_share_commits_and_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let before = store.group_commit.as_ref().unwrap().commits();
    let fails = |i: usize| i % 5 == 0;
    let panics = |i: usize| i == 7;
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let results = runtime.block_on(futures_util::future::join_all((0..64).map(|i| {
        store.write_async(move |tx| {
            tx.create_tenant(&format!("a{i:02}"), SystemClock.now())?;
            if panics(i) {
                panic!("an async write that panics after writing");
            }
            if fails(i) {
                return Err(Error::Conflict("an async write that fails after writing".into()));
            }
            Ok(i)
        })
    })));
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(n) => assert!(*n == i && !fails(i) && !panics(i)),
            Err(Error::Conflict(_)) => assert!(fails(i)),
            Err(Error::Internal(_)) => assert!(panics(i)),
            Err(e) => panic!("a{i:02}: {e:?}"),
        }
    }
    let landed: BTreeSet<String> = (0..64).filter(|&i| !fails(i) && !panics(i)).map(|i| format!("a{i:02}")).collect();
    assert_eq!(tenant_names(&store), landed);
    let commits = store.group_commit.as_ref().unwrap().commits() - before;
    assert!(commits < landed.len() as u64, "{commits} commits for {} async writes", landed.len());
    drop(store);
    assert_eq!(tenant_names(&sqlite_store(&dir)), landed);
}

#[test]
fn a_panic_escaping_a_queued_job_leaves_the_process_and_the_writer_running() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    store.group_commit.as_ref().unwrap().writer.spawn(|| panic!("outside any savepoint"));
    still_writes(&store);
}

#[test]
fn writes_run_on_the_writer_thread_and_panics_reach_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let name = store.write(|_| Ok(std::thread::current().name().map(str::to_string))).unwrap();
    assert_eq!(name.as_deref(), Some("scimd-writer"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.write(|_| -> crate::error::Result<()> { panic!("on the writer") })
    }));
    let message = caught.unwrap_err().downcast::<&str>().map(|m| *m).unwrap_or_default();
    assert_eq!(message, "on the writer");
}

fn names_in(tx: &mut Tx<'_>) -> crate::error::Result<BTreeSet<String>> {
    Ok(tx.list_tenants()?.into_iter().map(|t| t.name).collect())
}

/// A read between writes sees the open batch's writes and says so; once that batch has
/// failed, a write planned from the read is turned away with nothing written, since the
/// version it checks may be written again by a later write. A read with no batch open reads
/// what is committed, and a write after it goes through.
#[test]
fn writes_planned_from_a_failed_batch_are_turned_away() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let lane = store.group_commit.clone().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    // One more write "queued" keeps the batch open after this one.
    lane.queued.fetch_add(2, Ordering::SeqCst);
    let (wrote, _, _) = lane
        .write(&store.write, Guarded(|tx: &mut Tx<'_>| tx.create_tenant("uncommitted", SystemClock.now()).map(drop)));
    assert!(matches!(wrote, Ok(Ok(()))));
    let (names, mark) = lane.read_between_writes(&store.write, names_in).unwrap();
    assert!(names.contains("uncommitted") && mark.saw_uncommitted());

    // A request that panics inside a transaction of Diesel's own leaves the connection where
    // its savepoint cannot be rolled back alone: the whole batch goes.
    let (ran, _, _) = lane.write(
        &store.write,
        Guarded(|tx: &mut Tx<'_>| {
            tx.conn.transaction::<(), diesel::result::Error, _>(|_| panic!("inside a nested transaction"))?;
            Ok(())
        }),
    );
    assert!(ran.is_err(), "the panic is the caller's");
    assert!(tenant_names(&store).is_empty(), "{:?}", tenant_names(&store));
    let planned = runtime.block_on(store.write_after_read(mark, |tx| create_tenant_unguarded(tx, "planned")));
    assert!(matches!(planned, Err(Error::WriteConflict)), "{planned:?}");
    assert!(tenant_names(&store).is_empty());

    let (names, mark) = runtime.block_on(lane.read_async(&store.write, names_in)).unwrap();
    assert!(names.is_empty() && !mark.saw_uncommitted());
    runtime.block_on(store.write_after_read(mark, |tx| create_tenant_unguarded(tx, "planned"))).unwrap();
    assert_eq!(tenant_names(&store), BTreeSet::from(["planned".to_string()]));
}

/// A request's own nested transaction is a savepoint inside the request's: what it writes
/// commits with the request, and its error rolls back only its part.
#[test]
fn transactions_inside_a_request_nest() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    store
        .write(|tx| {
            tx.create_tenant("outer", SystemClock.now())?;
            let inner = tx.conn.transaction::<(), Error, _>(|conn| {
                crate::store::Tx::new(conn).create_tenant("rolled-back", SystemClock.now())?;
                Err(Error::Conflict("the inner part fails".into()))
            });
            assert!(inner.is_err());
            tx.conn.transaction::<(), Error, _>(|conn| {
                crate::store::Tx::new(conn).create_tenant("inner", SystemClock.now()).map(drop)
            })
        })
        .unwrap();
    assert_eq!(tenant_names(&store), BTreeSet::from(["inner".to_string(), "outer".to_string()]));
}

/// A tenant created by a write without a savepoint, which counts as changed once it began.
fn create_tenant_unguarded(tx: &mut Tx<'_>, name: &str) -> Result<(), Stopped> {
    tx.create_tenant(name, SystemClock.now()).map(drop).map_err(Stopped::After)
}

/// Writes without a savepoint of their own share the batch of the writes around them: one that
/// stops before it changed anything leaves the batch to commit; one that stops after its first
/// change, or panics, rolls the whole batch back, the other requests' writes included, and every
/// request in it is told; the lane writes on after either.
#[test]
fn writes_without_a_savepoint_fail_alone_only_before_they_change_anything() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let lane = store.group_commit.clone().unwrap();
    let guarded =
        |name: &'static str| Guarded(move |tx: &mut Tx<'_>| tx.create_tenant(name, SystemClock.now()).map(drop));

    // Two more writes "queued" keep the batch open through the next two.
    lane.queued.fetch_add(3, Ordering::SeqCst);
    let (first, first_batch, _) = lane.write(&store.write, guarded("first"));
    assert!(matches!(first, Ok(Ok(()))));
    let (stopped, _, _) =
        lane.write(&store.write, Unguarded(|_: &mut Tx<'_>| Err::<(), _>(Stopped::Before(Error::WriteConflict))));
    assert!(matches!(stopped, Ok(Err(Error::WriteConflict))), "{stopped:?}");
    let (last, _, _) = lane.write(&store.write, Unguarded(|tx: &mut Tx<'_>| create_tenant_unguarded(tx, "second")));
    assert!(matches!(last, Ok(Ok(()))));
    first_batch.unwrap().wait().unwrap();
    assert_eq!(tenant_names(&store), BTreeSet::from(["first".to_string(), "second".to_string()]));

    let failures = lane.failures.load(Ordering::SeqCst);
    lane.queued.fetch_add(2, Ordering::SeqCst);
    let (third, third_batch, _) = lane.write(&store.write, guarded("third"));
    assert!(matches!(third, Ok(Ok(()))));
    let (after, _, _) = lane.write(
        &store.write,
        Unguarded(|tx: &mut Tx<'_>| {
            create_tenant_unguarded(tx, "fourth")?;
            Err::<(), _>(Stopped::After(Error::internal("its second statement failed")))
        }),
    );
    assert!(matches!(after, Ok(Err(Error::Internal(_)))), "{after:?}");
    assert!(third_batch.unwrap().wait().is_err(), "the batch's other write is told it was rolled back");
    assert_eq!(lane.failures.load(Ordering::SeqCst), failures + 1);
    assert_eq!(tenant_names(&store), BTreeSet::from(["first".to_string(), "second".to_string()]));

    lane.queued.fetch_add(2, Ordering::SeqCst);
    let (fifth, fifth_batch, _) = lane.write(&store.write, guarded("fifth"));
    assert!(matches!(fifth, Ok(Ok(()))));
    let (panicked, _, _) = lane.write(
        &store.write,
        Unguarded(|tx: &mut Tx<'_>| -> Result<(), Stopped> {
            create_tenant_unguarded(tx, "sixth")?;
            panic!("a write without a savepoint that panics after writing")
        }),
    );
    assert!(panicked.is_err(), "the panic is the caller's");
    assert!(fifth_batch.unwrap().wait().is_err());
    assert_eq!(tenant_names(&store), BTreeSet::from(["first".to_string(), "second".to_string()]));
    still_writes(&store);
}

/// Events appended by writes without a savepoint take their numbers from counters the batch
/// holds, and the counters reach `tenant_counters` before a request with a savepoint runs and
/// at the commit: numbers run on without a gap or a repeat across both kinds of write. A batch
/// rolled back takes its held numbers with it.
#[test]
fn events_of_writes_without_a_savepoint_are_numbered_on_from_the_held_counter() {
    use crate::store::schema::{events, tenant_counters};
    use crate::store::{NewEvent, TenantId};
    use diesel::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let lane = store.group_commit.clone().unwrap();
    let tenant = store.write(|tx| tx.create_tenant("acme", SystemClock.now())).unwrap().id;
    let event = |n: usize| -> Vec<NewEvent> {
        (0..n)
            .map(|_| NewEvent {
                event_type: "user.updated",
                resource_type: Some("User"),
                resource_id: None,
                data: "{}".into(),
            })
            .collect()
    };
    let unguarded = |n: usize| {
        let events = event(n);
        Unguarded(move |tx: &mut Tx<'_>| {
            tx.append_events(tenant, &events, None, SystemClock.now()).map_err(Stopped::After)
        })
    };
    let guarded = |n: usize| {
        let events = event(n);
        Guarded(move |tx: &mut Tx<'_>| tx.append_events(tenant, &events, None, SystemClock.now()))
    };
    let numbers = |tenant: TenantId| {
        store
            .read(|tx| {
                let seqs =
                    events::table.filter(events::tenant_id.eq(tenant.get())).select(events::seq).order(events::seq);
                let last = tenant_counters::table.filter(tenant_counters::tenant_id.eq(tenant.get()));
                Ok((seqs.load::<i64>(tx.conn)?, last.select(tenant_counters::event_seq).first::<i64>(tx.conn)?))
            })
            .unwrap()
    };
    let first_events = numbers(tenant).1;

    lane.queued.fetch_add(4, Ordering::SeqCst);
    let (ran, batch, _) = lane.write(&store.write, unguarded(2));
    assert!(matches!(ran, Ok(Ok(()))));
    assert!(matches!(lane.write(&store.write, unguarded(1)).0, Ok(Ok(()))));
    assert!(matches!(lane.write(&store.write, guarded(1)).0, Ok(Ok(()))));
    assert!(matches!(lane.write(&store.write, unguarded(2)).0, Ok(Ok(()))));
    batch.unwrap().wait().unwrap();
    let expected: Vec<i64> = (first_events + 1..=first_events + 6).collect();
    assert_eq!(numbers(tenant), (expected.clone(), first_events + 6));

    lane.queued.fetch_add(2, Ordering::SeqCst);
    let (ran, batch, _) = lane.write(&store.write, unguarded(1));
    assert!(matches!(ran, Ok(Ok(()))));
    let failing = Unguarded(|_: &mut Tx<'_>| Err::<(), _>(Stopped::After(Error::internal("after its first change"))));
    assert!(lane.write(&store.write, failing).0.unwrap().is_err());
    assert!(batch.unwrap().wait().is_err());
    assert_eq!(numbers(tenant), (expected, first_events + 6), "the rolled-back batch numbered nothing");

    lane.queued.fetch_add(1, Ordering::SeqCst);
    let (ran, batch, _) = lane.write(&store.write, unguarded(1));
    assert!(matches!(ran, Ok(Ok(()))));
    batch.unwrap().wait().unwrap();
    assert_eq!(numbers(tenant).1, first_events + 7);
}

/// SQLite's SQLITE_FULL (a full disk; here the page limit, which fails the same way) is told
/// as `StorageFull`, a 503 the client may retry, not an internal error. The write it failed
/// leaves nothing, and writes land again once there is room.
#[test]
fn a_full_database_fails_writes_as_storage_full_until_there_is_room() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let limit_pages = |pages: u32| {
        store.write(move |tx| Ok(tx.conn.batch_execute(&format!("PRAGMA max_page_count = {pages}"))?)).unwrap()
    };
    // At most the pages the file has now (SQLite raises a lower limit to that).
    limit_pages(1);
    let before = tenant_names(&store);
    let failed = (0..2_000).find_map(|i| {
        let name = format!("full-{i:04}-{}", "x".repeat(40));
        match store.write(|tx| tx.create_tenant(&name, SystemClock.now()).map(|_| ())) {
            Ok(()) => None,
            Err(e) => Some((name, e)),
        }
    });
    let (name, error) = failed.expect("a write that needs a page more than the limit fails");
    assert!(matches!(error, Error::StorageFull(_)), "{error:?}");
    let names = tenant_names(&store);
    assert!(!names.contains(&name) && names.is_superset(&before));
    limit_pages(u32::MAX >> 1);
    store.write(|tx| tx.create_tenant(&name, SystemClock.now()).map(|_| ())).unwrap();
    assert!(tenant_names(&store).contains(&name));
}
