//! Queries on `tenants`.

use super::predicate::Table;
use super::schema::{credentials, events, groups, request_log, tenant_counters, tenants, users, webhook_deliveries};
use super::sql::{self, Piece};
use super::{errors::is_unique_violation_on, Backend, TenantId, Tx};
use crate::error::{Error, Quoted, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
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
/// remove (migration 000011), on PostgreSQL when the add or remove is folded in (000019).
pub(super) struct ResourceSet {
    pub count: u64,
    /// `None` while adds or removes wait to be folded into the counters (PostgreSQL): the set
    /// has moved since the version, so the version does not name it.
    pub version: Option<i64>,
}

/// A tenant's counters row with its pending deltas added (migration 000019): what every count
/// reads, so that it is exact in the reader's snapshot on both backends (SQLite has no deltas).
const COUNTED: &str = "SELECT c.tenant_id, \
    c.user_count + COALESCE((SELECT CAST(SUM(d.users) AS BIGINT) FROM tenant_counter_deltas d \
        WHERE d.tenant_id = c.tenant_id), 0) AS users, \
    c.group_count + COALESCE((SELECT CAST(SUM(d.groups) AS BIGINT) FROM tenant_counter_deltas d \
        WHERE d.tenant_id = c.tenant_id), 0) AS groups, \
    c.user_set_version, c.group_set_version, c.event_seq, \
    (SELECT COUNT(*) FROM tenant_counter_deltas d WHERE d.tenant_id = c.tenant_id AND d.user_changes <> 0) \
        AS users_pending, \
    (SELECT COUNT(*) FROM tenant_counter_deltas d WHERE d.tenant_id = c.tenant_id AND d.group_changes <> 0) \
        AS groups_pending \
    FROM tenant_counters c";

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    tenant_id: i64,
    #[diesel(sql_type = BigInt)]
    users: i64,
    #[diesel(sql_type = BigInt)]
    groups: i64,
    #[diesel(sql_type = BigInt)]
    user_set_version: i64,
    #[diesel(sql_type = BigInt)]
    group_set_version: i64,
    #[diesel(sql_type = BigInt)]
    event_seq: i64,
    #[diesel(sql_type = BigInt)]
    users_pending: i64,
    #[diesel(sql_type = BigInt)]
    groups_pending: i64,
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
                    Error::Conflict(format!("tenant {name} already exists", name = Quoted(name)))
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
    /// migrations 000010, 000011 and 000019 keep in `tenant_counters` and its deltas).
    pub fn tenant_stats(&mut self, tenant: TenantId) -> Result<TenantStats> {
        let last = credentials::table
            .filter(credentials::tenant_id.eq(tenant.0))
            .select(max(credentials::last_used_at))
            .first::<Option<NaiveDateTime>>(self.conn)?;
        let c = self.counted(tenant)?.ok_or(diesel::result::Error::NotFound)?;
        Ok(TenantStats {
            users: c.users,
            groups: c.groups,
            last_activity: last.map(|t| t.and_utc()),
            latest_event: c.event_seq,
        })
    }

    fn counted(&mut self, tenant: TenantId) -> Result<Option<Counted>> {
        let one = [Piece::Sql(format!("{COUNTED} WHERE c.tenant_id = ")), Piece::BigInt(tenant.0)];
        Ok(sql::load_prepared::<Counted>(self.conn, &one)?.pop())
    }

    /// How many users or groups the tenant has (what an unfiltered list reports as
    /// totalResults without counting rows) and the version of that set (`positions`).
    pub(super) fn resource_set(&mut self, tenant: TenantId, table: Table) -> Result<ResourceSet> {
        let Some(c) = self.counted(tenant)? else { return Ok(ResourceSet { count: 0, version: Some(0) }) };
        let (count, version, pending) = match table {
            Table::Users => (c.users, c.user_set_version, c.users_pending),
            Table::Groups => (c.groups, c.group_set_version, c.groups_pending),
        };
        Ok(ResourceSet { count: count.max(0) as u64, version: (pending == 0).then_some(version) })
    }

    /// `tenant_stats` of every tenant, in two queries.
    pub fn all_tenant_stats(&mut self) -> Result<HashMap<TenantId, TenantStats>> {
        let mut stats: HashMap<TenantId, TenantStats> = HashMap::new();
        let counts: Vec<Counted> = sql::load_prepared(self.conn, &[Piece::Sql(COUNTED.into())])?;
        for c in counts {
            let entry = stats.entry(TenantId(c.tenant_id)).or_default();
            entry.users = c.users;
            entry.groups = c.groups;
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

    /// Deletes the tenant with all of its data: what references its row goes through ON DELETE
    /// CASCADE, and the rows appended under it without a key to it are deleted here.
    pub fn delete_tenant(&mut self, tenant: TenantId) -> Result<bool> {
        Ok(self.delete_tenant_row(tenant.0)? > 0)
    }

    /// The tenant's row, then its events, pending events, request log and rows of deltas, which
    /// have no foreign key to it on PostgreSQL (migrations 000019 and 000021; on SQLite the
    /// request log, in a file of its own, has none either: 000022). In this order: every
    /// transaction that appends to those tables holds a lock the row's deletion (with its
    /// cascades) waits for, so under READ COMMITTED the statements after it see all they
    /// appended (see migration 000021 and `append_request_log`).
    fn delete_tenant_row(&mut self, tenant: i64) -> Result<usize> {
        let n = diesel::delete(tenants::table.filter(tenants::id.eq(tenant))).execute(self.conn)?;
        diesel::delete(events::table.filter(events::tenant_id.eq(tenant))).execute(self.conn)?;
        diesel::delete(request_log::table.filter(request_log::tenant_id.eq(tenant))).execute(self.conn)?;
        if self.backend() == Backend::Postgres {
            let pending = [Piece::Sql("DELETE FROM pending_events WHERE tenant_id = ".into()), Piece::BigInt(tenant)];
            sql::execute_prepared(self.conn, &pending)?;
        }
        let deltas = [Piece::Sql("DELETE FROM tenant_counter_deltas WHERE tenant_id = ".into()), Piece::BigInt(tenant)];
        sql::execute_prepared(self.conn, &deltas)?;
        Ok(n)
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
                purged += self.delete_tenant_row(id)?;
            }
        }
        Ok(purged)
    }
}
