//! The statement that orders a page of the Base URL root's list, users and groups together,
//! by one sort key (RFC 7644 §3.4.2.3, §3.4.3).

use super::{list_order, Piece, Writer};
use crate::store::connection::Backend;
use crate::store::predicate::{Predicate, SortKey, Table, ValueKind};

/// One resource type's part of the root's list: which of its rows, and how each sorts. `sort`
/// is None when the type has no such attribute: its rows have no value and sort as absent.
pub struct RootSide<'a> {
    pub table: Table,
    pub predicate: &'a Predicate,
    pub sort: Option<&'a SortKey>,
}

/// `kind` (0 a user, 1 a group) and `pk` of the rows from `offset` to `offset + limit` of both
/// sides in one order: the key, absent values last ascending and first descending, then users
/// before groups and creation order. Each side gives only its first `offset + limit` rows,
/// read in its own list's order (by the key's index where there is one): no page of the
/// merged order can need more of either.
pub(in crate::store) fn root_order_sql(
    backend: Backend,
    tenant: i64,
    sides: &[RootSide<'_>],
    descending: bool,
    offset: u64,
    limit: u64,
) -> Vec<Piece> {
    let mut w = Writer::new(backend, tenant, Table::Users);
    w.sql("SELECT r.kind, r.pk FROM (");
    for (i, side) in sides.iter().enumerate() {
        if i > 0 {
            w.sql(" UNION ALL ");
        }
        side_rows(&mut w, side, descending, offset + limit);
    }
    // The key is compared as the lists compare it: text by code point on both backends
    // (PostgreSQL's default collation would not), as each side's own order read it.
    let text = sides.iter().filter_map(|s| s.sort).any(|k| k.kind == ValueKind::Text);
    let collate = if backend == Backend::Postgres && text { " COLLATE \"C\"" } else { "" };
    let (direction, nulls) = if descending { ("DESC", "FIRST") } else { ("ASC", "LAST") };
    w.sql(&format!(
        ") AS r ORDER BY r.k{collate} {direction} NULLS {nulls}, r.kind {direction}, r.pk {direction} LIMIT "
    ));
    w.bind(Piece::BigInt(limit as i64));
    w.sql(" OFFSET ");
    w.bind(Piece::BigInt(offset as i64));
    w.into_pieces()
}

/// One side's `kind, pk, k … ORDER BY … LIMIT n`, enclosed so that it can have its own ORDER BY
/// and LIMIT inside the UNION: on PostgreSQL in parentheses, where a side's `NULL` key takes the
/// other side's type (inside a subquery of its own it would be text, and a UNION of text and
/// timestamps fails); SQLite takes no parentheses there but a subquery, and has no such types.
fn side_rows(w: &mut Writer, side: &RootSide<'_>, descending: bool, first: u64) {
    let name = side.table.name();
    let kind = match side.table {
        Table::Users => 0,
        Table::Groups => 1,
    };
    w.table = side.table;
    let (open, close) = match w.backend {
        Backend::Postgres => ("(".to_string(), ")".to_string()),
        Backend::Sqlite => ("SELECT * FROM (".to_string(), format!(") AS {name}_side")),
    };
    w.sql(&format!("{open}SELECT {kind} AS kind, {name}.pk AS pk, "));
    match side.sort {
        Some(key) => {
            w.sql("(");
            w.operand(&key.operand, key.kind);
            w.sql(")");
        }
        None => w.sql("NULL"),
    }
    w.sql(&format!(" AS k FROM {name} WHERE {name}.tenant_id = "));
    w.bind(Piece::BigInt(w.tenant));
    if *side.predicate != Predicate::Const(true) {
        w.sql(" AND (");
        w.predicate(side.predicate);
        w.sql(")");
    }
    w.sql(" ORDER BY ");
    match side.sort {
        Some(key) => w.pieces.extend(list_order(w.backend, w.tenant, side.table, Some(key)).pieces),
        // No values: the side's rows in the order's ties, creation order in its direction.
        None => w.sql(&format!("{name}.pk {}", if descending { "DESC" } else { "ASC" })),
    }
    w.sql(" LIMIT ");
    w.bind(Piece::BigInt(first as i64));
    w.sql(&close);
}
