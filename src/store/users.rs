//! Queries on `users` and their multi-valued index `user_values`.

use super::connection::{on_backend, AnyConnection};
use super::errors::is_unique_violation_on;
use super::predicate::{Predicate, Table};
use super::schema::{user_values, users};
use super::stored_time::StoredTime;
use super::{sql, TenantId, Tx};
use crate::error::{Error, Quoted, Result};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

diesel::define_sql_function! {
    /// SQLite's rowid of the row the connection last inserted.
    fn last_insert_rowid() -> diesel::sql_types::BigInt;
}

/// The columns derived from a user resource, written on create and on every change.
#[derive(Debug, Clone)]
pub struct UserWrite {
    pub user_name: String,
    /// What the user puts in the indexes.
    pub keys: UserKeys,
    /// The canonical resource JSON (all attributes but id and meta).
    pub data: String,
    /// `data` with caseExact=false strings normalised, for filters.
    pub data_norm: String,
}

/// What a user puts in the indexes: its indexed columns and its index rows. An update is given
/// those the user had before it (`Tx::update_user_row`) and changes only what differs. SQLite rewrites a row's entry in every index
/// on a column the SET names, even to the same value, and every commit then writes those index
/// pages out (a 200-row test: 908 pages written with four unchanged indexed columns in the SET,
/// 198 without). Derived from the stored attributes, which every write keeps in step with the
/// index rows, instead of read back (a round trip on PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub struct UserKeys {
    pub user_name_norm: String,
    pub external_id: Option<String>,
    pub display_name_norm: Option<String>,
    pub active: Option<bool>,
    pub values: Vec<UserValueRow>,
}

/// One element of a multi-valued attribute, as the filter index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserValueRow {
    pub attr: &'static str,
    pub position: i32,
    pub value_norm: Option<String>,
    pub type_norm: Option<String>,
    pub is_primary: Option<bool>,
}

pub struct NewUser {
    pub id: String,
    pub write: UserWrite,
    pub password_hash: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub pk: i64,
    pub id: String,
    pub data: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    /// Whether the user has ever been added to a group (a flag on the row, so users never in
    /// one need no second query).
    pub in_groups: bool,
}

/// One page of a user list.
pub type UserListQuery = super::ListQuery;

pub struct ListedUsers {
    pub total: u64,
    pub rows: Vec<UserRow>,
}

pub(super) type RowColumns = (i64, String, String, i64, StoredTime, StoredTime, bool);

macro_rules! row_columns {
    () => {
        (users::pk, users::id, users::data, users::version, users::created_at, users::last_modified, users::in_groups)
    };
}

impl UserRow {
    /// The row `new` was inserted as, given the key it got.
    pub(super) fn inserted(pk: i64, new: &NewUser) -> UserRow {
        UserRow {
            pk,
            id: new.id.clone(),
            data: new.write.data.clone(),
            version: 1,
            created_at: new.now,
            last_modified: new.now,
            in_groups: false,
        }
    }
}

/// `current` as an update to `w` at `now` leaves it.
pub(super) fn updated_row(current: &UserRow, w: &UserWrite, now: DateTime<Utc>) -> UserRow {
    UserRow { data: w.data.clone(), version: current.version + 1, last_modified: now, ..current.clone() }
}

pub(super) fn from_columns((pk, id, data, version, created_at, last_modified, in_groups): RowColumns) -> UserRow {
    UserRow { pk, id, data, version, created_at: created_at.utc(), last_modified: last_modified.utc(), in_groups }
}

pub(super) fn map_write_error(e: diesel::result::Error, user_name: &str) -> Error {
    if is_unique_violation_on(&e, "user_name") {
        Error::Conflict(format!("a user with userName {user_name} already exists", user_name = Quoted(user_name)))
    } else {
        e.into()
    }
}

/// The columns of `PageRow`, for the lists' statements.
const PAGE_COLUMNS: &str =
    "users.pk, users.id, users.data, users.version, users.created_at, users.last_modified, users.in_groups";

/// A row of a list's statements (`sql::page_sql`, `sql::all_rows_sql`).
#[derive(QueryableByName)]
#[diesel(table_name = users)]
struct PageRow {
    pk: i64,
    id: String,
    data: String,
    version: i64,
    created_at: StoredTime,
    last_modified: StoredTime,
    in_groups: bool,
}

