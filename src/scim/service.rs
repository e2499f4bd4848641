//! The use cases behind the SCIM endpoints. Each request is one transaction; a write that
//! loses an optimistic-concurrency race is retried from a fresh read, so concurrent PATCHes
//! of one resource never lose an update.

use super::compat::{Compat, Rule};
use super::events;
use super::list::{self, PageLimits, QueryParams};
use super::projection::Projection;
use super::resource::{Canonical, ResourceSchema};
use super::schema::Registry;
use super::user::{self, RenderedUser};
use super::{filter, patch};
use crate::auth::secrets::hash_secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::predicate::Predicate;
use crate::store::{ListedUsers, NewUser, Store, TenantId, Tx, UserAndGroups, UserGroup, UserListQuery, UserRow};
use serde_json::Value;
use std::sync::Arc;

/// A user list request, parsed: what `list_users` reads and how it writes the page.
struct UserList {
    projection: Projection,
    start_index: u64,
    query: UserListQuery,
}

/// How often a write that lost a race is tried again before the client is told to retry.
const MAX_WRITE_ATTEMPTS: usize = 16;

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
    /// `If-Match` (RFC 7644 §3.14), checked inside the write's transaction.
    pub if_match: Option<&'a str>,
    /// The id of the HTTP request, recorded with the events it causes.
    pub request_id: Option<&'a str>,
}

pub struct ScimService {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) registry: Registry,
    pub(super) limits: PageLimits,
}

fn user_not_found(id: &str) -> Error {
    Error::NotFound(format!("User {id} not found"))
}

fn note_dropped(c: &Canonical) {
    if !c.dropped.is_empty() {
        tracing::info!(dropped = ?c.dropped, "ignored attributes that no schema defines");
    }
}

/// RFC 7232 §3.1 over weak tags: `*`, or a list naming the current version.
pub fn if_match_allows(header: Option<&str>, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").trim_matches('"').to_string();
    match header {
        None => true,
        Some(h) => h.split(',').any(|t| t.trim() == "*" || opaque(t) == opaque(etag)),
    }
}

impl ScimService {
    pub fn new(store: Store, clock: Arc<dyn Clock>, limits: PageLimits) -> Self {
        ScimService { store, clock, registry: Registry::load(), limits }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn limits(&self) -> PageLimits {
        self.limits
    }

    fn schema(&self) -> ResourceSchema<'_> {
        user::user_schema(&self.registry)
    }

