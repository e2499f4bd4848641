//! Running rendered SQL (`sql::Piece` lists): as raw queries, as statements each connection
//! prepares once, and as Diesel expression nodes inside the DSL (`RawSql`).

use super::connection::{AnyConnection, Backend, MultiBackend};
use super::sql::{Piece, RawSql};
use chrono::NaiveDateTime;
use diesel::backend::Backend as DieselBackend;
use diesel::expression::TypedExpressionType;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, Bool, Double, HasSqlType, SqlType, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

type Boxed<'a, DB> = diesel::query_builder::BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>;

/// The pieces as a `sql_query` with its values bound, for SQLite.
fn sqlite_query(pieces: &[Piece]) -> Boxed<'static, Sqlite> {
    bind_pieces_sqlite(diesel::sql_query(placeholder_text(Backend::Sqlite, pieces, 1)).into_boxed(), pieces)
}

/// The pieces as a `sql_query` with its values bound, for PostgreSQL.
fn pg_query(pieces: &[Piece]) -> Boxed<'static, Pg> {
    bind_pieces_pg(diesel::sql_query(placeholder_text(Backend::Postgres, pieces, 1)).into_boxed(), pieces)
}

/// Runs raw pieces as a query and reads its rows by column name.
pub(super) fn load<T>(conn: &mut AnyConnection, pieces: &[Piece]) -> QueryResult<Vec<T>>
where
    T: diesel::deserialize::QueryableByName<Sqlite> + diesel::deserialize::QueryableByName<Pg> + 'static,
{
    use diesel::RunQueryDsl;
    match conn {
        AnyConnection::Sqlite(c) => sqlite_query(pieces).load(c),
        AnyConnection::Postgresql(c) => pg_query(pieces).load(c),
    }
}

impl super::Tx<'_> {
    /// The rows of one list page (`sql::page_sql`), by a statement each connection prepares once.
    pub(super) fn load_page<T>(
        &mut self,
        tenant: i64,
        table: super::predicate::Table,
        columns: &str,
        page: &super::sql::Page<'_>,
    ) -> QueryResult<Vec<T>>
    where
        T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
            + diesel::deserialize::QueryableByName<diesel::pg::Pg>
            + 'static,
    {
        let pieces = super::sql::page_sql(self.backend(), tenant, table, columns, page);
        load_prepared(self.conn, &pieces)
    }

    /// How many of the tenant's rows `predicate` selects (`sql::count_sql`), by a statement
    /// each connection prepares once.
    pub(super) fn count_rows(
        &mut self,
        tenant: i64,
        table: super::predicate::Table,
        predicate: &super::predicate::Predicate,
    ) -> QueryResult<u64> {
        let pieces = super::sql::count_sql(self.backend(), tenant, table, predicate);
        let rows: Vec<Count> = load_prepared(self.conn, &pieces)?;
        Ok(rows.first().map_or(0, |r| r.n as u64))
    }

    /// Every row `predicate` selects, in the list's order (`sql::all_rows_sql`), by a statement
    /// each connection prepares once.
    pub(super) fn load_all<T>(
        &mut self,
        tenant: i64,
        table: super::predicate::Table,
        columns: &str,
        predicate: &super::predicate::Predicate,
        sort: Option<&super::predicate::SortKey>,
    ) -> QueryResult<Vec<T>>
    where
        T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
            + diesel::deserialize::QueryableByName<diesel::pg::Pg>
            + 'static,
    {
        let pieces = super::sql::all_rows_sql(self.backend(), tenant, table, columns, predicate, sort);
        load_prepared(self.conn, &pieces)
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `load`, prepared once per connection and kept (Diesel caches statements by their text,
/// without a bound), instead of parsed and planned on every request as `sql_query` is. For SQL
/// whose shape scimd fixes, or a list page whose filter a client shapes: those are cached like
/// the Diesel-built filtered queries, and the pool retires each connection after 30 minutes.
pub(super) fn load_prepared<T>(conn: &mut AnyConnection, pieces: &[Piece]) -> QueryResult<Vec<T>>
where
    T: diesel::deserialize::QueryableByName<Sqlite> + diesel::deserialize::QueryableByName<Pg> + 'static,
{
    use diesel::RunQueryDsl;
    match conn {
        AnyConnection::Sqlite(c) => Prepared(pieces).load(c),
        AnyConnection::Postgresql(c) => Prepared(pieces).load(c),
    }
}

/// `execute`, prepared once per connection and kept, as `load_prepared` is.
pub(super) fn execute_prepared(conn: &mut AnyConnection, pieces: &[Piece]) -> QueryResult<usize> {
    use diesel::RunQueryDsl;
    match conn {
        AnyConnection::Sqlite(c) => Prepared(pieces).execute(c),
        AnyConnection::Postgresql(c) => Prepared(pieces).execute(c),
    }
}

struct Prepared<'a>(&'a [Piece]);

impl QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Prepared<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl QueryFragment<Sqlite> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        walk_pieces(self.0, pass)
    }
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        walk_pieces(self.0, pass)
    }
}

