//! Group writes. A group's members are never loaded whole: writes run set operations in SQL,
//! and answer with the group's head and its first page of members as the write left them.

use super::events;
use super::group::{self, GroupOp, MemberSpec};
use super::group_reads::GroupView;
use super::patch;
use super::preconditions::if_match_allows;
use super::projection::Projection;
use super::resource::ResourceSchema;
use super::service::{Request, RequestContext, ScimService};
use super::user;
use crate::error::{Error, Result};
use crate::store::{FirstMembers, GroupRow, MemberRef, MemberView, TenantId, Tx};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

pub(super) fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Group {id} not found"))
}

/// The first members of a group this transaction created, as `Tx::first_members` would read
/// them: the members it added, in (type, key) order. Nothing else can have changed a group
/// no other transaction sees yet, so its answer needs no read.
fn first_of_new_group(group_pk: i64, mut added: Vec<MemberRef>, limit: usize) -> FirstMembers {
    added.sort_unstable_by(|a, b| (a.kind.as_str(), a.pk).cmp(&(b.kind.as_str(), b.pk)));
    added.truncate(limit);
    let members =
        added.into_iter().map(|m| (group_pk, MemberView { kind: m.kind, pk: m.pk, id: m.id, display: m.display }));
    FirstMembers { groups: 1, members: members.collect() }
}

