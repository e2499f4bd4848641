//! A group's add racing the deletion of the member it adds, on PostgreSQL (SQLite's one writer
//! runs them one after the other): no membership may outlive its member, whichever commits
//! first (`member_locks`). The members are looked up before the add's transaction, as a PATCH
//! of members alone does on PostgreSQL (`Store::members_before_group_write`).

use super::super::test_stores::{group_write, new_user, stores, PgSchema};
use super::super::{Backend, MemberOp, MemberPatch, MemberRef, MembersPatched, Stopped, Store, TenantId, Tx, UserRow};
use crate::error::Result;
use chrono::Utc;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// PostgreSQL's store with a tenant, the user `u1` and the group `g1` (and its schema's
/// guard), or none without PostgreSQL.
fn postgres_with_user_and_group(dir: &tempfile::TempDir) -> Option<(Store, TenantId, UserRow, PgSchema)> {
    let (all, schema) = stores(dir);
    let store = all.into_iter().find(|s| s.backend() == Backend::Postgres)?;
    let now = Utc::now();
    let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
    let user = store.write(|tx| tx.insert_user(tenant, &new_user(1))).unwrap();
    for group in ["g0", "g1"] {
        store.write(|tx| tx.insert_group(tenant, group, &group_write(group), now)).unwrap();
    }
    // A member of another group already, as most users a group push adds are: the add then
    // leaves the user's row alone (its `in_groups` is set), and only its lock orders it with
    // a deletion.
    let found = store.resolve_members(tenant, &["u1".to_string()]).unwrap();
    let ops = [MemberOp { add: true, members: &found }];
    store
        .write(|tx| {
            let group = tx.lock_group(tenant, "g0")?.expect("the group exists");
            tx.patch_members(tenant, &group, now, &ops)
        })
        .unwrap();
    Some((store, tenant, user, schema?))
}

fn memberships_of(store: &Store, tenant: TenantId, user_pk: i64) -> i64 {
    use super::super::schema::group_members as gm;
    use diesel::prelude::*;
    let rows = gm::table.filter(gm::tenant_id.eq(tenant.get()).and(gm::member_pk.eq(user_pk))).count();
    store.read(|tx| Ok(rows.get_result::<i64>(tx.conn)?)).unwrap()
}

/// The two ways members are added on PostgreSQL: a PATCH of members alone
/// (`Tx::patch_members_many`, one statement) and every other (`Tx::add_members`: POST, PUT,
/// other PATCHes).
#[derive(Clone, Copy, Debug)]
enum Route {
    MembersOnly,
    General,
}

/// Adds `found` to the group `g1` by `route`: whether each went in.
fn add(tx: &mut Tx<'_>, route: Route, tenant: TenantId, found: &[MemberRef]) -> Result<Vec<bool>> {
    let now = Utc::now();
    match route {
        Route::MembersOnly => {
            let patch = MemberPatch {
                tenant,
                group_id: "g1".into(),
                now,
                ops: vec![(true, found.to_vec())],
                versions: None,
                events: vec![],
                request_id: None,
                events_of_changed: Box::new(|_| vec![]),
            };
            let mut outcomes = tx.patch_members_many(&[Arc::new(patch)]).map_err(Stopped::into_error)?;
            match outcomes.pop().expect("one outcome")? {
                MembersPatched::Done { changed, .. } => Ok(changed),
                other => panic!("{other:?}"),
            }
        }
        Route::General => {
            let group = tx.lock_group(tenant, "g1")?.expect("the group exists");
            let added = tx.add_members(tenant, group.pk, found)?;
            Ok(found.iter().map(|m| added.contains(m)).collect())
        }
    }
}

/// Deleted after it was looked up and before the add: the add adds nothing, and says so.
#[test]
fn an_add_of_a_member_deleted_since_its_lookup_adds_nothing() {
    for route in [Route::MembersOnly, Route::General] {
        let dir = tempfile::tempdir().unwrap();
        let Some((store, tenant, user, _schema)) = postgres_with_user_and_group(&dir) else { return };
        let found = store.resolve_members(tenant, &["u1".to_string()]).unwrap();
        assert!(found.len() == 1 && found[0].marked_in_groups);
        store.write(|tx| tx.delete_user(tenant, &user)).unwrap();
        assert_eq!(store.write(|tx| add(tx, route, tenant, &found)).unwrap(), [false], "{route:?}");
        assert_eq!(memberships_of(&store, tenant, user.pk), 0, "{route:?}: a membership of a deleted user");
    }
}

/// Deleted while the add's transaction is open: the deletion waits for it, then removes the
/// membership it made.
#[test]
fn a_deletion_during_an_add_removes_the_membership_it_made() {
    for route in [Route::MembersOnly, Route::General] {
        let dir = tempfile::tempdir().unwrap();
        let Some((store, tenant, user, _schema)) = postgres_with_user_and_group(&dir) else { return };
        let found = store.resolve_members(tenant, &["u1".to_string()]).unwrap();
        let (added_tx, added_rx) = mpsc::channel();
        let (deleted_tx, deleted_rx) = mpsc::channel();
        std::thread::scope(|s| {
            let (store, user) = (&store, &user);
            let deletion = s.spawn(move || {
                added_rx.recv().unwrap();
                store.write(|tx| tx.delete_user(tenant, user)).unwrap();
                let _ = deleted_tx.send(());
            });
            let changed = store
                .write(move |tx| {
                    let changed = add(tx, route, tenant, &found)?;
                    added_tx.send(()).unwrap();
                    // The deletion, if it does not wait for this transaction, ends meanwhile.
                    let waited = deleted_rx.recv_timeout(Duration::from_secs(1)).is_err();
                    Ok((changed, waited))
                })
                .unwrap();
            assert_eq!(changed, (vec![true], true), "{route:?}: the add went in, and the deletion waited for it");
            deletion.join().unwrap();
        });
        assert_eq!(memberships_of(&store, tenant, user.pk), 0, "{route:?}: a membership of a deleted user");
    }
}
