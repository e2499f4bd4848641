//! Queries on `tenants`.

use super::predicate::Table;
use super::schema::{credentials, groups, request_log, tenant_counters, tenants, users, webhook_deliveries};
use super::{errors::is_unique_violation_on, TenantId, Tx};
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::max;
use diesel::prelude::*;
use std::collections::HashMap;

/// Between a retired tenant's name and its id in the renamed row; no valid name contains it.
const RETIRED: &str = "~deleted~";

/// The name a tenant had, for a row that may be retired.
pub fn original_name(stored: &str) -> &str {
    stored.split(RETIRED).next().unwrap_or(stored)
}

/// What the admin page shows about a tenant's directory.
#[derive(Debug, Clone, Default)]
pub struct TenantStats {
    pub users: i64,
    pub groups: i64,
    /// The latest `last_used_at` of its credentials: when an IdP last called.
    pub last_activity: Option<DateTime<Utc>>,
    /// The seq of its latest event.
    pub latest_event: i64,
}

/// The size of a tenant's set of users or groups, and its version: bumped on every add and
/// remove (migration 000011).
pub(super) struct ResourceSet {
    pub count: u64,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct TenantRow {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
    pub strict_rfc: bool,
}

type Columns = (i64, String, NaiveDateTime, Option<NaiveDateTime>, bool);

fn from_columns((id, name, created_at, disabled_at, strict_rfc): Columns) -> TenantRow {
    TenantRow { id: TenantId(id), name, created_at: created_at.and_utc(), disabled: disabled_at.is_some(), strict_rfc }
}

const COLUMNS: (tenants::id, tenants::name, tenants::created_at, tenants::disabled_at, tenants::strict_rfc) =
    (tenants::id, tenants::name, tenants::created_at, tenants::disabled_at, tenants::strict_rfc);

impl Tx<'_> {
    pub fn create_tenant(&mut self, name: &str, now: DateTime<Utc>) -> Result<TenantRow> {
        let ids: Vec<i64> = diesel::insert_into(tenants::table)
            .values((tenants::name.eq(name), tenants::created_at.eq(now.naive_utc())))
            .returning(tenants::id)
            // get_results, not get_result: a pending RETURNING cursor stalls SQLite checkpoints.
            .get_results(self.conn)
            .map_err(|e| {
                if is_unique_violation_on(&e, "name") {
                    Error::Conflict(format!("tenant {name:?} already exists"))
                } else {
                    e.into()
                }
            })?;
        let id = ids.first().copied().ok_or_else(|| Error::internal("insert returned no id"))?;
        diesel::insert_into(tenant_counters::table).values(tenant_counters::tenant_id.eq(id)).execute(self.conn)?;
        self.attach_global_webhooks(TenantId(id), now)?;
        Ok(TenantRow { id: TenantId(id), name: name.to_string(), created_at: now, disabled: false, strict_rfc: false })
    }

    pub fn tenant_by_name(&mut self, name: &str) -> Result<Option<TenantRow>> {
        let row = tenants::table
            .filter(tenants::name.eq(name).and(tenants::deleted_at.is_null()))
            .select(COLUMNS)
            .get_result::<Columns>(self.conn) // names are unique: no bound LIMIT
            .optional()?;
        Ok(row.map(from_columns))
    }

    pub fn list_tenants(&mut self) -> Result<Vec<TenantRow>> {
        let rows = tenants::table
            .filter(tenants::deleted_at.is_null())
            .select(COLUMNS)
            .order(tenants::name.asc())
            .load::<Columns>(self.conn)?;
        Ok(rows.into_iter().map(from_columns).collect())
    }

    pub fn set_strict_rfc(&mut self, tenant: TenantId, strict: bool) -> Result<()> {
        diesel::update(tenants::table.filter(tenants::id.eq(tenant.0)))
            .set(tenants::strict_rfc.eq(strict))
            .execute(self.conn)?;
        Ok(())
    }

    /// Disables (`Some(when)`) or re-enables (`None`) the tenant; false if it does not exist.
    pub fn set_tenant_disabled(&mut self, tenant: TenantId, disabled_at: Option<DateTime<Utc>>) -> Result<bool> {
        let n = diesel::update(tenants::table.filter(tenants::id.eq(tenant.0)))
            .set(tenants::disabled_at.eq(disabled_at.map(|t| t.naive_utc())))
            .execute(self.conn)?;
        Ok(n > 0)
    }

    /// Users, groups and last credential use of one tenant (the counts the triggers of
    /// migrations 000010 and 000011 keep in `tenant_counters`).
    pub fn tenant_stats(&mut self, tenant: TenantId) -> Result<TenantStats> {
        let last = credentials::table
            .filter(credentials::tenant_id.eq(tenant.0))
            .select(max(credentials::last_used_at))
            .first::<Option<NaiveDateTime>>(self.conn)?;
        let (users, groups, latest_event) = tenant_counters::table
            .filter(tenant_counters::tenant_id.eq(tenant.0))
            .select((tenant_counters::user_count, tenant_counters::group_count, tenant_counters::event_seq))
            .first::<(i64, i64, i64)>(self.conn)?;
        Ok(TenantStats { users, groups, last_activity: last.map(|t| t.and_utc()), latest_event })
    }