impl ScimService {
    pub(super) fn group_schema(&self) -> ResourceSchema<'_> {
        group::group_schema(&self.registry)
    }

    pub(super) fn projection(&self, req: &Request<'_>) -> Projection {
        Projection::parse(&self.group_schema(), req.params.get("attributes"), req.params.get("excludedAttributes"))
    }

    /// The group a write changes, locked against other writes until it commits
    /// (`Tx::lock_group`), if it is at a version If-Match names (RFC 7644 §3.14).
    pub(super) fn current_group(&self, tx: &mut Tx<'_>, req: &Request<'_>, id: &str) -> Result<GroupRow> {
        let row = tx.lock_group(req.scope.tenant, id)?.ok_or_else(|| not_found(id))?;
        if !if_match_allows(req.if_match, &user::etag(row.version)) {
            return Err(Error::PreconditionFailed);
        }
        Ok(row)
    }

    fn resolve(
        &self,
        tx: &mut Tx<'_>,
        tenant: TenantId,
        specs: &[MemberSpec],
        group_pk: Option<i64>,
    ) -> Result<Vec<MemberRef>> {
        let ids: Vec<String> = specs.iter().map(|s| s.id.clone()).collect();
        let found = tx.resolve_members(tenant, &ids)?;
        group::check_members(specs, &found, group_pk)
    }

    /// RFC 7644 §3.3.
    pub async fn create_group(self: &Arc<Self>, ctx: &Arc<RequestContext>, body: &Value) -> Result<GroupView> {
        let req = ctx.request();
        let schema = self.group_schema();
        let mut c = schema.canonicalize_request(body, req.compat)?;
        let specs = group::take_members(&mut c.attrs)?;
        let write = group::derive_write(&schema, &c.attrs)?;
        let now = self.clock.now();
        let id = super::new_resource_id(now);
        let created = events::group_created(&id, &c.attrs);
        let row = self
            .write_for(ctx, move |s, tx, req| {
                let members = s.resolve(tx, req.scope.tenant, &specs, None)?;
                let row = tx.insert_group(req.scope.tenant, &id, &write, now)?;
                let added = tx.add_members(req.scope.tenant, row.pk, &members)?;
                let mut out = vec![created.clone()];
                out.extend(events::members_added(&id, &added));
                tx.append_events(req.scope.tenant, &out, req.request_id, now)?;
                Ok((row, added))
            })
            .await?;
        let (row, added) = row;
        let first = first_of_new_group(row.pk, added, self.member_page_size);
        self.written_view((row, Some(first)), &req)
    }

    /// `row`, as a write leaves it, with its first members read in the write's transaction
    /// when the request's projection shows them: the answer is the group as this write made
    /// it, members and version alike, whatever commits next.
    fn as_written(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        row: GroupRow,
    ) -> Result<(GroupRow, Option<FirstMembers>)> {
        let members = self.first_members(tx, req.scope.tenant, std::slice::from_ref(&row), &self.projection(req))?;
        Ok((row, members))
    }

    fn written_view(&self, (row, members): (GroupRow, Option<FirstMembers>), req: &Request<'_>) -> Result<GroupView> {
        let mut views = self.group_views(std::slice::from_ref(&row), members, req, &self.projection(req))?;
        views.pop().ok_or_else(|| Error::internal("no view of a written group"))
    }

    /// RFC 7644 §3.5.1: displayName, externalId and the whole membership, the latter as a
    /// difference computed in SQL. A new version only if something changed.
    pub async fn replace_group(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: String,
        body: &Value,
    ) -> Result<GroupView> {
        let req = ctx.request();
        let schema = self.group_schema();
        let mut c = schema.canonicalize_request(body, req.compat)?;
        let specs = group::take_members(&mut c.attrs)?;
        let write = group::derive_write(&schema, &c.attrs)?;
        let now = self.clock.now();
        let group_id = id.clone();
        let row = self
            .write_for_group(ctx, &group_id, move |s, tx, req| {
                let tenant = req.scope.tenant;
                let current = s.current_group(tx, req, &id)?;
                let members = s.resolve(tx, tenant, &specs, Some(current.pk))?;
                let (added, removed) = tx.replace_members(tenant, current.pk, &members)?;
                let stored = group::stored_attrs(&current)?;
                // RFC 7644 §3.14, RFC 7643 §3.1: a new version and lastModified only for a change.
                let row = if stored != c.attrs {
                    tx.update_group(tenant, &current, &write, now)?
                } else if !added.is_empty() || !removed.is_empty() {
                    tx.bump_group(tenant, &current, now)?
                } else {
                    current
                };
                let mut out: Vec<_> = events::group_updated(&id, &stored, &c.attrs).into_iter().collect();
                out.extend(events::members_removed(&id, &removed));
                out.extend(events::members_added(&id, &added));
                tx.append_events(req.scope.tenant, &out, req.request_id, now)?;
                s.as_written(tx, req, row)
            })
            .await?;
        self.written_view(row, &req)
    }

    /// RFC 7644 §3.5.2. Returns the group only when the request asked for attributes
    /// (otherwise the answer is 204, as Entra ID and Okta expect).
    pub async fn patch_group(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: String,
        body: &Value,
    ) -> Result<Option<GroupView>> {
        let req = ctx.request();
        let ops = group::split_ops(patch::parse_request(body, req.compat)?, req.compat)?;
        let now = self.clock.now();
        let answer = req.params.get("attributes").is_some() || req.params.get("excludedAttributes").is_some();
        // A PATCH answered with the group runs in a savepoint, whose transaction reads the
        // members it shows; the lane's merged statements (PostgreSQL) read none.
        if !answer {
            if let Some(found) = self.members_named_first(req.scope.tenant, &ops).await? {
                if self.patch_members_checked(ctx, &id, &ops, &found, now).await?.is_some() {
                    return Ok(None);
                }
            }
        }
        let written = self.patch_group_in_savepoint(ctx, id, ops, now, answer).await?;
        if answer {
            self.written_view(written, &req).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `patch_group`'s write in a savepoint of the group's lane: any PATCH; with the group's
    /// first members read in its transaction when the answer shows the group.
    async fn patch_group_in_savepoint(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: String,
        ops: Vec<GroupOp>,
        now: DateTime<Utc>,
        answer: bool,
    ) -> Result<(GroupRow, Option<FirstMembers>)> {
        let group_id = id.clone();
        self.write_for_group(ctx, &group_id, move |s, tx, req| {
            let row = s.patch_in_tx(tx, req, &id, &ops, now)?;
            if answer {
                s.as_written(tx, req, row)
            } else {
                Ok((row, None))
            }
        })
        .await
    }

    /// The PATCH `ops` of group `id` in `tx`, of any kind: members alone by set operations
    /// (`patch_members_only`), anything else through the PATCH engine on the stored document.
    fn patch_in_tx(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        id: &str,
        ops: &[GroupOp],
        now: DateTime<Utc>,
    ) -> Result<GroupRow> {
        let schema = self.group_schema();
        let tenant = req.scope.tenant;
        if ops.is_empty() {
            return self.current_group(tx, req, id);
        }
        if let Some(row) = self.patch_members_only(tx, req, id, ops, now)? {
            return Ok(row);
        }
        // The users and groups the operations name are looked up (in one statement)
        // before the group row is locked: on PostgreSQL, every statement run while it is
        // locked is time the next change of this group waits.
        let ids: Vec<String> = ops.iter().flat_map(|op| op.member_specs()).map(|s| s.id.clone()).collect();
        let found = tx.resolve_members(tenant, &ids)?;
        // Lock the group row before any member row, so concurrent changes of one group
        // queue up instead of deadlocking on member rows; the lock returns the row, so
        // nothing reads the group before it.
        let current = self.current_group(tx, req, id)?;
        let named = ops
            .iter()
            .map(|op| match op {
                GroupOp::AddMembers(specs) | GroupOp::ReplaceMembers(specs) => {
                    group::check_members(specs, &found, Some(current.pk))
                }
                // Removing a non-member (or an id that no longer exists) changes nothing.
                GroupOp::RemoveMembers(specs) => {
                    Ok(found.iter().filter(|m| specs.iter().any(|s| s.id == m.id)).cloned().collect())
                }
                GroupOp::Attributes(_) | GroupOp::RemoveAllMembers | GroupOp::RemoveMatching(_) => Ok(Vec::new()),
            })
            .collect::<Result<Vec<_>>>()?;
        let stored = group::stored_attrs(&current)?;
        let mut doc = stored.clone();
        let mut out = Vec::new();
        for (op, members) in ops.iter().zip(&named) {
            match op {
                GroupOp::Attributes(op) => patch::apply(&schema, &mut doc, std::slice::from_ref(op), req.compat)?,
                GroupOp::AddMembers(_) => {
                    out.extend(events::members_added(id, &tx.add_members(tenant, current.pk, members)?));
                }
                GroupOp::RemoveMembers(_) => {
                    out.extend(events::members_removed(id, &tx.remove_members(tenant, current.pk, members)?));
                }
                GroupOp::RemoveAllMembers => {
                    let (_, removed) = tx.replace_members(tenant, current.pk, &[])?;
                    out.extend(events::members_removed(id, &removed));
                }
                GroupOp::RemoveMatching(pred) => {
                    out.extend(events::members_removed(id, &tx.remove_members_where(tenant, current.pk, pred)?));
                }
                GroupOp::ReplaceMembers(_) => {
                    let (added, removed) = tx.replace_members(tenant, current.pk, members)?;
                    out.extend(events::members_removed(id, &removed));
                    out.extend(events::members_added(id, &added));
                }
            }
        }
        // Only member events are in `out` so far, one for each operation that changed any.
        let members_changed = !out.is_empty();
        // RFC 7644 §3.14, RFC 7643 §3.1: a new version and lastModified only for a change.
        let row = if doc != stored {
            let c = schema.canonicalize(&Value::Object(doc), req.compat)?;
            let write = group::derive_write(&schema, &c.attrs)?;
            let row = tx.update_group(tenant, &current, &write, now)?;
            out.extend(events::group_updated(id, &stored, &group::stored_attrs(&row)?));
            row
        } else if members_changed {
            tx.bump_group(tenant, &current, now)?
        } else {
            current
        };
        tx.append_events(tenant, &out, req.request_id, now)?;
        Ok(row)
    }

    /// RFC 7644 §3.6. Members stay; the group leaves the groups it was a member of.
    pub async fn delete_group(self: &Arc<Self>, ctx: &Arc<RequestContext>, id: String) -> Result<()> {
        let now = self.clock.now();
        self.write_for(ctx, move |s, tx, req| {
            let current = s.current_group(tx, req, &id)?;
            tx.delete_group(req.scope.tenant, &current)?;
            let deleted = events::group_deleted(&id, &group::stored_attrs(&current)?);
            tx.append_events(req.scope.tenant, &[deleted], req.request_id, now)
        })
        .await
    }
}
