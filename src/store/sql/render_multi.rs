//! A user's `groups` and a group's `members` as SQL, which are not in the stored document: a
//! filter on the groups a user is in through nested groups, one on a group's memberships (by
//! the member index when it names a member), and what `sortBy` of a
//! multi-valued attribute reads (its primary element, a user's first group, a group's first
//! member).

use super::{Piece, Writer};
use crate::store::predicate::{CmpOp, Literal, MemberColumn, Operand, Predicate, UserGroupColumn, ValueKind};

impl Writer {
    /// RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary element's `sub`, else
    /// by its first element's.
    pub(super) fn primary_or_first(&mut self, array: &[String], sub: &str, kind: ValueKind) {
        self.sql("(SELECT ");
        self.operand(&Operand::Element(vec![sub.to_string()]), kind);
        if self.pg() {
            self.sql(" FROM jsonb_array_elements(jsonb_extract_path(");
            self.json_source(false);
            self.sql(", ");
            self.json_path(array);
            self.sql(
                ")) WITH ORDINALITY e(value, n) \
                 ORDER BY COALESCE((e.value -> 'primary') = 'true'::jsonb, FALSE) DESC, e.n LIMIT 1)",
            );
        } else {
            self.sql(" FROM json_each(");
            self.json_source(false);
            self.sql(", ");
            self.json_path(array);
            self.sql(") e ORDER BY (json_extract(e.value, '$.primary') IS 1) DESC, e.key LIMIT 1)");
        }
    }

    /// A sub-attribute of the first of the user's groups as the user lists them: the one
    /// created first of those it is in directly or through nested groups, direct if it is both.
    pub(super) fn first_group(&mut self, column: UserGroupColumn, kind: ValueKind) {
        let table = self.table.name();
        self.sql(
            "(WITH RECURSIVE ug(group_pk, depth) AS (SELECT m.group_pk, 0 FROM group_members m \
             WHERE m.member_type = 'User' AND m.tenant_id = ",
        );
        self.bind(Piece::BigInt(self.tenant));
        self.sql(&format!(
            " AND m.member_pk = {table}.pk UNION SELECT m.group_pk, 1 FROM ug CROSS JOIN group_members m \
             WHERE m.member_type = 'Group' AND m.member_pk = ug.group_pk AND m.tenant_id = "
        ));
        self.bind(Piece::BigInt(self.tenant));
        self.sql(") SELECT ");
        self.operand(&Operand::UserGroup(column), kind);
        self.sql(" FROM ug JOIN groups ug_g ON ug_g.pk = ug.group_pk ORDER BY ug.group_pk, ug.depth LIMIT 1)");
    }

    /// RFC 7643 §4.1.2: the user is in a group `pred` holds for, directly (a member of it) or
    /// indirectly (a member of a group inside it, at any depth). The groups are walked down
    /// from those that `pred`'s terms on the group alone select (`groups.value eq "…"` seeks
    /// one by its id), so only their memberships are read; with a term on the membership's
    /// type each selected group is walked on its own, as a user in one directly and
    /// indirectly is a direct member, as the user is rendered. Each group's memberships are
    /// read by key: with a plain `JOIN`, SQLite read every user membership of the tenant and
    /// looked each up in the groups walked.
    pub(super) fn groups_any(&mut self, pred: &Predicate) {
        let table = self.table.name();
        if !names_membership_type(pred) {
            // The group alone decides: the users in any group walked down from those it
            // selects, each group walked once (per group selected, a chain of 1,000 nested
            // groups walked 500,000 rows for `groups pr`: 2.1 s).
            self.sql(&format!(
                "{table}.pk IN (WITH RECURSIVE ug_down(group_pk) AS (\
                 SELECT ug_g.pk FROM groups ug_g WHERE ug_g.tenant_id = "
            ));
            self.bind(Piece::BigInt(self.tenant));
            self.sql(" AND ");
            self.predicate(pred);
            self.sql(" UNION SELECT m.member_pk");
            self.members_of_walked_groups("Group");
            self.sql(") SELECT m.member_pk");
            self.members_of_walked_groups("User");
            self.sql(")");
            return;
        }
        self.sql(&format!(
            "{table}.pk IN (WITH RECURSIVE ug_down(top_pk, group_pk, depth) AS (\
             SELECT ug_g.pk, ug_g.pk, 0 FROM groups ug_g WHERE ug_g.tenant_id = "
        ));
        self.bind(Piece::BigInt(self.tenant));
        let anchor: Vec<&Predicate> = match pred {
            Predicate::And(items) => items.iter().filter(|i| !names_membership_type(i)).collect(),
            p if !names_membership_type(p) => vec![p],
            _ => Vec::new(),
        };
        for term in anchor {
            self.sql(" AND ");
            self.predicate(term);
        }
        self.sql(" UNION SELECT ug_down.top_pk, m.member_pk, 1");
        self.members_of_walked_groups("Group");
        self.sql(
            ") SELECT ug.user_pk FROM (SELECT m.member_pk AS user_pk, ug_down.top_pk AS group_pk, \
             MIN(ug_down.depth) AS depth",
        );
        self.members_of_walked_groups("User");
        self.sql(" GROUP BY m.member_pk, ug_down.top_pk) ug JOIN groups ug_g ON ug_g.pk = ug.group_pk WHERE ");
        self.predicate(pred);
        self.sql(")");
    }

