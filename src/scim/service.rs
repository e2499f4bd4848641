//! The use cases behind the SCIM endpoints. Each request writes in one transaction; a write
//! that loses an optimistic-concurrency race is retried from a fresh read, so concurrent
//! PATCHes of one resource never lose an update.

use super::compat::Compat;
use super::filter;
use super::list::{self, PageLimits, QueryParams};
use super::preconditions::if_match_allows;
use super::projection::Projection;
use super::resource::{Canonical, ResourceSchema};
use super::schema::Registry;
use super::user::{self, RenderedUser};
use super::user_page::UserPage;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::predicate::UserKey;
use crate::store::{ListedUsers, Store, TenantId, Tx, UserAndGroups, UserGroup, UserListQuery, UserRow};
use std::sync::Arc;

/// A user list request, parsed: what `list_users` reads and how it writes the page.
struct UserList {
    projection: Projection,
    start_index: u64,
    query: UserListQuery,
}

/// Which tenant a request serves and where its resources live.
#[derive(Debug, Clone)]
pub struct TenantScope {
    pub tenant: TenantId,
    /// The tenant's SCIM Base URL, for `meta.location`.
    pub base_url: String,
    /// Strict RFC mode: the compatibility layer refuses instead of accepting.
    pub strict: bool,
}

/// Everything a use case needs to know about the request besides its body.
pub struct Request<'a> {
    pub scope: &'a TenantScope,
    /// `attributes`, `excludedAttributes` and, for lists, filter, sort and paging.
    pub params: &'a QueryParams,
    pub compat: &'a Compat,
    /// `If-Match` (RFC 7644 §3.14), checked against the version the write replaces (which the
    /// write itself checks is still current).
    pub if_match: Option<&'a str>,
    /// The id of the HTTP request, recorded with the events it causes.
    pub request_id: Option<&'a str>,
}

/// A request's context owned, which a `Request` borrows: a write's transaction runs on the
/// store's writer, after the handler that received the request has moved on.
pub struct RequestContext {
    pub scope: TenantScope,
    pub params: QueryParams,
    pub compat: Compat,
    pub if_match: Option<String>,
    pub request_id: Option<String>,
}

impl RequestContext {
    pub fn request(&self) -> Request<'_> {
        Request {
            scope: &self.scope,
            params: &self.params,
            compat: &self.compat,
            if_match: self.if_match.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

pub struct ScimService {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) registry: Registry,
    pub(super) limits: PageLimits,
    /// Members read per statement while a group's members are written out.
    pub(super) member_page_size: usize,
}

pub(super) fn user_not_found(id: &str) -> Error {
    Error::NotFound(format!("User {id} not found"))
}

/// A line naming what a request's body carried that no schema defines (IdP templates carry
/// custom attributes), at most one a second: Okta sends the same ones on every push, and a
/// body may name thousands, or one of most of a megabyte.
pub(super) fn note_dropped(c: &Canonical) {
    static LINES: crate::telemetry::LogThrottle = crate::telemetry::LogThrottle::new(1_000);
    if !c.dropped.is_empty() {
        if let Some(suppressed) = LINES.admit() {
            let (dropped, count) = (shown_names(&c.dropped), c.dropped.len());
            tracing::info!(?dropped, count, suppressed, "ignored attributes that no schema defines");
        }
    }
}

/// The first 20 names, each cut to 100 characters.
fn shown_names(names: &[String]) -> Vec<String> {
    names.iter().take(20).map(|n| crate::activity::clipped(n, 100)).collect()
}

/// `row` if the request's If-Match names its version (RFC 7644 §3.14), else 412.
pub(super) fn matching(req: &Request<'_>, row: UserRow) -> Result<UserRow> {
    if !if_match_allows(req.if_match, &user::etag(row.version)) {
        return Err(Error::PreconditionFailed);
    }
    Ok(row)
}

impl ScimService {
    pub fn new(store: Store, clock: Arc<dyn Clock>, limits: PageLimits, member_page_size: usize) -> Self {
        ScimService { store, clock, registry: Registry::load(), limits, member_page_size: member_page_size.max(1) }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn limits(&self) -> PageLimits {
        self.limits
    }

    pub fn member_page_size(&self) -> usize {
        self.member_page_size
    }

    pub(super) fn schema(&self) -> ResourceSchema<'_> {
        user::user_schema(&self.registry)
    }

    /// Runs `f` as one write (`Store::write_async`) with this service and the request's
    /// context, which the closure owns: it runs on the store's writer, after the caller's
    /// borrows have ended.
    pub(super) async fn write_for<R: Send + 'static>(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        mut f: impl FnMut(&ScimService, &mut Tx<'_>, &Request<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (service, ctx) = (self.clone(), ctx.clone());
        self.store.write_async(move |tx| f(&service, tx, &ctx.request())).await
    }

