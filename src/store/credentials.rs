//! Queries on `credentials`: stored as argon2id hashes and found by their public id.

use super::schema::credentials;
use super::{TenantId, Tx};
use crate::error::Result;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

pub struct NewCredential<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub label: Option<&'a str>,
    pub secret_hash: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: String,
    pub kind: String,
    pub label: Option<String>,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl CredentialRow {
    /// Whether the credential may be used at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at.is_none_or(|e| now < e)
    }
}

type Columns = (
    String,
    String,
    Option<String>,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

const COLUMNS: (
    credentials::id,
    credentials::kind,
    credentials::label,
    credentials::secret_hash,
    credentials::created_at,
    credentials::last_used_at,
    credentials::expires_at,
    credentials::revoked_at,
) = (
    credentials::id,
    credentials::kind,
    credentials::label,
    credentials::secret_hash,
    credentials::created_at,
    credentials::last_used_at,
    credentials::expires_at,
    credentials::revoked_at,
);

fn from_columns(
    (id, kind, label, secret_hash, created_at, last_used_at, expires_at, revoked_at): Columns,
) -> CredentialRow {
    CredentialRow {
        id,
        kind,
        label,
        secret_hash,
        created_at: created_at.and_utc(),
        last_used_at: last_used_at.map(|t| t.and_utc()),
        expires_at: expires_at.map(|t| t.and_utc()),
        revoked: revoked_at.is_some(),
    }
}

impl Tx<'_> {
    pub fn insert_credential(&mut self, tenant: TenantId, c: &NewCredential<'_>, now: DateTime<Utc>) -> Result<()> {
        diesel::insert_into(credentials::table)
            .values((
                credentials::tenant_id.eq(tenant.0),
                credentials::id.eq(c.id),
                credentials::kind.eq(c.kind),
                credentials::label.eq(c.label),
                credentials::secret_hash.eq(c.secret_hash),
                credentials::created_at.eq(now.naive_utc()),
                credentials::expires_at.eq(c.expires_at.map(|t| t.naive_utc())),
            ))
            .execute(self.conn)?;
        Ok(())
    }

    pub fn credential(&mut self, tenant: TenantId, id: &str) -> Result<Option<CredentialRow>> {
        let row = credentials::table
            .filter(credentials::tenant_id.eq(tenant.0).and(credentials::id.eq(id)))
            .select(COLUMNS)
            .get_result::<Columns>(self.conn) // the primary key: one row at most, no bound LIMIT
            .optional()?;
        Ok(row.map(from_columns))
    }

    pub fn list_credentials(&mut self, tenant: TenantId) -> Result<Vec<CredentialRow>> {
        let rows = credentials::table
            .filter(credentials::tenant_id.eq(tenant.0))
            .select(COLUMNS)
            .order(credentials::created_at.asc())
            .load::<Columns>(self.conn)?;
        Ok(rows.into_iter().map(from_columns).collect())
    }

    /// Records a use; the authenticator calls it at most once per recheck interval.
    pub fn touch_credential(&mut self, tenant: TenantId, id: &str, now: DateTime<Utc>) -> Result<()> {
        diesel::update(credentials::table.filter(credentials::tenant_id.eq(tenant.0).and(credentials::id.eq(id))))
            .set(credentials::last_used_at.eq(now.naive_utc()))
            .execute(self.conn)?;
        Ok(())
    }

    /// Marks the credential revoked (it stays listed); false if there is no such credential.
    pub fn revoke_credential(&mut self, tenant: TenantId, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = diesel::update(credentials::table.filter(
            credentials::tenant_id.eq(tenant.0).and(credentials::id.eq(id)).and(credentials::revoked_at.is_null()),
        ))
        .set(credentials::revoked_at.eq(now.naive_utc()))
        .execute(self.conn)?;
        Ok(n > 0)
    }
}
