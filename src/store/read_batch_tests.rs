//! Point reads from many threads at once (`read_batches` on PostgreSQL, one statement a read
//! on SQLite): each answer is its own key's, of its own tenant.

use super::predicate::UserKey;
use super::test_stores::{self, group_write, new_user};
use super::{MemberKind, MemberRef, Store, TenantId};
use chrono::Utc;
use std::sync::Arc;

const USERS: usize = 12;

/// Two tenants whose users have the same ids and userNames (`u0`, `u1`, …) and say in their
/// data which tenant they are in; each tenant's `u3` is in a group named after the tenant.
fn two_tenants(store: &Store) -> [(TenantId, &'static str); 2] {
    ["acme", "initech"].map(|name| {
        let tenant = store
            .write(|tx| {
                let tenant = tx.create_tenant(name, Utc::now())?.id;
                let mut in_group = None;
                for n in 0..USERS {
                    let mut user = new_user(n);
                    user.write.data = format!(r#"{{"tenant":"{name}"}}"#);
                    let row = tx.insert_user(tenant, &user)?;
                    if n == 3 {
                        in_group = Some(row);
                    }
                }
                let group = tx.insert_group(tenant, &format!("g-{name}"), &group_write(name), Utc::now())?;
                let user = in_group.expect("u3 was written");
                let member = MemberRef {
                    kind: MemberKind::User,
                    pk: user.pk,
                    id: user.id,
                    display: None,
                    marked_in_groups: false,
                };
                tx.add_members(tenant, group.pk, &[member])?;
                Ok(tenant)
            })
            .unwrap();
        (tenant, name)
    })
}

/// Sixteen threads read users of both tenants by id and by userName, with and without their
/// groups, some of them users that do not exist: every read gets its own tenant's user, the
/// one it named, with that tenant's group, or none. On PostgreSQL most of these reads share
/// statements (`read_batches`), so a batch that answered a read with another read's row, or
/// looked a key up in another read's tenant, fails here.
#[test]
fn reads_at_once_each_get_their_own_tenants_user() {
    let dir = tempfile::tempdir().unwrap();
    let (urls, _schema) = test_stores::urls(&dir);
    for url in &urls {
        let store = Arc::new(Store::open(url, 8).unwrap());
        let tenants = two_tenants(&store);
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..150usize {
                        let (tenant, name) = tenants[(t + i) % 2];
                        let n = (t * 7 + i * 5) % (USERS + 3);
                        let key_text = format!("u{n}");
                        let key = if i % 3 == 0 { UserKey::UserNameNorm(&key_text) } else { UserKey::Id(&key_text) };
                        let with_groups = i % 2 == 0;
                        let found = store.user_and_groups(tenant, key, with_groups).unwrap();
                        let Some(found) = found else {
                            assert!(n >= USERS, "{key:?} of {name} not found");
                            continue;
                        };
                        assert!(n < USERS, "{key:?} of {name} found");
                        assert_eq!(found.row.id, key_text, "{key:?} of {name}");
                        assert_eq!(found.row.data, format!(r#"{{"tenant":"{name}"}}"#), "{key:?} of {name}");
                        let groups: Vec<String> =
                            found.groups.expect("no nested groups").into_iter().map(|g| g.display).collect();
                        let expected = if with_groups && n == 3 { vec![name.to_string()] } else { vec![] };
                        assert_eq!(groups, expected, "{key:?} of {name}, with groups {with_groups}");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a reader failed");
        }
        if store.backend() == super::Backend::Postgres {
            let largest = store.read_batches.largest.load(std::sync::atomic::Ordering::Relaxed);
            assert!(largest > 1, "{url}: no read shared a statement ({largest})");
        }
    }
}