    pub(super) fn write_retrying<R: Send>(&self, mut f: impl FnMut(&mut Tx<'_>) -> Result<R> + Send) -> Result<R> {
        let mut attempt = 1;
        loop {
            match self.store.write(&mut f) {
                Err(Error::WriteConflict) if attempt < MAX_WRITE_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
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
        let mine: Vec<&UserGroup> = groups.iter().filter(|g| g.user_pk == row.pk).collect();
        user::render(row, &mine, &req.scope.base_url, &self.schema(), projection)
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

    pub(super) fn current(&self, tx: &mut Tx<'_>, req: &Request<'_>, id: &str) -> Result<UserRow> {
        let row = tx.user_by_id(req.scope.tenant, id)?.ok_or_else(|| user_not_found(id))?;
        if !if_match_allows(req.if_match, &user::etag(row.version)) {
            return Err(Error::PreconditionFailed);
        }
        Ok(row)
    }

    /// RFC 7644 §3.3.
    pub fn create_user(&self, req: &Request<'_>, body: &Value) -> Result<RenderedUser> {
        let schema = self.schema();
        let mut c = schema.canonicalize_request(body, req.compat)?;
        note_dropped(&c);
        user::default_active(&mut c.attrs);
        let write = user::derive_write(&schema, &c.attrs)?;
        // Hashed before the transaction: argon2 takes milliseconds the writer should not wait.
        let password_hash = user::password_of(&c).map(hash_secret).transpose()?;
        let new = NewUser { id: uuid::Uuid::new_v4().to_string(), write, password_hash, now: self.clock.now() };
        let row = self.store.write(|tx| {
            let row = tx.insert_user(req.scope.tenant, &new)?;
            let created = events::user_created(&row.id, &user::stored_attrs(&row)?);
            tx.append_events(req.scope.tenant, &[created], req.request_id, new.now)?;
            Ok(row)
        })?;
        self.view(&row, &[], req, &self.user_projection(req))
    }

    /// RFC 7644 §3.4.1.
    pub fn get_user(&self, req: &Request<'_>, id: &str) -> Result<RenderedUser> {
        let projection = self.user_projection(req);
        let found =
            self.store.user_and_groups(req.scope.tenant, &Predicate::id_is(id), projection.includes("groups"))?;
        self.view_found(found, req, id, &projection)
    }

    /// `get_user` if it can run without waiting (`Store::user_and_groups_now`), else `None`
    /// (also when the tenant's nested groups need a read transaction).
    pub fn get_user_now(&self, req: &Request<'_>, id: &str) -> Option<Result<RenderedUser>> {
        let projection = self.user_projection(req);
        let by_id = Predicate::id_is(id);
        match self.store.user_and_groups_now(req.scope.tenant, &by_id, projection.includes("groups"))? {
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
    pub fn list_users(&self, req: &Request<'_>) -> Result<String> {
        let list = self.user_list(req)?;
        if list.query.predicate.selects_one_by_unique_key() {
            let with_groups = list.projection.includes("groups");
            let found = self.store.user_and_groups(req.scope.tenant, &list.query.predicate, with_groups)?;
            if let Some(page) = self.unique_key_page(req, &list, found) {
                return page;
            }
        }
        let (listed, groups) = self.store.read(|tx| self.read_user_page(tx, req, &list))?;
        self.render_user_page(req, &list, &listed, &groups)
    }

    /// `list_users` if it cannot be slow and need not wait: its filter selects by a unique
    /// index (Okta's `userName eq` pre-check before every create) and
    /// `Store::user_and_groups_now` has a connection. `None` otherwise, without reading.
    pub fn list_users_now(&self, req: &Request<'_>) -> Option<Result<String>> {
        let list = match self.user_list(req) {
            Ok(list) => list,
            Err(e) => return Some(Err(e)),
        };
        if !list.query.predicate.selects_one_by_unique_key() {
            return None;
        }
        let with_groups = list.projection.includes("groups");
        match self.store.user_and_groups_now(req.scope.tenant, &list.query.predicate, with_groups)? {
            Ok(found) => self.unique_key_page(req, &list, found),
            Err(e) => Some(Err(e)),
        }
    }

    /// The page of a filter that selects by a unique key, from the user (if any) that
    /// `Store::user_and_groups` found; `None` when the tenant's nested groups need the read
    /// transaction instead.
    fn unique_key_page(
        &self,
        req: &Request<'_>,
        list: &UserList,
        found: Option<UserAndGroups>,
    ) -> Option<Result<String>> {
        let (rows, groups) = match found {
            None => (Vec::new(), Vec::new()),
            Some(UserAndGroups { row, groups: Some(groups) }) => (vec![row], groups),
            Some(UserAndGroups { groups: None, .. }) => return None,
        };
        let total = rows.len() as u64;
        let rows = if list.query.offset == 0 && list.query.limit > 0 { rows } else { Vec::new() };
        Some(self.render_user_page(req, list, &ListedUsers { total, rows }, &groups))
    }

    fn user_list(&self, req: &Request<'_>) -> Result<UserList> {
        let projection = self.user_projection(req);
        let paging = list::paging(req.params, self.limits)?;
        let filters = filter::UserFilters::new(&self.registry);
        let query = UserListQuery {
            predicate: filters.predicate(req.params.get("filter"))?,
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
        list: &UserList,
        listed: &ListedUsers,
        groups: &[UserGroup],
    ) -> Result<String> {
        let resources = listed
            .rows
            .iter()
            .map(|row| self.view(row, groups, req, &list.projection).map(|u| u.body))
            .collect::<Result<Vec<_>>>()?;
        Ok(list::list_text(listed.total, list.start_index, &resources))
    }

    /// RFC 7644 §3.5.1: replaces every writable attribute. `id`, `meta` and `groups` in the
    /// body are read-only and ignored (IdPs echo what they read).
    pub fn replace_user(&self, req: &Request<'_>, id: &str, body: &Value) -> Result<RenderedUser> {
        let projection = self.user_projection(req);
        let schema = self.schema();
        let c = schema.canonicalize_request(body, req.compat)?;
        note_dropped(&c);
        let keep_active = !c.attrs.contains_key("active") && req.compat.prefer(Rule::PutKeepsActive);
        let password = user::password_of(&c).filter(|_| !req.compat.prefer(Rule::PutIgnoresPassword));
        let password_hash = password.map(hash_secret).transpose()?;
        let now = self.clock.now();
        let row = self.write_retrying(|tx| {
            let current = self.current(tx, req, id)?;
            let mut attrs = c.attrs.clone();
            if keep_active {
                if let Some(active) = user::stored_attrs(&current)?.get("active") {
                    attrs.insert("active".into(), active.clone());
                }
            }
            let write = user::derive_write(&schema, &attrs)?;
            let row = tx.update_user(req.scope.tenant, &current, &write, password_hash.as_deref(), now)?;
            let changes = events::user_changed(
                id,
                &user::stored_attrs(&current)?,
                &user::stored_attrs(&row)?,
                password_hash.is_some(),
            );
            tx.append_events(req.scope.tenant, &changes, req.request_id, now)?;
            Ok((self.groups_of(tx, req, &[&row], &projection)?, row))
        })?;
        self.view(&row.1, &row.0, req, &projection)
    }

    /// RFC 7644 §3.5.2: all operations apply, and the result validates, or nothing changes.
    pub fn patch_user(&self, req: &Request<'_>, id: &str, body: &Value) -> Result<RenderedUser> {
        let projection = self.user_projection(req);
        let ops = patch::parse_request(body, req.compat)?;
        let schema = self.schema();
        let now = self.clock.now();
        let row = self.write_retrying(|tx| {
            let current = self.current(tx, req, id)?;
            let stored = user::stored_attrs(&current)?;
            let mut doc = stored.clone();
            patch::apply(&schema, &mut doc, &ops, req.compat)?;
            let c = schema.canonicalize(&Value::Object(doc), req.compat)?;
            let password_hash = user::password_of(&c).map(hash_secret).transpose()?;
            let row = if c.attrs == stored && password_hash.is_none() {
                // Nothing changed (e.g. an add of what is there): keep the version.
                current
            } else {
                let write = user::derive_write(&schema, &c.attrs)?;
                let row = tx.update_user(req.scope.tenant, &current, &write, password_hash.as_deref(), now)?;
                let changes = events::user_changed(id, &stored, &user::stored_attrs(&row)?, password_hash.is_some());
                tx.append_events(req.scope.tenant, &changes, req.request_id, now)?;
                row
            };
            Ok((self.groups_of(tx, req, &[&row], &projection)?, row))
        })?;
        self.view(&row.1, &row.0, req, &projection)
    }

    /// RFC 7644 §3.6.
    pub fn delete_user(&self, req: &Request<'_>, id: &str) -> Result<()> {
        self.store.write(|tx| {
            let current = self.current(tx, req, id)?;
            tx.delete_user(req.scope.tenant, &current)?;
            let deleted = events::user_deleted(id, &user::stored_attrs(&current)?);
            tx.append_events(req.scope.tenant, &[deleted], req.request_id, self.clock.now())
        })
    }
}
