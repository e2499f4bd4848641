//! A group and its first page of members by one statement: what a GET of a group (or Okta's
//! and Entra's pre-check by name) reads, in one snapshot, outside any transaction; and the
//! versions of a list's groups, which a streamed list checks before it sends their members.

use super::connection::AnyConnection;
use super::groups::PageRow;
use super::member_reads::{member_columns, MemberView};
use super::members::MemberKind;
use super::predicate::{GroupKey, Table};
use super::sql::{self, Piece, Writer};
use super::{Backend, GroupRow, TenantId};
use crate::error::Result;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, QueryableByName};

#[derive(QueryableByName)]
struct Found {
    #[diesel(embed)]
    group: PageRow,
    /// `[[type, key, id, display], …]`; NULL (PostgreSQL) or `[]` (SQLite) for none.
    #[diesel(sql_type = Nullable<Text>)]
    members: Option<String>,
}

impl super::Store {
    /// The group `key` selects and its first `limit` members in (type, key) order, as
    /// `members_page` reads them. One statement reads one snapshot by itself, where a read
    /// transaction's BEGIN and COMMIT were two more round trips on PostgreSQL (GET of a small
    /// group: 15,100 -> 10,900/s) and reading the members by a statement of their own showed
    /// a version's head with the next version's members.
    pub fn group_and_first_members(
        &self,
        tenant: TenantId,
        key: GroupKey<'_>,
        limit: usize,
    ) -> Result<Option<(GroupRow, Vec<MemberView>)>> {
        let read = |conn: &mut AnyConnection| group_and_first_members(conn, tenant, key, limit);
        Ok(super::pool_checkout::on_live(&self.read, read)?.1)
    }
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = BigInt)]
    pk: i64,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

impl super::Tx<'_> {
    /// The versions of the groups of `tenant` among `pks`, in no order; a group no longer
    /// there is left out. What a streamed list compares with the versions it listed, in the
    /// snapshot it reads the groups' members in.
    pub fn group_versions(&mut self, tenant: TenantId, pks: &[i64]) -> Result<Vec<(i64, i64)>> {
        let mut w = Writer::new(self.backend(), tenant.0, Table::Groups);
        w.sql("SELECT pk, version FROM groups WHERE tenant_id = ");
        w.bind(Piece::BigInt(tenant.0));
        w.sql(" AND pk");
        w.in_big_ints(pks);
        let rows: Vec<Version> = sql::load_prepared(self.conn, &w.into_pieces())?;
        Ok(rows.into_iter().map(|r| (r.pk, r.version)).collect())
    }
}

fn group_and_first_members(
    conn: &mut AnyConnection,
    tenant: TenantId,
    key: GroupKey<'_>,
    limit: usize,
) -> QueryResult<Option<(GroupRow, Vec<MemberView>)>> {
    let pieces = statement(super::tx::backend_of(conn), tenant, key, limit);
    let rows: Vec<Found> = sql::load_prepared(conn, &pieces)?;
    let Some(found) = rows.into_iter().next() else { return Ok(None) };
    let members = match &found.members {
        None => Vec::new(),
        Some(text) => members_of(text)?,
    };
    Ok(Some((GroupRow::from(found.group), members)))
}

/// The members of the statement's aggregate, in (type, key) order: the aggregate of an ordered
/// subquery keeps its order on both backends, but neither promises it.
fn members_of(text: &str) -> QueryResult<Vec<MemberView>> {
    let mut members: Vec<(String, i64, String, Option<String>)> = serde_json::from_str(text)
        .map_err(|e| diesel::result::Error::DeserializationError(format!("a group's members as JSON: {e}").into()))?;
    members.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(members
        .into_iter()
        .map(|(kind, pk, id, display)| MemberView { kind: MemberKind::parse(&kind), pk, id, display })
        .collect())
}

fn statement(backend: Backend, tenant: TenantId, key: GroupKey<'_>, limit: usize) -> Vec<Piece> {
    let aggregate = match backend {
        Backend::Sqlite => "json_group_array(json_array(x.kind, x.pk, x.id, x.display))",
        Backend::Postgres => "json_agg(json_build_array(x.kind, x.pk, x.id, x.display))::text",
    };
    let (column, value) = match key {
        GroupKey::Id(id) => ("og.id", id),
        GroupKey::DisplayNameNorm(name) => ("og.display_name_norm", name),
    };
    let mut w = Writer::new(backend, tenant.0, Table::Groups);
    // `og`: `member_columns` names a member group `g`. The limit is written into the text, as
    // `members_page`'s is, so that each connection prepares the statement once.
    w.sql(&format!(
        "SELECT og.pk AS pk, og.id AS id, og.data AS data, og.version AS version, og.created_at AS created_at, \
         og.last_modified AS last_modified, (SELECT {aggregate} FROM ({}",
        member_columns(backend)
    ));
    w.bind(Piece::BigInt(tenant.0));
    w.sql(&format!(
        " AND m.group_pk = og.pk ORDER BY m.member_type, m.member_pk LIMIT {limit}) x) AS members \
         FROM groups og WHERE og.tenant_id = "
    ));
    w.bind(Piece::BigInt(tenant.0));
    w.sql(&format!(" AND {column} = "));
    w.bind(Piece::Text(value.to_string()));
    w.into_pieces()
}

