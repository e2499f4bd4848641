//! Reads of `group_members`: a group's members a page at a time, and the groups users are in
//! (directly or through nested groups).

use super::connection::AnyConnection;
use super::members::{MemberKey, MemberKind};
use super::predicate::Table;
use super::sql::{self, Piece, Writer};
use super::{Backend, TenantId, Tx};
use crate::error::Result;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{QueryResult, QueryableByName};

/// A member as a group renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    pub kind: MemberKind,
    pub pk: i64,
    pub id: String,
    pub display: Option<String>,
}

/// A group a user belongs to, directly or through nested groups.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGroup {
    pub user_pk: i64,
    pub group_id: String,
    pub display: String,
    pub direct: bool,
}

#[derive(QueryableByName)]
struct UserGroupRow {
    #[diesel(sql_type = BigInt)]
    user_pk: i64,
    #[diesel(sql_type = BigInt)]
    group_pk: i64,
    #[diesel(sql_type = Text)]
    group_id: String,
    #[diesel(sql_type = Text)]
    display: String,
    #[diesel(sql_type = Bool)]
    direct: bool,
    /// Whether the tenant has a group in a group.
    #[diesel(sql_type = Bool)]
    nested: bool,
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(embed)]
    key: MemberKey,
    #[diesel(sql_type = Nullable<Text>)]
    display: Option<String>,
}

impl MemberRow {
    fn view(self) -> MemberView {
        MemberView { kind: MemberKind::parse(&self.key.kind), pk: self.key.pk, id: self.key.id, display: self.display }
    }
}

impl Tx<'_> {
    /// The database's plan for the page of `members_page` after `after`: how a test checks
    /// that a page seeks to its start instead of stepping over the members before it.
    pub fn explain_members_page(
        &mut self,
        tenant: TenantId,
        group_pk: i64,
        after: (MemberKind, i64),
    ) -> Result<Vec<String>> {
        let pieces = members_page_statement(self.backend(), tenant, group_pk, Some(after), None, 100);
        Ok(sql::explain(self.conn, &pieces)?)
    }

    /// The groups each of `user_pks` belongs to, directly or through nested groups (a
    /// recursive query; UNION stops at cycles).
    pub fn groups_of_users(&mut self, tenant: TenantId, user_pks: &[i64]) -> Result<Vec<UserGroup>> {
        if user_pks.is_empty() {
            return Ok(Vec::new());
        }
        // Most directories have no group inside a group (Okta pushes flat groups). Then a
        // user's groups are its direct memberships: one indexed join, cheap to plan, instead
        // of the recursive query, which PostgreSQL plans afresh on every read. The join says
        // whether the tenant has nested groups at all; only then does the recursive query run.
        // A user with no direct membership has no indirect one either.
        let flat = self.user_groups_sql(tenant, user_pks, false);
        let rows: Vec<UserGroupRow> = self.load_user_groups(&flat)?;
        let mut rows = match rows.first() {
            Some(r) if r.nested => self.load_user_groups(&self.user_groups_sql(tenant, user_pks, true))?,
            _ => rows,
        };
        // Ordered here rather than by the statement: SQLite sorted each user's groups in a
        // temporary B-tree ("USE TEMP B-TREE FOR RIGHT PART OF ORDER BY"), 3.4% of a page of
        // 100 users' instructions.
        rows.sort_unstable_by_key(|r| (r.user_pk, r.group_pk));
        Ok(rows
            .into_iter()
            .map(|r| UserGroup { user_pk: r.user_pk, group_id: r.group_id, display: r.display, direct: r.direct })
            .collect())
    }

    fn load_user_groups(&mut self, pieces: &[Piece]) -> Result<Vec<UserGroupRow>> {
        Ok(sql::load_prepared(self.conn, pieces)?)
    }

    /// The direct memberships of `user_pks` (with `nested`: whether the tenant has any group
    /// in a group), or with `recursive` every group they are in through nesting too (UNION
    /// stops at cycles).
    fn user_groups_sql(&self, tenant: TenantId, user_pks: &[i64], recursive: bool) -> Vec<Piece> {
        let t = Piece::BigInt(tenant.0);
        let mut w = Writer::new(self.backend(), tenant.0, Table::Groups);
        if recursive {
            w.sql("WITH RECURSIVE anc(user_pk, group_pk) AS (");
        } else {
            // 'Group' is a literal: bound, PostgreSQL's generic plan (the statement is
            // prepared) cannot see that no row has it and scanned the whole membership table.
            // Uncorrelated, the subquery runs once per statement.
            w.sql(
                "SELECT anc.user_pk AS user_pk, g.pk AS group_pk, g.id AS group_id, g.display_name AS display, \
                 TRUE AS direct, \
                 EXISTS (SELECT 1 FROM group_members n WHERE n.tenant_id = ",
            );
            w.bind(t.clone());
            w.sql(" AND n.member_type = 'Group') AS nested FROM (");
        }
        w.sql("SELECT member_pk AS user_pk, group_pk FROM group_members WHERE tenant_id = ");
        w.bind(t.clone());
        // The users as one bound list (an array, or JSON text on SQLite), so the statement's
        // text is the same for any number of them and each connection prepares it once. SQLite:
        // GET /Users/{id} 6,500 → 8,200/s. PostgreSQL planned a 100-element `IN (…)` for 2.1 ms
        // per page of users (then hash-joined all groups, 1.0 ms); the prepared array form
        // plans once and runs by index in 0.35 ms (EXPLAIN ANALYZE, 10,000 users).
        w.sql(" AND member_type = 'User' AND member_pk");
        w.in_big_ints(user_pks);
        if recursive {
            w.sql(
                " UNION SELECT anc.user_pk, m.group_pk FROM group_members m JOIN anc \
                 ON m.member_type = 'Group' AND m.member_pk = anc.group_pk WHERE m.tenant_id = ",
            );
            w.bind(t);
            w.sql(
                ") SELECT anc.user_pk AS user_pk, g.pk AS group_pk, g.id AS group_id, g.display_name AS display, \
                 EXISTS (SELECT 1 FROM group_members d WHERE d.tenant_id = g.tenant_id AND d.group_pk = g.pk \
                 AND d.member_type = 'User' AND d.member_pk = anc.user_pk",
            );
            // PostgreSQL: OFFSET 0 keeps the EXISTS a probe of the primary key per row; it
            // made it a hash of every tenant's user memberships.
            if self.backend() == Backend::Postgres {
                w.sql(" OFFSET 0");
            }
            w.sql(") AS direct, TRUE AS nested FROM anc");
        } else {
            w.sql(") anc");
        }
        w.sql(match self.backend() {
            Backend::Sqlite => " JOIN groups g ON g.pk = anc.group_pk",
            // Each group by its key, behind OFFSET 0 so that the planner cannot make it a
            // join: the generic plan, costed for the ten users an array is assumed to hold,
            // hashed the whole `groups` table, every tenant's, for each page of users.
            Backend::Postgres => {
                " CROSS JOIN LATERAL (SELECT g.pk, g.tenant_id, g.id, g.display_name FROM groups g \
                 WHERE g.pk = anc.group_pk OFFSET 0) g"
            }
        });
        w.into_pieces()
    }
}

