//! Member PATCHes run several to a statement on PostgreSQL (`Tx::patch_members_many`, and
//! `Store::patch_members_in_lane` waiting in a group's lane): each PATCH ends as it would
//! alone, and events stay in the order of the group's versions.

use super::super::test_stores::{group_write, new_user, stores, PgSchema};
use super::super::{MemberPatch, MemberRef, MembersPatched, NewEvent, Store, TenantId};
use crate::error::{Error, Result};
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// PostgreSQL's store with a tenant, `users` users (`u0`, ...) looked up as members, and the
/// group `g0`; `None` without PostgreSQL.
fn postgres_with_users(dir: &tempfile::TempDir, users: usize) -> Option<(Store, TenantId, Vec<MemberRef>, PgSchema)> {
    let (all, schema) = stores(dir);
    let store = all.into_iter().find(|s| s.group_lanes.is_some())?;
    let now = Utc::now();
    let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
    let ids: Vec<String> = (0..users).map(|n| format!("u{n}")).collect();
    store
        .write(|tx| {
            for n in 0..users {
                tx.insert_user(tenant, &new_user(n))?;
            }
            tx.insert_group(tenant, "g0", &group_write("g0"), now)
        })
        .unwrap();
    let found: BTreeMap<String, MemberRef> =
        store.resolve_members(tenant, &ids).unwrap().into_iter().map(|m| (m.id.clone(), m)).collect();
    Some((store, tenant, ids.iter().map(|id| found[id].clone()).collect(), schema?))
}

fn event(about: String) -> NewEvent {
    NewEvent { event_type: "group.updated", resource_type: Some("Group"), resource_id: Some(about), data: "{}".into() }
}

/// A PATCH of `g0` with one operation; its events name `label`, and those of a partial change
/// `label` and the flags it was given.
fn patch(tenant: TenantId, label: &str, add: bool, members: Vec<MemberRef>, versions: Option<Vec<i64>>) -> MemberPatch {
    let partial = label.to_string();
    MemberPatch {
        tenant,
        group_id: "g0".into(),
        now: Utc::now(),
        ops: vec![(add, members)],
        versions,
        events: vec![(0, event(label.to_string()))],
        request_id: None,
        events_of_changed: Box::new(move |changed| vec![event(format!("{partial} {changed:?}"))]),
    }
}

/// `patches` run by one call, in a transaction of their own.
fn run(store: &Store, patches: &[Arc<MemberPatch>]) -> Vec<Result<MembersPatched>> {
    store.write(|tx| tx.patch_members_many(patches).map_err(|e| e.into_error())).unwrap()
}

fn events_about(store: &Store, tenant: TenantId) -> Vec<String> {
    store.number_events(None).unwrap();
    let events = store.read(|tx| tx.events_after(tenant, 0, 1000)).unwrap();
    events.into_iter().filter_map(|e| e.resource_id).collect()
}

