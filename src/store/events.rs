//! The outbox (`events`): appended in the transaction of the change they describe, read back
//! in sequence order.

use super::schema::events;
use super::sql::{self, Piece};
use super::{Backend, TenantId, Tx};
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

const COLUMNS: &str = "tenant_id, seq, id, \"type\", resource_type, resource_id, occurred_at, request_id, data";

/// One event's values in `COLUMNS` order.
fn event_values(tenant: TenantId, seq: i64, e: &NewEvent, request_id: Option<&str>, now: DateTime<Utc>) -> [Piece; 9] {
    [
        Piece::BigInt(tenant.0),
        Piece::BigInt(seq),
        Piece::Text(uuid::Uuid::new_v4().to_string()),
        Piece::Text(e.event_type.to_string()),
        Piece::text_or_null(e.resource_type),
        Piece::text_or_null(e.resource_id.as_deref()),
        Piece::Timestamp(now.naive_utc()),
        Piece::text_or_null(request_id),
        Piece::Text(e.data.clone()),
    ]
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
        // The events as rows of VALUES; `seq` gives each one's second value from its place (1..n).
        let rows = |seq: &dyn Fn(i64) -> i64| {
            let mut rows = Vec::new();
            for (i, e) in batch.iter().enumerate() {
                sql::push_row(&mut rows, i == 0, event_values(tenant, seq(i as i64 + 1), e, request_id, now));
            }
            rows
        };
        let bump = vec![
            Piece::Sql("UPDATE tenant_counters SET event_seq = event_seq + ".into()),
            Piece::BigInt(n),
            Piece::Sql(" WHERE tenant_id = ".into()),
            Piece::BigInt(tenant.0),
            Piece::Sql(" RETURNING event_seq".into()),
        ];
        // Statements by hand, each prepared once per connection and number of events (Diesel
        // prepared its UPDATE … RETURNING again on every call on SQLite, 2% of a POST's CPU).
        let inserted: Vec<SeqRow> = match self.backend() {
            // One round trip for the numbers and the rows: the counter's UPDATE in a CTE, each
            // row numbered from what it returns and its place.
            Backend::Postgres => {
                let mut pieces = vec![Piece::Sql("WITH c AS (".into())];
                pieces.extend(bump);
                pieces.push(Piece::Sql(format!(
                    ") INSERT INTO events ({COLUMNS}) SELECT v.tenant_id, c.event_seq - {n} + v.place, v.id, v.type, \
                     v.resource_type, v.resource_id, v.occurred_at, v.request_id, v.data FROM c CROSS JOIN (VALUES "
                )));
                pieces.extend(rows(&|place| place));
                pieces.push(Piece::Sql(
                    ") AS v(tenant_id, place, id, type, resource_type, resource_id, occurred_at, request_id, data) \
                     RETURNING seq AS event_seq"
                        .into(),
                ));
                sql::load_prepared(self.conn, &pieces)?
            }
            // SQLite allows no UPDATE in a CTE: the counter first, then the rows in one INSERT.
            Backend::Sqlite => {
                let last: Vec<SeqRow> = sql::load_prepared(self.conn, &bump)?;
                let Some(last) = last.first().map(|r| r.event_seq) else {
                    return Err(Error::internal("the tenant's counters row is gone"));
                };
                let mut pieces = vec![Piece::Sql(format!("INSERT INTO events ({COLUMNS}) VALUES "))];
                pieces.extend(rows(&|place| last - n + place));
                pieces.push(Piece::Sql(" RETURNING seq AS event_seq".into()));
                sql::load_prepared(self.conn, &pieces)?
            }
        };
        if inserted.len() != batch.len() {
            return Err(Error::internal("the tenant's counters row is gone"));
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