    /// `FROM ug_down` and the memberships of `member_type` of each group walked (its
    /// `group_pk`), as `m`, read
    /// by key for each group. SQLite keeps a `CROSS JOIN`'s order; PostgreSQL, planning for
    /// a few memberships, hashed every user membership of the tenant instead, unless they are
    /// a lateral subquery that OFFSET 0 keeps it from flattening.
    fn members_of_walked_groups(&mut self, member_type: &str) {
        let (open, close) = if self.pg() {
            (" FROM ug_down CROSS JOIN LATERAL (SELECT m.member_pk FROM group_members m WHERE", " OFFSET 0) m")
        } else {
            (" FROM ug_down CROSS JOIN group_members m WHERE", "")
        };
        self.sql(&format!(
            "{open} m.group_pk = ug_down.group_pk AND m.member_type = '{member_type}' AND m.tenant_id = "
        ));
        self.bind(Piece::BigInt(self.tenant));
        self.sql(close);
    }

    /// Groups with a membership that satisfies `pred`, as the set of their keys.
    pub(super) fn members_any(&mut self, pred: &Predicate) {
        let table = self.table.name();
        let Some((id, rest)) = named_member(pred) else {
            self.sql(&format!("{table}.pk IN (SELECT m.group_pk FROM group_members m WHERE m.tenant_id = "));
            self.bind(Piece::BigInt(self.tenant));
            self.sql(" AND (");
            self.predicate(pred);
            self.sql("))");
            return;
        };
        // `members.value eq "id"` (Entra ID checks a membership with `id eq "g" and
        // members.value eq "u"`): the member's groups, one index seek for each kind of member.
        // One set for both kinds read every membership of the tenant, since neither backend
        // seeks the member index for an `or` of the two (100,000 memberships: 13.5 ms a filter).
        self.sql("(");
        for (i, (kind, members)) in [("User", "users"), ("Group", "groups")].into_iter().enumerate() {
            self.sql(if i == 0 { "" } else { " OR " });
            self.sql(&format!("{table}.pk IN (SELECT m.group_pk FROM group_members m WHERE m.tenant_id = "));
            self.bind(Piece::BigInt(self.tenant));
            self.sql(&format!(
                " AND m.member_type = '{kind}' AND m.member_pk IN (SELECT x.pk FROM {members} x WHERE x.tenant_id = "
            ));
            self.bind(Piece::BigInt(self.tenant));
            self.sql(" AND x.id = ");
            self.bind(Piece::Text(id.to_string()));
            self.sql(")");
            if let Some(rest) = &rest {
                self.sql(" AND ");
                self.predicate(rest);
            }
            self.sql(")");
        }
        self.sql(")");
    }

    /// A sub-attribute of the first member as the group lists them: groups before users, each
    /// in creation order.
    pub(super) fn first_member(&mut self, column: MemberColumn, kind: ValueKind) {
        self.sql("(SELECT ");
        self.operand(&Operand::Member(column), kind);
        self.sql(" FROM group_members m WHERE m.tenant_id = ");
        self.bind(Piece::BigInt(self.tenant));
        let table = self.table.name();
        self.sql(&format!(" AND m.group_pk = {table}.pk ORDER BY m.member_type, m.member_pk LIMIT 1)"));
    }
}

/// Whether `p` compares a membership's type, which the group alone does not decide.
fn names_membership_type(p: &Predicate) -> bool {
    match p {
        Predicate::And(items) | Predicate::Or(items) => items.iter().any(names_membership_type),
        Predicate::Not(inner) => names_membership_type(inner),
        Predicate::Compare { operand, .. } | Predicate::Present { operand, .. } => {
            *operand == Operand::UserGroup(UserGroupColumn::Type)
        }
        _ => false,
    }
}

/// The id `pred` requires of a membership's member (`value eq "id"`, alone or as a term of an
/// `and`), and what else it requires.
fn named_member(pred: &Predicate) -> Option<(&str, Option<Predicate>)> {
    fn id_of(p: &Predicate) -> Option<&str> {
        match p {
            Predicate::Compare {
                operand: Operand::Member(MemberColumn::Value),
                op: CmpOp::Eq,
                value: Literal::Text(id),
                ..
            } => Some(id.as_str()),
            _ => None,
        }
    }
    match pred {
        Predicate::And(items) => {
            let (at, id) = items.iter().enumerate().find_map(|(i, p)| id_of(p).map(|id| (i, id)))?;
            let rest: Vec<Predicate> =
                items.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, p)| p.clone()).collect();
            Some((id, (!rest.is_empty()).then_some(Predicate::And(rest))))
        }
        p => id_of(p).map(|id| (id, None)),
    }
}
