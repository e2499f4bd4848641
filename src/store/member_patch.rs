//! A PATCH of a group's members alone: the group's row locked (its version bumped), then the
//! adds and removes in the PATCH's order, reporting which changed anything. On PostgreSQL it
//! is one statement, `scimd_patch_members` (migrations 000018 and 000023: it locks the members
//! it adds and skips any deleted since they were looked up, as `member_locks` does), because
//! every statement run while the row is locked is time the next change of the group waits
//! for; on SQLite, whose one writer runs statements in-process, it is the general path's
//! statements.

use super::connection::AnyConnection;
use super::groups::{GroupRow, PageRow};
use super::members::MemberRef;
use super::user_args_pg::{bind_all, pg_statement};
use super::{MemberKind, TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

/// One operation of a PATCH: these members added (`add`) or removed.
#[derive(Debug, Clone, Copy)]
pub struct MemberOp<'a> {
    pub add: bool,
    pub members: &'a [MemberRef],
}

impl Tx<'_> {
    /// Locks the group `id` (bumping its version and lastModified to `now`) and applies
    /// `ops` in order. `None` when there is no such group; otherwise the group's row as locked
    /// and, per member of each operation in order, whether it changed the membership (an add
    /// of a member or a remove of a non-member does not, nor does a member an earlier
    /// operation already added or removed).
    pub fn patch_members(
        &mut self,
        tenant: TenantId,
        id: &str,
        now: DateTime<Utc>,
        ops: &[MemberOp<'_>],
    ) -> Result<Option<(GroupRow, Vec<bool>)>> {
        if let AnyConnection::Postgresql(pg) = &mut *self.conn {
            let rows: Vec<Patched> = PatchMembers::new(tenant, id, now.naive_utc(), ops).load(pg)?;
            return Ok(rows.into_iter().next().map(Patched::into_parts));
        }
        let Some(row) = self.touch_group(tenant, id, now)? else { return Ok(None) };
        let mut changed = Vec::new();
        // Each operation is one set operation, as on the general path.
        for op in ops {
            let done = if op.add {
                self.add_members(tenant, row.pk, op.members)?
            } else {
                self.remove_members(tenant, row.pk, op.members)?
            };
            changed.extend(op.members.iter().map(|m| done.iter().any(|d| d.kind == m.kind && d.pk == m.pk)));
        }
        Ok(Some((row, changed)))
    }
}

/// `SELECT * FROM scimd_patch_members(…)` with every value bound: one statement text.
pub(super) struct PatchMembers<'a> {
    tenant: i64,
    id: &'a str,
    now: NaiveDateTime,
    adds: Vec<bool>,
    types: Vec<String>,
    pks: Vec<i64>,
    displays: Vec<Option<String>>,
    mark_users: Vec<i64>,
}

impl<'a> PatchMembers<'a> {
    pub(super) fn new(tenant: TenantId, id: &'a str, now: NaiveDateTime, ops: &[MemberOp<'_>]) -> Self {
        let changes: Vec<(bool, &MemberRef)> =
            ops.iter().flat_map(|op| op.members.iter().map(move |m| (op.add, m))).collect();
        PatchMembers {
            tenant: tenant.0,
            id,
            now,
            adds: changes.iter().map(|&(add, _)| add).collect(),
            types: changes.iter().map(|(_, m)| m.kind.as_str().to_string()).collect(),
            pks: changes.iter().map(|(_, m)| m.pk).collect(),
            displays: changes.iter().map(|(_, m)| m.display.clone()).collect(),
            // As `add_members`: users already marked need no update of their row.
            mark_users: changes
                .iter()
                .filter(|(add, m)| *add && m.kind == MemberKind::User && !m.marked_in_groups)
                .map(|(_, m)| m.pk)
                .collect(),
        }
    }
}

pg_statement!(PatchMembers, diesel::sql_types::Untyped);

impl QueryFragment<Pg> for PatchMembers<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT pk, id, data, version, created_at, last_modified, changed FROM scimd_patch_members(");
        self.bind(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

impl PatchMembers<'_> {
    /// The group, the time and the changes, as both functions take them.
    pub(super) fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        bind_all!(out;
            BigInt => &self.tenant,
            Text => self.id,
            Timestamp => &self.now,
            Array<Bool> => &self.adds,
            Array<Text> => &self.types,
            Array<BigInt> => &self.pks,
            Array<Nullable<Text>> => &self.displays,
            Array<BigInt> => &self.mark_users,
        );
        Ok(())
    }
}

/// The group's row as locked, and per member whether it changed.
#[derive(QueryableByName)]
struct Patched {
    #[diesel(embed)]
    group: PageRow,
    #[diesel(sql_type = Array<Bool>)]
    changed: Vec<bool>,
}

impl Patched {
    fn into_parts(self) -> (GroupRow, Vec<bool>) {
        (GroupRow::from(self.group), self.changed)
    }
}

#[cfg(test)]
#[path = "member_race_tests.rs"]
mod race_tests;
