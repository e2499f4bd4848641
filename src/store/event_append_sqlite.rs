//! SQLite's event append as statements each connection prepares once, known to Diesel's cache
//! by their types: the tenant's counter moved on, read back by its key, then each event
//! inserted with its number. Built as text pieces, the statements had their text built and
//! hashed for the cache on every write, ~10,000 of the writer's instructions per PUT. No
//! `RETURNING` on the UPDATE: SQLite gathers a RETURNING statement's rows in a temporary
//! B-tree it opens and closes on every run (about 13,000 instructions).
//!
//! A user's PUT or PATCH run without a savepoint (`savepoint::Unguarded`) moves the counter in
//! the batch instead (`HeldCounters`): the counter is read once per batch and written once, at
//! the batch's end or before anything else in it could read it; each such write's events are
//! then its INSERTs alone (two of the four statements of a PATCH's two events were the
//! counter's).

use super::events::NewEvent;
use super::stored_time::StoredTime;
use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};
use std::collections::HashMap;

fn gone() -> Error {
    Error::internal("the tenant's counters row is gone")
}

/// Tenants' last event numbers as a batch's unguarded writes moved them, not yet written to
/// `tenant_counters`. Written out (`write_out`) before the batch commits and before a request
/// with a savepoint runs in it; a read between writes (`Lane::read_async`, a user and its
/// groups) does not read the counters. A batch rolled back drops them with its writes.
#[derive(Debug, Default)]
pub(super) struct HeldCounters(HashMap<i64, i64>);

impl HeldCounters {
    pub(super) fn write_out(&mut self, conn: &mut SqliteConnection) -> Result<()> {
        for (tenant, last) in self.0.drain() {
            if (CounterUpdate::<false> { tenant, value: last }).execute(conn)? != 1 {
                return Err(gone());
            }
        }
        Ok(())
    }
}

/// Appends `events` for `tenant`, numbered after the tenant's last event: moving the counter
/// in `held` when given, else in `tenant_counters`.
pub(super) fn append(
    conn: &mut SqliteConnection,
    tenant: i64,
    events: &[NewEvent],
    request_id: Option<&str>,
    now: NaiveDateTime,
    held: Option<&mut HeldCounters>,
) -> Result<()> {
    let n = events.len() as i64;
    let last = match &held {
        Some(held) => match held.0.get(&tenant) {
            Some(&last) => last + n,
            None => read_counter(conn, tenant)? + n,
        },
        None => {
            if (CounterUpdate::<true> { tenant, value: n }).execute(conn)? != 1 {
                return Err(gone());
            }
            read_counter(conn, tenant)?
        }
    };
    insert(conn, tenant, events, last, request_id, now)?;
    if let Some(held) = held {
        held.0.insert(tenant, last);
    }
    Ok(())
}

fn read_counter(conn: &mut SqliteConnection, tenant: i64) -> Result<i64> {
    let last: Vec<i64> = ReadCounter { tenant }.load(conn)?;
    last.first().copied().ok_or_else(gone)
}

/// `events` numbered up to `last`.
fn insert(
    conn: &mut SqliteConnection,
    tenant: i64,
    events: &[NewEvent],
    last: i64,
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<()> {
    let n = events.len() as i64;
    for (i, event) in events.iter().enumerate() {
        let id = uuid::Uuid::new_v4().to_string();
        let seq = last - n + i as i64 + 1;
        let row = InsertEvent { tenant, seq, id: &id, event, request_id, now: StoredTime(now) };
        if row.execute(conn)? != 1 {
            return Err(gone());
        }
    }
    Ok(())
}

/// `UPDATE tenant_counters SET event_seq = …` for one tenant: moved on by `value` (`ADD`) or
/// set to it. Two statements, so two types: Diesel's cache keeps a statement by its type.
struct CounterUpdate<const ADD: bool> {
    tenant: i64,
    value: i64,
}

impl<const ADD: bool> QueryFragment<Sqlite> for CounterUpdate<ADD> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(if ADD {
            "UPDATE tenant_counters SET event_seq = event_seq + "
        } else {
            "UPDATE tenant_counters SET event_seq = "
        });
        out.push_bind_param::<BigInt, i64>(&self.value)?;
        out.push_sql(" WHERE tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        Ok(())
    }
}

impl<const ADD: bool> QueryId for CounterUpdate<ADD> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const ADD: bool> RunQueryDsl<SqliteConnection> for CounterUpdate<ADD> {}

struct ReadCounter {
    tenant: i64,
}

impl QueryFragment<Sqlite> for ReadCounter {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("SELECT event_seq FROM tenant_counters WHERE tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)
    }
}

impl QueryId for ReadCounter {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for ReadCounter {
    type SqlType = BigInt;
}

impl RunQueryDsl<SqliteConnection> for ReadCounter {}

struct InsertEvent<'a> {
    tenant: i64,
    seq: i64,
    id: &'a str,
    event: &'a NewEvent,
    request_id: Option<&'a str>,
    now: StoredTime,
}

/// `InsertEvent`'s identity in Diesel's cache (the type itself borrows, so cannot be it).
struct InsertEventId;

impl QueryId for InsertEvent<'_> {
    type QueryId = InsertEventId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Sqlite> for InsertEvent<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let e = self.event;
        out.push_sql("INSERT INTO events (");
        out.push_sql(super::events::COLUMNS);
        out.push_sql(") VALUES (");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&self.seq)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(e.event_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<&str>>(&e.resource_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<String>>(&e.resource_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, StoredTime>(&self.now)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, Option<&str>>(&self.request_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, String>(&e.data)?;
        out.push_sql(")");
        Ok(())
    }
}

impl RunQueryDsl<SqliteConnection> for InsertEvent<'_> {}
