//! How a PUT or PATCH of a user (RFC 7644 §3.5.1, §3.5.2) reaches the store: a plan made from
//! the stored user, written only while the user is still at the version it was made from.

use super::projection::Projection;
use super::service::{matching, user_not_found, Request, RequestContext, ScimService};
use crate::error::{Error, Result};
use crate::store::predicate::UserKey;
use crate::store::{PlannedUserWrite, Stopped, Tx, UserAndGroups, UserGroup, UserRow};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What a PUT or PATCH makes of the stored user.
pub(super) enum UserPlan {
    /// Nothing to write (a PATCH that adds what is there): the version stays.
    Unchanged,
    Write(Box<PlannedUserWrite>),
    /// A PATCH whose result sets this password, whose hash is not known yet.
    HashFirst(String),
}

/// How a PUT or PATCH ended.
pub(super) enum Changed {
    Done(Vec<UserGroup>, UserRow),
    /// Nothing was written: hash this password and run the PATCH again.
    HashFirst(String),
}

/// Makes a plan from the user as stored; it is made again whenever the user changed before
/// the plan was written.
pub(super) trait Plan:
    Fn(&ScimService, &Request<'_>, &UserRow) -> Result<UserPlan> + Send + Sync + 'static
{
}
impl<F: Fn(&ScimService, &Request<'_>, &UserRow) -> Result<UserPlan> + Send + Sync + 'static> Plan for F {}

impl ScimService {
    /// Reads the user `id`, checks `If-Match` against it (RFC 7644 §3.14), and writes what
    /// `plan` makes of it, answering with the user's groups as well.
    ///
    /// First the plan is made from a read taken before the write. On SQLite the user is read
    /// on the one writer, whose page cache holds its pages, the plan is made here, and the
    /// writer writes it (`plan_between_writes`). On PostgreSQL the user is read by one
    /// statement outside any transaction and the plan is written by one message that checks
    /// the version (`Store::write_planned_user`): two round trips instead of four
    /// (`plan_then_write`). Should the user have changed in between, all of it runs again in
    /// one transaction that reads the user under a lock (`current_and_groups`), so a busy
    /// user's write waits its turn instead of losing the race again and again.
    pub(super) async fn change_user(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: Arc<str>,
        projection: Arc<Projection>,
        now: DateTime<Utc>,
        plan: impl Plan,
    ) -> Result<Changed> {
        let plan = Arc::new(plan);
        let planned_first = if self.store.plans_user_writes_first() {
            let (service, ctx, id, projection, plan) =
                (self.clone(), ctx.clone(), id.clone(), projection.clone(), plan.clone());
            let planned_first = move || service.plan_then_write(&ctx.request(), &id, &projection, now, &*plan);
            self.store.offload(planned_first).await?
        } else {
            self.plan_between_writes(ctx, &id, &projection, now, &*plan).await?
        };
        if let Some(changed) = planned_first {
            return Ok(changed);
        }
        self.write_for(ctx, move |s, tx, req| {
            let (current, groups) = s.current_and_groups(tx, req, &id, &projection)?;
            let row = match plan(s, req, &current)? {
                UserPlan::Unchanged => current,
                UserPlan::HashFirst(password) => return Ok(Changed::HashFirst(password)),
                UserPlan::Write(planned) => {
                    tx.write_planned_user(req.scope.tenant, &current, &planned, req.request_id, now)?
                }
            };
            let (groups, row) = s.with_groups_of(tx, req, row, groups, &projection)?;
            Ok(Changed::Done(groups, row))
        })
        .await
    }

    /// `change_user` on SQLite with the plan made here, off the one writer: the user is read on
    /// the writer between two writes (where its pages are cached), and the writer is given only
    /// the write, which checks that the user is still at the version read. `None` when this
    /// cannot answer: the user changed meanwhile, or nothing is to be written but what was read
    /// is not durable yet (or its groups need a read of their own); the caller then runs it all
    /// on the writer, where nothing comes between the read and the write.
    async fn plan_between_writes(
        self: &Arc<Self>,
        ctx: &Arc<RequestContext>,
        id: &Arc<str>,
        projection: &Arc<Projection>,
        now: DateTime<Utc>,
        plan: &impl Plan,
    ) -> Result<Option<Changed>> {
        let req = ctx.request();
        let with_groups = projection.includes("groups");
        let Some(read) = self.store.user_and_groups_on_writer(req.scope.tenant, id.clone(), with_groups).await else {
            return Ok(None);
        };
        let (found, mark) = read?;
        let UserAndGroups { row, groups } = found.ok_or_else(|| user_not_found(id))?;
        let current = matching(&req, row)?;
        let planned = match plan(self.as_ref(), &req, &current)? {
            UserPlan::Write(planned) => planned,
            UserPlan::HashFirst(password) => return Ok(Some(Changed::HashFirst(password))),
            UserPlan::Unchanged => {
                return Ok(match groups {
                    Some(groups) if !mark.saw_uncommitted() => Some(Changed::Done(groups, current)),
                    _ => None,
                })
            }
        };
        let (service, ctx, projection) = (self.clone(), ctx.clone(), projection.clone());
        let write = move |tx: &mut Tx<'_>| {
            let req = ctx.request();
            let row = tx.write_planned_user_unguarded(req.scope.tenant, &current, &planned, req.request_id, now)?;
            service.with_groups_of(tx, &req, row, groups, &projection).map_err(Stopped::After)
        };
        match self.store.write_after_read(mark, write).await {
            Ok((groups, row)) => Ok(Some(Changed::Done(groups, row))),
            Err(Error::WriteConflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `change_user` on PostgreSQL, on a blocking thread: `None` when the user changed
    /// between the read and the write, which then wrote nothing.
    fn plan_then_write(
        &self,
        req: &Request<'_>,
        id: &str,
        projection: &Projection,
        now: DateTime<Utc>,
        plan: &impl Plan,
    ) -> Result<Option<Changed>> {
        let tenant = req.scope.tenant;
        let found = self.store.user_and_groups(tenant, UserKey::Id(id), projection.includes("groups"))?;
        let UserAndGroups { row, groups } = found.ok_or_else(|| user_not_found(id))?;
        let current = matching(req, row)?;
        let row = match plan(self, req, &current)? {
            UserPlan::Unchanged => current,
            UserPlan::HashFirst(password) => return Ok(Some(Changed::HashFirst(password))),
            UserPlan::Write(planned) => {
                match self.store.write_planned_user(tenant, &current, &planned, req.request_id, now) {
                    Err(Error::WriteConflict) => return Ok(None),
                    written => written?,
                }
            }
        };
        // No write of a user changes its groups, so those read with it stand; through
        // nested groups (`None`) they need a read of their own.
        let groups = match groups {
            Some(groups) => groups,
            None => self.store.read(|tx| self.groups_of(tx, req, &[&row], projection))?,
        };
        Ok(Some(Changed::Done(groups, row)))
    }
}
