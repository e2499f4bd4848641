//! Queries on `groups`: create, read, update, delete and list. Memberships live in
//! `members`.

use super::errors::is_unique_violation_on;
use super::members::MemberKind;
use super::predicate::{GroupKey, Table};
use super::schema::groups;
use super::sql::{self, Piece};
use super::stored_time::StoredTime;
use super::{connection::AnyConnection, TenantId, Tx};
use crate::error::{Error, Quoted, Result};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone)]
pub struct GroupWrite {
    pub display_name: String,
    pub display_name_norm: String,
    pub external_id: Option<String>,
    pub data: String,
    pub data_norm: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub pk: i64,
    pub id: String,
    pub data: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

/// One page of a group list.
pub type GroupListQuery = super::ListQuery;

pub struct ListedGroups {
    pub total: u64,
    pub rows: Vec<GroupRow>,
}

pub(super) type RowColumns = (i64, String, String, i64, StoredTime, StoredTime);

/// A group's columns read by name: a row of `sql::page_sql`, or of `Tx::group_by_id`.
#[derive(QueryableByName)]
#[diesel(table_name = groups)]
pub(super) struct PageRow {
    pk: i64,
    id: String,
    data: String,
    version: i64,
    created_at: StoredTime,
    last_modified: StoredTime,
}
/// The columns of `PageRow`, for the lists' statements.
const PAGE_COLUMNS: &str = "groups.pk, groups.id, groups.data, groups.version, groups.created_at, groups.last_modified";

pub(super) fn from_columns((pk, id, data, version, created_at, last_modified): RowColumns) -> GroupRow {
    GroupRow { pk, id, data, version, created_at: created_at.utc(), last_modified: last_modified.utc() }
}

impl From<PageRow> for GroupRow {
    fn from(r: PageRow) -> GroupRow {
        from_columns((r.pk, r.id, r.data, r.version, r.created_at, r.last_modified))
    }
}

fn map_write_error(e: diesel::result::Error, display_name: &str) -> Error {
    if is_unique_violation_on(&e, "display_name") {
        Error::Conflict(format!(
            "a group with displayName {display_name} already exists",
            display_name = Quoted(display_name)
        ))
    } else {
        e.into()
    }
}

/// A statement of SQL `texts` with `values` between them (one more text than values). The
/// group's statements are written so rather than built by Diesel, which prepares a built INSERT
/// or UPDATE on every run: each connection prepares these once (a group's PUT spent 119,000 of
/// its 430,000 instructions on SQLite in building and preparing its UPDATE).
fn interleaved<const N: usize>(texts: &[&str], values: [Piece; N]) -> Vec<Piece> {
    debug_assert_eq!(texts.len(), N + 1);
    let mut pieces = Vec::with_capacity(2 * N + 1);
    for (text, value) in texts.iter().zip(values) {
        pieces.extend([Piece::Sql((*text).into()), value]);
    }
    pieces.extend(texts.get(N).filter(|t| !t.is_empty()).map(|t| Piece::Sql((*t).into())));
    pieces
}

#[derive(diesel::QueryableByName)]
struct PkRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pk: i64,
}

/// The group `key` selects (`Store::group_by_key`, `Tx::group_by_id`); `lock`: `FOR NO KEY
/// UPDATE` (`Tx::lock_group`).
fn group_row(
    conn: &mut AnyConnection,
    tenant: TenantId,
    key: GroupKey<'_>,
    lock: bool,
) -> QueryResult<Option<GroupRow>> {
    let (column, value) = match key {
        GroupKey::Id(id) => (" AND id = ", id),
        GroupKey::DisplayNameNorm(name) => (" AND display_name_norm = ", name),
    };
    // Prepared once per connection: Diesel's built query cost twice as much on SQLite (every
    // member PATCH and every read of a group runs this).
    let mut pieces = interleaved(
        &["SELECT pk, id, data, version, created_at, last_modified FROM groups WHERE tenant_id = ", column, ""],
        [Piece::BigInt(tenant.0), Piece::Text(value.to_string())],
    );
    if lock {
        pieces.push(Piece::Sql(" FOR NO KEY UPDATE".into()));
    }
    let rows: Vec<PageRow> = sql::load_prepared(conn, &pieces)?;
    Ok(rows.into_iter().next().map(GroupRow::from))
}

impl super::Store {
    /// The group `key` selects, by one statement outside any transaction, which reads one
    /// snapshot by itself: a read transaction's BEGIN and COMMIT are two more round trips on
    /// PostgreSQL, two more statements to parse on SQLite.
    pub fn group_by_key(&self, tenant: TenantId, key: GroupKey<'_>) -> Result<Option<GroupRow>> {
        Ok(super::pool_checkout::on_live(&self.read, |conn| group_row(conn, tenant, key, false))?.1)
    }
}

