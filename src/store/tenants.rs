//! Queries on `tenants`.

use super::schema::tenants;
use super::{errors::is_unique_violation_on, TenantId, Tx};
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

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
        Ok(TenantRow { id: TenantId(id), name: name.to_string(), created_at: now, disabled: false, strict_rfc: false })
    }

    pub fn tenant_by_name(&mut self, name: &str) -> Result<Option<TenantRow>> {
        let row =
            tenants::table.filter(tenants::name.eq(name)).select(COLUMNS).first::<Columns>(self.conn).optional()?;
        Ok(row.map(from_columns))
    }

    pub fn list_tenants(&mut self) -> Result<Vec<TenantRow>> {
        let rows = tenants::table.select(COLUMNS).order(tenants::name.asc()).load::<Columns>(self.conn)?;
        Ok(rows.into_iter().map(from_columns).collect())
    }

    pub fn set_strict_rfc(&mut self, tenant: TenantId, strict: bool) -> Result<()> {
        diesel::update(tenants::table.filter(tenants::id.eq(tenant.0)))
            .set(tenants::strict_rfc.eq(strict))
            .execute(self.conn)?;
        Ok(())
    }

    /// Deletes the tenant and, through ON DELETE CASCADE, all of its data.
    pub fn delete_tenant(&mut self, tenant: TenantId) -> Result<bool> {
        let n = diesel::delete(tenants::table.filter(tenants::id.eq(tenant.0))).execute(self.conn)?;
        Ok(n > 0)
    }
}
