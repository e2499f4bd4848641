//! The database's plans for rendered SQL, as tests read them to check that a statement seeks
//! by index.

use super::connection::{AnyConnection, Backend};
use super::sql::Piece;
use super::sql_run::{bind_pieces_pg, bind_pieces_sqlite, placeholder_text};
use diesel::QueryResult;

#[derive(diesel::QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(diesel::QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// The database's plan for the statement `pieces`, a line per step: how tests check that a
/// statement seeks by index. On PostgreSQL sequential scans are disabled for it, so the plan
/// shows whether an index *can* serve it (on a test's few rows any plan would do).
pub(super) fn explain(conn: &mut AnyConnection, pieces: &[Piece]) -> QueryResult<Vec<String>> {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    match conn {
        AnyConnection::Sqlite(c) => {
            let q = bind_pieces_sqlite(
                diesel::sql_query(format!("EXPLAIN QUERY PLAN {}", placeholder_text(Backend::Sqlite, pieces, 1)))
                    .into_boxed(),
                pieces,
            );
            Ok(q.load::<SqlitePlanRow>(c)?.into_iter().map(|r| r.detail).collect())
        }
        AnyConnection::Postgresql(c) => {
            c.batch_execute("SET enable_seqscan = off")?;
            let q = bind_pieces_pg(
                diesel::sql_query(format!("EXPLAIN {}", placeholder_text(Backend::Postgres, pieces, 1))).into_boxed(),
                pieces,
            );
            let plan = q.load::<PgPlanRow>(c);
            c.batch_execute("SET enable_seqscan = on")?;
            Ok(plan?.into_iter().map(|r| r.plan).collect())
        }
    }
}

/// PostgreSQL's generic plan for the statement `pieces` (the plan it keeps after five runs of
/// a prepared statement, costed for average values), a line per step, with the tables' real
/// statistics and sequential scans allowed: how tests check the plan a skewed directory gets.
#[cfg(test)]
pub(super) fn explain_generic_pg(conn: &mut AnyConnection, pieces: &[Piece]) -> QueryResult<Vec<String>> {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    let AnyConnection::Postgresql(c) = conn else { panic!("not PostgreSQL") };
    let (mut types, mut values) = (Vec::new(), Vec::new());
    for p in pieces {
        let (ty, value) = match p {
            Piece::Sql(_) => continue,
            Piece::Text(t) => ("text", format!("'{}'", t.replace('\'', "''"))),
            Piece::BigInt(n) => ("bigint", n.to_string()),
            Piece::Bool(b) => ("boolean", b.to_string()),
            Piece::BigInts(ns) => {
                ("bigint[]", format!("'{{{}}}'", ns.iter().map(i64::to_string).collect::<Vec<_>>().join(",")))
            }
            other => panic!("no literal for {other:?}"),
        };
        types.push(ty);
        values.push(value);
    }
    let text = placeholder_text(Backend::Postgres, pieces, 1);
    c.batch_execute(&format!("PREPARE generic_probe({}) AS {text}", types.join(", ")))?;
    c.batch_execute("SET plan_cache_mode = force_generic_plan")?;
    let plan = diesel::sql_query(format!("EXPLAIN EXECUTE generic_probe({})", values.join(", "))).load::<PgPlanRow>(c);
    c.batch_execute("RESET plan_cache_mode; DEALLOCATE generic_probe")?;
    Ok(plan?.into_iter().map(|r| r.plan).collect())
}
