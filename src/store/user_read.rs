//! A user and its groups in one statement, for GET /Users/{id} and Okta's `userName eq`
//! pre-check: a statement reads one snapshot by itself, so it needs no transaction around it.

use super::connection::AnyConnection;
use super::member_reads::UserGroup;
use super::predicate::UserKey;
use super::stored_time::StoredTime;
use super::users::{self, UserRow};
use super::TenantId;
use diesel::backend::Backend as DieselBackend;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, HasSqlType, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};
use std::marker::PhantomData;

/// The user and, when asked for, its groups.
pub struct UserAndGroups {
    pub row: UserRow,
    /// `None` when the tenant has a group inside a group: a user's indirect groups need the
    /// recursive query, which the caller runs in a read transaction instead.
    pub groups: Option<Vec<UserGroup>>,
}

/// The statement's row, by position: by name, Diesel searched the row's column names for each
/// of the nine columns (~2,800 instructions a read, on SQLite's writer for every PUT and PATCH).
#[derive(diesel::Queryable)]
struct Found {
    pk: i64,
    id: String,
    data: String,
    version: i64,
    created_at: StoredTime,
    last_modified: StoredTime,
    in_groups: bool,
    /// `[[group pk, id, displayName], …]`, or NULL when no groups were read.
    groups: Option<String>,
    nested: bool,
}

/// `Found`'s columns, in the statement's order.
type FoundColumns = (BigInt, Text, Text, BigInt, Timestamp, Timestamp, Bool, Nullable<Text>, Bool);

/// The user of `tenant` with the unique `key`, with its direct groups when `with_groups`, by
/// one statement.
pub(super) fn user_and_groups(
    conn: &mut AnyConnection,
    tenant: TenantId,
    key: UserKey<'_>,
    with_groups: bool,
) -> QueryResult<Option<UserAndGroups>> {
    let tenant = tenant.get();
    let rows: Vec<Found> = match key {
        UserKey::Id(value) => load(conn, ByKey::<ById> { tenant, with_groups, value, key: PhantomData }),
        UserKey::UserNameNorm(value) => {
            load(conn, ByKey::<ByUserName> { tenant, with_groups, value, key: PhantomData })
        }
    }?;
    rows.into_iter().next().map(found_user).transpose()
}

fn found_user(found: Found) -> QueryResult<UserAndGroups> {
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
    Ok(UserAndGroups { row, groups })
}

/// One point read of a batch (`read_batches`): its tenant, its key's value, and whether its
/// answer shows `groups`.
pub(super) struct BatchKey<'a> {
    pub tenant: TenantId,
    pub value: &'a str,
    pub with_groups: bool,
}

/// `user_and_groups` for several keys of one column at once, on PostgreSQL: one statement, so
/// one round trip, for the point reads that arrived together. Each key carries its own tenant.
/// The answers are in the keys' order.
pub(super) fn users_and_groups_pg(
    conn: &mut PgConnection,
    by_user_name: bool,
    keys: &[BatchKey<'_>],
) -> QueryResult<Vec<Option<UserAndGroups>>> {
    let tenants = keys.iter().map(|k| k.tenant.get()).collect();
    let values = keys.iter().map(|k| k.value).collect();
    let with_groups = keys.iter().map(|k| k.with_groups).collect();
    let rows: Vec<(i64, Found)> = if by_user_name {
        Batch::<ByUserName> { tenants, values, with_groups, key: PhantomData }.load(conn)?
    } else {
        Batch::<ById> { tenants, values, with_groups, key: PhantomData }.load(conn)?
    };
    let mut answers: Vec<Option<UserAndGroups>> = keys.iter().map(|_| None).collect();
    for (n, found) in rows {
        let slot = usize::try_from(n - 1).ok().and_then(|i| answers.get_mut(i)).ok_or_else(|| {
            diesel::result::Error::DeserializationError(format!("a batch's key number {n} out of range").into())
        })?;
        *slot = Some(found_user(found)?);
    }
    Ok(answers)
}

/// The batch's statement, one type per key column, so that Diesel prepares it once per
/// connection (`diesel::sql_query` is planned afresh on every run). The arrays are InitPlans
/// (`(SELECT $1)`): seen, PostgreSQL costed every run for its arrays' lengths and planned it
/// afresh (0 generic plans in 10; `pg_prepared_statements`). The `LATERAL` subquery behind
/// `OFFSET 0` is a lookup by the key's unique index per key: flattened into a join, a generic
/// plan may hash the tenant's users instead.
struct Batch<'a, K> {
    tenants: Vec<i64>,
    values: Vec<&'a str>,
    with_groups: Vec<bool>,
    key: PhantomData<K>,
}

