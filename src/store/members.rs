//! Changes to `group_members`: members looked up by id, and membership changes as set
//! operations in SQL that touch only the rows they change. Nothing here reads a group's whole
//! member list. (Reads of memberships are in `member_reads`.)

use super::connection::AnyConnection;
use super::predicate::{Predicate, Table};
use super::schema::group_members;
use super::sql::{self, Piece, Writer};
use super::{TenantId, Tx};
use crate::error::Result;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

/// A membership row a statement inserted or deleted (its RETURNING clause).
#[derive(QueryableByName)]
struct ChangedMember {
    #[diesel(sql_type = Text)]
    member_type: String,
    #[diesel(sql_type = BigInt)]
    member_pk: i64,
}

/// The members of `asked` that a statement really changed, in the order asked.
fn pick(asked: &[MemberRef], changed: &[ChangedMember]) -> Vec<MemberRef> {
    let changed: std::collections::HashSet<(&str, i64)> =
        changed.iter().map(|c| (c.member_type.as_str(), c.member_pk)).collect();
    asked.iter().filter(|m| changed.contains(&(m.kind.as_str(), m.pk))).cloned().collect()
}

/// Rows per statement when a membership change names many members (well under both
/// backends' bound-parameter limits).
const CHUNK: usize = 500;

/// The most members a membership statement may name and still be prepared and kept per
/// connection (its text depends on how many it names).
const PREPARED_ROWS_MAX: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "User",
            MemberKind::Group => "Group",
        }
    }

    pub(super) fn parse(s: &str) -> MemberKind {
        if s == "Group" {
            MemberKind::Group
        } else {
            MemberKind::User
        }
    }
}

/// What `group_members.display_norm` holds for `display` (migration 000028): its lowercased
/// form, as `scim::normalize` makes a filter's literal, where that differs from it.
pub(super) fn display_norm(display: Option<&str>) -> Option<String> {
    display.map(str::to_lowercase).filter(|norm| Some(norm.as_str()) != display)
}

/// A member that exists: its kind, internal key and SCIM id (and the display a client gave).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberRef {
    pub kind: MemberKind,
    pub pk: i64,
    pub id: String,
    pub display: Option<String>,
    /// A user who was a member of some group when it was looked up, and so is marked as in one
    /// already (`users.in_groups` is set with every membership and never cleared): adding it
    /// needs no update of its row. Always true for a group.
    pub marked_in_groups: bool,
}

/// A member's kind and keys, as the queries below name them.
#[derive(QueryableByName)]
pub(super) struct MemberKey {
    #[diesel(sql_type = Text)]
    pub(super) kind: String,
    #[diesel(sql_type = BigInt)]
    pub(super) pk: i64,
    #[diesel(sql_type = Text)]
    pub(super) id: String,
}

#[derive(QueryableByName)]
struct ResolvedRow {
    #[diesel(embed)]
    key: MemberKey,
    #[diesel(sql_type = Bool)]
    in_groups: bool,
}

