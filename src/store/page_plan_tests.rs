//! The plans of list pages: PostgreSQL keeps one for the pages of a whole list in creation
//! order (Okta's "Import Now"), rather than planning each page for its LIMIT and OFFSET; a
//! page sorted by an indexed attribute reads its keys from that attribute's index alone.

use super::predicate::{Column, Operand, Predicate, SortKey, Table, ValueKind};
use super::sql::{self, Piece};
use super::test_stores::{pg_plans, seed_groups, seed_users, stores};
use super::{Backend, UserListQuery};
use chrono::Utc;

#[test]
fn postgres_keeps_one_plan_for_pages_of_the_whole_list() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _schema) = stores(&dir);
    for store in all.into_iter().filter(|s| s.backend() == Backend::Postgres) {
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        // Enough users that a plan costed for any page (PostgreSQL guesses a tenth of the rows
        // for a LIMIT it cannot see) costs well above one costed for a page of 20.
        seed_users(&store, tenant, 30_000);
        // The adds folded into the counters, so the set has a version and pages start from
        // remembered positions (without, every page was read by its OFFSET alone).
        store.number_events(None).unwrap();
        // Across the list, past the first 1,000, where a page starts from a remembered
        // position, as most of an import's pages do.
        let (generic, custom) = store
            .read(|tx| {
                for k in 0..12u64 {
                    let offset = 1000 + 2_437 * k;
                    let q = UserListQuery { predicate: Predicate::Const(true), sort: None, offset, limit: 20 };
                    let page: Vec<String> = tx.list_users(tenant, &q)?.rows.into_iter().map(|r| r.id).collect();
                    let expected: Vec<String> = (offset + 1..=offset + 20).map(|pk| format!("u{pk}")).collect();
                    assert_eq!(page, expected);
                }
                Ok(pg_plans(tx.conn, "%= ANY(ARRAY(SELECT users.pk FROM users%")?)
            })
            .unwrap();
        assert!(generic >= 6 && custom <= 6, "generic {generic} custom {custom}");
    }
}

/// RFC 7644 §3.4.2.3 `sortBy` on an indexed attribute, either way: the page's keys come from
/// the attribute's index in its order (the attribute, then the key for ties), with no sort and
/// no read of the table for each row skipped. On PostgreSQL the keys were not in the indexes,
/// and a tie-break on the key of a unique name sorted each run of one name again.
#[test]
fn a_sorted_page_is_read_from_its_attributes_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _schema) = stores(&dir);
    for store in all {
        let backend = store.backend();
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        if backend == Backend::Postgres {
            // SQLite plans by rule; PostgreSQL needs a table whose plans it can tell apart.
            seed_users(&store, tenant, 5000);
            seed_groups(&store, tenant, "g", 5000);
        }
        for (table, column, kind, index) in [
            (Table::Users, Column::UserNameNorm, ValueKind::Text, "users_tenant_user_name"),
            (Table::Users, Column::ExternalId, ValueKind::Text, "users_tenant_external_id"),
            (Table::Users, Column::DisplayNameNorm, ValueKind::Text, "users_tenant_display_name"),
            (Table::Users, Column::Created, ValueKind::Timestamp, "users_tenant_created"),
            (Table::Users, Column::LastModified, ValueKind::Timestamp, "users_tenant_last_modified"),
            (Table::Groups, Column::DisplayNameNorm, ValueKind::Text, "groups_tenant_display_name"),
            (Table::Groups, Column::ExternalId, ValueKind::Text, "groups_tenant_external_id"),
            (Table::Groups, Column::Created, ValueKind::Timestamp, "groups_tenant_created"),
            (Table::Groups, Column::LastModified, ValueKind::Timestamp, "groups_tenant_last_modified"),
        ] {
            for descending in [false, true] {
                let sort = SortKey { operand: Operand::Column(column), kind, descending };
                let name = table.name();
                let mut pieces = vec![
                    Piece::Sql(format!("SELECT {name}.pk FROM {name} WHERE {name}.tenant_id = ")),
                    Piece::BigInt(tenant.get()),
                    Piece::Sql(" ORDER BY ".into()),
                ];
                pieces.extend(sql::list_order(backend, tenant.get(), table, Some(&sort)).pieces);
                pieces.push(Piece::Sql(" LIMIT 100 OFFSET 2000".into()));
                let plan = store.read(|tx| Ok(sql::explain(tx.conn, &pieces)?)).unwrap().join("\n");
                let alone = match backend {
                    Backend::Sqlite => {
                        plan.contains(&format!("COVERING INDEX {index}")) && !plan.contains("TEMP B-TREE")
                    }
                    Backend::Postgres => {
                        plan.contains(&format!(" using {index}"))
                            && plan.contains("Index Only Scan")
                            && !plan.contains("Sort")
                    }
                };
                assert!(alone, "{name} by {column:?}, descending {descending}:\n{plan}");
            }
        }
    }
}
