//! Membership changes beyond both backends' bind limits.

use crate::store::test_stores::stores;
use crate::store::{GroupWrite, MemberKind, MemberRef};
use chrono::Utc;
use diesel::RunQueryDsl;

fn users(pks: std::ops::Range<i64>) -> Vec<MemberRef> {
    pks.map(|pk| MemberRef { kind: MemberKind::User, pk, id: format!("u{pk}"), display: None, marked_in_groups: false })
        .collect()
}

/// A replace of a membership larger than either backend's bind limit (the DELETE names
/// every member that stays) keeps, adds and removes the right rows.
#[test]
fn replacing_a_membership_beyond_the_bind_limits_works() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _schema) = stores(&dir);
    for store in all {
        let now = Utc::now();
        let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
        let write = GroupWrite {
            display_name: "Everyone".into(),
            display_name_norm: "everyone".into(),
            external_id: None,
            data: "{}".into(),
            data_norm: "{}".into(),
        };
        let group = store.write(|tx| tx.insert_group(tenant, "g1", &write, now)).unwrap().pk;
        // Users with the keys the members name (an add keeps only members that exist),
        // a thousand per statement: one by one they were most of the test, and on
        // PostgreSQL each insert's trigger updates the same row of counter deltas, whose
        // versions within one transaction each later update walks.
        for first in (1..75_001).step_by(1_000) {
            let seed = format!(
                "WITH RECURSIVE n(k) AS (SELECT {first} UNION ALL SELECT k + 1 FROM n WHERE k < {last}) \
                 INSERT INTO users (pk, tenant_id, id, user_name, user_name_norm, data, data_norm, \
                 version, created_at, last_modified) SELECT k, {tenant}, 'u' || k, 'u' || k, 'u' || k, \
                 '{{}}', '{{}}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM n",
                last = first + 999,
                tenant = tenant.get()
            );
            store.write(|tx| Ok(diesel::sql_query(&seed).execute(tx.conn).map(drop)?)).unwrap();
        }
        let members = |store: &crate::store::Store| -> Vec<i64> {
            use crate::store::schema::group_members as gm;
            use diesel::prelude::*;
            let rows = gm::table.filter(gm::group_pk.eq(group)).select(gm::member_pk).order(gm::member_pk);
            store.read(|tx| Ok(rows.load::<i64>(tx.conn)?)).unwrap()
        };
        let added = store.write(|tx| tx.replace_members(tenant, group, &users(1..70_001))).unwrap().0;
        assert_eq!(added.len(), 70_000);
        let added = store.write(|tx| tx.replace_members(tenant, group, &users(5_001..75_001))).unwrap().0;
        assert_eq!(added.iter().map(|m| m.pk).min(), Some(70_001));
        assert_eq!(members(&store), (5_001..75_001).collect::<Vec<_>>());
        store.write(|tx| tx.replace_members(tenant, group, &users(1..4))).unwrap();
        assert_eq!(members(&store), [1, 2, 3]);
    }
}