#[cfg(test)]
mod tests {
    use super::members_of;
    use crate::store::predicate::GroupKey;
    use crate::store::test_stores::{group_write, new_user, pg_plans, stores};
    use crate::store::{sql, Backend, MemberKind, MemberRef};
    use chrono::Utc;

    #[test]
    fn members_come_in_type_and_key_order_whatever_order_the_aggregate_gave() {
        let text = r#"[["User",9,"u-9",null],["Group",30,"g-30","Team \"A\""],["User",4,"u-4","Ann"]]"#;
        let got: Vec<(MemberKind, i64, String, Option<String>)> =
            members_of(text).unwrap().into_iter().map(|m| (m.kind, m.pk, m.id, m.display)).collect();
        assert_eq!(
            got,
            [
                (MemberKind::Group, 30, "g-30".into(), Some("Team \"A\"".into())),
                (MemberKind::User, 4, "u-4".into(), Some("Ann".into())),
                (MemberKind::User, 9, "u-9".into(), None),
            ]
        );
        assert!(members_of("[]").unwrap().is_empty());
        assert!(members_of(r#"[["User","u-1"]]"#).is_err(), "a malformed aggregate is an error, not no members");
    }

    /// Whatever the key and the limit, the statements read what `group_by_key` and
    /// `members_page` read (`members_page_at` only at the group's version); another tenant's
    /// group is not found; SQLite reads the
    /// members by the primary key and stops at the limit, PostgreSQL keeps one plan.
    #[test]
    fn a_group_and_its_first_members_are_what_the_two_reads_give() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let backend = store.backend();
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let other = store.write(|tx| tx.create_tenant("other", now)).unwrap().id;
            let inner = store.write(|tx| tx.insert_group(tenant, "g-inner", &group_write("Inner"), now)).unwrap();
            let outer = store.write(|tx| tx.insert_group(tenant, "g-outer", &group_write("Outer"), now)).unwrap();
            let empty = store.write(|tx| tx.insert_group(tenant, "g-empty", &group_write("Empty"), now)).unwrap();
            let mut members = vec![MemberRef {
                kind: MemberKind::Group,
                pk: inner.pk,
                id: inner.id.clone(),
                display: Some("Inner".into()),
                marked_in_groups: true,
            }];
            for n in 1..=6 {
                let user = store.write(|tx| tx.insert_user(tenant, &new_user(n))).unwrap();
                let display = (n % 2 == 0).then(|| format!("User \"{n}\""));
                members.push(MemberRef {
                    kind: MemberKind::User,
                    pk: user.pk,
                    id: user.id,
                    display,
                    marked_in_groups: false,
                });
            }
            members.reverse();
            store.write(|tx| tx.add_members(tenant, outer.pk, &members)).unwrap();
            for (key, pk) in [
                (GroupKey::Id("g-outer"), outer.pk),
                (GroupKey::DisplayNameNorm("Outer"), outer.pk),
                (GroupKey::Id("g-empty"), empty.pk),
            ] {
                for limit in [1, 3, 7, 8, 100] {
                    let (row, read) = store.group_and_first_members(tenant, key, limit).unwrap().expect("the group");
                    assert_eq!(row, store.group_by_key(tenant, key).unwrap().unwrap(), "{backend:?} {key:?}");
                    assert_eq!(read, store.members_page(tenant, pk, None, limit).unwrap(), "{backend:?} {key:?}");
                    let at = store.members_page_at(tenant, pk, row.version, limit).unwrap();
                    assert_eq!(at, read, "{backend:?} {key:?}: at its version");
                    let moved = store.members_page_at(tenant, pk, row.version + 1, limit).unwrap();
                    assert!(moved.is_empty(), "{backend:?} {key:?}: at another version");
                }
            }
            assert!(store.members_page_at(other, outer.pk, 1, 10).unwrap().is_empty(), "another tenant's");
            assert_eq!(store.group_and_first_members(other, GroupKey::Id("g-outer"), 10).unwrap(), None);
            assert_eq!(store.group_and_first_members(tenant, GroupKey::Id("g-none"), 10).unwrap(), None);
            match backend {
                Backend::Sqlite => {
                    let statement = super::statement(backend, tenant, GroupKey::Id("g-outer"), 10);
                    let plan = store.read(|tx| Ok(sql::explain(tx.conn, &statement)?)).unwrap().join("\n");
                    assert!(plan.contains("USING PRIMARY KEY"), "{plan}");
                    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                }
                Backend::Postgres => {
                    for i in 0..12 {
                        let key = GroupKey::Id(["g-outer", "g-empty", "g-inner"][i % 3]);
                        assert!(store.group_and_first_members(tenant, key, 10).unwrap().is_some());
                    }
                    let (generic, custom) =
                        store.read(|tx| Ok(pg_plans(tx.conn, "%json_agg%LIMIT 10) x%og.id = %")?)).unwrap();
                    assert!(generic >= 6 && custom <= 6, "generic {generic} custom {custom}");
                    for i in 0..12 {
                        let (pk, version) = [(outer.pk, 1), (empty.pk, 1), (outer.pk, 2)][i % 3];
                        store.members_page_at(tenant, pk, version, 10).unwrap();
                    }
                    let (generic, custom) =
                        store.read(|tx| Ok(pg_plans(tx.conn, "%SELECT version FROM groups%LIMIT 10")?)).unwrap();
                    assert!(generic >= 6 && custom <= 6, "at a version: generic {generic} custom {custom}");
                }
            }
        }
    }
}
