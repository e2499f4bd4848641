//! Tests that the backfills migrations leave are done at start-up, on both backends.

use super::test_stores::{self, group_write};
use super::Store;
use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Membership {
    #[diesel(sql_type = BigInt)]
    member_pk: i64,
    #[diesel(sql_type = Nullable<Text>)]
    display_norm: Option<String>,
}

fn memberships(store: &Store, sql: &str) -> Vec<(i64, Option<String>)> {
    let rows: Vec<Membership> =
        store.read(|tx| Ok(diesel::RunQueryDsl::load(diesel::sql_query(sql), tx.conn)?)).unwrap();
    rows.into_iter().map(|m| (m.member_pk, m.display_norm)).collect()
}

/// Memberships written as a scimd before migration 000028 wrote them (no `display_norm`) get
/// it at the next start-up: set where the lowercased display differs (Unicode, not only
/// ASCII), left NULL where it does not, across more than one batch; the work is then gone
/// from `data_backfills`, and a start-up after that changes nothing.
#[test]
fn memberships_written_before_display_norm_get_it_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (urls, _schema) = test_stores::urls(&dir);
    for url in &urls {
        let store = Store::open(url, 2).unwrap();
        let (tenant, group) = store
            .write(|tx| {
                let tenant = tx.create_tenant("acme", Utc::now())?.id;
                let group = tx.insert_group(tenant, "g", &group_write("g"), Utc::now())?.pk;
                Ok((tenant.get(), group))
            })
            .unwrap();
        let series = if store.backend() == super::Backend::Postgres {
            "SELECT n FROM generate_series(1000, 6002) AS n"
        } else {
            "WITH RECURSIVE s(n) AS (SELECT 1000 UNION ALL SELECT n + 1 FROM s WHERE n < 6002) SELECT n FROM s"
        };
        let legacy = format!(
            "INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display) VALUES \
                 ({tenant}, {group}, 'User', 1, 'Ann ÄRGER'), ({tenant}, {group}, 'User', 2, 'bob@x.io'), \
                 ({tenant}, {group}, 'User', 3, NULL), ({tenant}, {group}, 'Group', 4, 'ΟΔΥΣΣΕΥΣ'); \
             INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display) \
                 SELECT {tenant}, {group}, 'User', n, 'Member ' || CAST(n AS TEXT) FROM ({series}) AS s; \
             INSERT INTO data_backfills (name) VALUES ('member_display_norm');"
        );
        store.write(|tx| Ok(tx.conn.batch_execute(&legacy)?)).unwrap();
        let all = "SELECT member_pk, display_norm FROM group_members ORDER BY member_type, member_pk";
        assert!(memberships(&store, all).iter().all(|(_, norm)| norm.is_none()), "{url}: written without");
        drop(store);

        let store = Store::open(url, 2).unwrap();
        let first = "SELECT member_pk, display_norm FROM group_members WHERE member_pk < 1000 ORDER BY member_pk";
        let expected = [
            (1, Some("ann ärger".to_string())),
            (2, None),
            (3, None),
            // Rust's final sigma, as `scim::normalize` lowercases a filter's literal.
            (4, Some("οδυσσευς".to_string())),
        ];
        assert_eq!(memberships(&store, first), expected, "{url}");
        let numbered = memberships(&store, "SELECT member_pk, display_norm FROM group_members WHERE member_pk >= 1000");
        assert_eq!(numbered.len(), 5_003, "{url}");
        assert!(numbered.iter().all(|(n, norm)| norm.as_deref() == Some(format!("member {n}").as_str())), "{url}");
        let left = "SELECT 0 AS member_pk, name AS display_norm FROM data_backfills";
        assert_eq!(memberships(&store, left), [], "{url}: nothing left to do");
        drop(store);
        let store = Store::open(url, 2).unwrap();
        assert_eq!(memberships(&store, first), expected, "{url}: a second start-up");
    }
}