impl super::Store {
    /// Up to `limit` members after `after` in (type, key) order: a keyset page, so reading a
    /// 100,000-member group costs the same per page at its end as at its start. One statement
    /// outside any transaction, as `Store::group_by_key` reads: each page of a streamed group
    /// was a read transaction of its own anyway.
    pub fn members_page(
        &self,
        tenant: TenantId,
        group_pk: i64,
        after: Option<(MemberKind, i64)>,
        limit: usize,
    ) -> Result<Vec<MemberView>> {
        let read = |conn: &mut AnyConnection| members_page(conn, tenant, group_pk, after, limit);
        Ok(super::pool_checkout::on_live(&self.read, read)?.1)
    }

    /// The first `limit` members of group `group_pk` if it is at `version`; none if it is not
    /// (or has none): what a streamed list reads a group's members by after the page, so as
    /// not to send the version it listed with another's members. One statement.
    pub fn members_page_at(
        &self,
        tenant: TenantId,
        group_pk: i64,
        version: i64,
        limit: usize,
    ) -> Result<Vec<MemberView>> {
        let read = |conn: &mut AnyConnection| members_page_at(conn, tenant, group_pk, version, limit);
        Ok(super::pool_checkout::on_live(&self.read, read)?.1)
    }
}

fn members_page_at(
    conn: &mut AnyConnection,
    tenant: TenantId,
    group_pk: i64,
    version: i64,
    limit: usize,
) -> QueryResult<Vec<MemberView>> {
    let pieces = members_page_statement(super::tx::backend_of(conn), tenant, group_pk, None, Some(version), limit);
    let rows: Vec<MemberRow> = sql::load_prepared(conn, &pieces)?;
    Ok(rows.into_iter().map(MemberRow::view).collect())
}

pub(super) fn members_page(
    conn: &mut AnyConnection,
    tenant: TenantId,
    group_pk: i64,
    after: Option<(MemberKind, i64)>,
    limit: usize,
) -> QueryResult<Vec<MemberView>> {
    let pieces = members_page_statement(super::tx::backend_of(conn), tenant, group_pk, after, None, limit);
    let rows: Vec<MemberRow> = sql::load_prepared(conn, &pieces)?;
    Ok(rows.into_iter().map(MemberRow::view).collect())
}

/// A member page's columns (`MemberRow`, and the group it is in), up to the tenant's value.
pub(super) fn member_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => MEMBER_COLUMNS_JOINED,
        Backend::Postgres => MEMBER_COLUMNS_BY_SUBQUERY,
    }
}

