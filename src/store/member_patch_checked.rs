//! PATCHes of a group's members alone on PostgreSQL, each done whole or not at all, If-Match
//! and events included, several to a statement: `scimd_patch_members_many` (migrations 000025
//! and 000026). They need no savepoint in the group's lane, and those queued there at once
//! share one round trip (`group_lanes`): the lane runs a group's changes one at a time, so
//! each round trip was time every change queued behind it waited for. A run of one group's PATCHes locks the
//! group's row at its first and writes its last version after its last, if any of them changed
//! a member (RFC 7644 §3.14: a PATCH that changes nothing leaves the version as it was).

use super::groups::{from_columns, GroupRow};
use super::members::display_norm;
use super::savepoint::Stopped;
use super::stored_time::StoredTime;
use super::user_args_pg::{bind_all, pg_statement};
use super::{MemberKind, MemberRef, NewEvent, TenantId, Tx};
use crate::error::Error;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use std::sync::Arc;

/// The events of what a PATCH changed, from one flag per member of each operation in order.
pub type EventsOfChanged = Box<dyn Fn(&[bool]) -> Vec<NewEvent> + Send + Sync>;

/// A PATCH of group `group_id`'s members alone, its members looked up before.
pub struct MemberPatch {
    pub tenant: TenantId,
    pub group_id: String,
    pub now: DateTime<Utc>,
    /// Per operation, in order: whether it adds (else removes), and the members it names.
    pub ops: Vec<(bool, Vec<MemberRef>)>,
    /// If-Match's versions, one of which the change must replace; `None` for any.
    pub versions: Option<Vec<i64>>,
    /// Each operation's event (with the operation's index) as if every member it names
    /// changed, which holds unless an operation changed some of its members and not others.
    pub events: Vec<(usize, NewEvent)>,
    pub request_id: Option<String>,
    /// The events of what changed, from one flag per member of each operation in order: what
    /// is appended instead of `events` when those do not hold.
    pub events_of_changed: EventsOfChanged,
}

/// What a `MemberPatch` did.
#[derive(Debug)]
pub enum MembersPatched {
    /// The group's row after the change and, per member of each operation in order, whether
    /// it changed anything.
    Done { row: GroupRow, changed: Vec<bool> },
    /// No such group; nothing changed.
    NoGroup,
    /// If-Match named another version (RFC 7644 §3.14); nothing changed.
    Precondition,
}

impl Tx<'_> {
    /// Runs `patches` in order on PostgreSQL, each whole or not at all: per PATCH what it did,
    /// or `WriteConflict` when a deadlock undid it. `After` when a statement failed, which
    /// ends the transaction.
    pub fn patch_members_many(
        &mut self,
        patches: &[Arc<MemberPatch>],
    ) -> Result<Vec<crate::error::Result<MembersPatched>>, Stopped> {
        let mut done = Vec::with_capacity(patches.len());
        while done.len() < patches.len() {
            let rest = &patches[done.len()..];
            let super::connection::AnyConnection::Postgresql(pg) = &mut *self.conn else {
                return Err(Stopped::Before(Error::internal("a checked member PATCH on SQLite")));
            };
            let rows: Vec<Checked> = PatchMembersMany::new(rest).load(pg).map_err(|e| Stopped::After(e.into()))?;
            if rows.is_empty() {
                return Err(Stopped::After(Error::internal("scimd_patch_members_many ran no PATCH")));
            }
            let ran = rows.len();
            for (patch, row) in rest.iter().zip(rows) {
                done.push(self.outcome_of(patch, row)?);
            }
            // The function stops after a PATCH whose events are scimd's to append: they go
            // before the events of the PATCHes after it, as its version does.
            if ran < rest.len() {
                if let Some(sql) = self.at_commit.take() {
                    self.conn.batch_execute(&sql).map_err(|e| Stopped::After(e.into()))?;
                }
            }
        }
        Ok(done)
    }

    /// What the function's `row` says `patch` did; appends the events of what it changed when
    /// the function did not.
    fn outcome_of(
        &mut self,
        patch: &MemberPatch,
        row: Checked,
    ) -> Result<crate::error::Result<MembersPatched>, Stopped> {
        let changed = row.changed.unwrap_or_default();
        match (row.outcome.as_str(), row.pk, row.id, row.data, row.version, row.created_at, row.last_modified) {
            ("done", Some(pk), Some(id), Some(data), Some(version), Some(created), Some(modified)) => {
                if !row.appended {
                    let events = (patch.events_of_changed)(&changed);
                    self.append_events(patch.tenant, &events, patch.request_id.as_deref(), patch.now)
                        .map_err(Stopped::After)?;
                } else if changed.iter().any(|&c| c) {
                    self.appended_events = true;
                }
                let row = from_columns((pk, id, data, version, created, modified));
                Ok(Ok(MembersPatched::Done { row, changed }))
            }
            ("no_group", ..) => Ok(Ok(MembersPatched::NoGroup)),
            ("precondition", ..) => Ok(Ok(MembersPatched::Precondition)),
            ("conflict", ..) => Ok(Err(Error::WriteConflict)),
            (other, ..) => Err(Stopped::After(Error::internal(format!("a member PATCH ended as {other:?}")))),
        }
    }
}

