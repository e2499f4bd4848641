//! RFC 7644 §3.5.2: a group PATCH that only adds and removes members (Okta's and Entra ID's
//! group push), run as one store call once the group's row is locked (`Tx::patch_members`):
//! on PostgreSQL one statement, shared with the other such PATCHes waiting in the group's lane
//! (`Store::patch_members_in_lane`), instead of one round trip per statement, each of which is
//! time the next change of the same group waits for. For the same reason the members it names
//! are looked up on PostgreSQL before the write queues in the lane (`members_named_first`).

use super::events;
use super::group::{self, GroupOp};
use super::preconditions::if_match_versions;
use super::service::{Request, RequestContext, ScimService};
use crate::error::{Error, Result};
use crate::store::{GroupRow, MemberKind, MemberOp, MemberPatch, MemberRef, MembersPatched, NewEvent, TenantId, Tx};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The ids a PATCH names if all it does is add and remove members (one that does nothing
/// changes nothing, not even the version).
fn member_ids_if_members_only(ops: &[GroupOp]) -> Option<Vec<String>> {
    let members_only = ops.iter().all(|op| matches!(op, GroupOp::AddMembers(_) | GroupOp::RemoveMembers(_)));
    (members_only && !ops.is_empty())
        .then(|| ops.iter().flat_map(|op| op.member_specs()).map(|s| s.id.clone()).collect())
}

/// Per operation of a PATCH of group `id` that only adds and removes members, whether it adds
/// and the members it names, from the members `found` by id; `None` if it adds one that does
/// not exist (or the group itself), for the general path to answer.
fn member_changes(id: &str, ops: &[GroupOp], found: &[MemberRef]) -> Option<Vec<(bool, Vec<MemberRef>)>> {
    // The group itself is among them only if the PATCH names it, which adding it rejects.
    let own_pk = found.iter().find(|m| m.kind == MemberKind::Group && m.id == id).map(|m| m.pk);
    ops.iter()
        .map(|op| match op {
            GroupOp::AddMembers(specs) => group::check_members(specs, found, own_pk).ok().map(|m| (true, m)),
            // Removing a non-member (or an id that no longer exists) changes nothing.
            GroupOp::RemoveMembers(specs) => {
                Some((false, found.iter().filter(|m| specs.iter().any(|s| s.id == m.id)).cloned().collect()))
            }
            _ => None,
        })
        .collect()
}

/// The events of what `changed` (one flag per member of each operation, in order) says the
/// operations in `named` did to group `id`.
fn events_of(id: &str, named: &[(bool, Vec<MemberRef>)], changed: &[bool]) -> Vec<NewEvent> {
    let mut flags = changed.iter();
    let mut out = Vec::new();
    for (add, members) in named {
        let done: Vec<MemberRef> = members.iter().filter(|_| *flags.next().unwrap_or(&false)).cloned().collect();
        out.extend(if *add { events::members_added(id, &done) } else { events::members_removed(id, &done) });
    }
    out
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

    /// On PostgreSQL, the PATCH `ops` of group `id` whose members were `found` before, run in
    /// the group's lane by one statement without a savepoint, with whichever others wait there
    /// (`Store::patch_members_in_lane`): If-Match and the events go with it. `None`, having
    /// written nothing, when it is not a PATCH of members alone that exist, for
    /// `patch_members_only` and the general path.
    pub(super) async fn patch_members_checked(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: &str,
        ops: &[GroupOp],
        found: &[MemberRef],
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRow>> {
        // No text here holds a NUL, which PostgreSQL would refuse as it received the statement,
        // failing the lane's whole transaction: requests refuse it in ids (404) and in bodies
        // (400) before they get here.
        let Some(named) = member_changes(id, ops, found) else { return Ok(None) };
        let req = ctx.request();
        let events: Vec<(usize, NewEvent)> = named
            .iter()
            .enumerate()
            .filter_map(|(i, (add, m))| {
                if *add { events::members_added(id, m) } else { events::members_removed(id, m) }.map(|e| (i, e))
            })
            .collect();
        let (group_id, ops_named) = (id.to_string(), named.clone());
        let patch = MemberPatch {
            tenant: req.scope.tenant,
            group_id: id.to_string(),
            now,
            ops: named,
            versions: if_match_versions(req.if_match),
            events,
            request_id: req.request_id.map(str::to_string),
            events_of_changed: Box::new(move |changed| events_of(&group_id, &ops_named, changed)),
        };
        let Some(patched) = self.store.patch_members_in_lane(patch).await else { return Ok(None) };
        match patched? {
            MembersPatched::Done { row, .. } => Ok(Some(row)),
            MembersPatched::NoGroup => Err(super::group_service::not_found(id)),
            MembersPatched::Precondition => Err(Error::PreconditionFailed),
        }
    }

    /// The PATCH `ops` of group `id` if every one adds or removes members and every member it
    /// adds exists; `None` otherwise, having written nothing, for the general path (which
    /// answers a missing member or a wrong If-Match as it always has, If-Match first).
    pub(super) fn patch_members_only(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        id: &str,
        ops: &[GroupOp],
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRow>> {
        let Some(ids) = member_ids_if_members_only(ops) else { return Ok(None) };
        let tenant = req.scope.tenant;
        let found = tx.resolve_members(tenant, &ids)?;
        let Some(named) = member_changes(id, ops, &found) else { return Ok(None) };
        let member_ops: Vec<MemberOp<'_>> =
            named.iter().map(|(add, members)| MemberOp { add: *add, members }).collect();
        let current = self.current_group(tx, req, id)?;
        let (row, changed) = tx.patch_members(tenant, &current, now, &member_ops)?;
        tx.append_events(tenant, &events_of(id, &named, &changed), req.request_id, now)?;
        Ok(Some(row))
    }
}