impl<Conn> diesel::RunQueryDsl<Conn> for Prepared<'_> {}

/// The pieces as text with the backend's placeholders, for EXPLAIN.
pub(super) fn placeholder_text(backend: Backend, pieces: &[Piece], first_index: usize) -> String {
    let mut out = String::new();
    let mut n = first_index;
    for p in pieces {
        match p {
            Piece::Sql(s) => out.push_str(s),
            _ if backend == Backend::Postgres => {
                out.push_str(&format!("${n}"));
                n += 1;
            }
            _ => out.push('?'),
        }
    }
    out
}

/// How a backend binds `Piece::BigInts`: PostgreSQL as an array. The writer never gives one
/// to SQLite (`Writer::in_big_ints` binds JSON text there); this path cannot bind a value it
/// makes, so it refuses, while `bind_pieces_sqlite` (which cannot fail) binds the same JSON.
trait BindBigInts: DieselBackend {
    fn push_big_ints<'b>(out: &mut AstPass<'_, 'b, Self>, values: &'b [i64]) -> QueryResult<()>;
}

impl BindBigInts for Pg {
    fn push_big_ints<'b>(out: &mut AstPass<'_, 'b, Pg>, values: &'b [i64]) -> QueryResult<()> {
        out.push_bind_param::<Array<BigInt>, [i64]>(values)
    }
}

impl BindBigInts for Sqlite {
    fn push_big_ints<'b>(_: &mut AstPass<'_, 'b, Sqlite>, _: &'b [i64]) -> QueryResult<()> {
        Err(diesel::result::Error::QueryBuilderError("SQLite has no arrays: bind JSON text".into()))
    }
}

fn walk_pieces<'b, DB>(pieces: &'b [Piece], mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
where
    DB: BindBigInts
        + HasSqlType<Text>
        + HasSqlType<Double>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>
        + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    f64: ToSql<Double, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    i64: ToSql<BigInt, DB>,
{
    for piece in pieces {
        match piece {
            Piece::Sql(s) => out.push_sql(s),
            Piece::Text(v) => out.push_bind_param::<Text, String>(v)?,
            Piece::Double(v) => out.push_bind_param::<Double, f64>(v)?,
            Piece::Bool(v) => out.push_bind_param::<Bool, bool>(v)?,
            Piece::Timestamp(v) => out.push_bind_param::<Timestamp, NaiveDateTime>(v)?,
            Piece::BigInt(v) => out.push_bind_param::<BigInt, i64>(v)?,
            Piece::Null => out.push_bind_param::<diesel::sql_types::Nullable<Text>, Option<String>>(&None)?,
            Piece::BigInts(v) => DB::push_big_ints(&mut out, v)?,
        }
    }
    Ok(())
}

impl<ST> QueryFragment<Sqlite> for RawSql<ST> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        walk_pieces(&self.pieces, pass)
    }
}

impl<ST> QueryFragment<Pg> for RawSql<ST> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        walk_pieces(&self.pieces, pass)
    }
}

impl<ST> QueryFragment<MultiBackend> for RawSql<ST> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

impl<ST> QueryId for RawSql<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: SqlType + TypedExpressionType> Expression for RawSql<ST> {
    type SqlType = ST;
}

impl<ST: SqlType + TypedExpressionType, QS> AppearsOnTable<QS> for RawSql<ST> {}
impl<ST: SqlType + TypedExpressionType, QS> SelectableExpression<QS> for RawSql<ST> {}

impl<ST, GB> ValidGrouping<GB> for RawSql<ST> {
    type IsAggregate = is_aggregate::Never;
}

