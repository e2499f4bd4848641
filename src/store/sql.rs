//! Rendering a `Predicate` or `SortKey` as SQL for one backend: a list of SQL text and bound
//! values (`sql_run` runs it, or makes it a Diesel node that composes with the DSL). Values are
//! always bound parameters; only fixed identifiers are written into the text.

use super::connection::Backend;
use super::predicate::{Predicate, SortKey, Table};
use chrono::NaiveDateTime;
use diesel::sql_types::{Bool, Text};
use std::marker::PhantomData;

pub(super) use super::sql_explain::explain;
#[cfg(test)]
pub(super) use super::sql_explain::explain_generic_pg;
pub(super) use super::sql_run::{execute_prepared, load, load_prepared};

mod render;
mod render_multi;
mod root_order;

pub(super) use root_order::root_order_sql;
pub use root_order::RootSide;

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Sql(String),
    Text(String),
    Double(f64),
    Bool(bool),
    Timestamp(NaiveDateTime),
    BigInt(i64),
    /// A NULL text value.
    Null,
    /// A list of integers as one PostgreSQL array: one statement text for any length, so it
    /// is prepared once. SQLite has no arrays (`Writer::in_big_ints` binds JSON text there).
    BigInts(Vec<i64>),
}

impl Piece {
    /// A text value, or NULL.
    pub(super) fn text_or_null(v: Option<&str>) -> Piece {
        v.map_or(Piece::Null, |v| Piece::Text(v.to_string()))
    }
}

/// Rendered SQL typed as `ST`, usable in `.filter()` (Bool) and `.order()`.
#[derive(Debug, Clone)]
pub struct RawSql<ST> {
    pub(super) pieces: Vec<Piece>,
    _type: PhantomData<ST>,
}

/// `[1,2,3]`: integers as SQLite's `json_each` reads them.
pub(super) fn json_array(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// Collects pieces for one dialect.
pub(super) struct Writer {
    backend: Backend,
    tenant: i64,
    table: Table,
    pieces: Vec<Piece>,
}

impl Writer {
    pub(super) fn new(backend: Backend, tenant: i64, table: Table) -> Self {
        Writer { backend, tenant, table, pieces: Vec::new() }
    }

    pub(super) fn into_pieces(self) -> Vec<Piece> {
        self.pieces
    }

    /// `?, ?, ?` for each value.
    pub(super) fn bind_list(&mut self, values: impl IntoIterator<Item = Piece>) {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(v);
        }
    }

    /// `values` as one bound list: `column IN (…)` reads `column {in_list}` after it, and the
    /// writer supplies the form: `= ANY(?)` with an array on PostgreSQL, `IN (SELECT value FROM
    /// json_each(?))` with JSON text on SQLite.
    pub(super) fn in_big_ints(&mut self, values: &[i64]) {
        match self.backend {
            Backend::Postgres => {
                // Behind a subselect the planner cannot see the array, so every plan is the
                // same: with a bare `ANY(?)` it planned each call for its values (2 ms for 100)
                // and, after one-element calls, kept doing so for 100-element pages (a hash
                // join over every group) rather than reuse the generic plan (0.35 ms).
                self.sql(" = ANY((SELECT ");
                self.bind(Piece::BigInts(values.to_vec()));
                self.sql(")::bigint[])");
            }
            Backend::Sqlite => {
                self.sql(" IN (SELECT value FROM json_each(");
                self.bind(Piece::Text(json_array(values)));
                self.sql("))");
            }
        }
    }

    /// ` IN (…)` over `values` as one bound JSON array (for PostgreSQL, ` = ANY(…)`): one statement text for any number of
    /// values, so it is prepared once (the strings are JSON-escaped, never written as SQL).
    /// One value on SQLite is ` = ?`, a second text.
    pub(super) fn in_texts<S: AsRef<str>>(&mut self, values: &[S]) {
        if let (Backend::Sqlite, [one]) = (self.backend, values) {
            // One value (a PATCH naming one member): SQLite would gather `json_each`'s one
            // row in a temporary B-tree, opened and closed on every run.
            self.sql(" = ");
            self.bind(Piece::Text(one.as_ref().to_string()));
            return;
        }
        // PostgreSQL: `= ANY(ARRAY(…))` is an index condition; `IN (SELECT …)` over the
        // function was planned as a hash join over every row of the tenant's table.
        self.sql(match self.backend {
            Backend::Postgres => " = ANY(ARRAY(SELECT json_array_elements_text(CAST(",
            Backend::Sqlite => " IN (SELECT value FROM json_each(",
        });
        let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        self.bind(Piece::Text(serde_json::Value::from(values).to_string()));
        self.sql(match self.backend {
            Backend::Postgres => " AS json))))",
            Backend::Sqlite => "))",
        });
    }

    pub(super) fn sql(&mut self, s: &str) {
        match self.pieces.last_mut() {
            Some(Piece::Sql(prev)) => prev.push_str(s),
            _ => self.pieces.push(Piece::Sql(s.to_string())),
        }
    }

    pub(super) fn bind(&mut self, p: Piece) {
        self.pieces.push(p);
    }

    fn pg(&self) -> bool {
        self.backend == Backend::Postgres
    }
}

