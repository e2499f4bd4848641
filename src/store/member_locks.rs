//! The members an add names, locked on PostgreSQL until its commit (FOR KEY SHARE) and kept
//! only if they still exist: without the lock, a member deleted between its lookup and the
//! add was added as a row naming nothing, since its deletion had already deleted the
//! memberships it could see. A deletion deletes the member's row before its memberships
//! (`Tx::delete_user`, `Tx::delete_group`), so it either waits for the add and then sees its
//! row, or the add waits for it and then finds nothing to lock. `scimd_apply_member_changes`
//! does the same for a PATCH of members alone (migrations 000023, 000025). SQLite's one writer
//! runs lookups, adds and deletions one after another.

use super::connection::AnyConnection;
use super::schema::{groups, users};
use super::{MemberKind, MemberRef, TenantId, Tx};
use crate::error::Result;
use diesel::prelude::*;
use std::borrow::Cow;

impl Tx<'_> {
    /// `members` that still exist, each locked against its deletion until this transaction
    /// ends; all of them, unlocked, on SQLite.
    pub(super) fn lock_members_to_add<'m>(
        &mut self,
        tenant: TenantId,
        members: &'m [MemberRef],
    ) -> Result<Cow<'m, [MemberRef]>> {
        let AnyConnection::Postgresql(pg) = &mut *self.conn else { return Ok(Cow::Borrowed(members)) };
        let pks = |kind| members.iter().filter(|m| m.kind == kind).map(|m| m.pk).collect::<Vec<i64>>();
        let (user_pks, group_pks) = (pks(MemberKind::User), pks(MemberKind::Group));
        let mut locked_users = Vec::new();
        if !user_pks.is_empty() {
            locked_users = users::table
                .filter(users::tenant_id.eq(tenant.get()).and(users::pk.eq_any(&user_pks)))
                .select(users::pk)
                .for_key_share()
                .load::<i64>(pg)?;
        }
        let mut locked_groups = Vec::new();
        if !group_pks.is_empty() {
            locked_groups = groups::table
                .filter(groups::tenant_id.eq(tenant.get()).and(groups::pk.eq_any(&group_pks)))
                .select(groups::pk)
                .for_key_share()
                .load::<i64>(pg)?;
        }
        if locked_users.len() == user_pks.len() && locked_groups.len() == group_pks.len() {
            return Ok(Cow::Borrowed(members));
        }
        let there = |m: &&MemberRef| match m.kind {
            MemberKind::User => locked_users.contains(&m.pk),
            MemberKind::Group => locked_groups.contains(&m.pk),
        };
        Ok(Cow::Owned(members.iter().filter(there).cloned().collect()))
    }
}