impl<K: KeyColumn> QueryFragment<Pg> for Batch<'_, K> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT k.n, u.pk, u.id, u.data, u.version, u.created_at, u.last_modified, u.in_groups, \
             CASE WHEN k.with_groups AND u.in_groups THEN (SELECT \
             json_agg(json_build_array(g.pk, g.id, g.display_name))::text \
             FROM group_members m JOIN groups g ON g.pk = m.group_pk WHERE m.tenant_id = k.tenant_id \
             AND m.member_type = 'User' AND m.member_pk = u.pk) END AS groups, \
             (k.with_groups AND u.in_groups AND EXISTS (SELECT 1 FROM group_members n \
             WHERE n.tenant_id = k.tenant_id AND n.member_type = 'Group')) AS nested FROM unnest((SELECT ",
        );
        out.push_bind_param::<Array<BigInt>, Vec<i64>>(&self.tenants)?;
        out.push_sql("), (SELECT ");
        out.push_bind_param::<Array<Text>, Vec<&str>>(&self.values)?;
        out.push_sql("), (SELECT ");
        out.push_bind_param::<Array<Bool>, Vec<bool>>(&self.with_groups)?;
        out.push_sql(
            ")) WITH ORDINALITY AS k(tenant_id, key, with_groups, n) CROSS JOIN LATERAL (SELECT users.pk, \
             users.id, users.data, users.version, users.created_at, users.last_modified, users.in_groups \
             FROM users WHERE users.tenant_id = k.tenant_id",
        );
        out.push_sql(K::WHERE);
        out.push_sql("k.key OFFSET 0) u");
        Ok(())
    }
}

struct BatchId<K>(PhantomData<K>);

impl<K: KeyColumn> QueryId for Batch<'_, K> {
    type QueryId = BatchId<K>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K> diesel::query_builder::Query for Batch<'_, K> {
    type SqlType = (BigInt, FoundColumns);
}

impl<Conn, K> RunQueryDsl<Conn> for Batch<'_, K> {}

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
        key: UserKey<'_>,
        with_groups: bool,
    ) -> crate::error::Result<Option<UserAndGroups>> {
        Ok(user_and_groups(self.conn, tenant, key, with_groups)?)
    }
}

fn load<K: KeyColumn>(conn: &mut AnyConnection, statement: ByKey<'_, K>) -> QueryResult<Vec<Found>> {
    match conn {
        AnyConnection::Sqlite(c) => statement.load(c),
        AnyConnection::Postgresql(c) => statement.load(c),
    }
}

/// The statement, one type per key column: Diesel finds each connection's prepared statement
/// by the type, where a statement built from pieces of SQL was rebuilt and its text hashed to
/// find it on every read (about 4% of a GET by id's CPU). Every value is bound. The groups
/// subquery runs only for a user ever added to a group, when the projection shows `groups`.
struct ByKey<'a, K> {
    tenant: i64,
    with_groups: bool,
    value: &'a str,
    key: PhantomData<K>,
}

/// The column a `ByKey` statement selects by, in its `WHERE`.
trait KeyColumn: 'static {
    const WHERE: &'static str;
}

struct ById;
struct ByUserName;

impl KeyColumn for ById {
    const WHERE: &'static str = " AND users.id = ";
}

impl KeyColumn for ByUserName {
    const WHERE: &'static str = " AND users.user_name_norm = ";
}

impl<K: KeyColumn> ByKey<'_, K> {
    /// `groups` is the backend's aggregate of a user's `[group pk, id, displayName]` triples,
    /// unordered: an ORDER BY inside SQLite's aggregate opened a temporary B-tree on every
    /// read to sort a user's few groups (GET by id 79 -> 67 us of CPU); `direct_groups` sorts.
    fn walk<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>, groups: &'static str) -> QueryResult<()>
    where
        DB: DieselBackend + HasSqlType<BigInt> + HasSqlType<Bool> + HasSqlType<Text>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
        bool: diesel::serialize::ToSql<Bool, DB>,
        str: diesel::serialize::ToSql<Text, DB>,
    {
        out.push_sql(
            "SELECT users.pk, users.id, users.data, users.version, users.created_at, users.last_modified, \
             users.in_groups, CASE WHEN ",
        );
        out.push_bind_param::<Bool, bool>(&self.with_groups)?;
        out.push_sql(" AND users.in_groups THEN (SELECT ");
        out.push_sql(groups);
        out.push_sql(" FROM group_members m JOIN groups g ON g.pk = m.group_pk WHERE m.tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        // 'User' and 'Group' are literals: bound, PostgreSQL's generic plan could not use them.
        out.push_sql(" AND m.member_type = 'User' AND m.member_pk = users.pk) END AS groups, (");
        out.push_bind_param::<Bool, bool>(&self.with_groups)?;
        out.push_sql(" AND users.in_groups AND EXISTS (SELECT 1 FROM group_members n WHERE n.tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        out.push_sql(" AND n.member_type = 'Group')) AS nested FROM users WHERE users.tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        out.push_sql(K::WHERE);
        out.push_bind_param::<Text, str>(self.value)
    }
}

/// The statement's identity for Diesel's cache: one per key column.
struct ByKeyId<K>(PhantomData<K>);

impl<K: KeyColumn> QueryId for ByKey<'_, K> {
    type QueryId = ByKeyId<K>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K> diesel::query_builder::Query for ByKey<'_, K> {
    type SqlType = FoundColumns;
}

impl<K: KeyColumn> QueryFragment<Sqlite> for ByKey<'_, K> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk(out, "json_group_array(json_array(g.pk, g.id, g.display_name))")
    }
}

impl<K: KeyColumn> QueryFragment<Pg> for ByKey<'_, K> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, "json_agg(json_build_array(g.pk, g.id, g.display_name))::text")
    }
}

impl<Conn, K> RunQueryDsl<Conn> for ByKey<'_, K> {}

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