/// SQLite: each member's id by a join on its table's primary key.
const MEMBER_COLUMNS_JOINED: &str = "SELECT m.group_pk AS group_pk, m.member_type AS kind, m.member_pk AS pk, \
     COALESCE(u.id, g.id) AS id, m.display AS display \
     FROM group_members m \
     LEFT JOIN users u ON m.member_type = 'User' AND u.pk = m.member_pk \
     LEFT JOIN groups g ON m.member_type = 'Group' AND g.pk = m.member_pk \
     WHERE m.tenant_id = ";

/// PostgreSQL: each member's id by a scalar subquery on its table's primary key, not a join.
/// PostgreSQL costs the generic plan it keeps for the average group, and where one large
/// group among a thousand small ones made that 11 members, it hashed the whole `groups` table
/// for each group of a page (a page of 100 groups with their members: 8–11 ms of
/// PostgreSQL's CPU, where the subqueries take 1). On SQLite the subqueries cost more than
/// the join (pages of 100 groups: 476 → 536 µs of scimd's CPU), and its plan is the join's.
const MEMBER_COLUMNS_BY_SUBQUERY: &str = "SELECT m.group_pk AS group_pk, m.member_type AS kind, \
     m.member_pk AS pk, \
     CASE m.member_type WHEN 'User' THEN (SELECT u.id FROM users u WHERE u.pk = m.member_pk) \
     WHEN 'Group' THEN (SELECT g.id FROM groups g WHERE g.pk = m.member_pk) END AS id, \
     m.display AS display \
     FROM group_members m \
     WHERE m.tenant_id = ";

/// The statement of `Store::members_page`.
fn members_page_statement(
    backend: Backend,
    tenant: TenantId,
    group_pk: i64,
    after: Option<(MemberKind, i64)>,
    at_version: Option<i64>,
    limit: usize,
) -> Vec<Piece> {
    let mut w = Writer::new(backend, tenant.0, Table::Groups);
    w.sql(member_columns(backend));
    // PostgreSQL: the tenant and the group as InitPlans (`(SELECT $1)`), whose values its
    // planner does not look at. Compared with the values themselves, it costed a plan for a
    // small group below the generic plan, which it costs for the average group, whenever a
    // tenant's groups differed in size (one of 10,000 members among a thousand of one): it then
    // planned the statement afresh on every run, for 250 µs of its 300 µs. Costed alike, the
    // generic plan is kept after five runs, and it is the same plan: the primary key's index.
    let (open, close) = match backend {
        Backend::Postgres => ("(SELECT ", ")"),
        Backend::Sqlite => ("", ""),
    };
    w.sql(open);
    w.bind(Piece::BigInt(tenant.0));
    w.sql(&format!("{close} AND m.group_pk = {open}"));
    w.bind(Piece::BigInt(group_pk));
    w.sql(close);
    if let Some(version) = at_version {
        // One value for the whole statement: SQLite runs the subquery once, PostgreSQL as an
        // InitPlan.
        w.sql(&format!(" AND (SELECT version FROM groups WHERE pk = {open}"));
        w.bind(Piece::BigInt(group_pk));
        w.sql(&format!("{close}) = {open}"));
        w.bind(Piece::BigInt(version));
        w.sql(close);
    }
    if let Some((kind, pk)) = after {
        // A row value, which both backends seek to in the primary key. Spelt as
        // `type > k OR (type = k AND pk > p)`, neither could: both sought to the group's first
        // member and stepped over every one before the page, so the last page of a
        // 100,000-member group read 99,000 index entries and reading a whole group took time
        // quadratic in its size (GET of a 100,000-member group on SQLite: 0.86-1.03 s ->
        // 0.23-0.34 s). On PostgreSQL the cursor is made of InitPlans too: compared with its
        // values, each page was costed from the histogram and planned afresh (0 generic plans
        // in 8 on scimd-bench's 10,000-member group, about 0.2 ms of planning each), and for a
        // cursor near the end it chose the member index, which also walks past the cursor in
        // every other group's members.
        w.sql(&format!(" AND (m.member_type, m.member_pk) > ({open}"));
        w.bind(Piece::Text(kind.as_str().into()));
        w.sql(&format!("{close}, {open}"));
        w.bind(Piece::BigInt(pk));
        w.sql(&format!("{close})"));
    }
    // The page size is the server's (`member_page_size`), so written into the text: one
    // statement each connection prepares once. Bound, SQLite prepared it again on every run,
    // and parsing and planning it were 54% of a small group's GET (190,685 of 351,382
    // instructions).
    w.sql(&format!(" ORDER BY m.member_type, m.member_pk LIMIT {limit}"));
    w.into_pieces()
}

#[cfg(test)]
#[path = "member_read_plan_tests.rs"]
mod tests;