impl Tx<'_> {
    /// Removes `pk` from every group it is a member of.
    pub fn delete_memberships_of(&mut self, tenant: TenantId, kind: MemberKind, pk: i64) -> Result<()> {
        diesel::delete(
            group_members::table.filter(
                group_members::tenant_id
                    .eq(tenant.0)
                    .and(group_members::member_type.eq(kind.as_str()))
                    .and(group_members::member_pk.eq(pk)),
            ),
        )
        .execute(self.conn)?;
        Ok(())
    }

    /// The users and groups of this tenant among `ids` (the others do not exist here).
    pub fn resolve_members(&mut self, tenant: TenantId, ids: &[String]) -> Result<Vec<MemberRef>> {
        Ok(resolve_members(self.conn, tenant, ids)?)
    }

    /// Adds the members that are not there yet; returns those it added.
    pub fn add_members(&mut self, tenant: TenantId, group_pk: i64, members: &[MemberRef]) -> Result<Vec<MemberRef>> {
        let mut added = Vec::new();
        for chunk in members.chunks(CHUNK) {
            let chunk = self.lock_members_to_add(tenant, chunk)?;
            let chunk = chunk.as_ref();
            if chunk.is_empty() {
                continue;
            }
            let mut w = Writer::new(self.backend(), tenant.0, Table::Groups);
            w.sql("INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display, display_norm) VALUES ");
            for (i, m) in chunk.iter().enumerate() {
                w.sql(if i == 0 { "(" } else { ", (" });
                w.bind_list([
                    Piece::BigInt(tenant.0),
                    Piece::BigInt(group_pk),
                    Piece::Text(m.kind.as_str().into()),
                    Piece::BigInt(m.pk),
                    m.display.clone().map_or(Piece::Null, Piece::Text),
                    display_norm(m.display.as_deref()).map_or(Piece::Null, Piece::Text),
                ]);
                w.sql(")");
            }
            // Re-adding a member changes nothing (RFC 7644 §3.5.2.1).
            w.sql(" ON CONFLICT DO NOTHING");
            if let [one] = chunk {
                // One member (a PATCH's usual add): the row count says whether it went in.
                // Without RETURNING, which on SQLite opens and closes a temporary B-tree.
                if sql::execute_prepared(self.conn, &w.into_pieces())? == 1 {
                    added.push(one.clone());
                }
            } else {
                w.sql(" RETURNING member_type, member_pk");
                // Its text depends on how many rows it inserts: prepared and kept only for
                // the few a PATCH adds (one per length), not for every size a bulk change
                // brings.
                let pieces = w.into_pieces();
                let inserted: Vec<ChangedMember> = if chunk.len() <= PREPARED_ROWS_MAX {
                    sql::load_prepared(self.conn, &pieces)?
                } else {
                    sql::load(self.conn, &pieces)?
                };
                added.extend(pick(chunk, &inserted));
            }
            // Users marked already are skipped: on PostgreSQL this statement runs while the
            // group's row is locked, and most members added are in some group already.
            let users: Vec<i64> =
                chunk.iter().filter(|m| m.kind == MemberKind::User && !m.marked_in_groups).map(|m| m.pk).collect();
            if !users.is_empty() {
                let mut w = Writer::new(self.backend(), tenant.0, Table::Users);
                w.sql("UPDATE users SET in_groups = TRUE WHERE tenant_id = ");
                w.bind(Piece::BigInt(tenant.0));
                w.sql(" AND in_groups = FALSE AND pk");
                w.in_big_ints(&users);
                sql::execute_prepared(self.conn, &w.into_pieces())?;
            }
        }
        Ok(added)
    }

    fn member_condition(w: &mut Writer, members: &[MemberRef]) {
        let mut first = true;
        for kind in [MemberKind::User, MemberKind::Group] {
            let pks: Vec<i64> = members.iter().filter(|m| m.kind == kind).map(|m| m.pk).collect();
            if pks.is_empty() {
                continue;
            }
            w.sql(if first { "(" } else { " OR (" });
            first = false;
            w.sql(&format!("member_type = '{}' AND member_pk", kind.as_str()));
            if pks.len() <= PREPARED_ROWS_MAX {
                // A list of binds, not one bound array: the statement is prepared, and
                // PostgreSQL's generic plan filtered every member of the group by an array
                // instead of looking the keys up in its index.
                w.sql(" IN (");
                w.bind_list(pks.into_iter().map(Piece::BigInt));
                w.sql(")");
            } else {
                // Many keys (a replace names the whole membership) as one bound array: a
                // list would pass the bind limits (32,766 on SQLite, 65,535 on PostgreSQL).
                // Not prepared, so PostgreSQL plans it for these values.
                w.in_big_ints(&pks);
            }
            w.sql(")");
        }
        if first {
            w.sql("1 = 0");
        }
    }

    /// Removes these members if present (others are untouched); returns those that went.
    pub fn remove_members(&mut self, tenant: TenantId, group_pk: i64, members: &[MemberRef]) -> Result<Vec<MemberRef>> {
        let mut removed = Vec::new();
        for chunk in members.chunks(CHUNK) {
            if let [one] = chunk {
                // One member (a PATCH's usual remove): the row count says whether it went,
                // without RETURNING's temporary B-tree on SQLite.
                let w = self.delete_member_statement(tenant, group_pk, chunk, true);
                if sql::execute_prepared(self.conn, &w.into_pieces())? == 1 {
                    removed.push(one.clone());
                }
                continue;
            }
            let deleted = self.delete_member_rows(tenant, group_pk, chunk, true)?;
            removed.extend(pick(chunk, &deleted));
        }
        Ok(removed)
    }

    /// Removes the group's members that `pred`, a predicate on one membership, holds for (a
    /// remove at `members[filter]`); returns those that went. It reads the group's rows by its
    /// key, so it costs the group's size at most, as removing every member does.
    pub fn remove_members_where(
        &mut self,
        tenant: TenantId,
        group_pk: i64,
        pred: &Predicate,
    ) -> Result<Vec<MemberRef>> {
        let pieces = sql::delete_members_where_sql(self.backend(), tenant.0, group_pk, pred);
        let deleted: Vec<ChangedMember> = sql::load(self.conn, &pieces)?;
        self.member_refs(tenant, &deleted)
    }

    /// The DELETE of the group's rows that are among `members` (`among`) or not among them.
    fn delete_member_statement(&self, tenant: TenantId, group_pk: i64, members: &[MemberRef], among: bool) -> Writer {
        let mut w = Writer::new(self.backend(), tenant.0, Table::Groups);
        w.sql("DELETE FROM group_members WHERE tenant_id = ");
        w.bind(Piece::BigInt(tenant.0));
        w.sql(" AND group_pk = ");
        w.bind(Piece::BigInt(group_pk));
        w.sql(if among { " AND (" } else { " AND NOT (" });
        Self::member_condition(&mut w, members);
        w.sql(")");
        w
    }

    /// Deletes the group's rows that are among `members` (`among`) or not among them, and
    /// returns what went.
    fn delete_member_rows(
        &mut self,
        tenant: TenantId,
        group_pk: i64,
        members: &[MemberRef],
        among: bool,
    ) -> Result<Vec<ChangedMember>> {
        let mut w = self.delete_member_statement(tenant, group_pk, members, among);
        w.sql(" RETURNING member_type, member_pk");
        // Prepared and kept only for the few members a PATCH names (one text per count).
        let pieces = w.into_pieces();
        Ok(if members.len() <= PREPARED_ROWS_MAX {
            sql::load_prepared(self.conn, &pieces)?
        } else {
            sql::load(self.conn, &pieces)?
        })
    }

    /// Makes the membership exactly `members`: deletes the rows not among them, inserts the
    /// missing ones. Rows that stay are not touched. Returns (added, removed).
    pub fn replace_members(
        &mut self,
        tenant: TenantId,
        group_pk: i64,
        members: &[MemberRef],
    ) -> Result<(Vec<MemberRef>, Vec<MemberRef>)> {
        let deleted = self.delete_member_rows(tenant, group_pk, members, false)?;
        let removed = self.member_refs(tenant, &deleted)?;
        let added = self.add_members(tenant, group_pk, members)?;
        Ok((added, removed))
    }

    /// The SCIM ids of members known only by key (those a replace removed), in one statement
    /// per kind.
    fn member_refs(&mut self, tenant: TenantId, keys: &[ChangedMember]) -> Result<Vec<MemberRef>> {
        let mut out = Vec::with_capacity(keys.len());
        for (kind, table) in [(MemberKind::User, Table::Users), (MemberKind::Group, Table::Groups)] {
            let pks: Vec<i64> = keys.iter().filter(|k| k.member_type == kind.as_str()).map(|k| k.member_pk).collect();
            if pks.is_empty() {
                continue;
            }
            let pieces = sql::ids_by_key_sql(self.backend(), tenant.0, table, &pks);
            let rows: Vec<MemberKey> = sql::load(self.conn, &pieces)?;
            // Members until now, so marked.
            out.extend(rows.into_iter().map(|r| MemberRef {
                kind,
                pk: r.pk,
                id: r.id,
                display: None,
                marked_in_groups: true,
            }));
        }
        Ok(out)
    }
}

