//! The plans for the reads of `group_members` (`member_reads`) and of members' ids by key.

use crate::store::predicate::Table;
use crate::store::sql;
use crate::store::test_stores::{pg_plans, seed_groups, seed_users, seeded_tenant, stores};
use crate::store::{Backend, GroupWrite, MemberKind, MemberRef};
use chrono::Utc;
use diesel::RunQueryDsl;

/// Among groups of very different sizes, PostgreSQL keeps one plan for the first page of
/// a group's members instead of planning it on every read (it did when the statement
/// compared the group's key itself: 250 of its 300 µs per read), and one for the later
/// pages of a large group, wherever the cursor is.
#[test]
fn postgres_keeps_one_plan_for_a_page_of_members_whatever_the_group_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _schema) = stores(&dir);
    for store in all.into_iter().filter(|s| s.backend() == Backend::Postgres) {
        let now = Utc::now();
        let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
        seed_users(&store, tenant, 2000);
        let user =
            |pk| MemberRef { kind: MemberKind::User, pk, id: format!("u{pk}"), display: None, marked_in_groups: false };
        let group = |name: String, members: Vec<MemberRef>| {
            let write = GroupWrite {
                display_name: name.clone(),
                display_name_norm: name.clone(),
                external_id: None,
                data: "{}".into(),
                data_norm: "{}".into(),
            };
            store
                .write(|tx| {
                    let g = tx.insert_group(tenant, &name, &write, now)?;
                    tx.add_members(tenant, g.pk, &members)?;
                    Ok(g.pk)
                })
                .unwrap()
        };
        let big = group("big".into(), (1..=1500).map(user).collect());
        let small: Vec<i64> = (0..200).map(|i| group(format!("g{i}"), vec![user(1501 + i)])).collect();
        store.write(|tx| Ok(diesel::sql_query("ANALYZE group_members").execute(tx.conn).map(drop)?)).unwrap();
        let (first, later) = store
            .read(|tx| {
                for pk in &small[..12] {
                    let page = super::members_page(tx.conn, tenant, *pk, None, 100)?;
                    assert_eq!(page.len(), 1);
                }
                let first = pg_plans(tx.conn, "%FROM group_members m%LIMIT 100")?;
                // The large group's later pages, at cursors across it.
                for k in 0..12 {
                    let after = Some((MemberKind::User, 100 + 110 * k));
                    let page = super::members_page(tx.conn, tenant, big, after, 100)?;
                    assert_eq!(page.len(), 100);
                }
                Ok((first, pg_plans(tx.conn, "%member_pk) >%LIMIT 100")?))
            })
            .unwrap();
        for (generic, custom) in [first, later] {
            assert!(generic >= 6 && custom <= 6, "generic {generic} custom {custom}");
        }
        // The plans kept read each member's id, and each of a user's groups, by the table's
        // key: costed for the average group (8.5 members), or for ten users, a join to
        // `groups` was a hash of the whole table (per group, in a page of groups).
        // A thousand more groups, without members, as a directory pushed by Okta has.
        seed_groups(&store, tenant, "e", 1000);
        let statements = [
            super::members_page_statement(Backend::Postgres, tenant, small[0], None, None, 100),
            super::members_page_statement(Backend::Postgres, tenant, big, Some((MemberKind::User, 7)), None, 100),
            crate::store::members_of_groups::first_members_statement(Backend::Postgres, tenant, &small[..100], 1000),
        ];
        let users: Vec<i64> = (1..=100).collect();
        let groups_of_users =
            store.read(|tx| Ok([false, true].map(|recursive| tx.user_groups_sql(tenant, &users, recursive)))).unwrap();
        // Every read of `groups` is a probe of one row by key (a merge join walked the whole
        // index instead). The recursive statement's union may hash its steps: the tenant's
        // groups in groups.
        let probes = |plan: &str| plan.lines().filter(|l| l.contains(" on groups ")).all(|l| l.contains(" rows=1 "));
        let may_hash = [false, false, false, false, true];
        for (statement, may_hash) in statements.into_iter().chain(groups_of_users).zip(may_hash) {
            let plan = store.read(|tx| Ok(sql::explain_generic_pg(tx.conn, &statement)?)).unwrap().join("\n");
            assert!(!plan.contains("Seq Scan") && probes(&plan), "{plan}");
            assert!(may_hash || !plan.contains("Hash"), "{plan}");
        }
    }
}

/// Members' ids by their keys (what a removal of many members reports) are read by key, on
/// SQLite too: without statistics (scimd never runs ANALYZE) SQLite read the tenant's whole
/// (tenant_id, id) index for them, which covers the query, and checked every entry.
#[test]
fn members_ids_are_read_by_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _schema) = stores(&dir);
    for store in all {
        let tenant = seeded_tenant(&store, 2000, 50);
        if store.backend() == Backend::Sqlite {
            // As a database scimd made has them: none.
            store.write(|tx| Ok(diesel::sql_query("DROP TABLE sqlite_stat1").execute(tx.conn).map(drop)?)).unwrap();
        }
        let pks: Vec<i64> = (1..=500).collect();
        for table in [Table::Users, Table::Groups] {
            let pieces = sql::ids_by_key_sql(store.backend(), tenant.get(), table, &pks);
            let plan = store.read(|tx| Ok(sql::explain(tx.conn, &pieces)?)).unwrap().join("\n");
            let by_key = match store.backend() {
                Backend::Sqlite => plan.contains("INTEGER PRIMARY KEY"),
                Backend::Postgres => plan.contains("Index") && plan.contains("pk = ANY"),
            };
            assert!(by_key, "{table:?}: {plan}");
        }
    }
}
