//! A page of the Base URL root's list sorted across users and groups (RFC 7644 §3.4.2.3,
//! §3.4.3): which resources it holds in one order, and their rows.

use super::predicate::{Predicate, SortKey, Table};
use super::sql::{self, RootSide};
use super::{GroupRow, ListQuery, ListedGroups, ListedUsers, TenantId, Tx, UserRow};
use crate::error::{Error, Result};
use diesel::sql_types::{BigInt, Integer};
use std::collections::HashMap;

/// One resource type's part of the list: its rows `predicate` selects, sorted by `sort`, or
/// as having no value when None (the type has no such attribute).
#[derive(Debug, Clone)]
pub struct RootListSide {
    pub predicate: Predicate,
    pub sort: Option<SortKey>,
}

/// What a page of the root's list asks: each type's part (None: the filter cannot select
/// that type), the direction of the one order, and the slice.
#[derive(Debug, Clone)]
pub struct RootListQuery {
    pub users: Option<RootListSide>,
    pub groups: Option<RootListSide>,
    pub descending: bool,
    /// 0-based, over both types.
    pub offset: u64,
    pub limit: u64,
}

/// One resource of a page, in the page's order.
pub enum RootRow {
    User(UserRow),
    Group(GroupRow),
}

/// A page of the root's list with the exact total of each type.
pub struct RootListed {
    pub user_total: u64,
    pub group_total: u64,
    pub rows: Vec<RootRow>,
}

#[derive(diesel::QueryableByName)]
struct Ordered {
    #[diesel(sql_type = Integer)]
    kind: i32,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

impl Tx<'_> {
    /// The page `q` asks. Unsorted, the users come first, then the groups, each type in
    /// creation order and read as its own list is.
    pub fn list_root(&mut self, tenant: TenantId, q: &RootListQuery) -> Result<RootListed> {
        let sorted = [&q.users, &q.groups].into_iter().flatten().any(|side| side.sort.is_some());
        if sorted {
            return self.list_root_sorted(tenant, q);
        }
        let users = match &q.users {
            Some(side) => self.list_users(tenant, &ListQuery::of(&side.predicate, q.offset, q.limit))?,
            None => ListedUsers { total: 0, rows: Vec::new() },
        };
        let remaining = q.limit - users.rows.len() as u64;
        let groups = match &q.groups {
            Some(side) => self.list_groups(
                tenant,
                &ListQuery::of(&side.predicate, q.offset.saturating_sub(users.total), remaining),
            )?,
            None => ListedGroups { total: 0, rows: Vec::new() },
        };
        let rows = users.rows.into_iter().map(RootRow::User).chain(groups.rows.into_iter().map(RootRow::Group));
        Ok(RootListed { user_total: users.total, group_total: groups.total, rows: rows.collect() })
    }

    /// A sorted page: which rows, by one statement over both tables, then those rows by their
    /// keys.
    fn list_root_sorted(&mut self, tenant: TenantId, q: &RootListQuery) -> Result<RootListed> {
        let parts = [(Table::Users, &q.users), (Table::Groups, &q.groups)];
        let mut totals = [0u64; 2];
        let mut sides = Vec::new();
        for (i, (table, part)) in parts.into_iter().enumerate() {
            if let Some(part) = part {
                totals[i] = self.list_total(tenant, table, &part.predicate)?.0;
                sides.push(RootSide { table, predicate: &part.predicate, sort: part.sort.as_ref() });
            }
        }
        let [user_total, group_total] = totals;
        if q.limit == 0 || q.offset >= user_total + group_total {
            return Ok(RootListed { user_total, group_total, rows: Vec::new() });
        }
        let pieces = sql::root_order_sql(self.backend(), tenant.0, &sides, q.descending, q.offset, q.limit);
        let order: Vec<Ordered> = sql::load(self.conn, &pieces)?;
        let keys_of = |kind| order.iter().filter(|o| o.kind == kind).map(|o| o.pk).collect::<Vec<_>>();
        let (user_pks, group_pks) = (keys_of(0), keys_of(1));
        let users = if user_pks.is_empty() { Vec::new() } else { self.users_by_pks(tenant, &user_pks)? };
        let groups = if group_pks.is_empty() { Vec::new() } else { self.groups_by_pks(tenant, &group_pks)? };
        let mut users: HashMap<i64, UserRow> = users.into_iter().map(|u| (u.pk, u)).collect();
        let mut groups: HashMap<i64, GroupRow> = groups.into_iter().map(|g| (g.pk, g)).collect();
        let mut rows = Vec::with_capacity(order.len());
        for o in &order {
            // Read in the same snapshot as the order: each row is there.
            let row = match o.kind {
                0 => users.remove(&o.pk).map(RootRow::User),
                _ => groups.remove(&o.pk).map(RootRow::Group),
            };
            rows.push(row.ok_or_else(|| Error::internal("a listed resource was not read"))?);
        }
        Ok(RootListed { user_total, group_total, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::predicate::{Column, Operand, ValueKind};
    use crate::store::test_stores::{seeded_tenant, stores};

    fn ids(listed: &RootListed) -> Vec<String> {
        let id = |row: &RootRow| match row {
            RootRow::User(u) => u.id.clone(),
            RootRow::Group(g) => g.id.clone(),
        };
        listed.rows.iter().map(id).collect()
    }

    /// A timestamp key on one side and none on the other: on PostgreSQL the other side's NULL
    /// takes the timestamp's type (as a subquery of its own it would be text, and the UNION
    /// of text and timestamps fails), whichever side comes first in the statement.
    #[test]
    fn a_side_without_the_attribute_sorts_as_absent_beside_a_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = stores(&dir);
        for store in &stores {
            let tenant = seeded_tenant(store, 3, 2);
            let created = |descending| {
                Some(SortKey { operand: Operand::Column(Column::Created), kind: ValueKind::Timestamp, descending })
            };
            let list = |users_sorted: bool, descending: bool, offset: u64| {
                let side = |sorted: bool| {
                    Some(RootListSide {
                        predicate: Predicate::Const(true),
                        sort: if sorted { created(descending) } else { None },
                    })
                };
                let q = RootListQuery {
                    users: side(users_sorted),
                    groups: side(!users_sorted),
                    descending,
                    offset,
                    limit: 4,
                };
                ids(&store.read(|tx| tx.list_root(tenant, &q)).unwrap())
            };
            // Every row was created at the same moment: ties by type, then creation.
            assert_eq!(list(true, false, 0), ["u1", "u2", "u3", "g1"]);
            assert_eq!(list(true, true, 0), ["g2", "g1", "u3", "u2"]);
            assert_eq!(list(false, false, 1), ["g2", "u1", "u2", "u3"]);
            assert_eq!(list(false, true, 0), ["u3", "u2", "u1", "g2"]);
        }
    }
}
