//! A user and its groups in one statement, for GET /Users/{id} and Okta's `userName eq`
//! pre-check: a statement reads one snapshot by itself, so it needs no transaction around it.

use super::connection::{AnyConnection, Backend};
use super::member_reads::UserGroup;
use super::predicate::{Predicate, Table};
use super::sql::{Piece, Writer};
use super::users::{self, UserRow};
use super::{sql_run, TenantId};
use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use diesel::QueryResult;

/// The user and, when asked for, its groups.
pub struct UserAndGroups {
    pub row: UserRow,
    /// `None` when the tenant has a group inside a group: a user's indirect groups need the
    /// recursive query, which the caller runs in a read transaction instead.
    pub groups: Option<Vec<UserGroup>>,
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    pk: i64,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    data: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    last_modified: NaiveDateTime,
    #[diesel(sql_type = Bool)]
    in_groups: bool,
    /// `[[id, displayName], …]` ordered by group, or NULL when no groups were read.
    #[diesel(sql_type = Nullable<Text>)]
    groups: Option<String>,
    #[diesel(sql_type = Bool)]
    nested: bool,
}

/// The user of `tenant` that `unique` selects (at most one: `Predicate::selects_one_by_unique_key`)
/// with its direct groups when `with_groups`, by one statement.
pub(super) fn user_and_groups(
    conn: &mut AnyConnection,
    tenant: TenantId,
    unique: &Predicate,
    with_groups: bool,
) -> QueryResult<Option<UserAndGroups>> {
    let backend = match conn {
        AnyConnection::Sqlite(_) => Backend::Sqlite,
        AnyConnection::Postgresql(_) => Backend::Postgres,
    };
    let rows: Vec<Found> = sql_run::load_prepared(conn, &statement(backend, tenant, unique, with_groups))?;
    let Some(found) = rows.into_iter().next() else { return Ok(None) };
    let groups = match (&found.groups, found.nested) {
        (_, true) => None,
        (None, false) => Some(Vec::new()),
        (Some(text), false) => {
            let pairs: Vec<(String, String)> = serde_json::from_str(text).map_err(|e| {
                diesel::result::Error::DeserializationError(format!("a user's groups as JSON: {e}").into())
            })?;
            let user_pk = found.pk;
            Some(
                pairs
                    .into_iter()
                    .map(|(group_id, display)| UserGroup { user_pk, group_id, display, direct: true })
                    .collect(),
            )
        }
    };
    let row = users::from_columns((
        found.pk,
        found.id,
        found.data,
        found.version,
        found.created_at,
        found.last_modified,
        found.in_groups,
    ));
    Ok(Some(UserAndGroups { row, groups }))
}

impl super::Tx<'_> {
    /// `user_and_groups` inside a transaction: a write reads the user it changes and the
    /// groups its answer shows by one statement.
    pub fn user_and_groups(
        &mut self,
        tenant: TenantId,
        unique: &Predicate,
        with_groups: bool,
    ) -> crate::error::Result<Option<UserAndGroups>> {
        Ok(user_and_groups(self.conn, tenant, unique, with_groups)?)
    }
}

/// Every value is bound, so each connection prepares the text once. The groups subquery runs
/// only for a user ever added to a group, when the projection shows `groups`.
fn statement(backend: Backend, tenant: TenantId, unique: &Predicate, with_groups: bool) -> Vec<Piece> {
    let t = || Piece::BigInt(tenant.get());
    let mut w = Writer::new(backend, tenant.get(), Table::Users);
    w.sql("SELECT users.pk, users.id, users.data, users.version, users.created_at, users.last_modified, users.in_groups, CASE WHEN ");
    w.bind(Piece::Bool(with_groups));
    w.sql(" AND users.in_groups THEN (SELECT ");
    w.sql(match backend {
        Backend::Sqlite => "json_group_array(json_array(g.id, g.display_name) ORDER BY g.pk)",
        Backend::Postgres => "json_agg(json_build_array(g.id, g.display_name) ORDER BY g.pk)::text",
    });
    w.sql(" FROM group_members m JOIN groups g ON g.pk = m.group_pk WHERE m.tenant_id = ");
    w.bind(t());
    // 'User' and 'Group' are literals: bound, PostgreSQL's generic plan could not use them.
    w.sql(" AND m.member_type = 'User' AND m.member_pk = users.pk) END AS groups, (");
    w.bind(Piece::Bool(with_groups));
    w.sql(" AND users.in_groups AND EXISTS (SELECT 1 FROM group_members n WHERE n.tenant_id = ");
    w.bind(t());
    w.sql(" AND n.member_type = 'Group')) AS nested FROM users WHERE users.tenant_id = ");
    w.bind(t());
    w.sql(" AND ");
    w.predicate(unique);
    w.into_pieces()
}
