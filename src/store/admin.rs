//! Queries on the tables that administer scimd itself: `admin_users`, `admin_sessions` and
//! `admin_tokens`. None of them holds tenant data, so none takes a `TenantId`.

use super::errors::is_unique_violation_on;
use super::schema::{admin_sessions, admin_tokens, admin_users};
use super::Tx;
use crate::error::{Error, Quoted, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone)]
pub struct AdminUserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
}

/// A live session and who it belongs to.
#[derive(Debug, Clone)]
pub struct AdminSessionRow {
    pub admin_user_id: i64,
    pub email: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AdminTokenRow {
    pub id: String,
    pub label: Option<String>,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

type TokenColumns = (String, Option<String>, String, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>);

const TOKEN_COLUMNS: (
    admin_tokens::id,
    admin_tokens::label,
    admin_tokens::secret_hash,
    admin_tokens::created_at,
    admin_tokens::last_used_at,
    admin_tokens::revoked_at,
) = (
    admin_tokens::id,
    admin_tokens::label,
    admin_tokens::secret_hash,
    admin_tokens::created_at,
    admin_tokens::last_used_at,
    admin_tokens::revoked_at,
);

fn token_from((id, label, secret_hash, created_at, last_used_at, revoked_at): TokenColumns) -> AdminTokenRow {
    AdminTokenRow {
        id,
        label,
        secret_hash,
        created_at: created_at.and_utc(),
        last_used_at: last_used_at.map(|t| t.and_utc()),
        revoked: revoked_at.is_some(),
    }
}

impl Tx<'_> {
    /// `email` must already be lower-cased.
    pub fn insert_admin_user(&mut self, email: &str, password_hash: &str, now: DateTime<Utc>) -> Result<()> {
        diesel::insert_into(admin_users::table)
            .values((
                admin_users::email.eq(email),
                admin_users::password_hash.eq(password_hash),
                admin_users::created_at.eq(now.naive_utc()),
            ))
            .execute(self.conn)
            .map_err(|e| {
                if is_unique_violation_on(&e, "email") {
                    Error::Conflict(format!("an admin {email} already exists", email = Quoted(email)))
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    pub fn set_admin_password(&mut self, email: &str, password_hash: &str) -> Result<bool> {
        let n = diesel::update(admin_users::table.filter(admin_users::email.eq(email)))
            .set(admin_users::password_hash.eq(password_hash))
            .execute(self.conn)?;
        Ok(n > 0)
    }

    pub fn admin_user_by_email(&mut self, email: &str) -> Result<Option<AdminUserRow>> {
        let row = admin_users::table
            .filter(admin_users::email.eq(email))
            .select((admin_users::id, admin_users::email, admin_users::password_hash))
            .first::<(i64, String, String)>(self.conn)
            .optional()?;
        Ok(row.map(|(id, email, password_hash)| AdminUserRow { id, email, password_hash }))
    }

    pub fn insert_admin_session(
        &mut self,
        token_hash: &str,
        admin_user_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        // Expired sessions are swept here, where a session is born, rather than by a timer.
        diesel::delete(admin_sessions::table.filter(admin_sessions::expires_at.le(now.naive_utc())))
            .execute(self.conn)?;
        diesel::insert_into(admin_sessions::table)
            .values((
                admin_sessions::token_hash.eq(token_hash),
                admin_sessions::admin_user_id.eq(admin_user_id),
                admin_sessions::csrf_token.eq(csrf_token),
                admin_sessions::created_at.eq(now.naive_utc()),
                admin_sessions::expires_at.eq(expires_at.naive_utc()),
            ))
            .execute(self.conn)?;
        Ok(())
    }

    /// The session with this token hash, if it has not expired by `now`.
    pub fn admin_session(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<AdminSessionRow>> {
        let row = admin_sessions::table
            .inner_join(admin_users::table)
            .filter(admin_sessions::token_hash.eq(token_hash).and(admin_sessions::expires_at.gt(now.naive_utc())))
            .select((admin_users::id, admin_users::email, admin_sessions::csrf_token, admin_sessions::expires_at))
            .first::<(i64, String, String, NaiveDateTime)>(self.conn)
            .optional()?;
        Ok(row.map(|(admin_user_id, email, csrf_token, expires_at)| AdminSessionRow {
            admin_user_id,
            email,
            csrf_token,
            expires_at: expires_at.and_utc(),
        }))
    }

    pub fn delete_admin_session(&mut self, token_hash: &str) -> Result<()> {
        diesel::delete(admin_sessions::table.filter(admin_sessions::token_hash.eq(token_hash))).execute(self.conn)?;
        Ok(())
    }

    pub fn insert_admin_token(
        &mut self,
        id: &str,
        label: Option<&str>,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        diesel::insert_into(admin_tokens::table)
            .values((
                admin_tokens::id.eq(id),
                admin_tokens::label.eq(label),
                admin_tokens::secret_hash.eq(secret_hash),
                admin_tokens::created_at.eq(now.naive_utc()),
            ))
            .execute(self.conn)?;
        Ok(())
    }

    pub fn admin_token(&mut self, id: &str) -> Result<Option<AdminTokenRow>> {
        let row = admin_tokens::table
            .filter(admin_tokens::id.eq(id))
            .select(TOKEN_COLUMNS)
            .first::<TokenColumns>(self.conn)
            .optional()?;
        Ok(row.map(token_from))
    }

    pub fn list_admin_tokens(&mut self) -> Result<Vec<AdminTokenRow>> {
        let rows = admin_tokens::table
            .select(TOKEN_COLUMNS)
            .order(admin_tokens::created_at.asc())
            .load::<TokenColumns>(self.conn)?;
        Ok(rows.into_iter().map(token_from).collect())
    }

    pub fn revoke_admin_token(&mut self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let n =
            diesel::update(admin_tokens::table.filter(admin_tokens::id.eq(id).and(admin_tokens::revoked_at.is_null())))
                .set(admin_tokens::revoked_at.eq(now.naive_utc()))
                .execute(self.conn)?;
        Ok(n > 0)
    }

    pub fn touch_admin_token(&mut self, id: &str, now: DateTime<Utc>) -> Result<()> {
        diesel::update(admin_tokens::table.filter(admin_tokens::id.eq(id)))
            .set(admin_tokens::last_used_at.eq(now.naive_utc()))
            .execute(self.conn)?;
        Ok(())
    }
}