    /// `write_for` a write that changes the group `group_id`: it shares a commit with other
    /// writes of the same group (`Store::write_group_async`).
    pub(super) async fn write_for_group<R: Send + 'static>(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        group_id: &str,
        mut f: impl FnMut(&ScimService, &mut Tx<'_>, &Request<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (service, ctx) = (self.clone(), ctx.clone());
        let tenant = ctx.request().scope.tenant;
        self.store.write_group_async(tenant, group_id, move |tx| f(&service, tx, &ctx.request())).await
    }

    /// The user as the request asked to see it, with its read-only `groups` (RFC 7643
    /// §4.1.2: computed from memberships, direct and nested; `groups` may hold other users').
    pub(super) fn view(
        &self,
        row: &UserRow,
        groups: &[UserGroup],
        req: &Request<'_>,
        projection: &Projection,
    ) -> Result<RenderedUser> {
        self.render_listed(row, groups, &req.scope.base_url, projection)
    }

    /// `view` by the Base URL alone, for a page written after its request has returned.
    pub(super) fn render_listed(
        &self,
        row: &UserRow,
        groups: &[UserGroup],
        base_url: &str,
        projection: &Projection,
    ) -> Result<RenderedUser> {
        let mine: Vec<&UserGroup> = groups.iter().filter(|g| g.user_pk == row.pk).collect();
        user::render(row, &mine, base_url, &self.schema(), projection)
    }

    /// `attributes` / `excludedAttributes` of this request, parsed once for all its users.
    pub(super) fn user_projection(&self, req: &Request<'_>) -> Projection {
        Projection::parse(&self.schema(), req.params.get("attributes"), req.params.get("excludedAttributes"))
    }

    pub(super) fn groups_of(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        rows: &[&UserRow],
        projection: &Projection,
    ) -> Result<Vec<UserGroup>> {
        let members: Vec<i64> = rows.iter().filter(|r| r.in_groups).map(|r| r.pk).collect();
        if members.is_empty() || !projection.includes("groups") {
            return Ok(Vec::new());
        }
        tx.groups_of_users(req.scope.tenant, &members)
    }

    /// The user a write changes, locked against other writes until it commits
    /// (`Tx::lock_user_to_write`), and the groups its answer shows, by one statement; the
    /// groups are `None` when they need the recursive query (`with_groups_of`).
    pub(super) fn current_and_groups(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        id: &str,
        projection: &Projection,
    ) -> Result<(UserRow, Option<Vec<UserGroup>>)> {
        tx.lock_user_to_write(req.scope.tenant, id)?;
        let found = tx.user_and_groups(req.scope.tenant, UserKey::Id(id), projection.includes("groups"))?;
        let UserAndGroups { row, groups } = found.ok_or_else(|| user_not_found(id))?;
        Ok((matching(req, row)?, groups))
    }

    /// `row` and its groups: those `current_and_groups` read, else (nested groups) read now.
    pub(super) fn with_groups_of(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        row: UserRow,
        groups: Option<Vec<UserGroup>>,
        projection: &Projection,
    ) -> Result<(Vec<UserGroup>, UserRow)> {
        let groups = match groups {
            Some(groups) => groups,
            None => self.groups_of(tx, req, &[&row], projection)?,
        };
        Ok((groups, row))
    }

    /// The user a write changes, locked (`current_and_groups` without its groups, for DELETE).
    pub(super) fn current(&self, tx: &mut Tx<'_>, req: &Request<'_>, id: &str) -> Result<UserRow> {
        tx.lock_user_to_write(req.scope.tenant, id)?;
        matching(req, tx.user_by_id(req.scope.tenant, id)?.ok_or_else(|| user_not_found(id))?)
    }

    /// RFC 7644 §3.4.1.
    pub fn get_user(&self, req: &Request<'_>, id: &str) -> Result<RenderedUser> {
        let projection = self.user_projection(req);
        let found = self.store.user_and_groups(req.scope.tenant, UserKey::Id(id), projection.includes("groups"))?;
        self.view_found(found, req, id, &projection)
    }

    /// `get_user` if it can run without waiting (`Store::user_and_groups_now`), else `None`
    /// (also when the tenant's nested groups need a read transaction).
    pub fn get_user_now(&self, req: &Request<'_>, id: &str) -> Option<Result<RenderedUser>> {
        let projection = self.user_projection(req);
        match self.store.user_and_groups_now(req.scope.tenant, UserKey::Id(id), projection.includes("groups"))? {
            Ok(Some(UserAndGroups { groups: None, .. })) => None,
            found => Some(found.and_then(|found| self.view_found(found, req, id, &projection))),
        }
    }

    /// The user `Store::user_and_groups` found; in a tenant with nested groups, its groups
    /// through nesting too, read with the user again in one read transaction.
    fn view_found(
        &self,
        found: Option<UserAndGroups>,
        req: &Request<'_>,
        id: &str,
        projection: &Projection,
    ) -> Result<RenderedUser> {
        match found {
            None => Err(user_not_found(id)),
            Some(UserAndGroups { row, groups: Some(groups) }) => self.view(&row, &groups, req, projection),
            Some(UserAndGroups { groups: None, .. }) => {
                let (row, groups) = self.store.read(|tx| self.user_and_groups(tx, req, id, projection))?;
                self.view(&row, &groups, req, projection)
            }
        }
    }

