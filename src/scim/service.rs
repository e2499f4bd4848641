//! The use cases behind the SCIM endpoints. Each request is one transaction; a write that
//! loses an optimistic-concurrency race is retried from a fresh read, so concurrent PATCHes
//! of one resource never lose an update.

use super::list::{self, PageLimits, QueryParams};
use super::resource::Canonical;
use super::schema::Registry;
use super::user::{self, RenderedUser};
use super::{filter, patch};
use crate::auth::secrets::hash_secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{NewUser, Store, TenantId, Tx, UserListQuery};
use serde_json::Value;
use std::sync::Arc;

/// How often a write that lost a race is tried again before the client is told to retry.
const MAX_WRITE_ATTEMPTS: usize = 16;

/// Which tenant a request serves and where its resources live.
#[derive(Debug, Clone)]
pub struct TenantScope {
    pub tenant: TenantId,
    /// The tenant's SCIM Base URL, for `meta.location`.
    pub base_url: String,
}

pub struct ScimService {
    store: Store,
    clock: Arc<dyn Clock>,
    registry: Registry,
    limits: PageLimits,
}

fn user_not_found(id: &str) -> Error {
    Error::NotFound(format!("User {id} not found"))
}

fn note_dropped(c: &Canonical) {
    if !c.dropped.is_empty() {
        tracing::info!(dropped = ?c.dropped, "ignored attributes that no schema defines");
    }
}

impl ScimService {
    pub fn new(store: Store, clock: Arc<dyn Clock>, limits: PageLimits) -> Self {
        ScimService { store, clock, registry: Registry::load(), limits }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn write_retrying<R>(&self, mut f: impl FnMut(&mut Tx<'_>) -> Result<R>) -> Result<R> {
        let mut attempt = 1;
        loop {
            match self.store.write(&mut f) {
                Err(Error::WriteConflict) if attempt < MAX_WRITE_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// RFC 7644 §3.3.
    pub fn create_user(&self, scope: &TenantScope, body: &Value) -> Result<RenderedUser> {
        let schema = user::user_schema(&self.registry);
        let mut c = schema.canonicalize(body)?;
        note_dropped(&c);
        user::default_active(&mut c.attrs);
        let write = user::derive_write(&schema, &c.attrs)?;
        // Hashed before the transaction: argon2 takes milliseconds the writer should not wait.
        let password_hash = user::password_of(&c).map(hash_secret).transpose()?;
        let new = NewUser { id: uuid::Uuid::new_v4().to_string(), write, password_hash, now: self.clock.now() };
        let row = self.store.write(|tx| tx.insert_user(scope.tenant, &new))?;
        user::render(&row, &scope.base_url)
    }

    /// RFC 7644 §3.4.1.
    pub fn get_user(&self, scope: &TenantScope, id: &str) -> Result<RenderedUser> {
        let row = self.store.read(|tx| tx.user_by_id(scope.tenant, id))?.ok_or_else(|| user_not_found(id))?;
        user::render(&row, &scope.base_url)
    }

    /// RFC 7644 §3.4.2: a page of users, filtered in SQL.
    pub fn list_users(&self, scope: &TenantScope, params: &QueryParams) -> Result<Value> {
        let paging = list::paging(params, self.limits)?;
        let filters = filter::UserFilters::new(&self.registry);
        let query = UserListQuery {
            predicate: filters.predicate(params.get("filter"))?,
            sort: filters.sort_key(params.get("sortBy"), params.get("sortOrder"))?,
            offset: paging.start_index - 1,
            limit: paging.count,
        };
        let listed = self.store.read(|tx| tx.list_users(scope.tenant, &query))?;
        let resources = listed
            .rows
            .iter()
            .map(|row| user::render(row, &scope.base_url).map(|u| u.body))
            .collect::<Result<Vec<_>>>()?;
        Ok(list::list_response(listed.total, paging.start_index, resources))
    }

    /// RFC 7644 §3.5.1: replaces every writable attribute. `id`, `meta`, `groups` and
    /// `password` in the body are ignored (IdPs echo what they read); a body without `active`
    /// keeps the current value, since Okta and OneLogin PUT templates that omit it.
    pub fn replace_user(&self, scope: &TenantScope, id: &str, body: &Value) -> Result<RenderedUser> {
        let schema = user::user_schema(&self.registry);
        let c = schema.canonicalize(body)?;
        note_dropped(&c);
        let now = self.clock.now();
        let row = self.write_retrying(|tx| {
            let current = tx.user_by_id(scope.tenant, id)?.ok_or_else(|| user_not_found(id))?;
            let mut attrs = c.attrs.clone();
            if !attrs.contains_key("active") {
                let stored = user::stored_attrs(&current)?;
                attrs.insert("active".into(), stored.get("active").cloned().unwrap_or(Value::Bool(true)));
            }
            let write = user::derive_write(&schema, &attrs)?;
            tx.update_user(scope.tenant, &current, &write, None, now)
        })?;
        user::render(&row, &scope.base_url)
    }

    /// RFC 7644 §3.5.2: all operations apply, and the result validates, or nothing changes.
    pub fn patch_user(&self, scope: &TenantScope, id: &str, body: &Value) -> Result<RenderedUser> {
        let ops = patch::parse_request(body)?;
        let schema = user::user_schema(&self.registry);
        let now = self.clock.now();
        let row = self.write_retrying(|tx| {
            let current = tx.user_by_id(scope.tenant, id)?.ok_or_else(|| user_not_found(id))?;
            let stored = user::stored_attrs(&current)?;
            let mut doc = stored.clone();
            patch::apply(&schema, &mut doc, &ops)?;
            let c = schema.canonicalize(&Value::Object(doc))?;
            let password_hash = user::password_of(&c).map(hash_secret).transpose()?;
            if c.attrs == stored && password_hash.is_none() {
                // Nothing changed (e.g. Entra's empty Operations): keep the version.
                return Ok(current);
            }
            let write = user::derive_write(&schema, &c.attrs)?;
            tx.update_user(scope.tenant, &current, &write, password_hash.as_deref(), now)
        })?;
        user::render(&row, &scope.base_url)
    }

    /// RFC 7644 §3.6.
    pub fn delete_user(&self, scope: &TenantScope, id: &str) -> Result<()> {
        if self.store.write(|tx| tx.delete_user(scope.tenant, id))? {
            Ok(())
        } else {
            Err(user_not_found(id))
        }
    }
}
