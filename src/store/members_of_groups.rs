//! The first members of several groups read by one statement: a page of groups listed with
//! their members (Okta's "Import Groups") would otherwise read each group's by a statement of
//! its own.

use super::connection::AnyConnection;
use super::member_reads::{member_columns, MemberView};
use super::members::{MemberKey, MemberKind};
use super::predicate::Table;
use super::sql::{self, json_array, Piece, Writer};
use super::{Backend, TenantId};
use crate::error::Result;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, QueryableByName};

/// What `Tx::first_members` read.
#[derive(Debug, Default, PartialEq)]
pub struct FirstMembers {
    /// How many of the groups asked for, from the first, the statement covered.
    pub groups: usize,
    /// Their members, group after group in the order asked for, each group's in (type, key)
    /// order; `limit` of them at most.
    pub members: Vec<(i64, MemberView)>,
}

#[derive(QueryableByName)]
struct GroupMemberRow {
    #[diesel(sql_type = BigInt)]
    group_pk: i64,
    #[diesel(embed)]
    key: MemberKey,
    #[diesel(sql_type = Nullable<Text>)]
    display: Option<String>,
}

impl super::Tx<'_> {
    /// The first `limit` members of the leading groups of `group_pks` taken together, in the
    /// order `members_page` gives each group's. So every group before the one holding the
    /// last member read is whole, and when fewer than `limit` come back, all of them are. In
    /// this transaction's snapshot: a read of groups that shows their members reads them in
    /// the same one.
    ///
    /// It covers the groups up to the first whose key is not above the one before it: SQLite
    /// reads the groups by their keys in ascending order (and then stops after `limit` rows),
    /// where following any other order meant sorting every member of every group first. A
    /// page listed in the default order (by creation) is one such run.
    pub fn first_members(&mut self, tenant: TenantId, group_pks: &[i64], limit: usize) -> Result<FirstMembers> {
        Ok(first_members(self.conn, tenant, group_pks, limit)?)
    }
}

fn first_members(
    conn: &mut AnyConnection,
    tenant: TenantId,
    group_pks: &[i64],
    limit: usize,
) -> QueryResult<FirstMembers> {
    let run = match group_pks.first() {
        None => return Ok(FirstMembers::default()),
        Some(_) => 1 + group_pks.windows(2).take_while(|w| w[0] < w[1]).count(),
    };
    let members = if run == 1 {
        // One group (a GET by id, or a list's last): `members_page`'s statement, whose key
        // comparison SQLite runs without gathering a one-row list first.
        let pk = group_pks[0];
        let page = super::member_reads::members_page(conn, tenant, pk, None, limit)?;
        page.into_iter().map(|m| (pk, m)).collect()
    } else {
        let pieces = first_members_statement(super::tx::backend_of(conn), tenant, &group_pks[..run], limit);
        let rows: Vec<GroupMemberRow> = sql::load_prepared(conn, &pieces)?;
        rows.into_iter()
            .map(|r| {
                let member =
                    MemberView { kind: MemberKind::parse(&r.key.kind), pk: r.key.pk, id: r.key.id, display: r.display };
                (r.group_pk, member)
            })
            .collect()
    };
    Ok(FirstMembers { groups: run, members })
}

/// The statement of `Tx::first_members`, for `group_pks` in ascending order. Like
/// `members_page`'s, its text is the same for any groups (one bound list) and holds the limit,
/// so each connection prepares it once.
pub(super) fn first_members_statement(
    backend: Backend,
    tenant: TenantId,
    group_pks: &[i64],
    limit: usize,
) -> Vec<Piece> {
    let mut w = Writer::new(backend, tenant.0, Table::Groups);
    match backend {
        Backend::Sqlite => {
            // The IN list is read in ascending order and each group's members by the primary
            // key, so the rows come in the ORDER BY's order and SQLite stops after `limit`:
            // "SEARCH m USING PRIMARY KEY (tenant_id=? AND group_pk=?)", no temporary B-tree.
            w.sql(member_columns(backend));
            w.bind(Piece::BigInt(tenant.0));
            w.sql(" AND m.group_pk IN (SELECT value FROM json_each(");
            w.bind(Piece::Text(json_array(group_pks)));
            w.sql(&format!(")) ORDER BY m.group_pk, m.member_type, m.member_pk LIMIT {limit}"));
        }
        Backend::Postgres => {
            // PostgreSQL 15 takes `group_pk = ANY(…)` as a filter on a walk of the tenant's
            // whole membership index. Group by group instead (LATERAL, each group's first
            // `limit` by the primary key), in the list's order (WITH ORDINALITY, which an
            // incremental sort keeps), and the outer LIMIT stops it: a 10,000-member group
            // first in the list is read for its first `limit` members only (EXPLAIN ANALYZE:
            // 4.4 ms, where the ANY form took 53 ms). The array and the tenant are InitPlans
            // so that every plan is costed alike and the generic one is kept, as
            // `members_page` explains.
            w.sql("SELECT x.group_pk, x.kind, x.pk, x.id, x.display FROM unnest((SELECT ");
            w.bind(Piece::BigInts(group_pks.to_vec()));
            w.sql(")::bigint[]) WITH ORDINALITY AS p(group_pk, ord) CROSS JOIN LATERAL (");
            w.sql(member_columns(backend));
            w.sql("(SELECT ");
            w.bind(Piece::BigInt(tenant.0));
            w.sql(&format!(
                ") AND m.group_pk = p.group_pk ORDER BY m.member_type, m.member_pk LIMIT {limit}) x \
                 ORDER BY p.ord, x.kind, x.pk LIMIT {limit}"
            ));
        }
    }
    w.into_pieces()
}