    fn user_and_groups(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        id: &str,
        projection: &Projection,
    ) -> Result<(UserRow, Vec<UserGroup>)> {
        let row = tx.user_by_id(req.scope.tenant, id)?.ok_or_else(|| user_not_found(id))?;
        let groups = self.groups_of(tx, req, &[&row], projection)?;
        Ok((row, groups))
    }

    /// RFC 7644 §3.4.2: a page of users, filtered in SQL.
    pub fn list_users(&self, req: &Request<'_>) -> Result<UserPage> {
        let list = self.user_list(req)?;
        if let Some(key) = list.query.predicate.user_key() {
            let with_groups = list.projection.includes("groups");
            let found = self.store.user_and_groups(req.scope.tenant, key, with_groups)?;
            if without_nested_groups(&found) {
                return self.unique_key_page(req, list, found);
            }
        }
        let (listed, groups) = self.store.read(|tx| self.read_user_page(tx, req, &list))?;
        self.render_user_page(req, list, listed, groups)
    }

    /// `list_users` if it cannot be slow and need not wait: its filter selects by a unique
    /// index (Okta's `userName eq` pre-check before every create) and
    /// `Store::user_and_groups_now` has a connection. `None` otherwise, without reading.
    pub fn list_users_now(&self, req: &Request<'_>) -> Option<Result<UserPage>> {
        let list = match self.user_list(req) {
            Ok(list) => list,
            Err(e) => return Some(Err(e)),
        };
        let key = list.query.predicate.user_key()?;
        let with_groups = list.projection.includes("groups");
        let found = match self.store.user_and_groups_now(req.scope.tenant, key, with_groups)? {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        without_nested_groups(&found).then(|| self.unique_key_page(req, list, found))
    }

    /// The page of a filter that selects by a unique key, from the user (if any) that
    /// `Store::user_and_groups` found with its groups.
    fn unique_key_page(&self, req: &Request<'_>, list: UserList, found: Option<UserAndGroups>) -> Result<UserPage> {
        let (rows, groups) = match found {
            None => (Vec::new(), Vec::new()),
            Some(UserAndGroups { row, groups }) => (vec![row], groups.unwrap_or_default()),
        };
        let total = rows.len() as u64;
        let rows = if list.query.offset == 0 && list.query.limit > 0 { rows } else { Vec::new() };
        self.render_user_page(req, list, ListedUsers { total, rows }, groups)
    }

    fn user_list(&self, req: &Request<'_>) -> Result<UserList> {
        let projection = self.user_projection(req);
        let paging = list::paging(req.params, self.limits, req.compat)?;
        let filters = filter::UserFilters::new(&self.registry).at(&req.scope.base_url);
        let query = UserListQuery {
            predicate: filters.predicate(req.params.get("filter"), req.compat)?,
            sort: filters.sort_key(req.params.get("sortBy"), req.params.get("sortOrder"))?,
            offset: paging.start_index - 1,
            limit: paging.count,
        };
        Ok(UserList { projection, start_index: paging.start_index, query })
    }

    fn read_user_page(
        &self,
        tx: &mut Tx<'_>,
        req: &Request<'_>,
        list: &UserList,
    ) -> Result<(ListedUsers, Vec<UserGroup>)> {
        let listed = tx.list_users(req.scope.tenant, &list.query)?;
        let rows: Vec<&UserRow> = listed.rows.iter().collect();
        let groups = self.groups_of(tx, req, &rows, &list.projection)?;
        Ok((listed, groups))
    }

    fn render_user_page(
        &self,
        req: &Request<'_>,
        list: UserList,
        listed: ListedUsers,
        groups: Vec<UserGroup>,
    ) -> Result<UserPage> {
        let base_url = &req.scope.base_url;
        self.user_page(listed.total, list.start_index, listed.rows, groups, base_url, list.projection)
    }
}

/// Whether `Store::user_and_groups` found no user, or one with its groups: `None` groups need
/// the tenant's nested groups, which the read transaction finds.
fn without_nested_groups(found: &Option<UserAndGroups>) -> bool {
    !matches!(found, Some(UserAndGroups { groups: None, .. }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_names_at_most_20_dropped_attributes_of_100_characters() {
        let names: Vec<String> = (0..1_000).map(|i| format!("{i}{}", "x".repeat(500))).collect();
        let shown = super::shown_names(&names);
        assert_eq!(shown.len(), 20);
        assert!(shown.iter().all(|n| n.chars().count() == 100), "{shown:?}");
        assert_eq!(super::shown_names(&["title".into()]), ["title"]);
    }
}