/// `Tx::resolve_members` on any connection: one statement per `CHUNK` ids, each its own
/// snapshot outside a transaction (`Store::resolve_members`).
pub(super) fn resolve_members(
    conn: &mut AnyConnection,
    tenant: TenantId,
    ids: &[String],
) -> QueryResult<Vec<MemberRef>> {
    let mut out = Vec::with_capacity(ids.len());
    // A PATCH that removes and re-adds a member names it twice; once is one value.
    let mut ids: Vec<&String> = ids.iter().collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(CHUNK) {
        let mut w = Writer::new(super::backend_of(conn), tenant.0, Table::Groups);
        // A user's membership is asked of the member index, not of users.in_groups: the
        // lookup then reads only indexes (the user's own row is a random page of a big
        // table), and the group's add or remove of the same member touches that index page
        // anyway. SQLite, 100,000-member group: 2.2 -> 0.9 page reads (pread64) per add/remove.
        let user_in_groups = "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = users.tenant_id \
                 AND m.member_type = 'User' AND m.member_pk = users.pk)";
        for (i, (table, kind, in_groups)) in
            [("users", "User", user_in_groups), ("groups", "Group", "TRUE")].into_iter().enumerate()
        {
            if i > 0 {
                w.sql(" UNION ALL ");
            }
            w.sql(&format!(
                "SELECT '{kind}' AS kind, pk, id, {in_groups} AS in_groups FROM {table} WHERE tenant_id = "
            ));
            w.bind(Piece::BigInt(tenant.0));
            w.sql(" AND id");
            w.in_texts(chunk);
        }
        let rows: Vec<ResolvedRow> = sql::load_prepared(conn, &w.into_pieces())?;
        out.extend(rows.into_iter().map(|r| MemberRef {
            kind: MemberKind::parse(&r.key.kind),
            pk: r.key.pk,
            id: r.key.id,
            display: None,
            marked_in_groups: r.in_groups,
        }));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "member_tests.rs"]
mod tests;
