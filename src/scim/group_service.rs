//! Group use cases. A group's members are never loaded whole: writes run set operations in
//! SQL, and reads hand the caller a group head plus a way to page through its members.

use super::events;
use super::group::{self, GroupOp, MemberSpec, RenderedGroup};
use super::group_members::MemberFields;
use super::list::{self};
use super::patch;
use super::preconditions::if_match_allows;
use super::projection::Projection;
use super::resource::ResourceSchema;
use super::service::{Request, RequestContext, ScimService};
use super::{group_filter, user};
use crate::error::{Error, Result};
use crate::store::predicate::GroupKey;
use crate::store::{GroupListQuery, GroupRow, ListedGroups, MemberRef, TenantId, Tx};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

/// A group to send: its head (all but members) and whether to follow it with its members.
pub struct GroupView {
    pub head: RenderedGroup,
    pub pk: i64,
    /// The members' sub-attributes to send after the head; `None`: no members.
    pub members: Option<MemberFields>,
}

pub struct GroupList {
    pub total: u64,
    pub start_index: u64,
    pub groups: Vec<GroupView>,
}

/// A search at the Base URL root (RFC 7644 §3.4.3): users first, then groups.
pub struct RootSearch {
    pub total: u64,
    pub start_index: u64,
    /// Written as JSON text.
    pub users: Vec<String>,
    pub groups: Vec<GroupView>,
}

pub(super) fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Group {id} not found"))
}

