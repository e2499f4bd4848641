//! A batch of request log entries written on each backend: on SQLite in multi-row INSERTs, one
//! statement a connection prepares once per chunk size; on PostgreSQL by one binary COPY.

use super::request_log::LogEntry;
use super::stored_time::StoredTime;
use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{ExecuteCopyFromDsl, Insertable, QueryResult, RunQueryDsl};

/// Rows per INSERT on SQLite: 15 bound values each, well under its limit on parameters per
/// statement.
const ROWS_PER_INSERT: usize = 100;

const COLUMNS: &str = "INSERT INTO request_log (tenant_id, at, id, method, path, filter, patch_summary, client, \
     user_agent, compat, status, scim_type, latency_us, resource_ids, request_id)";

/// The ids a request touched, space-separated with a space at each end (`'% id %'` finds one).
fn resource_ids_text(e: &LogEntry) -> Option<String> {
    (!e.resource_ids.is_empty()).then(|| format!(" {} ", e.resource_ids.join(" ")))
}

/// `rows` (tenant, entry) in INSERTs of 100 rows, then the rest as 64, 32, …, 1: a few
/// statements, each prepared once per connection (parsing a 1,500-value INSERT for every chunk
/// left the log behind its queue under 15,000 reads/s).
pub(super) fn insert_sqlite(conn: &mut SqliteConnection, rows: &[(i64, &LogEntry)]) -> QueryResult<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let size = if rest.len() >= ROWS_PER_INSERT { ROWS_PER_INSERT } else { 1 << rest.len().ilog2() };
        let (chunk, after) = rest.split_at(size);
        rest = after;
        match size {
            ROWS_PER_INSERT => InsertRows::<ROWS_PER_INSERT>::new(chunk).execute(conn)?,
            64 => InsertRows::<64>::new(chunk).execute(conn)?,
            32 => InsertRows::<32>::new(chunk).execute(conn)?,
            16 => InsertRows::<16>::new(chunk).execute(conn)?,
            8 => InsertRows::<8>::new(chunk).execute(conn)?,
            4 => InsertRows::<4>::new(chunk).execute(conn)?,
            2 => InsertRows::<2>::new(chunk).execute(conn)?,
            _ => InsertRows::<1>::new(chunk).execute(conn)?,
        };
    }
    Ok(())
}

/// `N` rows in one INSERT. Each size is a type of its own, so Diesel finds its prepared
/// statement by that type, without building and hashing the statement's text (15 placeholders
/// a row) for every chunk, and the values are bound from the entries themselves instead of
/// copied into pieces of SQL first. The log's entry is work on the writer every SQLite write
/// waits for; this took 7,500 of its 31,000 instructions off (`bench/instructions`: GET by id
/// 186,830 -> 179,381 per request, ServiceProviderConfig 138,539 -> 130,256).
struct InsertRows<'a, const N: usize> {
    rows: &'a [(i64, &'a LogEntry)],
    at: Vec<StoredTime>,
    status: Vec<i32>,
    resource_ids: Vec<Option<String>>,
}

impl<'a, const N: usize> InsertRows<'a, N> {
    fn new(rows: &'a [(i64, &'a LogEntry)]) -> Self {
        assert_eq!(rows.len(), N, "a chunk of the statement's size");
        InsertRows {
            rows,
            at: rows.iter().map(|(_, e)| StoredTime(e.at.naive_utc())).collect(),
            status: rows.iter().map(|(_, e)| i32::from(e.status)).collect(),
            resource_ids: rows.iter().map(|(_, e)| resource_ids_text(e)).collect(),
        }
    }
}

/// The statement's identity for Diesel's cache: one per size.
struct InsertRowsId<const N: usize>;

impl<const N: usize> QueryId for InsertRows<'_, N> {
    type QueryId = InsertRowsId<N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const N: usize> QueryFragment<Sqlite> for InsertRows<'_, N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(COLUMNS);
        out.push_sql(" VALUES ");
        for (i, (tenant, e)) in self.rows.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, i64>(tenant)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, StoredTime>(&self.at[i])?;
            for text in [&e.id, &e.method, &e.path] {
                out.push_sql(", ");
                out.push_bind_param::<Text, String>(text)?;
            }
            for optional in [&e.filter, &e.patch_summary] {
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Text>, Option<String>>(optional)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(e.client)?;
            for optional in [&e.user_agent, &e.compat] {
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Text>, Option<String>>(optional)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(&self.status[i])?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, Option<String>>(&e.scim_type)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, i64>(&e.latency_us)?;
            for optional in [&self.resource_ids[i], &e.request_id] {
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Text>, Option<String>>(optional)?;
            }
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<Conn, const N: usize> RunQueryDsl<Conn> for InsertRows<'_, N> {}

/// A batch's row as PostgreSQL's binary COPY takes it, borrowing the entry's text.
#[derive(Insertable)]
#[diesel(table_name = super::schema::request_log)]
#[diesel(treat_none_as_default_value = false)]
struct PgRow<'a> {
    tenant_id: i64,
    at: NaiveDateTime,
    id: &'a str,
    method: &'a str,
    path: &'a str,
    filter: Option<&'a str>,
    patch_summary: Option<&'a str>,
    client: &'a str,
    user_agent: Option<&'a str>,
    compat: Option<&'a str>,
    status: i32,
    scim_type: Option<&'a str>,
    latency_us: i64,
    resource_ids: Option<String>,
    request_id: Option<&'a str>,
}

/// The whole batch by one binary `COPY … FROM STDIN`: 2.8 µs of PostgreSQL's CPU an entry,
/// where an INSERT of one array per column (`SELECT * FROM unnest(…)`), each row through the
/// executor, took 5.0 (BENCHMARKS.md, the fifty-sixth round).
pub(super) fn insert_pg(pg: &mut PgConnection, rows: &[(i64, &LogEntry)]) -> QueryResult<()> {
    let rows: Vec<PgRow<'_>> = rows
        .iter()
        .map(|&(tenant_id, e)| PgRow {
            tenant_id,
            at: e.at.naive_utc(),
            id: &e.id,
            method: &e.method,
            path: &e.path,
            filter: e.filter.as_deref(),
            patch_summary: e.patch_summary.as_deref(),
            client: e.client,
            user_agent: e.user_agent.as_deref(),
            compat: e.compat.as_deref(),
            status: i32::from(e.status),
            scim_type: e.scim_type.as_deref(),
            latency_us: e.latency_us,
            resource_ids: resource_ids_text(e),
            request_id: e.request_id.as_deref(),
        })
        .collect();
    diesel::copy_from(super::schema::request_log::table).from_insertable(rows).execute(pg).map(drop)
}