impl<ST> RawSql<ST> {
    fn new(pieces: Vec<Piece>) -> Self {
        RawSql { pieces, _type: PhantomData }
    }
}

pub fn filter_sql(backend: Backend, tenant: i64, table: Table, pred: &Predicate) -> RawSql<Bool> {
    let mut w = Writer::new(backend, tenant, table);
    w.predicate(pred);
    RawSql::new(w.pieces)
}

/// The order of a list: by its sort key, else creation order. The tenant's rows are sorted:
/// a key read from other rows (a user's first group, a group's first member) reads the
/// tenant's.
pub fn list_order(backend: Backend, tenant: i64, table: Table, sort: Option<&SortKey>) -> RawSql<Text> {
    match sort {
        Some(key) => {
            let mut w = Writer::new(backend, tenant, table);
            w.sort(key);
            RawSql::new(w.pieces)
        }
        None => RawSql::new(vec![Piece::Sql(format!("{}.pk ASC", table.name()))]),
    }
}

/// Which rows of a list a page holds, and in what order.
pub(super) struct Page<'a> {
    pub predicate: &'a Predicate,
    pub order: RawSql<Text>,
    /// No sort key: ordered by primary key.
    pub creation_order: bool,
    /// Counted from `from_pk` when set, else from the start of the list.
    pub offset: u64,
    pub limit: u64,
    /// Only in creation order: the list from this primary key on (`positions`, a remembered
    /// position of the list).
    pub from_pk: Option<i64>,
}

impl<'a> Page<'a> {
    pub(super) fn new(
        backend: Backend,
        tenant: i64,
        table: Table,
        predicate: &'a Predicate,
        sort: Option<&SortKey>,
        offset: u64,
        limit: u64,
    ) -> Self {
        let order = list_order(backend, tenant, table, sort);
        Page { predicate, order, creation_order: sort.is_none(), offset, limit, from_pk: None }
    }
}

/// `SELECT {select} FROM {table}` of the tenant's rows `predicate` selects.
fn selected(backend: Backend, tenant: i64, table: Table, select: &str, predicate: &Predicate) -> Writer {
    let name = table.name();
    let mut w = Writer::new(backend, tenant, table);
    w.sql(&format!("SELECT {select} FROM {name} WHERE {name}.tenant_id = "));
    w.bind(Piece::BigInt(tenant));
    if *predicate != Predicate::Const(true) {
        w.sql(" AND (");
        w.predicate(predicate);
        w.sql(")");
    }
    w
}

