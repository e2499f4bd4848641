//! PostgreSQL keeps one plan for the pages of a whole list in creation order (Okta's "Import
//! Now"), rather than planning each page for its LIMIT and OFFSET.

use super::predicate::Predicate;
use super::test_stores::{pg_plans, seed_users, stores};
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