    /// How many users or groups the tenant has (what an unfiltered list reports as
    /// totalResults without counting rows) and the version of that set (`positions`).
    pub(super) fn resource_set(&mut self, tenant: TenantId, table: Table) -> Result<ResourceSet> {
        use tenant_counters as c;
        let row = c::table.filter(c::tenant_id.eq(tenant.0));
        let found = match table {
            Table::Users => row.select((c::user_count, c::user_set_version)).get_result(self.conn),
            Table::Groups => row.select((c::group_count, c::group_set_version)).get_result(self.conn),
        };
        let (count, version) = found.optional()?.unwrap_or((0i64, 0i64));
        Ok(ResourceSet { count: count.max(0) as u64, version })
    }

    /// `tenant_stats` of every tenant, in two queries.
    pub fn all_tenant_stats(&mut self) -> Result<HashMap<TenantId, TenantStats>> {
        let mut stats: HashMap<TenantId, TenantStats> = HashMap::new();
        let counts = tenant_counters::table
            .select((tenant_counters::tenant_id, tenant_counters::user_count, tenant_counters::group_count))
            .load::<(i64, i64, i64)>(self.conn)?;
        for (t, users, groups) in counts {
            let entry = stats.entry(TenantId(t)).or_default();
            entry.users = users;
            entry.groups = groups;
        }
        let last_used = credentials::table
            .group_by(credentials::tenant_id)
            .select((credentials::tenant_id, max(credentials::last_used_at)))
            .load::<(i64, Option<NaiveDateTime>)>(self.conn)?;
        for (t, last) in last_used {
            stats.entry(TenantId(t)).or_default().last_activity = last.map(|t| t.and_utc());
        }
        Ok(stats)
    }

    /// Deletes the tenant and, through ON DELETE CASCADE, all of its data.
    pub fn delete_tenant(&mut self, tenant: TenantId) -> Result<bool> {
        let n = diesel::delete(tenants::table.filter(tenants::id.eq(tenant.0))).execute(self.conn)?;
        Ok(n > 0)
    }

    /// Deletes the tenant's data and frees its name (renamed `name~deleted~id`), but keeps the row and its events until
    /// the webhook streams that still owe events have delivered them (`purge_retired_tenants`).
    pub fn retire_tenant(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<()> {
        // Groups first: their memberships go with them (group_members cascades from groups).
        diesel::delete(groups::table.filter(groups::tenant_id.eq(tenant.0))).execute(self.conn)?;
        diesel::delete(users::table.filter(users::tenant_id.eq(tenant.0))).execute(self.conn)?;
        diesel::delete(credentials::table.filter(credentials::tenant_id.eq(tenant.0))).execute(self.conn)?;
        diesel::delete(request_log::table.filter(request_log::tenant_id.eq(tenant.0))).execute(self.conn)?;
        let row = tenants::table.filter(tenants::id.eq(tenant.0)).select(tenants::name).first::<String>(self.conn)?;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant.0)))
            .set((tenants::deleted_at.eq(now.naive_utc()), tenants::name.eq(format!("{row}{RETIRED}{}", tenant.0))))
            .execute(self.conn)?;
        Ok(())
    }

    /// Whether any webhook endpoint receives this tenant's events.
    pub fn tenant_has_webhook_streams(&mut self, tenant: TenantId) -> Result<bool> {
        let n = webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant.0))
            .count()
            .get_result::<i64>(self.conn)?;
        Ok(n > 0)
    }

    pub fn has_retired_tenants(&mut self) -> Result<bool> {
        let n = tenants::table.filter(tenants::deleted_at.is_not_null()).count().get_result::<i64>(self.conn)?;
        Ok(n > 0)
    }

    /// Removes retired tenants (and their events) whose every stream has caught up. Returns
    /// how many went.
    pub fn purge_retired_tenants(&mut self) -> Result<usize> {
        // `tenant.deleted` may still wait for its number, and a tenant goes only after it.
        self.number_events(None)?;
        let retired: Vec<(i64, i64)> = tenants::table
            .inner_join(tenant_counters::table)
            .filter(tenants::deleted_at.is_not_null())
            .select((tenants::id, tenant_counters::event_seq))
            .load(self.conn)?;
        let mut purged = 0;
        for (id, latest) in retired {
            let owing = webhook_deliveries::table
                .filter(webhook_deliveries::tenant_id.eq(id).and(webhook_deliveries::delivered_seq.lt(latest)))
                .count()
                .get_result::<i64>(self.conn)?;
            if owing == 0 {
                purged += diesel::delete(tenants::table.filter(tenants::id.eq(id))).execute(self.conn)?;
            }
        }
        Ok(purged)
    }
}
