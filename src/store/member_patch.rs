//! A PATCH of a group's members alone, the group's row locked (`Tx::lock_group`): the adds and
//! removes in the PATCH's order, reporting which changed anything, then a new version if one
//! did. `Tx::patch_members` runs the general path's statements, as SQLite's one writer does
//! in-process. On PostgreSQL such PATCHes run several to a statement (`member_patch_checked`,
//! migration 000025, whose `scimd_apply_member_changes` locks the members it adds and skips
//! any deleted since they were looked up, as `member_locks` does): every statement run while
//! the group's row is locked is time the next change of the group waits for.

use super::groups::GroupRow;
use super::members::MemberRef;
use super::{TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, Utc};

/// One operation of a PATCH: these members added (`add`) or removed.
#[derive(Debug, Clone, Copy)]
pub struct MemberOp<'a> {
    pub add: bool,
    pub members: &'a [MemberRef],
}

impl Tx<'_> {
    /// Applies `ops` in order to the group `current`, which this transaction has locked.
    /// The group's row after them (its next version, lastModified `now`, if they changed
    /// anything: RFC 7644 §3.14, RFC 7643 §3.1) and, per member of each operation in order,
    /// whether it changed the membership (an add of a member or a remove of a non-member does
    /// not, nor does a member an earlier operation already added or removed).
    pub fn patch_members(
        &mut self,
        tenant: TenantId,
        current: &GroupRow,
        now: DateTime<Utc>,
        ops: &[MemberOp<'_>],
    ) -> Result<(GroupRow, Vec<bool>)> {
        let mut changed = Vec::new();
        // Each operation is one set operation, as on the general path.
        for op in ops {
            let done = if op.add {
                self.add_members(tenant, current.pk, op.members)?
            } else {
                self.remove_members(tenant, current.pk, op.members)?
            };
            changed.extend(op.members.iter().map(|m| done.iter().any(|d| d.kind == m.kind && d.pk == m.pk)));
        }
        let row = if changed.contains(&true) { self.bump_group(tenant, current, now)? } else { current.clone() };
        Ok((row, changed))
    }
}

#[cfg(test)]
#[path = "member_race_tests.rs"]
mod race_tests;