impl ScimService {
    fn group_schema(&self) -> ResourceSchema<'_> {
        group::group_schema(&self.registry)
    }

    fn projection(&self, req: &Request<'_>) -> Projection {
        Projection::parse(&self.group_schema(), req.params.get("attributes"), req.params.get("excludedAttributes"))
    }

    fn group_view(&self, row: &GroupRow, req: &Request<'_>, projection: &Projection) -> Result<GroupView> {
        let head = group::render(row, &req.scope.base_url, &self.group_schema(), projection)?;
        Ok(GroupView { head, pk: row.pk, members: MemberFields::of(&self.group_schema(), projection) })
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
                Ok(row)
            })
            .await?;
        self.group_view(&row, &req, &self.projection(&req))
    }

    pub fn get_group(&self, req: &Request<'_>, id: &str) -> Result<GroupView> {
        let row = self.store.group_by_key(req.scope.tenant, GroupKey::Id(id))?.ok_or_else(|| not_found(id))?;
        self.group_view(&row, req, &self.projection(req))
    }

    /// RFC 7644 §3.4.2 for groups. Members follow each group only if the projection keeps
    /// them (Entra always sends excludedAttributes=members, and then none are read).
    pub fn list_groups(&self, req: &Request<'_>) -> Result<GroupList> {
        let projection = self.projection(req);
        let paging = list::paging(req.params, self.limits)?;
        let query = GroupListQuery {
            predicate: group_filter::predicate(req.params.get("filter"), req.compat)?,
            sort: group_filter::sort_key(req.params.get("sortBy"), req.params.get("sortOrder"))?,
            offset: paging.start_index - 1,
            limit: paging.count,
        };
        let listed = match query.predicate.group_key() {
            // Okta's and Entra's pre-check before a group push: at most one group, read by one
            // statement outside a transaction (a list's count and select in a transaction cost
            // twice its instructions). RFC 7644 §3.4.2: totalResults counts it even on a page
            // that starts past it.
            Some(key) => {
                let found = self.store.group_by_key(req.scope.tenant, key)?;
                let total = u64::from(found.is_some());
                let on_page = query.offset == 0 && query.limit > 0;
                ListedGroups { total, rows: found.filter(|_| on_page).into_iter().collect() }
            }
            None => self.store.read(|tx| tx.list_groups(req.scope.tenant, &query))?,
        };
        let groups =
            listed.rows.iter().map(|row| self.group_view(row, req, &projection)).collect::<Result<Vec<_>>>()?;
        Ok(GroupList { total: listed.total, start_index: paging.start_index, groups })
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
                Ok(row)
            })
            .await?;
        self.group_view(&row, &req, &self.projection(&req))
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
        let looked_up = self.members_named_first(req.scope.tenant, &ops).await?;
        let checked = match &looked_up {
            Some(found) => self.patch_members_checked(ctx, &id, &ops, found, now).await?,
            None => None,
        };
        let row = match checked {
            Some(row) => row,
            None => self.patch_group_in_savepoint(ctx, id, ops, now).await?,
        };
        let wants_body = req.params.get("attributes").is_some() || req.params.get("excludedAttributes").is_some();
        if wants_body {
            self.group_view(&row, &req, &self.projection(&req)).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `patch_group`'s write in a savepoint of the group's lane: any PATCH.
    async fn patch_group_in_savepoint(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: String,
        ops: Vec<GroupOp>,
        now: DateTime<Utc>,
    ) -> Result<GroupRow> {
        let group_id = id.clone();
        self.write_for_group(ctx, &group_id, move |s, tx, req| {
            let (schema, id) = (s.group_schema(), id.as_str());
            let tenant = req.scope.tenant;
            if ops.is_empty() {
                return s.current_group(tx, req, id);
            }
            if let Some(row) = s.patch_members_only(tx, req, id, &ops, now)? {
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
            let current = s.current_group(tx, req, id)?;
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
                    GroupOp::Attributes(_) | GroupOp::RemoveAllMembers => Ok(Vec::new()),
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
        })
        .await
    }

    /// RFC 7644 §3.4.3 at the root: every resource type, users then groups, one page across
    /// both. A filter only one type understands selects nothing of the other; one neither
    /// understands is a 400.
    pub fn search_all(&self, req: &Request<'_>) -> Result<RootSearch> {
        let (user_projection, group_projection) = (self.user_projection(req), self.projection(req));
        let paging = list::paging(req.params, self.limits)?;
        let filters = super::filter::UserFilters::new(&self.registry);
        let (filter, sort_by, sort_order) =
            (req.params.get("filter"), req.params.get("sortBy"), req.params.get("sortOrder"));
        let user_query =
            filters.predicate(filter, req.compat).and_then(|p| Ok((p, filters.sort_key(sort_by, sort_order)?)));
        let group_query = group_filter::predicate(filter, req.compat)
            .and_then(|p| Ok((p, group_filter::sort_key(sort_by, sort_order)?)));
        let (user_query, group_query) = match (user_query, group_query) {
            (Err(e), Err(_)) => return Err(e),
            (u, g) => (u.ok(), g.ok()),
        };
        let offset = paging.start_index - 1;
        let (users, user_total, groups) = self.store.read(|tx| {
            let tenant = req.scope.tenant;
            let users = match &user_query {
                Some((predicate, sort)) => tx.list_users(
                    tenant,
                    &crate::store::UserListQuery {
                        predicate: predicate.clone(),
                        sort: sort.clone(),
                        offset,
                        limit: paging.count,
                    },
                )?,
                None => crate::store::ListedUsers { total: 0, rows: Vec::new() },
            };
            let remaining = paging.count - users.rows.len() as u64;
            let groups = match &group_query {
                Some((predicate, sort)) => tx.list_groups(
                    tenant,
                    &GroupListQuery {
                        predicate: predicate.clone(),
                        sort: sort.clone(),
                        offset: offset.saturating_sub(users.total),
                        limit: remaining,
                    },
                )?,
                None => crate::store::ListedGroups { total: 0, rows: Vec::new() },
            };
            let user_groups = self.groups_of(tx, req, &users.rows.iter().collect::<Vec<_>>(), &user_projection)?;
            Ok(((users.rows, user_groups), users.total, groups))
        })?;
        let (rows, user_groups) = users;
        let users = rows
            .iter()
            .map(|r| self.view(r, &user_groups, req, &user_projection).map(|u| u.body))
            .collect::<Result<Vec<_>>>()?;
        let group_views =
            groups.rows.iter().map(|row| self.group_view(row, req, &group_projection)).collect::<Result<Vec<_>>>()?;
        Ok(RootSearch { total: user_total + groups.total, start_index: paging.start_index, users, groups: group_views })
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
