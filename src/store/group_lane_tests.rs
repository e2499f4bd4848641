//! Writes of groups in their lanes on PostgreSQL (and on SQLite, where they are any write's):
//! all land, share commits, and fail alone, after an error of the database as after scimd's.

use super::super::test_stores::stores;
use super::super::{NewEvent, Store, TenantId, Tx};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use diesel::RunQueryDsl;
use std::collections::BTreeSet;

fn tenant_names(store: &Store) -> BTreeSet<String> {
    store.read(|tx| tx.list_tenants()).unwrap().into_iter().map(|t| t.name).collect()
}

fn commits(store: &Store) -> u64 {
    match (&store.group_lanes, &store.group_commit) {
        (Some(lanes), _) => lanes.commits(),
        (None, Some(lane)) => lane.commits(),
        (None, None) => unreachable!("every store has a lane"),
    }
}

/// How write `i` ends after it has created its tenant.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Ending {
    Lands,
    /// scimd's own error.
    Fails,
    /// A statement the database refuses, which on PostgreSQL leaves the transaction unusable
    /// until its savepoint is rolled back.
    StatementFails,
    /// Its tenant's name again: a unique key the database enforces.
    Duplicate,
    /// A statement deferred to the end of its savepoint (as PostgreSQL's event append is,
    /// `Tx::at_commit`) that the database refuses there, after the request's own code is done.
    DeferredFails,
    Panics,
}

fn ending(i: usize) -> Ending {
    match i % 8 {
        1 => Ending::Fails,
        3 => Ending::StatementFails,
        5 => Ending::Duplicate,
        7 => Ending::DeferredFails,
        _ if i == 6 => Ending::Panics,
        _ => Ending::Lands,
    }
}

fn write(tx: &mut Tx<'_>, i: usize, events_of: TenantId) -> Result<usize> {
    let name = format!("a{i:02}");
    let now = SystemClock.now();
    tx.create_tenant(&name, now)?;
    let event = NewEvent {
        event_type: "group.updated",
        resource_type: Some("Group"),
        resource_id: Some(name.clone()),
        data: "{}".into(),
    };
    match ending(i) {
        Ending::Lands => tx.append_events(events_of, &[event], None, now).map(|()| i),
        Ending::Fails => {
            tx.append_events(events_of, &[event], None, now)?;
            Err(Error::Conflict("a group write that fails after writing".into()))
        }
        Ending::StatementFails => {
            diesel::sql_query("SELECT * FROM no_such_table").execute(tx.conn)?;
            Ok(i)
        }
        Ending::Duplicate => tx.create_tenant(&name, now).map(|_| i),
        Ending::DeferredFails => {
            tx.append_events(events_of, &[event], None, now)?;
            let deferred = tx.at_commit.take().map(|append| append + "; ").unwrap_or_default();
            tx.at_commit = Some(deferred + "SELECT * FROM no_such_table");
            Ok(i)
        }
        Ending::Panics => panic!("a group write that panics after writing"),
    }
}

#[test]
fn group_writes_share_commits_and_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = stores(&dir);
    for store in &stores {
        let events_of = store.write(|tx| tx.create_tenant("events", SystemClock.now())).unwrap().id;
        let before = commits(store);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // Three groups, so some lanes hold the writes of more than one.
        let results = runtime.block_on(futures_util::future::join_all((0..64).map(|i| {
            let group = format!("g{}", i % 3);
            async move { store.write_group_async(TenantId(1), &group, move |tx| write(tx, i, events_of)).await }
        })));
        for (i, result) in results.iter().enumerate() {
            match (ending(i), result) {
                (Ending::Lands, Ok(n)) => assert_eq!(*n, i),
                (Ending::Fails, Err(Error::Conflict(_))) | (Ending::Panics, Err(Error::Internal(_))) => {}
                (Ending::StatementFails | Ending::Duplicate | Ending::DeferredFails, Err(_)) => {}
                (end, other) => panic!("a{i:02} ({end:?}): {other:?}"),
            }
        }
        let landed: BTreeSet<String> =
            (0..64).filter(|&i| ending(i) == Ending::Lands).map(|i| format!("a{i:02}")).collect();
        let mut tenants = tenant_names(store);
        assert!(tenants.remove("events"));
        assert_eq!(tenants, landed, "{:?}", store.backend());
        store.number_events(None).unwrap();
        let events = store.read(|tx| tx.events_after(events_of, 0, 1000)).unwrap();
        let about: BTreeSet<String> = events.into_iter().filter_map(|e| e.resource_id).collect();
        assert_eq!(about, landed, "events of {:?}", store.backend());
        let commits = commits(store) - before;
        assert!((1..landed.len() as u64).contains(&commits), "{commits} commits for {} writes", landed.len());
    }
}
