//! Columns a migration adds that only scimd can fill in for the rows already there, because
//! SQL computes them differently on each backend (a lowercased display, for one). The
//! migration names the work in `data_backfills`; it is done at start-up, after the migrations,
//! and its row deleted when it is done, so a start-up that stops half-way does it again.

use super::connection::AnyConnection;
use super::members::display_norm;
use super::predicate::Table;
use super::schema::{data_backfills, group_members};
use super::sql::{self, Piece, Writer};
use super::tx::backend_of;
use crate::error::Result;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// Migration 000028: `group_members.display_norm` of the memberships written before it.
const MEMBER_DISPLAY_NORM: &str = "member_display_norm";

/// Memberships read and written per transaction: a PostgreSQL replica already serving waits
/// for no lock longer than one batch holds it.
const BATCH: usize = 5_000;

/// Does the backfills the migrations left; on PostgreSQL the caller holds the migration lock.
pub(super) fn run_pending(conn: &mut AnyConnection) -> Result<()> {
    let pending: Vec<String> =
        data_backfills::table.select(data_backfills::name).order(data_backfills::name).load(conn)?;
    for name in pending {
        let rows = match name.as_str() {
            MEMBER_DISPLAY_NORM => member_display_norms(conn)?,
            // A later scimd's, left by a start-up of it that did not finish: that version does it.
            other => {
                tracing::warn!(backfill = other, "a data backfill this version does not know is left to do");
                continue;
            }
        };
        diesel::delete(data_backfills::table.find(&name)).execute(conn)?;
        tracing::info!(backfill = name, rows, "data backfill done");
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Membership {
    #[diesel(sql_type = BigInt)]
    tenant_id: i64,
    #[diesel(sql_type = BigInt)]
    group_pk: i64,
    #[diesel(sql_type = Text)]
    member_type: String,
    #[diesel(sql_type = BigInt)]
    member_pk: i64,
    #[diesel(sql_type = Text)]
    display: String,
}

/// Sets `display_norm` wherever a membership's display is not its own lowercased form, in
/// batches in key order; returns how many it set.
fn member_display_norms(conn: &mut AnyConnection) -> Result<usize> {
    let mut after: Option<(i64, i64, String, i64)> = None;
    let mut set = 0;
    loop {
        let mut w = Writer::new(backend_of(conn), 0, Table::Groups);
        w.sql(
            "SELECT tenant_id, group_pk, member_type, member_pk, display FROM group_members WHERE display IS NOT NULL",
        );
        if let Some((tenant, group, kind, member)) = after.take() {
            w.sql(" AND (tenant_id, group_pk, member_type, member_pk) > (");
            w.bind_list([Piece::BigInt(tenant), Piece::BigInt(group), Piece::Text(kind), Piece::BigInt(member)]);
            w.sql(")");
        }
        w.sql(&format!(" ORDER BY tenant_id, group_pk, member_type, member_pk LIMIT {BATCH}"));
        let rows: Vec<Membership> = sql::load(conn, &w.into_pieces())?;
        let norms: Vec<(&Membership, String)> =
            rows.iter().filter_map(|m| Some((m, display_norm(Some(&m.display))?))).collect();
        set += match conn {
            AnyConnection::Postgresql(c) => set_norms_pg(c, &norms)?,
            AnyConnection::Sqlite(_) => conn.transaction(|c| {
                let mut set = 0;
                for (m, norm) in &norms {
                    let key = (m.tenant_id, m.group_pk, m.member_type.as_str(), m.member_pk);
                    set += diesel::update(group_members::table.find(key))
                        .set(group_members::display_norm.eq(norm))
                        .execute(c)?;
                }
                QueryResult::Ok(set)
            })?,
        };
        match rows.last() {
            Some(m) if rows.len() == BATCH => {
                after = Some((m.tenant_id, m.group_pk, m.member_type.clone(), m.member_pk));
            }
            _ => return Ok(set),
        }
    }
}

/// A batch's norms on PostgreSQL, by one statement: an UPDATE each was a round trip each (50,020
/// memberships in 2.8 s).
fn set_norms_pg(c: &mut diesel::PgConnection, norms: &[(&Membership, String)]) -> QueryResult<usize> {
    use diesel::sql_types::Array;
    let column = |f: fn(&Membership) -> i64| norms.iter().map(|(m, _)| f(m)).collect::<Vec<i64>>();
    diesel::sql_query(
        "UPDATE group_members m SET display_norm = v.norm \
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[]) AS v(t, g, k, p, norm) \
         WHERE m.tenant_id = v.t AND m.group_pk = v.g AND m.member_type = v.k AND m.member_pk = v.p",
    )
    .bind::<Array<BigInt>, _>(column(|m| m.tenant_id))
    .bind::<Array<BigInt>, _>(column(|m| m.group_pk))
    .bind::<Array<Text>, _>(norms.iter().map(|(m, _)| m.member_type.as_str()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(column(|m| m.member_pk))
    .bind::<Array<Text>, _>(norms.iter().map(|(_, norm)| norm.as_str()).collect::<Vec<_>>())
    .execute(c)
}
