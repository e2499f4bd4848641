//! A PATCH of a group's members alone on PostgreSQL as one statement that does all of it or
//! none of it, If-Match and events included: `scimd_patch_members_checked` (migration 000024).
//! It needs no savepoint in the group's lane (`Store::write_group_unguarded`), whose SAVEPOINT
//! and RELEASE were one of the two round trips per PATCH that the group's next change waited
//! for.

use super::groups::{from_columns, GroupRow};
use super::member_patch::{MemberOp, PatchMembersArgs};
use super::savepoint::Stopped;
use super::stored_time::StoredTime;
use super::user_args_pg::{bind_all, pg_statement, EventArrays};
use super::{NewEvent, TenantId, Tx};
use crate::error::Error;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

/// What `Tx::patch_members_checked` did.
#[derive(Debug)]
pub enum MembersPatched {
    /// The group's row after the change and, per member of each operation in order, whether
    /// it changed anything. `appended` says whether the events of what changed were appended
    /// (those given, of the operations that changed anything); if not (an operation changed
    /// some of its members but not all), the caller appends them.
    Done { row: GroupRow, changed: Vec<bool>, appended: bool },
    /// No such group; nothing changed.
    NoGroup,
    /// If-Match named another version (RFC 7644 §3.14); nothing changed.
    Precondition,
}

impl Tx<'_> {
    /// `patch_members` of group `id` with If-Match's `versions` (`None` for any) checked
    /// against the version it replaces, and `events` (each with the index of the operation
    /// whose every member it names as changed) appended, all in one statement, on PostgreSQL.
    /// Stops `Before` changing anything when it did not apply (a deadlock undone included, as
    /// `WriteConflict`), `After` when the statement failed, which ends the transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn patch_members_checked(
        &mut self,
        tenant: TenantId,
        id: &str,
        now: DateTime<Utc>,
        ops: &[MemberOp<'_>],
        versions: Option<&[i64]>,
        events: &[(usize, NewEvent)],
        request_id: Option<&str>,
    ) -> Result<MembersPatched, Stopped> {
        let super::connection::AnyConnection::Postgresql(pg) = &mut *self.conn else {
            return Err(Stopped::Before(Error::internal("a checked member PATCH on SQLite")));
        };
        let new_events: Vec<NewEvent> = events.iter().map(|(_, e)| e.clone()).collect();
        let statement = PatchMembersChecked {
            members: PatchMembersArgs::new(tenant, id, now.naive_utc(), ops),
            ops: ops.iter().enumerate().flat_map(|(i, op)| op.members.iter().map(move |_| i as i32 + 1)).collect(),
            versions: versions.map(<[i64]>::to_vec),
            event_ops: events.iter().map(|&(op, _)| op as i32 + 1).collect(),
            events: EventArrays::new(&new_events, request_id),
        };
        let rows: Vec<Checked> = statement.load(pg).map_err(|e| Stopped::After(e.into()))?;
        let Some(row) = rows.into_iter().next() else {
            return Err(Stopped::After(Error::internal("scimd_patch_members_checked returned no row")));
        };
        // The function appends events only for members that changed.
        if row.appended && row.changed.iter().flatten().any(|&changed| changed) {
            self.appended_events = true;
        }
        match (row.outcome.as_str(), row.pk, row.id, row.data, row.version, row.created_at, row.last_modified) {
            ("done", Some(pk), Some(id), Some(data), Some(version), Some(created), Some(modified)) => {
                let row_of_group = from_columns((pk, id, data, version, created, modified));
                Ok(MembersPatched::Done {
                    row: row_of_group,
                    changed: row.changed.unwrap_or_default(),
                    appended: row.appended,
                })
            }
            ("no_group", ..) => Ok(MembersPatched::NoGroup),
            ("precondition", ..) => Ok(MembersPatched::Precondition),
            ("conflict", ..) => Err(Stopped::Before(Error::WriteConflict)),
            (other, ..) => Err(Stopped::After(Error::internal(format!("a member PATCH ended as {other:?}")))),
        }
    }
}

/// `SELECT … FROM scimd_patch_members_checked(…)` with every value bound: one statement text.
struct PatchMembersChecked<'a> {
    members: PatchMembersArgs<'a>,
    ops: Vec<i32>,
    versions: Option<Vec<i64>>,
    event_ops: Vec<i32>,
    events: EventArrays<'a>,
}

pg_statement!(PatchMembersChecked, diesel::sql_types::Untyped);

impl QueryFragment<Pg> for PatchMembersChecked<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT outcome, pk, id, data, version, created_at, last_modified, changed, appended \
             FROM scimd_patch_members_checked(",
        );
        self.members.bind(&mut out)?;
        out.push_sql(", ");
        bind_all!(out;
            Array<Integer> => &self.ops,
            Nullable<Array<BigInt>> => &self.versions,
            Array<Integer> => &self.event_ops,
        );
        self.events.bind(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The function's one row.
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
