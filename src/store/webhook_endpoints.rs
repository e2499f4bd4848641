//! Webhook endpoints: registration (each endpoint's streams start at its tenants' latest
//! events), the admin's list, removal, and disabling when the receiver says it is gone.

use super::schema::{tenant_counters, tenants, webhook_deliveries as wd, webhook_endpoints as we};
use super::{TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: String,
    /// None: every tenant.
    pub tenant: Option<TenantId>,
    pub tenant_name: Option<String>,
    pub url: String,
    pub secret: String,
    pub event_types: Option<String>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

pub struct NewEndpoint<'a> {
    pub id: &'a str,
    pub tenant: Option<TenantId>,
    pub url: &'a str,
    pub secret: &'a str,
    pub event_types: Option<&'a str>,
    pub label: Option<&'a str>,
}

type EndpointColumns = (
    String,
    Option<i64>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn endpoint_from(
    (id, tenant, tenant_name, url, secret, event_types, label, created, disabled): EndpointColumns,
) -> EndpointRow {
    EndpointRow {
        id,
        tenant: tenant.map(TenantId),
        tenant_name,
        url,
        secret,
        event_types,
        label,
        created_at: created.and_utc(),
        disabled_at: disabled.map(|d| d.and_utc()),
    }
}

impl Tx<'_> {
    /// Registers an endpoint and starts its streams at each tenant's latest event: an
    /// endpoint receives what happens from now on (replay reaches back).
    pub fn insert_webhook_endpoint(&mut self, e: &NewEndpoint<'_>, now: DateTime<Utc>) -> Result<()> {
        diesel::insert_into(we::table)
            .values((
                we::id.eq(e.id),
                we::tenant_id.eq(e.tenant.map(|t| t.0)),
                we::url.eq(e.url),
                we::secret.eq(e.secret),
                we::event_types.eq(e.event_types),
                we::label.eq(e.label),
                we::created_at.eq(now.naive_utc()),
            ))
            .execute(self.conn)?;
        let now = now.naive_utc();
        let streams = tenants::table.inner_join(tenant_counters::table).filter(tenants::deleted_at.is_null()).select((
            e.id.into_sql::<Text>(),
            tenants::id,
            tenant_counters::event_seq,
            now.into_sql::<Timestamp>(),
        ));
        let columns = (wd::endpoint_id, wd::tenant_id, wd::delivered_seq, wd::next_attempt_at);
        match e.tenant {
            Some(t) => diesel::insert_into(wd::table)
                .values(streams.filter(tenants::id.eq(t.0)))
                .into_columns(columns)
                .execute(self.conn)?,
            None => diesel::insert_into(wd::table).values(streams).into_columns(columns).execute(self.conn)?,
        };
        Ok(())
    }

    /// Gives a new tenant a stream on every all-tenants endpoint, from its first event.
    pub fn attach_global_webhooks(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<()> {
        let streams = we::table.filter(we::tenant_id.is_null()).select((
            we::id,
            tenant.0.into_sql::<BigInt>(),
            0i64.into_sql::<BigInt>(),
            now.naive_utc().into_sql::<Timestamp>(),
        ));
        diesel::insert_into(wd::table)
            .values(streams)
            .into_columns((wd::endpoint_id, wd::tenant_id, wd::delivered_seq, wd::next_attempt_at))
            .execute(self.conn)?;
        Ok(())
    }

    /// Endpoints, oldest first: all of them, or those that receive `tenant`'s events.
    pub fn webhook_endpoints(&mut self, tenant: Option<TenantId>) -> Result<Vec<EndpointRow>> {
        let mut query = we::table
            .left_join(tenants::table.on(we::tenant_id.eq(tenants::id.nullable())))
            .select(endpoint_columns())
            .order((we::created_at.asc(), we::id.asc()))
            .into_boxed();
        if let Some(t) = tenant {
            query = query.filter(we::tenant_id.eq(t.0).or(we::tenant_id.is_null()));
        }
        Ok(query.load::<EndpointColumns>(self.conn)?.into_iter().map(endpoint_from).collect())
    }

    pub fn webhook_endpoint(&mut self, id: &str) -> Result<Option<EndpointRow>> {
        let row = we::table
            .left_join(tenants::table.on(we::tenant_id.eq(tenants::id.nullable())))
            .filter(we::id.eq(id))
            .select(endpoint_columns())
            .first::<EndpointColumns>(self.conn)
            .optional()?;
        Ok(row.map(endpoint_from))
    }

    pub fn delete_webhook_endpoint(&mut self, id: &str) -> Result<bool> {
        Ok(diesel::delete(we::table.filter(we::id.eq(id))).execute(self.conn)? > 0)
    }

    /// The receiver answered 410 Gone: stop sending to it until the operator retries.
    pub fn disable_webhook_endpoint(&mut self, endpoint: &str, now: DateTime<Utc>) -> Result<()> {
        diesel::update(we::table.filter(we::id.eq(endpoint)))
            .set(we::disabled_at.eq(now.naive_utc()))
            .execute(self.conn)?;
        Ok(())
    }
}

/// An endpoint's columns with its tenant's name (`EndpointColumns`).
#[diesel::dsl::auto_type]
fn endpoint_columns() -> _ {
    (
        we::id,
        we::tenant_id,
        tenants::name.nullable(),
        we::url,
        we::secret,
        we::event_types,
        we::label,
        we::created_at,
        we::disabled_at,
    )
}