impl Tx<'_> {
    pub fn insert_group(&mut self, tenant: TenantId, id: &str, w: &GroupWrite, now: DateTime<Utc>) -> Result<GroupRow> {
        let now_naive = now.naive_utc();
        let pieces = interleaved(
            &[
                "INSERT INTO groups (tenant_id, id, display_name, display_name_norm, external_id, data, data_norm, \
                 version, created_at, last_modified) VALUES (",
                ", ",
                ", ",
                ", ",
                ", ",
                ", ",
                ", ",
                ", 1, ",
                ", ",
                ") RETURNING pk",
            ],
            [
                Piece::BigInt(tenant.0),
                Piece::Text(id.to_string()),
                Piece::Text(w.display_name.clone()),
                Piece::Text(w.display_name_norm.clone()),
                Piece::text_or_null(w.external_id.as_deref()),
                Piece::Text(w.data.clone()),
                Piece::Text(w.data_norm.clone()),
                Piece::Timestamp(now_naive),
                Piece::Timestamp(now_naive),
            ],
        );
        let pks: Vec<PkRow> =
            sql::load_prepared(self.conn, &pieces).map_err(|e| map_write_error(e, &w.display_name))?;
        let pk = pks.first().map(|r| r.pk).ok_or_else(|| Error::internal("insert returned no pk"))?;
        Ok(GroupRow { pk, id: id.to_string(), data: w.data.clone(), version: 1, created_at: now, last_modified: now })
    }

    pub fn group_by_id(&mut self, tenant: TenantId, id: &str) -> Result<Option<GroupRow>> {
        self.group_by_key(tenant, GroupKey::Id(id))
    }

    /// `Store::group_by_key` in this transaction's snapshot.
    pub fn group_by_key(&mut self, tenant: TenantId, key: GroupKey<'_>) -> Result<Option<GroupRow>> {
        Ok(group_row(self.conn, tenant, key, false)?)
    }

    /// The group `id`, locked against other writes until this transaction ends: on
    /// PostgreSQL by `SELECT … FOR NO KEY UPDATE` (which member adds' `FOR KEY SHARE` of the
    /// group does not wait for), so that concurrent changes of one group queue up on its row
    /// before any member row; on SQLite, whose one writer runs a transaction at a time, a read.
    /// `None` if there is no such group.
    pub fn lock_group(&mut self, tenant: TenantId, id: &str) -> Result<Option<GroupRow>> {
        let lock = self.backend() == super::Backend::Postgres;
        Ok(group_row(self.conn, tenant, GroupKey::Id(id), lock)?)
    }

    /// Writes `w` over the group if it is still at `current.version` (else WriteConflict), as
    /// its next version.
    pub fn update_group(
        &mut self,
        tenant: TenantId,
        current: &GroupRow,
        w: &GroupWrite,
        now: DateTime<Utc>,
    ) -> Result<GroupRow> {
        let version = current.version + 1;
        let pieces = interleaved(
            &[
                "UPDATE groups SET display_name = ",
                ", display_name_norm = ",
                ", external_id = ",
                ", data = ",
                ", data_norm = ",
                ", version = ",
                ", last_modified = ",
                " WHERE tenant_id = ",
                " AND pk = ",
                " AND version = ",
                "",
            ],
            [
                Piece::Text(w.display_name.clone()),
                Piece::Text(w.display_name_norm.clone()),
                Piece::text_or_null(w.external_id.as_deref()),
                Piece::Text(w.data.clone()),
                Piece::Text(w.data_norm.clone()),
                Piece::BigInt(version),
                Piece::Timestamp(now.naive_utc()),
                Piece::BigInt(tenant.0),
                Piece::BigInt(current.pk),
                Piece::BigInt(current.version),
            ],
        );
        let n = sql::execute_prepared(self.conn, &pieces).map_err(|e| map_write_error(e, &w.display_name))?;
        if n == 0 {
            return Err(Error::WriteConflict);
        }
        Ok(GroupRow { data: w.data.clone(), version, last_modified: now, ..current.clone() })
    }

    /// The next version of the group, lastModified `now`, its attributes as they are: a
    /// change of its members alone. WriteConflict if it is no longer at `current.version`.
    pub fn bump_group(&mut self, tenant: TenantId, current: &GroupRow, now: DateTime<Utc>) -> Result<GroupRow> {
        let version = current.version + 1;
        let pieces = interleaved(
            &[
                "UPDATE groups SET version = ",
                ", last_modified = ",
                " WHERE tenant_id = ",
                " AND pk = ",
                " AND version = ",
                "",
            ],
            [
                Piece::BigInt(version),
                Piece::Timestamp(now.naive_utc()),
                Piece::BigInt(tenant.0),
                Piece::BigInt(current.pk),
                Piece::BigInt(current.version),
            ],
        );
        if sql::execute_prepared(self.conn, &pieces)? == 0 {
            return Err(Error::WriteConflict);
        }
        Ok(GroupRow { version, last_modified: now, ..current.clone() })
    }

    /// Deletes the group, its own member rows (ON DELETE CASCADE) and its memberships in
    /// other groups. Its members are untouched.
    /// Only if the group is still at `group.version` (else WriteConflict), as `delete_user`.
    pub fn delete_group(&mut self, tenant: TenantId, group: &GroupRow) -> Result<()> {
        let n = diesel::delete(groups::table.filter(
            groups::tenant_id.eq(tenant.0).and(groups::pk.eq(group.pk)).and(groups::version.eq(group.version)),
        ))
        .execute(self.conn)?;
        if n == 0 {
            return Err(Error::WriteConflict);
        }
        // After the row, as `delete_user`: an add of this group to another has then committed.
        self.delete_memberships_of(tenant, MemberKind::Group, group.pk)
    }

    /// The groups among `pks`, in no particular order.
    pub(super) fn groups_by_pks(&mut self, tenant: TenantId, pks: &[i64]) -> Result<Vec<GroupRow>> {
        let pieces = sql::rows_by_key_sql(self.backend(), tenant.0, Table::Groups, PAGE_COLUMNS, pks);
        let rows: Vec<PageRow> = sql::load_prepared(self.conn, &pieces)?;
        Ok(rows.into_iter().map(GroupRow::from).collect())
    }

    /// One page and the exact total of the same WHERE (`Tx::list_page`).
    pub fn list_groups(&mut self, tenant: TenantId, q: &GroupListQuery) -> Result<ListedGroups> {
        let (total, rows): (u64, Vec<PageRow>) = self.list_page(tenant, Table::Groups, PAGE_COLUMNS, q)?;
        Ok(ListedGroups { total, rows: rows.into_iter().map(GroupRow::from).collect() })
    }
}
