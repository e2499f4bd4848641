//! Webhook delivery streams (one per endpoint and tenant; endpoints in `webhook_endpoints`):
//! the worker's claims (leases), progress and failures, and the operator's retry/replay.

use super::schema::{tenant_counters, tenants, webhook_deliveries as wd, webhook_endpoints as we};
use super::{Backend, TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// One endpoint's stream of one tenant's events, as the admin views show it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub endpoint_id: String,
    pub tenant: TenantId,
    pub tenant_name: String,
    pub delivered_seq: i64,
    /// The tenant's latest event: `latest_seq - delivered_seq` events (at most) are waiting.
    pub latest_seq: i64,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
}

/// A stream with events waiting whose next attempt is due and which nobody holds.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub endpoint_id: String,
    pub tenant: TenantId,
    pub tenant_name: String,
}

impl Tx<'_> {
    /// The endpoint's streams (one per tenant it serves), by tenant name.
    pub fn webhook_deliveries(&mut self, endpoint: &str, tenant: Option<TenantId>) -> Result<Vec<DeliveryRow>> {
        let mut query = wd::table
            .inner_join(tenants::table)
            .inner_join(tenant_counters::table.on(tenant_counters::tenant_id.eq(wd::tenant_id)))
            .filter(wd::endpoint_id.eq(endpoint))
            .select((
                wd::endpoint_id,
                wd::tenant_id,
                tenants::name,
                wd::delivered_seq,
                tenant_counters::event_seq,
                wd::attempts,
                wd::next_attempt_at,
                wd::last_attempt_at,
                wd::last_error,
                wd::failing_since,
            ))
            .order(tenants::name.asc())
            .into_boxed();
        if let Some(t) = tenant {
            query = query.filter(wd::tenant_id.eq(t.0));
        }
        type Columns = (
            String,
            i64,
            String,
            i64,
            i64,
            i32,
            NaiveDateTime,
            Option<NaiveDateTime>,
            Option<String>,
            Option<NaiveDateTime>,
        );
        Ok(query
            .load::<Columns>(self.conn)?
            .into_iter()
            .map(|(endpoint_id, tenant, tenant_name, delivered, latest, attempts, next, last, error, failing)| {
                DeliveryRow {
                    endpoint_id,
                    tenant: TenantId(tenant),
                    tenant_name,
                    delivered_seq: delivered,
                    latest_seq: latest,
                    attempts,
                    next_attempt_at: next.and_utc(),
                    last_attempt_at: last.map(|t| t.and_utc()),
                    last_error: error,
                    failing_since: failing.map(|t| t.and_utc()),
                }
            })
            .collect())
    }

    /// The operator's "retry now" (`from_seq` None) or "replay from seq": the stream is due at
    /// once, its failures are forgotten, and whoever holds it loses the lease, so its next
    /// progress write fails and it stops. A 410-disabled endpoint is enabled again.
    pub fn reset_webhook_delivery(
        &mut self,
        endpoint: &str,
        tenant: TenantId,
        replay_from: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let target = wd::table.filter(wd::endpoint_id.eq(endpoint).and(wd::tenant_id.eq(tenant.0)));
        let reset = (
            wd::attempts.eq(0),
            wd::next_attempt_at.eq(now.naive_utc()),
            wd::failing_since.eq(None::<NaiveDateTime>),
            wd::lease_owner.eq(None::<String>),
            wd::lease_until.eq(None::<NaiveDateTime>),
        );
        let n = match replay_from {
            Some(seq) => {
                diesel::update(target).set((reset, wd::delivered_seq.eq((seq - 1).max(0)))).execute(self.conn)?
            }
            None => diesel::update(target).set(reset).execute(self.conn)?,
        };
        if n > 0 {
            diesel::update(we::table.filter(we::id.eq(endpoint)))
                .set(we::disabled_at.eq(None::<NaiveDateTime>))
                .execute(self.conn)?;
        }
        Ok(n > 0)
    }

    /// Streams that have waiting events, are due, are not failing, belong to an enabled
    /// endpoint, and are not leased to a live holder.
    pub fn due_webhook_deliveries(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
        let now = now.naive_utc();
        let due = wd::table
            .inner_join(tenants::table)
            .inner_join(we::table)
            .inner_join(tenant_counters::table.on(tenant_counters::tenant_id.eq(wd::tenant_id)))
            .filter(wd::delivered_seq.lt(tenant_counters::event_seq))
            .filter(wd::failing_since.is_null())
            .filter(wd::next_attempt_at.le(now))
            .filter(wd::lease_until.is_null().or(wd::lease_until.lt(now)))
            .filter(we::disabled_at.is_null())
            .select((wd::endpoint_id, wd::tenant_id, tenants::name))
            .order(wd::next_attempt_at.asc());
        // The worker asks after every commit that appended events. SQLite prepares a
        // statement with a bound LIMIT again each time it is bound (3.3–3.9% of scimd's CPU
        // under 32 concurrent writes), so there the rows are taken from the cursor instead.
        let rows: Vec<(String, i64, String)> = match self.backend() {
            Backend::Sqlite => due.load_iter(self.conn)?.take(limit.max(0) as usize).collect::<QueryResult<_>>()?,
            Backend::Postgres => due.limit(limit).load(self.conn)?,
        };
        Ok(rows
            .into_iter()
            .map(|(endpoint_id, tenant, name)| DueDelivery {
                endpoint_id,
                tenant: TenantId(tenant),
                // Events of a deleted tenant still name it as it was.
                tenant_name: super::tenants::original_name(&name).to_string(),
            })
            .collect())
    }

    /// Takes the stream for `owner` until `until` if nobody else holds it (a compare-and-set:
    /// on PostgreSQL a concurrent claimer waits for the row and then finds it taken).
    /// Returns the stream's delivered_seq and failed attempts as they are now.
    pub fn claim_webhook_delivery(
        &mut self,
        endpoint: &str,
        tenant: TenantId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(i64, i32)>> {
        let now = now.naive_utc();
        let claimed: Vec<(i64, i32)> = diesel::update(
            wd::table
                .filter(wd::endpoint_id.eq(endpoint).and(wd::tenant_id.eq(tenant.0)))
                .filter(wd::lease_until.is_null().or(wd::lease_until.lt(now)))
                .filter(wd::failing_since.is_null()),
        )
        .set((wd::lease_owner.eq(owner), wd::lease_until.eq(until.naive_utc())))
        .returning((wd::delivered_seq, wd::attempts))
        .get_results(self.conn)?;
        Ok(claimed.first().copied())
    }

    /// Records delivery up to `delivered_seq` and extends (or, with `until` None, ends) the
    /// lease; a stream let go is due again at once if it has more, after those due before.
    /// False when the lease was lost (taken over, or reset by the operator).
    pub fn webhook_progress(
        &mut self,
        endpoint: &str,
        tenant: TenantId,
        owner: &str,
        delivered_seq: i64,
        now: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let n = diesel::update(held(endpoint, tenant, owner))
            .set((
                wd::delivered_seq.eq(delivered_seq),
                wd::attempts.eq(0),
                wd::last_error.eq(None::<String>),
                wd::last_attempt_at.eq(now.naive_utc()),
                // Due again at once, behind every stream that was due before it.
                wd::next_attempt_at.eq(now.naive_utc()),
                wd::lease_owner.eq(until.map(|_| owner)),
                wd::lease_until.eq(until.map(|u| u.naive_utc())),
            ))
            .execute(self.conn)?;
        Ok(n > 0)
    }

    /// Records a failed attempt and releases the stream: due again at `next_attempt_at`, or
    /// failing (waiting for the operator) when `failing` is set.
    #[allow(clippy::too_many_arguments)]
    pub fn webhook_failure(
        &mut self,
        endpoint: &str,
        tenant: TenantId,
        owner: &str,
        delivered_seq: i64,
        attempts: i32,
        error: &str,
        now: DateTime<Utc>,
        next_attempt_at: DateTime<Utc>,
        failing: bool,
    ) -> Result<bool> {
        let n = diesel::update(held(endpoint, tenant, owner))
            .set((
                wd::delivered_seq.eq(delivered_seq),
                wd::attempts.eq(attempts),
                wd::last_error.eq(error),
                wd::last_attempt_at.eq(now.naive_utc()),
                wd::next_attempt_at.eq(next_attempt_at.naive_utc()),
                wd::failing_since.eq(failing.then(|| now.naive_utc())),
                wd::lease_owner.eq(None::<String>),
                wd::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(self.conn)?;
        Ok(n > 0)
    }
}

type Held = diesel::dsl::Filter<
    diesel::dsl::Filter<
        wd::table,
        diesel::dsl::And<diesel::dsl::Eq<wd::endpoint_id, String>, diesel::dsl::Eq<wd::tenant_id, i64>>,
    >,
    diesel::dsl::Eq<wd::lease_owner, String>,
>;

fn held(endpoint: &str, tenant: TenantId, owner: &str) -> Held {
    wd::table
        .filter(wd::endpoint_id.eq(endpoint.to_string()).and(wd::tenant_id.eq(tenant.0)))
        .filter(wd::lease_owner.eq(owner.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{test_stores, NewEndpoint, NewEvent};
    use chrono::Duration;

    #[test]
    fn due_deliveries_are_those_with_waiting_events_oldest_first_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = test_stores::stores(&dir);
        for store in stores {
            let t0 = Utc::now();
            let endpoint = NewEndpoint {
                id: "e1",
                tenant: None,
                url: "https://hooks.example.com/",
                secret: "s",
                event_types: None,
                label: None,
            };
            store.write(|tx| tx.insert_webhook_endpoint(&endpoint, t0)).unwrap();
            for (i, name) in ["quiet", "a", "b", "c"].into_iter().enumerate() {
                let created = t0 + Duration::seconds(i as i64);
                store
                    .write(|tx| {
                        let tenant = tx.create_tenant(name, created)?.id;
                        if name != "quiet" {
                            let event = NewEvent {
                                event_type: "user.created",
                                resource_type: Some("User"),
                                resource_id: Some(format!("{name}-1")),
                                data: "{}".into(),
                            };
                            tx.append_events(tenant, &[event], None, created)?;
                        }
                        Ok(())
                    })
                    .unwrap();
            }
            store.number_events(None).unwrap();
            let now = t0 + Duration::seconds(10);
            let names = |limit| -> Vec<String> {
                let due = store.read(|tx| tx.due_webhook_deliveries(now, limit)).unwrap();
                due.into_iter().map(|d| d.tenant_name).collect()
            };
            assert_eq!(names(10), ["a", "b", "c"], "{:?}", store.backend());
            assert_eq!(names(2), ["a", "b"], "{:?}", store.backend());
            assert!(names(0).is_empty());
            // Not yet due: nothing.
            let due = store.read(|tx| tx.due_webhook_deliveries(t0 - Duration::seconds(1), 10)).unwrap();
            assert!(due.is_empty());
        }
    }
}
