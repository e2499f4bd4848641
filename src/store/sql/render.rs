//! A `Predicate` and a `SortKey` as SQL: comparisons, presence, JSON paths into the stored
//! document and multi-valued elements, in each backend's dialect.

use super::{past_prefix, Piece, Writer};
use crate::store::predicate::{
    CmpOp, Column, Literal, MemberColumn, Operand, Predicate, SortKey, Table, UserGroupColumn, ValueKind, ValuesColumn,
};

impl Writer {
    /// A JSON path argument list: SQLite takes one `$."a"."b"` path, PostgreSQL one text
    /// argument per key.
    pub(super) fn json_path(&mut self, path: &[String]) {
        if self.pg() {
            for (i, key) in path.iter().enumerate() {
                if i > 0 {
                    self.sql(", ");
                }
                self.bind(Piece::Text(key.clone()));
            }
        } else {
            let mut p = String::from("$");
            for key in path {
                p.push_str(&format!(".\"{key}\""));
            }
            self.bind(Piece::Text(p));
        }
    }

    /// The document a path starts from: the user's normalised JSON, or the current element.
    pub(super) fn json_source(&mut self, element: bool) {
        let table = self.table.name();
        match (element, self.pg()) {
            (false, false) => self.sql(&format!("{table}.data_norm")),
            (false, true) => self.sql(&format!("{table}.data_norm::jsonb")),
            (true, _) => self.sql("e.value"),
        }
    }

    /// The operand as a SQL expression of `kind`.
    pub(super) fn operand(&mut self, operand: &Operand, kind: ValueKind) {
        match operand {
            // RFC 7644 §3.14: the weak entity tag `scim::user::etag` writes.
            Operand::Column(Column::Version) => {
                self.sql(&format!("('W/\"' || CAST({}.version AS TEXT) || '\"')", self.table.name()))
            }
            Operand::Column(c) => {
                let name = format!("{}.{}", self.table.name(), column_name(*c));
                self.sql(&name);
            }
            Operand::Member(MemberColumn::Type) => self.sql("m.member_type"),
            // Migration 000028: `display_norm` only where it differs from `display`.
            Operand::Member(MemberColumn::Display) => self.sql("COALESCE(m.display_norm, m.display)"),
            Operand::Member(MemberColumn::Value) => self.sql(
                "(CASE WHEN m.member_type = 'User' THEN (SELECT mu.id FROM users mu WHERE mu.pk = m.member_pk) \
                 ELSE (SELECT mg.id FROM groups mg WHERE mg.pk = m.member_pk) END)",
            ),
            Operand::UserGroup(c) => self.sql(user_group_sql(*c)),
            Operand::PrimaryOrFirst { array, sub } => self.primary_or_first(array, sub, kind),
            Operand::FirstGroup(c) => self.first_group(*c, kind),
            Operand::FirstMember(c) => self.first_member(*c, kind),
            Operand::Location(prefix) => {
                self.sql("(CAST(");
                self.bind(Piece::Text(prefix.clone()));
                self.sql(&format!(" AS TEXT) || {}.id)", self.table.name()));
            }
            // A fixed name, never the client's text.
            Operand::ResourceType(name) => self.sql(&format!("CAST('{name}' AS TEXT)")),
            Operand::Values(c) => self.sql(match c {
                ValuesColumn::ValueNorm => "v.value_norm",
                ValuesColumn::TypeNorm => "v.type_norm",
                ValuesColumn::Primary => "v.is_primary",
            }),
            Operand::Doc(path) | Operand::Element(path) => {
                let element = matches!(operand, Operand::Element(_));
                // Booleans compare as the text 'true'/'false' on both backends.
                let (open, close) = match (kind, self.pg()) {
                    (ValueKind::Bool, false) => ("json_type(", ")"),
                    (ValueKind::Number, true) => ("CAST(jsonb_extract_path_text(", ") AS double precision)"),
                    (_, true) => ("jsonb_extract_path_text(", ")"),
                    (_, false) => ("json_extract(", ")"),
                };
                self.sql(open);
                self.json_source(element);
                self.sql(", ");
                self.json_path(path);
                self.sql(close);
            }
        }
    }

