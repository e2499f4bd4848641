//! SQLite's event append as statements each connection prepares once, known to Diesel's cache
//! by their types: the tenant's counter moved on, read back by its key, then each event
//! inserted with its number. Built as text pieces, the statements had their text built and
//! hashed for the cache on every write, ~10,000 of the writer's instructions per PUT. No
//! `RETURNING` on the UPDATE: SQLite gathers a RETURNING statement's rows in a temporary
//! B-tree it opens and closes on every run (about 13,000 instructions).

use super::events::NewEvent;
use super::stored_time::StoredTime;
use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

/// Appends `events` for `tenant`, numbered after the tenant's last event.
pub(super) fn append(
    conn: &mut SqliteConnection,
    tenant: i64,
    events: &[NewEvent],
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<()> {
    let gone = || Error::internal("the tenant's counters row is gone");
    let n = events.len() as i64;
    if (MoveCounter { tenant, n }).execute(conn)? != 1 {
        return Err(gone());
    }
    let last: Vec<i64> = ReadCounter { tenant }.load(conn)?;
    let last = last.first().copied().ok_or_else(gone)?;
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

struct MoveCounter {
    tenant: i64,
    n: i64,
}

impl QueryFragment<Sqlite> for MoveCounter {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("UPDATE tenant_counters SET event_seq = event_seq + ");
        out.push_bind_param::<BigInt, i64>(&self.n)?;
        out.push_sql(" WHERE tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        Ok(())
    }
}

impl QueryId for MoveCounter {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<SqliteConnection> for MoveCounter {}

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