/// Deletes the memberships of group `group_pk` that `pred`, a predicate on one membership
/// `m`, selects, returning `member_type` and `member_pk` of each. One statement: selecting them
/// first and deleting them by their keys, 500 to a statement, took PostgreSQL 20 s for 100,000
/// members (each statement's 500 alternatives checked against every row of the group).
pub(super) fn delete_members_where_sql(backend: Backend, tenant: i64, group_pk: i64, pred: &Predicate) -> Vec<Piece> {
    let mut w = Writer::new(backend, tenant, Table::Groups);
    w.sql("DELETE FROM group_members AS m WHERE m.tenant_id = ");
    w.bind(Piece::BigInt(tenant));
    w.sql(" AND m.group_pk = ");
    w.bind(Piece::BigInt(group_pk));
    w.sql(" AND (");
    w.predicate(pred);
    w.sql(") RETURNING member_type, member_pk");
    w.into_pieces()
}

/// The `kind`, `pk` and `id` (`MemberKey`) of the rows of `table` among `pks`.
pub(super) fn ids_by_key_sql(backend: Backend, tenant: i64, table: Table, pks: &[i64]) -> Vec<Piece> {
    let kind = match table {
        Table::Users => "User",
        Table::Groups => "Group",
    };
    rows_by_key_sql(backend, tenant, table, &format!("'{kind}' AS kind, pk, id"), pks)
}

/// `columns` of the rows of `table` among `pks`. On SQLite the tenant is checked on each row
/// found by its key rather than sought: with `tenant_id = ?` SQLite read the tenant's whole
/// (tenant_id, id) index, which covers a read of ids, and checked each entry against the keys
/// (removing 100,000 members: 1.3 s, most of it here, read 500 keys at a time).
pub(super) fn rows_by_key_sql(backend: Backend, tenant: i64, table: Table, columns: &str, pks: &[i64]) -> Vec<Piece> {
    let name = table.name();
    let plus = if backend == Backend::Sqlite { "+" } else { "" };
    let mut w = Writer::new(backend, tenant, table);
    w.sql(&format!("SELECT {columns} FROM {name} WHERE {plus}{name}.tenant_id = "));
    w.bind(Piece::BigInt(tenant));
    w.sql(&format!(" AND {name}.pk"));
    w.in_big_ints(pks);
    w.into_pieces()
}

/// How many rows `predicate` selects (a filtered list's totalResults), as `n`.
pub(super) fn count_sql(backend: Backend, tenant: i64, table: Table, predicate: &Predicate) -> Vec<Piece> {
    selected(backend, tenant, table, "COUNT(*) AS n", predicate).into_pieces()
}

/// Every row `predicate` selects, in the list's order: a list whose whole result is its page
/// (no LIMIT to bind, so SQLite keeps the statement prepared).
pub(super) fn all_rows_sql(
    backend: Backend,
    tenant: i64,
    table: Table,
    columns: &str,
    predicate: &Predicate,
    sort: Option<&SortKey>,
) -> Vec<Piece> {
    let mut w = selected(backend, tenant, table, columns, predicate);
    w.sql(" ORDER BY ");
    w.pieces.extend(list_order(backend, tenant, table, sort).pieces);
    w.into_pieces()
}

