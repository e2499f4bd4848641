//! The outbox (`events`): appended in the transaction of the change they describe, numbered
//! (on PostgreSQL after that commits), read back in sequence order.

use super::connection::AnyConnection;
use super::schema::events;
use super::sql::Piece;
use super::sql_run;
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
struct Moved {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    moved: i64,
}

pub(super) const COLUMNS: &str =
    "tenant_id, seq, id, \"type\", resource_type, resource_id, occurred_at, request_id, data";

/// What one `append_events` call appends.
struct Batch<'a> {
    tenant: TenantId,
    events: &'a [NewEvent],
    request_id: Option<&'a str>,
    now: DateTime<Utc>,
}

type Columns = (i64, String, String, Option<String>, Option<String>, NaiveDateTime, Option<String>, String);

impl Tx<'_> {
    /// Appends `batch`, to be numbered in the tenant's sequence. On SQLite the tenant's
    /// `tenant_counters` row hands out the numbers here (the one writer keeps them in commit
    /// order). On PostgreSQL the events wait in `pending_events` until a numbering pass after
    /// the commit (`number_events`), so that no write holds the counters row while its commit
    /// is flushed; the append is sent with the COMMIT itself, so an error in it is reported by
    /// the commit. Call it last in the transaction.
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
        let batch = Batch { tenant, events: batch, request_id, now };
        match self.backend() {
            Backend::Postgres => self.append_events_pg(&batch),
            Backend::Sqlite => self.append_events_sqlite(&batch),
        }
    }

    /// The append is a function of the schema (migrations 000012 and 000014), called in the
    /// COMMIT's message (`store::commit`); it locks nothing another write waits for. The
    /// simple protocol binds nothing, so the arguments are literals; the function's statements
    /// are planned once per connection, where the append as literal SQL was parsed and planned
    /// on every write (65-75 us of PostgreSQL's CPU per write, measured with pgbench).
    fn append_events_pg(&mut self, &Batch { tenant, events: batch, request_id, now }: &Batch<'_>) -> Result<()> {
        // One `ARRAY[…]` argument per column, the events in the batch's order.
        let column = |value: &dyn Fn(&NewEvent) -> Piece| {
            let mut pieces = vec![Piece::Sql(", ARRAY[".into())];
            for (i, e) in batch.iter().enumerate() {
                if i > 0 {
                    pieces.push(Piece::Sql(", ".into()));
                }
                pieces.push(value(e));
            }
            pieces.push(Piece::Sql("]::text[]".into()));
            pieces
        };
        let mut pieces = vec![
            Piece::Sql("SELECT scimd_append_events(".into()),
            Piece::BigInt(tenant.0),
            Piece::Sql(", ".into()),
            Piece::Timestamp(now.naive_utc()),
            Piece::Sql(", ".into()),
            Piece::text_or_null(request_id),
        ];
        pieces.extend(column(&|_| Piece::Text(uuid::Uuid::new_v4().to_string())));
        pieces.extend(column(&|e| Piece::Text(e.event_type.to_string())));
        pieces.extend(column(&|e| Piece::text_or_null(e.resource_type)));
        pieces.extend(column(&|e| Piece::text_or_null(e.resource_id.as_deref())));
        pieces.extend(column(&|e| Piece::Text(e.data.clone())));
        pieces.push(Piece::Sql(")".into()));
        let sql = sql_run::literal_text_pg(&pieces)?;
        match &mut self.at_commit {
            Some(earlier) => {
                earlier.push_str("; ");
                earlier.push_str(&sql);
            }
            None => self.at_commit = Some(sql),
        }
        self.appended_events = true;
        Ok(())
    }

    /// SQLite allows no UPDATE in a CTE: the counter first, then the rows
    /// (`event_append_sqlite`).
    fn append_events_sqlite(&mut self, &Batch { tenant, events: batch, request_id, now }: &Batch<'_>) -> Result<()> {
        let AnyConnection::Sqlite(sqlite) = &mut *self.conn else {
            return Err(Error::internal("SQLite's event append on another backend"));
        };
        let held = self.held_counters.as_deref_mut();
        super::event_append_sqlite::append(sqlite, tenant.0, batch, request_id, now.naive_utc(), held)?;
        self.appended_events = true;
        Ok(())
    }

    /// Numbers the committed events still waiting for a number: `tenant`'s, or every tenant's;
    /// returns how many it numbered. Only PostgreSQL has any (migration 000014): its writes
    /// append without taking the tenant's counters row, which a numbering pass locks until it
    /// commits. SQLite's one writer numbers events as it appends them. A pass with nothing to
    /// number writes nothing.
    pub fn number_events(&mut self, tenant: Option<TenantId>) -> Result<i64> {
        if self.backend() == Backend::Sqlite {
            return Ok(0);
        }
        let call = match tenant {
            Some(t) => vec![
                Piece::Sql("SELECT scimd_number_events(".into()),
                Piece::BigInt(t.0),
                Piece::Sql(") AS moved".into()),
            ],
            None => vec![Piece::Sql("SELECT scimd_number_all_events() AS moved".into())],
        };
        let rows: Vec<Moved> = sql_run::load_prepared(self.conn, &call)?;
        Ok(rows.first().map_or(0, |r| r.moved))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_stores;
    use chrono::TimeZone;
    use diesel::connection::SimpleConnection;

    fn event(data: &str, resource_id: Option<&str>) -> NewEvent {
        NewEvent {
            event_type: "user.updated",
            // The columns allow an event about no resource; it must read back as such.
            resource_type: resource_id.map(|_| "User"),
            resource_id: resource_id.map(str::to_string),
            data: data.to_string(),
        }
    }

    /// Values that a literal could mangle or escape from (on PostgreSQL the append's arguments
    /// are literals in the COMMIT's message).
    const AWKWARD: [&str; 6] = [
        r#"{"a":"it's"}"#,
        r#"{"path":"C:\\dir\\","quote":"\""}"#,
        "'); DELETE FROM events; --",
        "E'x' $$ $tag$ \\' \\\\",
        "línea\nnueva\ttab ✓ 𝄞",
        "",
    ];

    #[test]
    fn appended_events_read_back_exactly_with_consecutive_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = test_stores::stores(&dir);
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap() + chrono::Duration::microseconds(123_456);
        for store in stores {
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            for (i, data) in AWKWARD.iter().enumerate() {
                let resource_id = (i % 2 == 0).then_some("id-'1'\\");
                // Two appends in one write: a batch of two, then one.
                store
                    .write(|tx| {
                        tx.append_events(tenant, &[event(data, resource_id), event("{}", None)], Some("r'q"), now)?;
                        tx.append_events(tenant, &[event(data, None)], None, now)
                    })
                    .unwrap();
            }
            store.number_events(Some(tenant)).unwrap();
            let rows = store.read(|tx| tx.events_after(tenant, 0, 100)).unwrap();
            assert_eq!(rows.len(), 3 * AWKWARD.len(), "{:?}", store.backend());
            for (i, data) in AWKWARD.iter().enumerate() {
                let three = &rows[3 * i..3 * i + 3];
                let seqs: Vec<i64> = three.iter().map(|r| r.seq).collect();
                let first = 3 * i as i64 + 1;
                assert_eq!(seqs, [first, first + 1, first + 2]);
                assert_eq!(three[0].data, *data);
                assert_eq!(three[0].resource_id.as_deref(), (i % 2 == 0).then_some("id-'1'\\"));
                assert_eq!(three[0].request_id.as_deref(), Some("r'q"));
                assert_eq!(three[1].data, "{}");
                assert_eq!(three[2].data, *data);
                assert_eq!(three[2].request_id, None);
                assert!(three.iter().all(|r| r.occurred_at == now && r.event_type == "user.updated"));
                assert_eq!(three[0].resource_type.as_deref(), (i % 2 == 0).then_some("User"));
                assert_eq!((three[1].resource_type.as_deref(), three[1].resource_id.as_deref()), (None, None));
            }
            let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids.len(), rows.len(), "every event has an id of its own");
            assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()));
        }
    }

    #[test]
    fn a_write_that_fails_after_appending_leaves_no_events_and_no_gap() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = test_stores::stores(&dir);
        for store in stores {
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let failed: Result<()> = store.write(|tx| {
                tx.append_events(tenant, &[event("{}", None)], None, now)?;
                Err(Error::Conflict("later in the write".into()))
            });
            assert!(matches!(failed, Err(Error::Conflict(_))));
            store.write(|tx| tx.append_events(tenant, &[event("{\"n\":1}", None)], None, now)).unwrap();
            store.number_events(None).unwrap();
            let rows = store.read(|tx| tx.events_after(tenant, 0, 10)).unwrap();
            assert_eq!(rows.iter().map(|r| (r.seq, r.data.as_str())).collect::<Vec<_>>(), [(1, "{\"n\":1}")]);
        }
    }

    #[test]
    fn events_of_a_tenant_without_counters_are_refused_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = test_stores::stores(&dir);
        for store in stores {
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let other = store.write(|tx| tx.create_tenant("other", now)).unwrap().id;
            let drop_counters = format!("DELETE FROM tenant_counters WHERE tenant_id = {}", tenant.0);
            match store.backend() {
                // SQLite numbers as it appends: the write fails and leaves nothing.
                Backend::Sqlite => {
                    let counters_gone: Result<()> = store.write(|tx| {
                        tx.conn.batch_execute(&drop_counters)?;
                        tx.append_events(tenant, &[event("{}", None)], None, now)
                    });
                    assert!(matches!(counters_gone, Err(Error::Internal(_))), "{counters_gone:?}");
                }
                // PostgreSQL numbers after the commit: the numbering fails and the event waits.
                Backend::Postgres => {
                    store.write(|tx| tx.append_events(tenant, &[event("{}", None)], None, now)).unwrap();
                    store.write(|tx| Ok(tx.conn.batch_execute(&drop_counters)?)).unwrap();
                    store.write(|tx| tx.append_events(other, &[event("{}", None)], None, now)).unwrap();
                    let refused = store.number_events(None);
                    assert!(matches!(refused, Err(Error::Internal(_))), "{refused:?}");
                    store.number_events(Some(other)).unwrap();
                    assert_eq!(store.read(|tx| tx.events_after(other, 0, 10)).unwrap().len(), 1);
                    let put_back = format!("INSERT INTO tenant_counters (tenant_id) VALUES ({})", tenant.0);
                    store.write(|tx| Ok(tx.conn.batch_execute(&put_back)?)).unwrap();
                    store.number_events(None).unwrap();
                    let rows = store.read(|tx| tx.events_after(tenant, 0, 10)).unwrap();
                    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1], "the event waited");
                    continue;
                }
            }
            // Nothing of the write stayed: the counters row is back, the events are not there.
            store.write(|tx| tx.append_events(tenant, &[event("{}", None)], None, now)).unwrap();
            assert_eq!(store.read(|tx| tx.events_after(tenant, 0, 10)).unwrap().len(), 1);
            // Every connection of the pool is still usable.
            for _ in 0..4 {
                store.write(|tx| tx.append_events(other, &[event("{}", None)], None, now)).unwrap();
            }
            assert_eq!(store.read(|tx| tx.events_after(other, 0, 10)).unwrap().len(), 4);
        }
    }
}
