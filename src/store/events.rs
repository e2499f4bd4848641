//! The outbox (`events`): appended in the transaction of the change they describe, read back
//! in sequence order.

use super::schema::events;
use super::sql::{self, Piece};
use super::{TenantId, Tx};
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// An event about to be written; `seq`, `id` and the time are given on append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<String>,
    /// JSON text.
    pub data: String,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub request_id: Option<String>,
    pub data: String,
}

#[derive(QueryableByName)]
struct SeqRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    event_seq: i64,
}

type Columns = (i64, String, String, Option<String>, Option<String>, NaiveDateTime, Option<String>, String);

impl Tx<'_> {
    /// Appends `batch` with the tenant's next sequence numbers. Call it last in the
    /// transaction: on PostgreSQL it locks the tenant's `tenant_counters` row until commit,
    /// which keeps the numbers in commit order, so the lock should be held as briefly as
    /// possible.
    pub fn append_events(
        &mut self,
        tenant: TenantId,
        batch: &[NewEvent],
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() as i64;
        // By hand: Diesel prepared its UPDATE … RETURNING again on every call on SQLite (2% of
        // a POST's CPU); this text is prepared once per connection.
        let bump = [
            Piece::Sql("UPDATE tenant_counters SET event_seq = event_seq + ".into()),
            Piece::BigInt(n),
            Piece::Sql(" WHERE tenant_id = ".into()),
            Piece::BigInt(tenant.0),
            Piece::Sql(" RETURNING event_seq".into()),
        ];
        let last: Vec<SeqRow> = sql::load_prepared(self.conn, &bump)?;
        let last =
            last.first().map(|r| r.event_seq).ok_or_else(|| Error::internal("the tenant's counters row is gone"))?;
        let rows: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    events::tenant_id.eq(tenant.0),
                    events::seq.eq(last - n + 1 + i as i64),
                    events::id.eq(uuid::Uuid::new_v4().to_string()),
                    events::event_type.eq(e.event_type),
                    events::resource_type.eq(e.resource_type),
                    events::resource_id.eq(e.resource_id.as_deref()),
                    events::occurred_at.eq(now.naive_utc()),
                    events::request_id.eq(request_id),
                    events::data.eq(&e.data),
                )
            })
            .collect();
        // One statement per row: MultiConnection has no batch insert, and a request writes a
        // handful of events (member changes are one event per request, not per member).
        for row in rows {
            diesel::insert_into(events::table).values(row).execute(self.conn)?;
        }
        self.appended_events = true;
        Ok(())
    }

    /// Up to `limit` events with seq > `after`, in seq order.
    pub fn events_after(&mut self, tenant: TenantId, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        let rows = events::table
            .filter(events::tenant_id.eq(tenant.0).and(events::seq.gt(after)))
            .order(events::seq.asc())
            .limit(limit)
            .select((
                events::seq,
                events::id,
                events::event_type,
                events::resource_type,
                events::resource_id,
                events::occurred_at,
                events::request_id,
                events::data,
            ))
            .load::<Columns>(self.conn)?;
        Ok(rows
            .into_iter()
            .map(|(seq, id, event_type, resource_type, resource_id, occurred_at, request_id, data)| EventRow {
                seq,
                id,
                event_type,
                resource_type,
                resource_id,
                occurred_at: occurred_at.and_utc(),
                request_id,
                data,
            })
            .collect())
    }
}
