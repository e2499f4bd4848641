//! The request log table: batched appends (tenant names resolved once per batch), filtered
//! newest-first pages, and pruning by age.

use super::connection::AnyConnection;
use super::request_log_insert;
use super::schema::{request_log as rl, tenants};
use super::{TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

/// A request about to be logged. The tenant is the name in the URL: a failed authentication
/// is logged for the tenant whose Base URL was called, if it exists.
#[derive(Debug, Clone, PartialEq, Default)]
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
        let named = tenants::table.filter(tenants::name.eq_any(&names)).select((tenants::name, tenants::id));
        // No foreign key to the tenant (migrations 000021, 000022): a tenant's deletion
        // deletes its entries, and must see every batch that found it (see `keep_if_tenants_live`
        // for PostgreSQL). On SQLite the batch takes the request log file's write lock before it
        // reads the names: a deletion that is writing (it takes that lock too) is either
        // committed before the names are read or waits for the batch.
        let ids: HashMap<String, i64> = match &mut *self.conn {
            AnyConnection::Postgresql(pg) => named.load::<(String, i64)>(pg)?,
            AnyConnection::Sqlite(sqlite) => {
                diesel::sql_query("DELETE FROM request_log WHERE 0").execute(sqlite)?;
                named.load::<(String, i64)>(sqlite)?
            }
        }
        .into_iter()
        .collect();
        let rows: Vec<(i64, &LogEntry)> =
            batch.iter().filter_map(|e| ids.get(&e.tenant_name).map(|&tenant| (tenant, e))).collect();
        match &mut *self.conn {
            AnyConnection::Postgresql(pg) => {
                request_log_insert::insert_pg(pg, &rows)?;
                let gone = keep_if_tenants_live(pg, ids.values().copied().collect())?;
                Ok(rows.iter().filter(|(tenant, _)| !gone.contains(tenant)).count())
            }
            AnyConnection::Sqlite(sqlite) => {
                request_log_insert::insert_sqlite(sqlite, &rows)?;
                Ok(rows.len())
            }
        }
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

    /// Deletes up to `limit` entries older than `cutoff` (every tenant's, a tenant at a time);
    /// returns how many, fewer than `limit` once none are left. Bounded, so pruning a large
    /// backlog never holds the writer for long.
    pub fn prune_request_log(&mut self, cutoff: DateTime<Utc>, limit: i64) -> Result<usize> {
        let cutoff = cutoff.naive_utc();
        // Along the primary key (tenant, time, id): there is no index on the time alone
        // (migration 000017), which every logged request paid for.
        let tenant_ids: Vec<i64> = tenants::table.select(tenants::id).order(tenants::id).load(self.conn)?;
        let mut pruned = 0;
        for tenant in tenant_ids {
            let left = limit - pruned as i64;
            if left <= 0 {
                break;
            }
            // The tenant's oldest `left` entries' times, then everything at or before the
            // last of them that is also before the cutoff (ties at that instant go too).
            let times: Vec<NaiveDateTime> = rl::table
                .filter(rl::tenant_id.eq(tenant).and(rl::at.lt(cutoff)))
                .order(rl::at.asc())
                .limit(left)
                .select(rl::at)
                .load(self.conn)?;
            let Some(last) = times.last().copied() else { continue };
            let old = rl::tenant_id.eq(tenant).and(rl::at.le(last)).and(rl::at.lt(cutoff));
            pruned += diesel::delete(rl::table.filter(old)).execute(self.conn)?;
        }
        Ok(pruned)
    }
}