#[cfg(test)]
mod tests {
    use super::FirstMembers;
    use crate::store::sql;
    use crate::store::test_stores::{group_write, new_user, pg_plans, stores};
    use crate::store::{Backend, MemberKind, MemberRef, Store, TenantId};
    use chrono::Utc;

    fn read_first(store: &Store, tenant: TenantId, pks: &[i64], limit: usize) -> crate::error::Result<FirstMembers> {
        store.read(|tx| tx.first_members(tenant, pks, limit))
    }

    /// Groups of `sizes` members in `tenant`, created in order (so their keys ascend), each
    /// with users of its own (numbered after `first`) and, in the last group, the first group
    /// too.
    fn groups(store: &Store, tenant: TenantId, sizes: &[usize], first: usize) -> Vec<i64> {
        let now = Utc::now();
        let mut next = first;
        let mut made: Vec<(i64, String)> = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let mut members: Vec<MemberRef> = (0..*size)
                .map(|_| {
                    next += 1;
                    let user = store.write(|tx| tx.insert_user(tenant, &new_user(next))).unwrap();
                    let display = Some(format!("user {next}"));
                    MemberRef { kind: MemberKind::User, pk: user.pk, id: user.id, display, marked_in_groups: false }
                })
                .collect();
            if let Some((pk, id)) = made.first().filter(|_| i + 1 == sizes.len()) {
                let (pk, id) = (*pk, id.clone());
                members.push(MemberRef { kind: MemberKind::Group, pk, id, display: None, marked_in_groups: false });
            }
            let name = format!("g{first}-{i}");
            let group = store
                .write(|tx| {
                    let g = tx.insert_group(tenant, &name, &group_write(&name), now)?;
                    tx.add_members(tenant, g.pk, &members)?;
                    Ok(g)
                })
                .unwrap();
            made.push((group.pk, group.id));
        }
        made.into_iter().map(|(pk, _)| pk).collect()
    }

    /// What reading each group by `members_page` gives, in the same shape.
    fn one_by_one(store: &Store, tenant: TenantId, pks: &[i64], limit: usize) -> Vec<(i64, crate::store::MemberView)> {
        let mut all = Vec::new();
        for &pk in pks {
            all.extend(store.members_page(tenant, pk, None, 1000).unwrap().into_iter().map(|m| (pk, m)));
        }
        all.truncate(limit);
        all
    }

    #[test]
    fn the_first_members_of_groups_in_order_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let other = store.write(|tx| tx.create_tenant("other", now)).unwrap().id;
            let pks = groups(&store, tenant, &[0, 3, 5, 2, 0, 4], 0);
            let theirs = groups(&store, other, &[2], 100);
            let backend = store.backend();
            for limit in [1, 2, 3, 4, 8, 9, 10, 14, 15, 100] {
                let read = read_first(&store, tenant, &pks, limit).unwrap();
                let expected = FirstMembers { groups: pks.len(), members: one_by_one(&store, tenant, &pks, limit) };
                assert_eq!(read, expected, "{backend:?}, limit {limit}");
            }
            // The group in a group is listed with its id and type.
            let last = read_first(&store, tenant, &pks[5..], 100).unwrap();
            let kinds: Vec<MemberKind> = last.members.iter().map(|(_, m)| m.kind).collect();
            assert_eq!(
                kinds,
                [MemberKind::Group, MemberKind::User, MemberKind::User, MemberKind::User, MemberKind::User]
            );
            // Only the leading ascending run is read.
            let shuffled = [pks[2], pks[3], pks[1], pks[5]];
            let read = read_first(&store, tenant, &shuffled, 100).unwrap();
            assert_eq!(read.groups, 2, "{backend:?}");
            assert_eq!(read.members, one_by_one(&store, tenant, &shuffled[..2], 100), "{backend:?}");
            let read = read_first(&store, tenant, &[pks[1], pks[1]], 100).unwrap();
            assert_eq!((read.groups, read.members.len()), (1, 3), "{backend:?}");
            // Another tenant's group is not read, nor is a key no group has.
            let mixed = [pks[1], theirs[0], 1_000_000];
            let read = read_first(&store, tenant, &mixed, 100).unwrap();
            assert_eq!(read, FirstMembers { groups: 3, members: one_by_one(&store, tenant, &pks[1..2], 100) });
            assert_eq!(read_first(&store, tenant, &[], 100).unwrap(), FirstMembers::default());
        }
    }

    /// SQLite stops after the limit rather than sorting every member of the groups first;
    /// PostgreSQL plans the statement once, whatever the groups.
    #[test]
    fn the_first_members_of_groups_are_read_in_key_order_and_planned_once() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let pks = groups(&store, tenant, &[30, 1, 1, 2], 0);
            match store.backend() {
                Backend::Sqlite => {
                    let statement = super::first_members_statement(Backend::Sqlite, tenant, &pks, 10);
                    let plan = store.read(|tx| Ok(sql::explain(tx.conn, &statement)?)).unwrap().join("\n");
                    assert!(plan.contains("USING PRIMARY KEY"), "{plan}");
                    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                }
                Backend::Postgres => {
                    for i in 0..12 {
                        let read = read_first(&store, tenant, &pks[i % 3..], 10).unwrap();
                        assert!(!read.members.is_empty());
                    }
                    let (generic, custom) = store.read(|tx| Ok(pg_plans(tx.conn, "%unnest%LIMIT 10")?)).unwrap();
                    assert!(generic >= 6 && custom <= 6, "generic {generic} custom {custom}");
                }
            }
        }
    }
}