/// A PATCH that changed some of its members stops the statement: scimd appends its events
/// before the next PATCH runs, so a later removal's event follows the add's.
#[test]
fn a_partial_change_has_its_events_appended_before_the_next_patch_runs() {
    let dir = tempfile::tempdir().unwrap();
    let Some((store, tenant, users, _schema)) = postgres_with_users(&dir, 3) else { return };
    let first = patch(tenant, "first", true, vec![users[1].clone()], None);
    run(&store, &[Arc::new(first)]);
    let patches = [
        patch(tenant, "partial", true, vec![users[1].clone(), users[2].clone()], None),
        patch(tenant, "removal", false, vec![users[2].clone()], None),
        patch(tenant, "whole", true, vec![users[0].clone()], None),
    ]
    .map(Arc::new);
    let outcomes = run(&store, &patches);
    let versions_and_changes: Vec<(i64, Vec<bool>)> = outcomes
        .into_iter()
        .map(|o| match o {
            Ok(MembersPatched::Done { row, changed }) => (row.version, changed),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(versions_and_changes, [(3, vec![false, true]), (4, vec![true]), (5, vec![true])]);
    assert_eq!(events_about(&store, tenant), ["first", "partial [false, true]", "removal", "whole"]);
}

/// PATCHes of one group that follow each other write its row at the first and after the
/// last; each still gets a version of its own, a failed one none, and another group's PATCH
/// between them ends the run.
#[test]
fn a_run_of_one_groups_patches_writes_its_row_once_with_the_last_version() {
    let dir = tempfile::tempdir().unwrap();
    let Some((store, tenant, users, _schema)) = postgres_with_users(&dir, 4) else { return };
    let mut g1 = patch(tenant, "g1", true, vec![users[0].clone()], None);
    g1.group_id = "g1".into();
    store.write(|tx| tx.insert_group(tenant, "g1", &group_write("g1"), Utc::now())).unwrap();
    let patches = [
        patch(tenant, "a", true, vec![users[0].clone()], None),
        patch(tenant, "b", true, vec![users[1].clone()], None),
        g1,
        patch(tenant, "c", true, vec![users[2].clone()], Some(vec![3])),
        patch(tenant, "stale", false, vec![users[0].clone()], Some(vec![3])),
        patch(tenant, "d", true, vec![users[3].clone()], None),
    ]
    .map(Arc::new);
    let outcomes = run(&store, &patches);
    let mut last_modified = None;
    let versions: Vec<Option<i64>> = outcomes
        .into_iter()
        .map(|o| match o {
            Ok(MembersPatched::Done { row, .. }) => {
                last_modified = (row.id == "g0").then_some(row.last_modified).or(last_modified);
                Some(row.version)
            }
            Ok(MembersPatched::Precondition) => None,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(versions, [Some(2), Some(3), Some(2), Some(4), None, Some(5)]);
    let row = |id: &str| store.read(|tx| tx.group_by_id(tenant, id)).unwrap().expect("the group");
    let (g0, g1) = (row("g0"), row("g1"));
    assert_eq!((g0.version, Some(g0.last_modified), g1.version), (5, last_modified, 2));
    assert_eq!(events_about(&store, tenant), ["a", "b", "g1", "c", "d"]);
}

/// RFC 7644 §3.14: a PATCH that changes no member keeps the version and lastModified, alone or
/// in a run, and If-Match may still name that version; a run of such PATCHes leaves the row be.
#[test]
fn a_patch_that_changes_no_member_keeps_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let Some((store, tenant, users, _schema)) = postgres_with_users(&dir, 2) else { return };
    run(&store, &[Arc::new(patch(tenant, "first", true, vec![users[0].clone()], None))]);
    let row = || store.read(|tx| tx.group_by_id(tenant, "g0")).unwrap().expect("the group");
    let versions = |outcomes: Vec<Result<MembersPatched>>| -> Vec<i64> {
        let version = |o| match o {
            Ok(MembersPatched::Done { row, .. }) => row.version,
            other => panic!("{other:?}"),
        };
        outcomes.into_iter().map(version).collect()
    };
    let before = row();
    let unchanged = [
        patch(tenant, "again", true, vec![users[0].clone()], Some(vec![2])),
        patch(tenant, "absent", false, vec![users[1].clone()], Some(vec![2])),
    ];
    assert_eq!(versions(run(&store, &unchanged.map(Arc::new))), [2, 2]);
    let after = row();
    assert_eq!((after.version, after.last_modified), (2, before.last_modified));
    let mixed = [
        patch(tenant, "again", true, vec![users[0].clone()], None),
        patch(tenant, "new", true, vec![users[1].clone()], Some(vec![2])),
        patch(tenant, "again", true, vec![users[1].clone()], Some(vec![3])),
    ];
    assert_eq!(versions(run(&store, &mixed.map(Arc::new))), [2, 3, 3]);
    assert_eq!(row().version, 3);
    assert_eq!(events_about(&store, tenant), ["first", "new"]);
}

/// Waiting in the group's lane between writes in savepoints: each PATCH answers its own
/// outcome (done, If-Match failed, no group), and the others' failures change nothing of it;
/// one that changed some of its members (here: `u0`, a member already, and its own) has the
/// events of what changed appended, before the next PATCH or after the statement.
#[test]
fn member_patches_waiting_in_a_lane_end_each_as_alone() {
    let dir = tempfile::tempdir().unwrap();
    let Some((store, tenant, users, _schema)) = postgres_with_users(&dir, 64) else { return };
    let first = patch(tenant, "u0", true, vec![users[0].clone()], None);
    run(&store, &[Arc::new(first)]);
    let store = &store;
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let results = runtime.block_on(futures_util::future::join_all((1..64).map(|i| {
        let label = format!("u{i}");
        let mut members = vec![users[i].clone()];
        if i % 8 == 4 {
            members.insert(0, users[0].clone());
        }
        let mut p = patch(tenant, &label, true, members, (i % 8 == 6).then(|| vec![-1]));
        if i % 8 == 3 {
            p.group_id = "nope".into();
        }
        async move {
            if i % 4 == 1 {
                // A write of the group's lane that fails in its savepoint.
                let failed =
                    store.write_group_async(tenant, "g0", |_| Err::<(), _>(Error::Conflict("no".into()))).await;
                assert!(matches!(failed, Err(Error::Conflict(_))), "{failed:?}");
            }
            (i, store.patch_members_in_lane(p).await.expect("PostgreSQL's lanes"))
        }
    })));
    let mut versions = BTreeSet::new();
    let (mut added, mut about) = (BTreeSet::from(["u0".to_string()]), BTreeSet::from(["u0".to_string()]));
    for (i, result) in results {
        match (i % 8, result) {
            (6, Ok(MembersPatched::Precondition)) | (3, Ok(MembersPatched::NoGroup)) => {}
            (k, Ok(MembersPatched::Done { row, changed })) if k != 6 && k != 3 => {
                assert!(versions.insert(row.version), "version {} twice", row.version);
                added.insert(format!("u{i}"));
                let partial = k == 4;
                assert_eq!(changed, if partial { vec![false, true] } else { vec![true] });
                about.insert(if partial { format!("u{i} [false, true]") } else { format!("u{i}") });
            }
            (_, other) => panic!("u{i}: {other:?}"),
        }
    }
    assert_eq!(versions, (3..2 + added.len() as i64).collect(), "one version each");
    assert_eq!(events_about(store, tenant).into_iter().collect::<BTreeSet<_>>(), about);
    use super::super::schema::group_members as gm;
    use diesel::prelude::*;
    let members = gm::table.filter(gm::tenant_id.eq(tenant.get())).select(gm::member_pk);
    let members: BTreeSet<i64> = store.read(|tx| Ok(members.load::<i64>(tx.conn)?)).unwrap().into_iter().collect();
    let want: BTreeSet<i64> = users.iter().filter(|u| added.contains(&u.id)).map(|u| u.pk).collect();
    assert_eq!(members, want, "the members of g0");
}