/// `SELECT … FROM scimd_patch_members_many(…)` with every value bound: one statement text.
#[derive(Default)]
struct PatchMembersMany<'a> {
    tenants: Vec<i64>,
    group_ids: Vec<&'a str>,
    nows: Vec<NaiveDateTime>,
    request_ids: Vec<Option<&'a str>>,
    any_version: Vec<bool>,
    member_ends: Vec<i32>,
    adds: Vec<bool>,
    types: Vec<&'static str>,
    pks: Vec<i64>,
    displays: Vec<Option<&'a str>>,
    display_norms: Vec<Option<String>>,
    /// The operation (1, 2, ... within its PATCH) each member belongs to.
    ops: Vec<i32>,
    mark_ends: Vec<i32>,
    /// As `add_members`: users already marked as in a group need no update of their row.
    mark_users: Vec<i64>,
    version_ends: Vec<i32>,
    versions: Vec<i64>,
    event_ends: Vec<i32>,
    event_ops: Vec<i32>,
    event_ids: Vec<String>,
    event_types: Vec<&'static str>,
    event_resource_types: Vec<Option<&'static str>>,
    event_resource_ids: Vec<Option<&'a str>>,
    event_data: Vec<&'a str>,
}

impl<'a> PatchMembersMany<'a> {
    fn new(patches: &'a [Arc<MemberPatch>]) -> Self {
        let mut s = PatchMembersMany::default();
        for p in patches {
            s.tenants.push(p.tenant.get());
            s.group_ids.push(&p.group_id);
            s.nows.push(p.now.naive_utc());
            s.request_ids.push(p.request_id.as_deref());
            s.any_version.push(p.versions.is_none());
            for (op, (add, members)) in p.ops.iter().enumerate() {
                for m in members {
                    s.adds.push(*add);
                    s.types.push(m.kind.as_str());
                    s.pks.push(m.pk);
                    s.displays.push(m.display.as_deref());
                    s.display_norms.push(display_norm(m.display.as_deref()));
                    s.ops.push(op as i32 + 1);
                    if *add && m.kind == MemberKind::User && !m.marked_in_groups {
                        s.mark_users.push(m.pk);
                    }
                }
            }
            s.versions.extend(p.versions.iter().flatten());
            for (op, e) in &p.events {
                s.event_ops.push(*op as i32 + 1);
                s.event_ids.push(uuid::Uuid::new_v4().to_string());
                s.event_types.push(e.event_type);
                s.event_resource_types.push(e.resource_type);
                s.event_resource_ids.push(e.resource_id.as_deref());
                s.event_data.push(&e.data);
            }
            s.member_ends.push(s.adds.len() as i32);
            s.mark_ends.push(s.mark_users.len() as i32);
            s.version_ends.push(s.versions.len() as i32);
            s.event_ends.push(s.event_ops.len() as i32);
        }
        s
    }
}

pg_statement!(PatchMembersMany, diesel::sql_types::Untyped);

impl QueryFragment<Pg> for PatchMembersMany<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT outcome, pk, id, data, version, created_at, last_modified, changed, appended \
             FROM scimd_patch_members_many(",
        );
        bind_all!(out;
            Array<BigInt> => &self.tenants,
            Array<Text> => &self.group_ids,
            Array<Timestamp> => &self.nows,
            Array<Nullable<Text>> => &self.request_ids,
            Array<Bool> => &self.any_version,
            Array<Integer> => &self.member_ends,
            Array<Bool> => &self.adds,
            Array<Text> => &self.types,
            Array<BigInt> => &self.pks,
            Array<Nullable<Text>> => &self.displays,
            Array<Nullable<Text>> => &self.display_norms,
            Array<Integer> => &self.ops,
            Array<Integer> => &self.mark_ends,
            Array<BigInt> => &self.mark_users,
            Array<Integer> => &self.version_ends,
            Array<BigInt> => &self.versions,
            Array<Integer> => &self.event_ends,
            Array<Integer> => &self.event_ops,
            Array<Text> => &self.event_ids,
            Array<Text> => &self.event_types,
            Array<Nullable<Text>> => &self.event_resource_types,
            Array<Nullable<Text>> => &self.event_resource_ids,
            Array<Text> => &self.event_data,
        );
        out.push_sql(") ORDER BY patch");
        Ok(())
    }
}

/// The function's row per PATCH run.
#[derive(QueryableByName)]
struct Checked {
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pk: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    data: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    version: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    created_at: Option<StoredTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_modified: Option<StoredTime>,
    #[diesel(sql_type = Nullable<Array<Bool>>)]
    changed: Option<Vec<bool>>,
    #[diesel(sql_type = Bool)]
    appended: bool,
}

#[cfg(test)]
#[path = "member_patches_tests.rs"]
mod tests;
