//! The request log table: batched appends (tenant names resolved once per batch), filtered
//! newest-first pages, and pruning by age.

use super::schema::{request_log as rl, tenants};
use super::{TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

/// A request about to be logged. The tenant is the name in the URL: a failed authentication
/// is logged for the tenant whose Base URL was called, if it exists.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Orders entries of the same millisecond (`RequestLog` makes it increase in record order).
    pub id: String,
    pub tenant_name: String,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub filter: Option<String>,
    pub patch_summary: Option<String>,
    pub client: &'static str,
    pub user_agent: Option<String>,
    pub compat: Option<String>,
    pub status: u16,
    pub scim_type: Option<String>,
    pub latency_us: i64,
    pub resource_ids: Vec<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LogRow {
    pub at: DateTime<Utc>,
    pub id: String,
    pub method: String,
    pub path: String,
    pub filter: Option<String>,
    pub patch_summary: Option<String>,
    pub client: String,
    pub user_agent: Option<String>,
    pub compat: Option<String>,
    pub status: i32,
    pub scim_type: Option<String>,
    pub latency_us: i64,
    pub resource_ids: Vec<String>,
    pub request_id: Option<String>,
}

/// Which entries to list: newest first, after the `before` entry (its time and id) when
/// paging on.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// An exact status (404) or a class (4 for 4xx).
    pub status: Option<u16>,
    pub status_class: Option<u16>,
    pub client: Option<String>,
    /// Letters, digits and `-` only (checked by the caller), so it needs no LIKE escaping.
    pub resource: Option<String>,
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: i64,
}

/// A row as selected, in `request_log`'s column order.
#[derive(Queryable)]
struct Selected {
    at: NaiveDateTime,
    id: String,
    method: String,
    path: String,
    filter: Option<String>,
    patch_summary: Option<String>,
    client: String,
    user_agent: Option<String>,
    compat: Option<String>,
    status: i32,
    scim_type: Option<String>,
    latency_us: i64,
    resource_ids: Option<String>,
    request_id: Option<String>,
}

impl Tx<'_> {
    /// Appends a batch; entries for tenants that do not exist are dropped. Returns how many
    /// were written.
    pub fn append_request_log(&mut self, batch: &[LogEntry]) -> Result<usize> {
        let mut names: Vec<&str> = batch.iter().map(|e| e.tenant_name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let ids: HashMap<String, i64> = tenants::table
            .filter(tenants::name.eq_any(&names))
            .select((tenants::name, tenants::id))
            .load::<(String, i64)>(self.conn)?
            .into_iter()
            .collect();
        let mut written = 0;
        for e in batch {
            let Some(&tenant) = ids.get(&e.tenant_name) else { continue };
            let resource_ids = (!e.resource_ids.is_empty()).then(|| format!(" {} ", e.resource_ids.join(" ")));
            diesel::insert_into(rl::table)
                .values((
                    rl::tenant_id.eq(tenant),
                    rl::at.eq(e.at.naive_utc()),
                    rl::id.eq(&e.id),
                    rl::method.eq(&e.method),
                    rl::path.eq(&e.path),
                    rl::filter.eq(e.filter.as_deref()),
                    rl::patch_summary.eq(e.patch_summary.as_deref()),
                    rl::client.eq(e.client),
                    rl::user_agent.eq(e.user_agent.as_deref()),
                    rl::compat.eq(e.compat.as_deref()),
                    rl::status.eq(i32::from(e.status)),
                    rl::scim_type.eq(e.scim_type.as_deref()),
                    rl::latency_us.eq(e.latency_us),
                    rl::resource_ids.eq(resource_ids),
                    rl::request_id.eq(e.request_id.as_deref()),
                ))
                .execute(self.conn)?;
            written += 1;
        }
        Ok(written)
    }

    /// A page of the tenant's log, newest first (a backward scan of the primary key).
    pub fn request_log(&mut self, tenant: TenantId, f: &LogFilter) -> Result<Vec<LogRow>> {
        let mut query = rl::table.filter(rl::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(s) = f.status {
            query = query.filter(rl::status.eq(i32::from(s)));
        }
        if let Some(c) = f.status_class {
            let low = i32::from(c) * 100;
            query = query.filter(rl::status.ge(low).and(rl::status.lt(low + 100)));
        }
        if let Some(c) = &f.client {
            query = query.filter(rl::client.eq(c.clone()));
        }
        if let Some(r) = &f.resource {
            query = query.filter(rl::resource_ids.like(format!("% {r} %")));
        }
        if let Some((at, id)) = &f.before {
            let at = at.naive_utc();
            query = query.filter(rl::at.lt(at).or(rl::at.eq(at).and(rl::id.lt(id.clone()))));
        }
        let rows = query
            .order((rl::at.desc(), rl::id.desc()))
            .limit(f.limit)
            .select((
                rl::at,
                rl::id,
                rl::method,
                rl::path,
                rl::filter,
                rl::patch_summary,
                rl::client,
                rl::user_agent,
                rl::compat,
                rl::status,
                rl::scim_type,
                rl::latency_us,
                rl::resource_ids,
                rl::request_id,
            ))
            .load::<Selected>(self.conn)?;
        Ok(rows
            .into_iter()
            .map(|r| LogRow {
                at: r.at.and_utc(),
                id: r.id,
                method: r.method,
                path: r.path,
                filter: r.filter,
                patch_summary: r.patch_summary,
                client: r.client,
                user_agent: r.user_agent,
                compat: r.compat,
                status: r.status,
                scim_type: r.scim_type,
                latency_us: r.latency_us,
                resource_ids: r
                    .resource_ids
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default(),
                request_id: r.request_id,
            })
            .collect())
    }

    /// Deletes up to `limit` entries older than `cutoff` (every tenant's); returns how many.
    /// Bounded, so pruning a large backlog never holds the writer for long.
    pub fn prune_request_log(&mut self, cutoff: DateTime<Utc>, limit: i64) -> Result<usize> {
        let cutoff = cutoff.naive_utc();
        // The oldest `limit` entries' times, then everything at or before the last of them
        // that is also before the cutoff (ties at that instant go too; harmless).
        let times: Vec<NaiveDateTime> =
            rl::table.filter(rl::at.lt(cutoff)).order(rl::at.asc()).limit(limit).select(rl::at).load(self.conn)?;
        let Some(last) = times.last().copied() else { return Ok(0) };
        Ok(diesel::delete(rl::table.filter(rl::at.le(last).and(rl::at.lt(cutoff)))).execute(self.conn)?)
    }
}