/// After a batch's INSERT on PostgreSQL: locks the rows of the tenants it wrote for (FOR KEY
/// SHARE, as the foreign key's checks did at the end of the statement), and deletes the batch's
/// entries of those deleted meanwhile; returns their ids. A tenant's deletion either committed
/// before the lock (its entries' DELETE did not see this batch's, so the batch removes them),
/// or waits for the batch to commit and then deletes them. Locked only now, not when the names
/// are read: a KEY SHARE held through the whole INSERT is shared by the key check of every POST
/// to the tenant meanwhile, each then making a multixact of the lockers.
fn keep_if_tenants_live(pg: &mut diesel::PgConnection, mut ids: Vec<i64>) -> Result<Vec<i64>> {
    ids.sort_unstable();
    let live: Vec<i64> = tenants::table
        .filter(tenants::id.eq_any(&ids))
        .select(tenants::id)
        .order(tenants::id)
        .for_key_share()
        .load(pg)?;
    let gone: Vec<i64> = ids.into_iter().filter(|id| live.binary_search(id).is_err()).collect();
    if !gone.is_empty() {
        diesel::delete(rl::table.filter(rl::tenant_id.eq_any(&gone))).execute(pg)?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::{LogEntry, LogFilter};
    use crate::store::test_stores::stores;
    use chrono::{Duration, SubsecRound, Utc};

    /// Batches of any size land whole, in the few statement sizes the writer prepares on
    /// SQLite and as one statement of arrays on PostgreSQL, every field where it belongs.
    #[test]
    fn batches_of_any_size_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
            let start = Utc::now() - Duration::hours(1);
            let mut written = 0;
            let mut sent = Vec::new();
            // Every statement size: 24 is 16 + 8, 99 is 64 + 32 + 2 + 1, 237 is 100 + 100 + 32 + 4 + 1.
            for size in [1, 2, 3, 24, 99, 100, 101, 237] {
                let batch: Vec<LogEntry> = (0..size)
                    .map(|i| LogEntry {
                        id: format!("{size:03}-{i:03}"),
                        tenant_name: "acme".into(),
                        at: start + Duration::milliseconds(written + i),
                        method: "GET".into(),
                        path: format!("/scim/v2/acme/Users/{i}"),
                        filter: (i % 2 == 0).then(|| format!("userName eq \"x\\\"{i}\\\\é\u{1F600}\"")),
                        patch_summary: (i % 2 == 1).then(|| format!("replace active ({i})")),
                        client: if i % 2 == 0 { "Okta" } else { "Entra ID" },
                        user_agent: (i % 5 != 0).then(|| "Okta SCIM Client 1.0.0".into()),
                        compat: (i % 4 == 0).then(|| "okta-filter".into()),
                        status: if i % 3 == 0 { 404 } else { 200 },
                        scim_type: (i % 3 == 0).then(|| "noTarget".into()),
                        latency_us: 1_000 + i,
                        resource_ids: vec![format!("r{size}-{i}"), "it's".into()],
                        request_id: (i % 2 == 0).then(|| format!("req-{i}")),
                    })
                    .collect();
                assert_eq!(store.write(|tx| tx.append_request_log(&batch)).unwrap(), size as usize);
                written += size;
                sent.extend(batch);
            }
            let filter = |resource: Option<&str>| LogFilter {
                status: None,
                status_class: None,
                client: None,
                resource: resource.map(str::to_string),
                before: None,
                limit: 10_000,
            };
            let rows = store.read(|tx| tx.request_log(tenant, &filter(None))).unwrap();
            assert_eq!(rows.len() as i64, written);
            assert_eq!(rows[0].id, "237-236", "newest first");
            for (row, e) in rows.iter().rev().zip(&sent) {
                let b = store.backend();
                let what = (
                    &row.id,
                    row.at.trunc_subsecs(6),
                    &row.method,
                    &row.path,
                    &row.filter,
                    &row.patch_summary,
                    &row.client,
                );
                let sent = (
                    &e.id,
                    e.at.trunc_subsecs(6),
                    &e.method,
                    &e.path,
                    &e.filter,
                    &e.patch_summary,
                    &e.client.to_string(),
                );
                assert_eq!(what, sent, "{b:?}");
                let how = (&row.user_agent, &row.compat, row.status, &row.scim_type, row.latency_us, &row.resource_ids);
                let sent = (&e.user_agent, &e.compat, i32::from(e.status), &e.scim_type, e.latency_us, &e.resource_ids);
                assert_eq!(how, sent, "{b:?}");
                assert_eq!(row.request_id, e.request_id, "{b:?}");
            }
            let one = store.read(|tx| tx.request_log(tenant, &filter(Some("r101-100")))).unwrap();
            assert_eq!(one.len(), 1);
        }
    }

    /// Pruning goes tenant by tenant in bounded passes: every entry before the cutoff goes,
    /// of every tenant, and nothing after it; a pass short of the limit means none are left.
    #[test]
    fn pruning_takes_every_tenants_old_entries_in_bounded_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let now = Utc::now();
            let cutoff = now - Duration::days(30);
            let mut batch = Vec::new();
            for (name, old, recent) in [("acme", 5, 2), ("beta", 0, 1), ("core", 3, 0)] {
                store.write(|tx| tx.create_tenant(name, now)).unwrap();
                for i in 0..old + recent {
                    let at = if i < old { cutoff - Duration::hours(i + 1) } else { cutoff + Duration::hours(i) };
                    batch.push(LogEntry {
                        id: format!("{name}{i}"),
                        tenant_name: name.into(),
                        at,
                        method: "GET".into(),
                        path: format!("/{name}/{i}"),
                        client: "other",
                        status: 200,
                        ..LogEntry::default()
                    });
                }
            }
            store.write(|tx| tx.append_request_log(&batch)).unwrap();
            let mut passes = Vec::new();
            loop {
                let n = store.write(|tx| tx.prune_request_log(cutoff, 3)).unwrap();
                passes.push(n);
                if n < 3 || passes.len() > 10 {
                    break;
                }
            }
            assert_eq!(passes, [3, 3, 2], "{:?}", store.backend());
            let left = |name: &str| {
                let tenant = store.read(|tx| tx.tenant_by_name(name)).unwrap().unwrap().id;
                let filter = LogFilter { limit: 100, ..LogFilter::default() };
                let mut paths: Vec<String> =
                    store.read(|tx| tx.request_log(tenant, &filter)).unwrap().into_iter().map(|r| r.path).collect();
                paths.sort();
                paths
            };
            assert_eq!(
                (left("acme"), left("beta"), left("core")),
                (vec!["/acme/5".to_string(), "/acme/6".into()], vec!["/beta/0".into()], vec![])
            );
        }
    }
}
