//! User writes (RFC 7644 §3.3, §3.5.1, §3.5.2, §3.6): the body is checked and prepared on the
//! caller's thread, the write runs in the store (a PUT or PATCH as a plan of the stored user,
//! `user_change`), and the answer is rendered back on the caller's thread once the commit is
//! durable.

use super::compat::Rule;
use super::events;
use super::patch;
use super::service::{note_dropped, Request, RequestContext, ScimService};
use super::user::{self, RenderedUser};
use super::user_change::{Changed, UserPlan};
use crate::auth::secrets::hash_secret;
use crate::error::{Error, Result};
use crate::store::{NewUser, PlannedUserWrite, UserRow, MAX_WRITE_ATTEMPTS};
use serde_json::Value;
use std::sync::Arc;

/// Argon2 takes tens of milliseconds: on the blocking pool, never on an async worker or on
/// the store's one writer.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_secret(&password)).await.map_err(Error::internal)?
}

async fn hash_if_given(password: Option<&str>) -> Result<Option<String>> {
    match password {
        Some(p) => hash_password(p.to_string()).await.map(Some),
        None => Ok(None),
    }
}

impl ScimService {
    /// RFC 7644 §3.3.
    pub async fn create_user(self: &Arc<Self>, ctx: &Arc<RequestContext>, body: &Value) -> Result<RenderedUser> {
        let req = ctx.request();
        let schema = self.schema();
        let mut c = schema.canonicalize_request(body, req.compat)?;
        note_dropped(&c);
        user::default_active(&mut c.attrs);
        let write = user::derive_write(&schema, &c.attrs)?;
        let password_hash = hash_if_given(user::password_of(&c)).await?;
        let now = self.clock.now();
        let new = NewUser { id: super::new_resource_id(now), write, password_hash, now };
        // The event is the attributes stored, known before the writer runs.
        let created = vec![events::user_created(&new.id, &c.attrs)];
        let request_id = req.request_id.map(str::to_string);
        let row = self.store.insert_user(req.scope.tenant, new, created, request_id).await?;
        self.view(&row, &[], &req, &self.user_projection(&req))
    }

    /// RFC 7644 §3.5.1: replaces every writable attribute. `id`, `meta` and `groups` in the
    /// body are read-only and ignored (IdPs echo what they read).
    pub async fn replace_user(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: String,
        body: &Value,
    ) -> Result<RenderedUser> {
        let req = ctx.request();
        let projection = Arc::new(self.user_projection(&req));
        let c = self.schema().canonicalize_request(body, req.compat)?;
        note_dropped(&c);
        let keep_active = !c.attrs.contains_key("active") && req.compat.prefer(Rule::PutKeepsActive);
        let password = user::password_of(&c).filter(|_| !req.compat.prefer(Rule::PutIgnoresPassword));
        let password_hash = hash_if_given(password).await?;
        let now = self.clock.now();
        let attrs = c.attrs;
        // Okta's push names `active`: then the row to write does not depend on the stored one.
        let write = (!keep_active).then(|| user::derive_write(&self.schema(), &attrs)).transpose()?;
        let user_id = id.clone();
        let plan = move |s: &ScimService, _: &Request<'_>, current: &UserRow| -> Result<UserPlan> {
            let stored = user::stored_attrs(current)?;
            let kept = keep_active.then(|| {
                let mut kept = attrs.clone();
                if let Some(active) = stored.get("active") {
                    kept.insert("active".into(), active.clone());
                }
                kept
            });
            let attrs = kept.as_ref().unwrap_or(&attrs);
            if *attrs == stored && password_hash.is_none() {
                // Okta pushes the whole profile whenever anything in Okta changes, mapped to
                // SCIM or not. A push of what is stored changes nothing: the version and
                // lastModified stay (RFC 7643 §3.1, RFC 7644 §3.14), as for such a PATCH.
                return Ok(UserPlan::Unchanged);
            }
            let write = match &write {
                Some(write) => write.clone(),
                None => user::derive_write(&s.schema(), attrs)?,
            };
            let events = events::user_changed(&user_id, &stored, attrs, password_hash.is_some());
            let was = user::keys_of(&stored)?;
            Ok(UserPlan::Write(Box::new(PlannedUserWrite { was, write, password_hash: password_hash.clone(), events })))
        };
        match self.change_user(ctx, id.into(), projection.clone(), now, plan).await? {
            Changed::Done(groups, row) => self.view(&row, &groups, &req, &projection),
            Changed::HashFirst(_) => Err(Error::internal("a PUT asked for its password's hash")),
        }
    }

    /// RFC 7644 §3.5.2: all operations apply, and the result validates, or nothing changes.
    pub async fn patch_user(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: String,
        body: &Value,
    ) -> Result<RenderedUser> {
        let req = ctx.request();
        let projection = Arc::new(self.user_projection(&req));
        let ops = Arc::new(patch::parse_request(body, req.compat)?);
        let now = self.clock.now();
        let id: Arc<str> = id.into();
        // A PATCH that sets a password stops before writing, hashes it off the writer, and
        // runs again with the hash.
        let mut hashed: Option<Arc<(String, String)>> = None;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let (ops, user_id, known) = (ops.clone(), id.clone(), hashed.clone());
            let plan = move |s: &ScimService, req: &Request<'_>, current: &UserRow| -> Result<UserPlan> {
                let schema = s.schema();
                let stored = user::stored_attrs(current)?;
                let mut doc = stored.clone();
                patch::apply(&schema, &mut doc, &ops, req.compat)?;
                if doc == stored {
                    // Nothing changed (an add of what is there, Okta's `active` set to what it
                    // is): the stored attributes are canonical already, so they are not checked
                    // again on the writer (32,000 instructions under callgrind).
                    return Ok(UserPlan::Unchanged);
                }
                let c = schema.canonicalize(&Value::Object(doc), req.compat)?;
                let password_hash = match (user::password_of(&c), known.as_deref()) {
                    (None, _) => None,
                    (Some(p), Some((q, hash))) if p == q => Some(hash.clone()),
                    (Some(p), _) => return Ok(UserPlan::HashFirst(p.to_string())),
                };
                if c.attrs == stored && password_hash.is_none() {
                    // Nothing changed (e.g. an add of what is there): keep the version.
                    return Ok(UserPlan::Unchanged);
                }
                let write = user::derive_write(&schema, &c.attrs)?;
                let events = events::user_changed(&user_id, &stored, &c.attrs, password_hash.is_some());
                let was = user::keys_of(&stored)?;
                Ok(UserPlan::Write(Box::new(PlannedUserWrite { was, write, password_hash, events })))
            };
            match self.change_user(ctx, id.clone(), projection.clone(), now, plan).await? {
                Changed::Done(groups, row) => return self.view(&row, &groups, &req, &projection),
                Changed::HashFirst(password) => {
                    let hash = hash_password(password.clone()).await?;
                    hashed = Some(Arc::new((password, hash)));
                }
            }
        }
        Err(Error::internal("the password to set kept changing while it was hashed"))
    }

    /// RFC 7644 §3.6.
    pub async fn delete_user(self: &Arc<Self>, ctx: &Arc<RequestContext>, id: String) -> Result<()> {
        let now = self.clock.now();
        self.write_for(ctx, move |s, tx, req| {
            let current = s.current(tx, req, &id)?;
            tx.delete_user(req.scope.tenant, &current)?;
            let deleted = events::user_deleted(&id, &user::stored_attrs(&current)?);
            tx.append_events(req.scope.tenant, &[deleted], req.request_id, now)
        })
        .await
    }
}
