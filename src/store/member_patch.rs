//! A PATCH of a group's members alone: the group's row locked (its version bumped), then the
//! adds and removes in the PATCH's order, reporting which changed anything. `Tx::patch_members`
//! runs the general path's statements, as SQLite's one writer does in-process. On PostgreSQL
//! such PATCHes run several to a statement (`member_patch_checked`, migration 000025, whose
//! `scimd_apply_member_changes` locks the members it adds and skips any deleted since they
//! were looked up, as `member_locks` does): every statement run while the group's row is
//! locked is time the next change of the group waits for.

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

#[cfg(test)]
#[path = "member_race_tests.rs"]
mod race_tests;
