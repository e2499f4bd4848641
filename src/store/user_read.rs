//! A user and its groups in one statement, for GET /Users/{id} and Okta's `userName eq`
//! pre-check: a statement reads one snapshot by itself, so it needs no transaction around it.

use super::connection::{AnyConnection, Backend};
use super::member_reads::UserGroup;
use super::predicate::{Predicate, Table};
use super::sql::{Piece, Writer};
use super::stored_time::StoredTime;
use super::users::{self, UserRow};
use super::{sql_run, TenantId};
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
    created_at: StoredTime,
    #[diesel(sql_type = Timestamp)]
    last_modified: StoredTime,
    #[diesel(sql_type = Bool)]
    in_groups: bool,
    /// `[[group pk, id, displayName], …]`, or NULL when no groups were read.
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
        (Some(text), false) => Some(direct_groups(found.pk, text)?),
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

/// The user's direct groups from the statement's `[[group pk, id, displayName], …]`, in the
/// order of the groups' keys (the order the recursive read lists them in).
fn direct_groups(user_pk: i64, text: &str) -> QueryResult<Vec<UserGroup>> {
    let mut groups: Vec<(i64, String, String)> = serde_json::from_str(text)
        .map_err(|e| diesel::result::Error::DeserializationError(format!("a user's groups as JSON: {e}").into()))?;
    groups.sort_unstable_by_key(|&(group_pk, ..)| group_pk);
    Ok(groups
        .into_iter()
        .map(|(_, group_id, display)| UserGroup { user_pk, group_id, display, direct: true })
        .collect())
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
    // Ordered by the group's key in Rust: an ORDER BY inside SQLite's aggregate opened a
    // temporary B-tree on every read to sort a user's few groups (GET by id 79 -> 67 us of CPU).
    w.sql(match backend {
        Backend::Sqlite => "json_group_array(json_array(g.pk, g.id, g.display_name))",
        Backend::Postgres => "json_agg(json_build_array(g.pk, g.id, g.display_name))::text",
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

#[cfg(test)]
mod tests {
    use super::direct_groups;

    #[test]
    fn direct_groups_come_in_the_order_of_their_keys_whatever_order_the_statement_gave() {
        let groups =
            direct_groups(7, r#"[[30,"g-30","Thirty"],[4,"g-4","Four"],[12,"g-12","Twelve \"12\""]]"#).unwrap();
        let got: Vec<(&str, &str, i64, bool)> =
            groups.iter().map(|g| (g.group_id.as_str(), g.display.as_str(), g.user_pk, g.direct)).collect();
        assert_eq!(got, [("g-4", "Four", 7, true), ("g-12", "Twelve \"12\"", 7, true), ("g-30", "Thirty", 7, true)]);
        assert!(direct_groups(7, "[]").unwrap().is_empty());
        assert!(direct_groups(7, r#"[["g-1","One"]]"#).is_err(), "the old two-element shape is not read as groups");
    }
}