/// One page of a list in one statement: the page's keys come from the index alone (filter,
/// order, offset, limit), then only those rows are read, instead of every skipped row in full
/// (offset 99,900 of 100,000 on SQLite: 4.6 → 2.6 ms), and sorted again (100 rows).
/// Written by hand because Diesel's MultiConnection cannot box a subselect.
pub(super) fn page_sql(backend: Backend, tenant: i64, table: Table, columns: &str, page: &Page<'_>) -> Vec<Piece> {
    let name = table.name();
    let mut w = Writer::new(backend, tenant, table);
    w.sql(&format!("SELECT {columns} FROM {name} WHERE {name}.tenant_id = "));
    w.bind(Piece::BigInt(tenant));
    // The inner `{name}` is the subquery's own table (SQL scoping), which filter and order name.
    // PostgreSQL: `= ANY(ARRAY(…))` makes the keys an InitPlan looked up by primary key; the
    // generic plan of a prepared `IN (…)` cannot see the LIMIT and hash-joined the whole table
    // (10,000 users: 14.8 → 2.5 ms).
    let (open, close) = match backend {
        Backend::Postgres => ("= ANY(ARRAY(", "))"),
        Backend::Sqlite => ("IN (", ")"),
    };
    w.sql(&format!(" AND {name}.pk {open}SELECT {name}.pk FROM {name} WHERE {name}.tenant_id = "));
    w.bind(Piece::BigInt(tenant));
    if *page.predicate != Predicate::Const(true) {
        w.sql(" AND (");
        w.predicate(page.predicate);
        w.sql(")");
    }
    if let Some(pk) = page.from_pk {
        w.sql(&format!(" AND {name}.pk >= "));
        w.bind(Piece::BigInt(pk));
    }
    w.sql(" ORDER BY ");
    w.pieces.extend(page.order.pieces.iter().cloned());
    // `+ 0`: SQLite (3.4x) treats a bare bound LIMIT as a constant of the plan and prepares
    // the statement again whenever it is rebound; an expression it evaluates at run time.
    // PostgreSQL costs the bound values and so planned every page afresh (0 generic plans in
    // 8, 0.1 ms each). Of the whole list in creation order (Okta's "Import Now"), whose only
    // plan is the walk of the (tenant, pk) index, it gets them as InitPlans it does not look
    // at, and keeps the generic plan. A filtered or sorted page's plan does depend on how many
    // rows it takes, so that one is still planned for its values.
    let (limit, offset, end) = match backend {
        Backend::Postgres if page.creation_order && *page.predicate == Predicate::Const(true) => {
            (" LIMIT (SELECT ", ") OFFSET (SELECT ", ")")
        }
        _ => (" LIMIT ", " + 0 OFFSET ", " + 0"),
    };
    w.sql(limit);
    w.bind(Piece::BigInt(page.limit as i64));
    w.sql(offset);
    w.bind(Piece::BigInt(page.offset as i64));
    w.sql(&format!("{end}{close} ORDER BY "));
    w.pieces.extend(page.order.pieces.iter().cloned());
    w.into_pieces()
}

/// The least string after every string that starts with `prefix`, in code point order (the
/// order of SQLite's BINARY and of PostgreSQL's "C" on UTF-8, both byte order): the prefix with
/// its last character moved one on. Trailing U+10FFFF have no next character and are dropped
/// first; None when nothing is left, as every string from the prefix on starts with it.
pub(super) fn past_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::sql_run::placeholder_text;
    use super::render::escape_like;
    use super::*;
    use crate::store::predicate::{CmpOp, Literal, Operand, ValueKind};

    #[test]
    fn the_string_past_a_prefix_is_its_last_character_moved_one_on() {
        for (prefix, past) in [
            ("bj", Some("bk")),
            ("a%", Some("a&")),
            ("\u{D7FF}", Some("\u{E000}")),
            ("ä", Some("å")),
            ("a\u{10FFFF}", Some("b")),
            ("\u{10FFFF}\u{10FFFF}", None),
            ("", None),
        ] {
            assert_eq!(past_prefix(prefix).as_deref(), past, "{prefix:?}");
        }
    }

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }

    #[test]
    fn values_are_bound_never_written_into_the_text() {
        let evil = "x' OR 1=1 --".to_string();
        let p = Predicate::Compare {
            operand: Operand::Doc(vec!["title".into()]),
            kind: ValueKind::Text,
            op: CmpOp::Eq,
            value: Literal::Text(evil.clone()),
        };
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let sql = filter_sql(backend, 1, Table::Users, &p);
            let text = placeholder_text(backend, &sql.pieces, 1);
            assert!(!text.contains(&evil), "{text}");
            assert!(sql.pieces.contains(&Piece::Text(evil.clone())));
        }
    }
}