impl Tx<'_> {
    pub fn insert_user(&mut self, tenant: TenantId, user: &NewUser) -> Result<UserRow> {
        let w = &user.write;
        let now = StoredTime(user.now.naive_utc());
        let insert = diesel::insert_into(users::table).values((
            users::tenant_id.eq(tenant.0),
            users::id.eq(&user.id),
            users::user_name.eq(&w.user_name),
            users::user_name_norm.eq(&w.keys.user_name_norm),
            users::external_id.eq(&w.keys.external_id),
            users::display_name_norm.eq(&w.keys.display_name_norm),
            users::active.eq(w.keys.active),
            users::data.eq(&w.data),
            users::data_norm.eq(&w.data_norm),
            users::password_hash.eq(&user.password_hash),
            users::version.eq(1i64),
            users::created_at.eq(now),
            users::last_modified.eq(now),
        ));
        let pk = match &mut *self.conn {
            // `pk` is the rowid. RETURNING would gather it in a temporary B-tree SQLite opens
            // and closes on every run.
            AnyConnection::Sqlite(c) => {
                insert.execute(c).map_err(|e| map_write_error(e, &w.user_name))?;
                diesel::select(last_insert_rowid()).get_result::<i64>(c)?
            }
            AnyConnection::Postgresql(c) => {
                insert.returning(users::pk).get_result(c).map_err(|e| map_write_error(e, &w.user_name))?
            }
        };
        self.insert_user_values(tenant, pk, &w.keys.values)?;
        Ok(UserRow::inserted(pk, user))
    }

    fn insert_user_values(&mut self, tenant: TenantId, user_pk: i64, values: &[UserValueRow]) -> Result<()> {
        // One statement per element: a user has a handful of emails and phone numbers.
        for v in values {
            let insert = diesel::insert_into(user_values::table).values((
                user_values::tenant_id.eq(tenant.0),
                user_values::user_pk.eq(user_pk),
                user_values::attr.eq(v.attr),
                user_values::position.eq(v.position),
                user_values::value_norm.eq(&v.value_norm),
                user_values::type_norm.eq(&v.type_norm),
                user_values::is_primary.eq(v.is_primary),
            ));
            on_backend!(&mut *self.conn, |c| insert.execute(c))?;
        }
        Ok(())
    }

    pub fn user_by_id(&mut self, tenant: TenantId, id: &str) -> Result<Option<UserRow>> {
        let row = users::table
            .filter(users::tenant_id.eq(tenant.0).and(users::id.eq(id)))
            .select(row_columns!())
            // get_result, not first: no bound LIMIT, so SQLite keeps the statement prepared
            // (the unique index (tenant_id, id) allows one row at most).
            .get_result::<RowColumns>(self.conn)
            .optional()?;
        Ok(row.map(from_columns))
    }

    /// Locks the user `id` against other writes until this transaction ends (PostgreSQL's
    /// FOR NO KEY UPDATE, which member adds' FOR KEY SHARE does not wait for), so that what
    /// the transaction reads of it next is what it writes over: under READ COMMITTED each
    /// statement reads the latest commit, and a version check that can fail any number of
    /// times in a row can starve a write of a busy user. A no-op on SQLite, whose one writer
    /// runs a transaction at a time.
    pub fn lock_user_to_write(&mut self, tenant: TenantId, id: &str) -> Result<()> {
        if let AnyConnection::Postgresql(pg) = &mut *self.conn {
            users::table
                .filter(users::tenant_id.eq(tenant.0).and(users::id.eq(id)))
                .select(users::pk)
                .for_no_key_update()
                .load::<i64>(pg)?;
        }
        Ok(())
    }

    /// Writes `w` over the user `pk` if it is still at `expected_version`; otherwise
    /// `Error::WriteConflict` (someone else changed it since it was read). `password_hash`:
    /// `Some` sets a new password, `None` keeps the current one. The UPDATE of the user's row
    /// alone, a write's first statement: it fails (or finds the version moved on) before it
    /// changes anything; `update_user_values` follows it.
    pub(super) fn update_user_row(
        &mut self,
        tenant: TenantId,
        current: &UserRow,
        previous: &UserKeys,
        w: &UserWrite,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<UserRow> {
        let version = current.version + 1;
        let update = super::user_update::UserUpdate {
            previous,
            write: w,
            password_hash,
            version,
            last_modified: StoredTime(now.naive_utc()),
            tenant: tenant.0,
            pk: current.pk,
            expected: current.version,
        };
        let updated = update.run(self.conn).map_err(|e| map_write_error(e, &w.user_name))?;
        if updated == 0 {
            return Err(Error::WriteConflict);
        }
        Ok(updated_row(current, w, now))
    }

    /// The rest of a user's update after `update_user_row`: its index rows, replaced if they
    /// changed.
    pub(super) fn update_user_values(
        &mut self,
        tenant: TenantId,
        current: &UserRow,
        previous: &UserKeys,
        w: &UserWrite,
    ) -> Result<()> {
        // Most updates leave the indexed values as they were (Okta's profile push changes a
        // title, a deactivation touches none of them): rewriting them anyway dirtied their
        // index pages on every write, and on SQLite every commit writes those pages out.
        if previous.values != w.keys.values {
            let delete = diesel::delete(
                user_values::table.filter(user_values::tenant_id.eq(tenant.0).and(user_values::user_pk.eq(current.pk))),
            );
            on_backend!(&mut *self.conn, |c| delete.execute(c))?;
            self.insert_user_values(tenant, current.pk, &w.keys.values)?;
        }
        Ok(())
    }

    /// Deletes the user, its index rows (ON DELETE CASCADE) and its group memberships.
    /// Deletes `user` if it is still at `user.version` (else WriteConflict, and the caller reads
    /// it again): on PostgreSQL a change committed since `user` was read must not be deleted
    /// unseen, past an If-Match that named the version before it, with its event describing
    /// the user as it was.
    pub fn delete_user(&mut self, tenant: TenantId, user: &UserRow) -> Result<()> {
        let n = diesel::delete(
            users::table
                .filter(users::tenant_id.eq(tenant.0).and(users::pk.eq(user.pk)).and(users::version.eq(user.version))),
        )
        .execute(self.conn)?;
        if n == 0 {
            return Err(Error::WriteConflict);
        }
        // After the row: on PostgreSQL a group's add locks the row it adds (migration 000023),
        // so this statement, which waited for that add to commit, sees its membership.
        self.delete_memberships_of(tenant, super::MemberKind::User, user.pk)
    }

    /// One page and the exact total of the same WHERE (`Tx::list_page`).
    pub fn list_users(&mut self, tenant: TenantId, q: &UserListQuery) -> Result<ListedUsers> {
        let (total, rows): (u64, Vec<PageRow>) = self.list_page(tenant, Table::Users, PAGE_COLUMNS, q)?;
        let rows = rows
            .into_iter()
            .map(|r| from_columns((r.pk, r.id, r.data, r.version, r.created_at, r.last_modified, r.in_groups)))
            .collect();
        Ok(ListedUsers { total, rows })
    }

    /// The users among `pks`, in no particular order.
    pub(super) fn users_by_pks(&mut self, tenant: TenantId, pks: &[i64]) -> Result<Vec<UserRow>> {
        let pieces = sql::rows_by_key_sql(self.backend(), tenant.0, Table::Users, PAGE_COLUMNS, pks);
        let rows: Vec<PageRow> = sql::load_prepared(self.conn, &pieces)?;
        Ok(rows
            .into_iter()
            .map(|r| from_columns((r.pk, r.id, r.data, r.version, r.created_at, r.last_modified, r.in_groups)))
            .collect())
    }

    /// The database's plan for selecting the users `predicate` matches: how a test checks
    /// that hot filters use indexes.
    pub fn explain_user_filter(&mut self, tenant: TenantId, predicate: &Predicate) -> Result<Vec<String>> {
        let rendered = sql::filter_sql(self.backend(), tenant.0, Table::Users, predicate);
        let mut pieces = vec![
            sql::Piece::Sql("SELECT users.pk FROM users WHERE users.tenant_id = ".into()),
            sql::Piece::BigInt(tenant.0),
            sql::Piece::Sql(" AND ".into()),
        ];
        pieces.extend(rendered.pieces);
        Ok(sql::explain(self.conn, &pieces)?)
    }
}

#[cfg(test)]
#[path = "filter_plan_tests.rs"]
mod filter_plan_tests;