macro_rules! bind_pieces {
    ($name:ident, $db:ty, $big_ints:expr) => {
        pub(super) fn $name<'a>(mut q: Boxed<'a, $db>, pieces: &[Piece]) -> Boxed<'a, $db> {
            for p in pieces {
                q = match p.clone() {
                    Piece::Sql(_) => q,
                    Piece::Text(v) => q.bind::<Text, _>(v),
                    Piece::Double(v) => q.bind::<Double, _>(v),
                    Piece::Bool(v) => q.bind::<Bool, _>(v),
                    Piece::Timestamp(v) => q.bind::<Timestamp, _>(v),
                    Piece::BigInt(v) => q.bind::<BigInt, _>(v),
                    Piece::Null => q.bind::<diesel::sql_types::Nullable<Text>, _>(None::<String>),
                    Piece::BigInts(v) => $big_ints(q, v),
                };
            }
            q
        }
    };
}
bind_pieces!(bind_pieces_sqlite, Sqlite, |q: Boxed<'a, Sqlite>, v: Vec<i64>| {
    q.bind::<Text, _>(super::sql::json_array(&v))
});
bind_pieces!(bind_pieces_pg, Pg, |q: Boxed<'a, Pg>, v: Vec<i64>| q.bind::<Array<BigInt>, _>(v));

/// The pieces as one SQL text with every value written as a PostgreSQL literal, for a
/// statement sent in one message with others (the simple query protocol binds nothing).
/// Strings are `E'…'` literals, whose escapes do not depend on `standard_conforming_strings`.
pub(super) fn literal_text_pg(pieces: &[Piece]) -> QueryResult<String> {
    use std::fmt::Write;
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Sql(s) => out.push_str(s),
            Piece::Text(s) => {
                // libpq sends the query as a C string: a NUL would end it mid-literal.
                if s.contains('\0') {
                    return Err(diesel::result::Error::QueryBuilderError("U+0000 in a PostgreSQL literal".into()));
                }
                out.push_str("E'");
                for c in s.chars() {
                    match c {
                        '\'' => out.push_str("''"),
                        '\\' => out.push_str("\\\\"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
            }
            Piece::Double(v) if v.is_nan() => out.push_str("'NaN'::float8"),
            Piece::Double(v) if v.is_infinite() => {
                out.push_str(if *v > 0.0 { "'Infinity'::float8" } else { "'-Infinity'::float8" })
            }
            // Rust's shortest round-tripping form; the quotes keep a negative value one token.
            Piece::Double(v) => _ = write!(out, "'{v:?}'::float8"),
            Piece::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
            Piece::Timestamp(t) => _ = write!(out, "'{}'::timestamp", t.format("%Y-%m-%d %H:%M:%S%.6f")),
            Piece::BigInt(n) => _ = write!(out, "'{n}'::int8"),
            Piece::Null => out.push_str("NULL::text"),
            Piece::BigInts(ns) => {
                out.push_str("'{");
                for (i, n) in ns.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    _ = write!(out, "{n}");
                }
                out.push_str("}'::int8[]");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{test_stores, Backend};

    #[derive(diesel::QueryableByName)]
    struct Same {
        #[diesel(sql_type = Bool)]
        same: bool,
    }

    /// Each kind of value, written as a literal, is the value PostgreSQL gets when it is bound.
    #[test]
    fn postgres_literals_equal_the_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = test_stores::stores(&dir);
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_micro_opt(1, 2, 3, 456_789).unwrap();
        let values = [
            Piece::Text("it's a \\ back'slash \\' E'' $$ ✓".into()),
            Piece::Text(String::new()),
            Piece::Double(-1.5e-300),
            Piece::Double(0.1),
            Piece::Double(f64::MAX),
            Piece::Double(f64::NAN),
            Piece::Double(f64::NEG_INFINITY),
            Piece::Bool(true),
            Piece::Bool(false),
            Piece::Timestamp(at),
            Piece::BigInt(i64::MIN),
            Piece::BigInt(i64::MAX),
            Piece::Null,
            Piece::BigInts(vec![i64::MIN, 0, 7]),
            Piece::BigInts(Vec::new()),
        ];
        for store in stores.into_iter().filter(|s| s.backend() == Backend::Postgres) {
            for value in &values {
                let literal = literal_text_pg(std::slice::from_ref(value)).unwrap();
                let pieces = [
                    Piece::Sql(format!("SELECT ({literal}) IS NOT DISTINCT FROM ")),
                    value.clone(),
                    Piece::Sql(" AS same".into()),
                ];
                let same: Vec<Same> = store.write(|tx| Ok(load_prepared(tx.conn, &pieces)?)).unwrap();
                assert!(same[0].same, "{literal} for {value:?}");
            }
        }
        assert!(literal_text_pg(&[Piece::Text("a\0b".into())]).is_err());
    }
}
