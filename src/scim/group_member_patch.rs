//! RFC 7644 §3.5.2: a group PATCH that only adds and removes members (Okta's and Entra ID's
//! group push), run as one store call while the group's row is locked
//! (`Tx::patch_members`): on PostgreSQL that is one round trip instead of one per statement,
//! and each is time the next change of the same group waits for. For the same reason the
//! members it names are looked up on PostgreSQL before the write queues in the group's lane
//! (`members_named_first`).

use super::events;
use super::group::{self, GroupOp};
use super::service::{if_match_allows, Request, ScimService};
use super::user;
use crate::error::{Error, Result};
use crate::store::{GroupRow, MemberKind, MemberOp, MemberRef, TenantId, Tx};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// The ids a PATCH names if all it does is add and remove members.
fn member_ids_if_members_only(ops: &[GroupOp]) -> Option<Vec<String>> {
    ops.iter()
        .all(|op| matches!(op, GroupOp::AddMembers(_) | GroupOp::RemoveMembers(_)))
        .then(|| ops.iter().flat_map(|op| op.member_specs()).map(|s| s.id.clone()).collect())
}

impl ScimService {
    /// The members a PATCH that only adds and removes members names, looked up before its
    /// write queues (on PostgreSQL: `Store::members_before_group_write`); `None` where the
    /// write looks them up itself.
    pub(super) async fn members_named_first(
        &self,
        tenant: TenantId,
        ops: &[GroupOp],
    ) -> Result<Option<Vec<MemberRef>>> {
        let Some(ids) = member_ids_if_members_only(ops) else { return Ok(None) };
        self.store.members_before_group_write(tenant, ids).await.transpose()
    }

    /// The PATCH `ops` of group `id` if every one adds or removes members and every member it
    /// adds exists; `None` otherwise, having written nothing, for the general path (which
    /// answers a missing member or a wrong If-Match as it always has, If-Match first).
    /// `looked_up` holds the members the operations name when they were looked up before the
    /// write (`members_named_first`); otherwise they are looked up here.
    pub(super) fn patch_members_only(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        id: &str,
        ops: &[GroupOp],
        now: DateTime<Utc>,
        looked_up: Option<&[MemberRef]>,
    ) -> Result<Option<GroupRow>> {
        let Some(ids) = member_ids_if_members_only(ops) else { return Ok(None) };
        let tenant = req.scope.tenant;
        let found = match looked_up {
            Some(found) => Cow::Borrowed(found),
            None => Cow::Owned(tx.resolve_members(tenant, &ids)?),
        };
        let found = found.as_ref();
        // The group itself is among them only if the PATCH names it, which adding it rejects.
        let own_pk = found.iter().find(|m| m.kind == MemberKind::Group && m.id == id).map(|m| m.pk);
        let mut named: Vec<(bool, Vec<MemberRef>)> = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                GroupOp::AddMembers(specs) => match group::check_members(specs, found, own_pk) {
                    Ok(members) => named.push((true, members)),
                    Err(_) => return Ok(None),
                },
                // Removing a non-member (or an id that no longer exists) changes nothing.
                GroupOp::RemoveMembers(specs) => {
                    named.push((false, found.iter().filter(|m| specs.iter().any(|s| s.id == m.id)).cloned().collect()))
                }
                _ => return Ok(None),
            }
        }
        let member_ops: Vec<MemberOp<'_>> =
            named.iter().map(|(add, members)| MemberOp { add: *add, members }).collect();
        let Some((row, changed)) = tx.patch_members(tenant, id, now, &member_ops)? else {
            return Err(super::group_service::not_found(id));
        };
        // RFC 7644 §3.14: If-Match names the version this change replaces. A mismatch fails
        // the transaction, so the changes above are rolled back with it.
        if !if_match_allows(req.if_match, &user::etag(row.version - 1)) {
            return Err(Error::PreconditionFailed);
        }
        let mut out = Vec::new();
        let mut flags = changed.into_iter();
        for (add, members) in &named {
            let done: Vec<MemberRef> = members.iter().filter(|_| flags.next().unwrap_or(false)).cloned().collect();
            out.extend(if *add { events::members_added(id, &done) } else { events::members_removed(id, &done) });
        }
        tx.append_events(tenant, &out, req.request_id, now)?;
        Ok(Some(row))
    }
}
