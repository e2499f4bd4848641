//! A PATCH of a group's members alone: the group's row locked (its version bumped), then the
//! adds and removes in the PATCH's order, reporting which changed anything. `Tx::patch_members`
//! runs the general path's statements, as SQLite's one writer does in-process. On PostgreSQL
//! it is one statement, `scimd_patch_members_checked` (`member_patch_checked`), whose
//! `scimd_patch_members` (migrations 000018 and 000023: it locks the members it adds and skips
//! any deleted since they were looked up, as `member_locks` does) takes the arguments
//! `PatchMembersArgs` binds: every statement run while the group's row is locked is time the
//! next change of the group waits for.

use super::groups::GroupRow;
use super::members::MemberRef;
use super::user_args_pg::bind_all;
use super::{MemberKind, TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use diesel::QueryResult;

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

/// The arguments of `scimd_patch_members`: the group, the time, and one element per member
/// added or removed.
pub(super) struct PatchMembersArgs<'a> {
    tenant: i64,
    id: &'a str,
    now: NaiveDateTime,
    adds: Vec<bool>,
    types: Vec<String>,
    pks: Vec<i64>,
    displays: Vec<Option<String>>,
    mark_users: Vec<i64>,
}

impl<'a> PatchMembersArgs<'a> {
    pub(super) fn new(tenant: TenantId, id: &'a str, now: NaiveDateTime, ops: &[MemberOp<'_>]) -> Self {
        let changes: Vec<(bool, &MemberRef)> =
            ops.iter().flat_map(|op| op.members.iter().map(move |m| (op.add, m))).collect();
        PatchMembersArgs {
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

    /// The arguments, bound in order.
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

#[cfg(test)]
#[path = "member_race_tests.rs"]
mod race_tests;