    fn literal(&mut self, value: &Literal, json_bool: bool) {
        match value {
            Literal::Text(s) => self.bind(Piece::Text(s.clone())),
            Literal::Bool(b) if json_bool => self.bind(Piece::Text(b.to_string())),
            Literal::Bool(b) => self.bind(Piece::Bool(*b)),
            Literal::Number(n) => self.bind(Piece::Double(*n)),
            Literal::Timestamp(t) => self.bind(Piece::Timestamp(*t)),
        }
    }

    pub(super) fn predicate(&mut self, p: &Predicate) {
        match p {
            Predicate::Const(true) => self.sql("1 = 1"),
            Predicate::Const(false) => self.sql("1 = 0"),
            Predicate::And(items) | Predicate::Or(items) if items.is_empty() => {
                self.sql(if matches!(p, Predicate::And(_)) { "1 = 1" } else { "1 = 0" })
            }
            Predicate::And(items) | Predicate::Or(items) => {
                let joiner = if matches!(p, Predicate::And(_)) { " AND " } else { " OR " };
                self.sql("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.sql(joiner);
                    }
                    self.predicate(item);
                }
                self.sql(")");
            }
            Predicate::Not(inner) => {
                // A comparison with an absent value is NULL; NOT NULL would drop the row.
                self.sql("NOT COALESCE((");
                self.predicate(inner);
                self.sql("), FALSE)");
            }
            Predicate::Compare { operand, kind, op, value } => self.compare(operand, *kind, *op, value),
            Predicate::Present { operand, kind } => self.present(operand, *kind),
            Predicate::ValuesAny { attr, pred } => {
                // IN, not a correlated EXISTS: SQLite then drives the lookup from the
                // (tenant_id, attr, value_norm) index instead of scanning users.
                self.sql(&format!(
                    "{}.pk IN (SELECT v.user_pk FROM user_values v WHERE v.tenant_id = ",
                    self.table.name()
                ));
                self.bind(Piece::BigInt(self.tenant));
                self.sql(" AND v.attr = ");
                self.bind(Piece::Text(attr.to_string()));
                self.sql(" AND (");
                self.predicate(pred);
                self.sql("))");
            }
            Predicate::MembersAny { pred } => self.members_any(pred),
            Predicate::GroupsAny { pred } => self.groups_any(pred),
            Predicate::JsonAny { path, pred } => {
                let table = self.table.name();
                if self.pg() {
                    self.sql(&format!(
                        "EXISTS (SELECT 1 FROM jsonb_array_elements(jsonb_extract_path({table}.data_norm::jsonb, "
                    ));
                    self.json_path(path);
                    self.sql(")) e WHERE ");
                } else {
                    self.sql(&format!("EXISTS (SELECT 1 FROM json_each({table}.data_norm, "));
                    self.json_path(path);
                    self.sql(") e WHERE ");
                }
                self.predicate(pred);
                self.sql(")");
            }
        }
    }

    fn compare(&mut self, operand: &Operand, kind: ValueKind, op: CmpOp, value: &Literal) {
        // `members.value eq "id"`: find the member's key by its indexed id, not by a
        // subselect per member row.
        if let (Operand::Member(MemberColumn::Value), CmpOp::Eq, Literal::Text(id)) = (operand, op, value) {
            self.sql("((m.member_type = 'User' AND m.member_pk IN (SELECT mu.pk FROM users mu WHERE mu.tenant_id = ");
            self.bind(Piece::BigInt(self.tenant));
            self.sql(" AND mu.id = ");
            self.bind(Piece::Text(id.clone()));
            self.sql(
                ")) OR (m.member_type = 'Group' AND m.member_pk IN (SELECT mg.pk FROM groups mg WHERE mg.tenant_id = ",
            );
            self.bind(Piece::BigInt(self.tenant));
            self.sql(" AND mg.id = ");
            self.bind(Piece::Text(id.clone()));
            self.sql(")))");
            return;
        }
        // `active eq false` as `NOT users.active`, the predicate of the index of inactive users
        // (migration 000020) written out: neither planner uses a partial index for a bound
        // value. The same truth in three-valued logic as `= FALSE` (and `= TRUE`), NULL included.
        if let (Operand::Column(Column::Active), CmpOp::Eq, Literal::Bool(active)) = (operand, op, value) {
            let column = format!("{}.active", self.table.name());
            self.sql(&if *active { format!("({column})") } else { format!("(NOT {column})") });
            return;
        }
        // RFC 7644 §3.4.2.2 `sw` on an indexed text column as the range of strings that start
        // with the prefix, which both backends seek in the index whatever the bound value.
        // SQLite seeks a `LIKE ?` only by preparing the statement again for each new value
        // (`userName sw` at 57 µs of CPU a request against 30), and PostgreSQL's generic plan
        // of `LIKE $1` reads every row of the tenant.
        if let (Some(column), CmpOp::StartsWith, Literal::Text(prefix)) = (self.indexed_text(operand), op, value) {
            self.sql(&format!("({column} >= "));
            self.bind(Piece::Text(prefix.clone()));
            if let Some(past) = past_prefix(prefix) {
                self.sql(&format!(" AND {column} < "));
                self.bind(Piece::Text(past));
            }
            self.sql(")");
            return;
        }
        let json_bool = kind == ValueKind::Bool && matches!(operand, Operand::Doc(_) | Operand::Element(_));
        let ordered_text = kind == ValueKind::Text && matches!(op, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le);
        // PostgreSQL orders text by the database collation; "C" orders by code point as
        // SQLite's BINARY does, so both backends agree. Typed columns are declared "C".
        if ordered_text && self.needs_collate(operand) {
            self.sql("(");
            self.operand(operand, kind);
            self.sql(") COLLATE \"C\"");
        } else {
            self.operand(operand, kind);
        }
        let (sql_op, pattern) = match op {
            CmpOp::Eq => (" = ", None),
            CmpOp::Gt => (" > ", None),
            CmpOp::Ge => (" >= ", None),
            CmpOp::Lt => (" < ", None),
            CmpOp::Le => (" <= ", None),
            CmpOp::Contains => (" LIKE ", Some((true, true))),
            CmpOp::StartsWith => (" LIKE ", Some((false, true))),
            CmpOp::EndsWith => (" LIKE ", Some((true, false))),
        };
        self.sql(sql_op);
        match (pattern, value) {
            (Some((lead, trail)), Literal::Text(s)) => {
                let mut pat = String::with_capacity(s.len() + 2);
                if lead {
                    pat.push('%');
                }
                pat.push_str(&escape_like(s));
                if trail {
                    pat.push('%');
                }
                self.bind(Piece::Text(pat));
                self.sql(" ESCAPE '\\'");
            }
            _ => self.literal(value, json_bool),
        }
    }

    /// The SQL name of `operand` when it is a text column that leads an index after the tenant
    /// (and, for elements, the attribute).
    fn indexed_text(&self, operand: &Operand) -> Option<String> {
        match operand {
            Operand::Column(c) if c.is_text() => Some(format!("{}.{}", self.table.name(), column_name(*c))),
            Operand::Values(ValuesColumn::ValueNorm) => Some("v.value_norm".into()),
            Operand::UserGroup(c @ (UserGroupColumn::Value | UserGroupColumn::Display)) => {
                Some(user_group_sql(*c).into())
            }
            _ => None,
        }
    }

    /// RFC 7644 §3.4.2.2 `pr`: a non-empty value, so an empty string is not present.
    fn present(&mut self, operand: &Operand, kind: ValueKind) {
        match (operand, kind) {
            (Operand::Column(Column::ExternalId | Column::DisplayNameNorm) | Operand::Values(_), ValueKind::Text)
            | (
                Operand::Doc(_)
                | Operand::Element(_)
                | Operand::UserGroup(_)
                | Operand::PrimaryOrFirst { .. }
                | Operand::FirstGroup(_)
                | Operand::FirstMember(_),
                ValueKind::Text,
            ) => {
                self.sql("COALESCE(");
                self.operand(operand, kind);
                self.sql(", '') <> ''");
            }
            (
                Operand::Column(Column::ExternalId | Column::DisplayNameNorm | Column::Active)
                | Operand::Values(_)
                | Operand::Member(_)
                | Operand::UserGroup(_)
                | Operand::PrimaryOrFirst { .. }
                | Operand::FirstGroup(_)
                | Operand::FirstMember(_),
                _,
            ) => {
                self.operand(operand, kind);
                self.sql(" IS NOT NULL");
            }
            (Operand::Column(_) | Operand::Location(_) | Operand::ResourceType(_), _) => self.sql("1 = 1"),
            (Operand::Doc(path) | Operand::Element(path), _) => {
                self.sql(if self.pg() { "jsonb_extract_path(" } else { "json_type(" });
                self.json_source(matches!(operand, Operand::Element(_)));
                self.sql(", ");
                self.json_path(path);
                self.sql(") IS NOT NULL");
            }
        }
    }

    /// JSON values on PostgreSQL carry the database collation; columns are declared "C".
    fn needs_collate(&self, operand: &Operand) -> bool {
        self.pg()
            && matches!(
                operand,
                Operand::Doc(_)
                    | Operand::Element(_)
                    | Operand::Column(Column::Version)
                    | Operand::Location(_)
                    | Operand::ResourceType(_)
                    | Operand::UserGroup(UserGroupColumn::Type)
                    | Operand::Member(MemberColumn::Display | MemberColumn::Type)
                    | Operand::PrimaryOrFirst { .. }
                    | Operand::FirstGroup(_)
                    | Operand::FirstMember(_)
            )
    }

    pub(super) fn sort(&mut self, key: &SortKey) {
        let text = key.kind == ValueKind::Text && self.needs_collate(&key.operand);
        if text {
            self.sql("(");
        }
        self.operand(&key.operand, key.kind);
        if text {
            self.sql(") COLLATE \"C\"");
        }
        // RFC 7644 §3.4.2.3: resources without a value sort last ascending, first descending.
        self.sql(if key.descending { " DESC NULLS FIRST" } else { " ASC NULLS LAST" });
        // Ties by creation, in the list's direction, so that descending is ascending reversed
        // and both are the order of the column's index, which ends in the key (migration
        // 000027); a tie the index did not order was sorted again behind it. A column unique
        // in the tenant has no ties to break (on PostgreSQL the key only rides in its index).
        let unique = matches!(
            (self.table, &key.operand),
            (_, Operand::Column(Column::Id))
                | (Table::Users, Operand::Column(Column::UserNameNorm))
                | (Table::Groups, Operand::Column(Column::DisplayNameNorm))
        );
        if !unique {
            let direction = if key.descending { "DESC" } else { "ASC" };
            let tie = format!(", {}.pk {direction}", self.table.name());
            self.sql(&tie);
        }
    }
}

fn column_name(c: Column) -> &'static str {
    match c {
        Column::Id => "id",
        Column::UserNameNorm => "user_name_norm",
        Column::ExternalId => "external_id",
        Column::DisplayNameNorm => "display_name_norm",
        Column::Active => "active",
        Column::Created => "created_at",
        Column::LastModified => "last_modified",
        Column::Version => "version",
    }
}

/// A sub-attribute of one of a user's groups: a column of the group (`ug_g`) or the depth of
/// the membership (`ug`), as `render_multi` names them.
fn user_group_sql(c: UserGroupColumn) -> &'static str {
    match c {
        UserGroupColumn::Value => "ug_g.id",
        UserGroupColumn::Display => "ug_g.display_name_norm",
        UserGroupColumn::Type => "(CASE WHEN ug.depth = 0 THEN 'direct' ELSE 'indirect' END)",
    }
}

/// `%`, `_` and the escape character itself match literally (with `ESCAPE '\'`).
pub(super) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
