//! What a list query is restricted to and ordered by, as plain data. `scim::filter` builds it
//! from a validated filter; `sql` renders it for each backend. Text literals arrive already
//! normalised where the attribute is caseExact false.

use chrono::NaiveDateTime;

/// Typed, indexed columns of the resource's table (`users` or `groups`, which name them alike;
/// `UserNameNorm` and `Active` exist on `users` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    UserNameNorm,
    ExternalId,
    DisplayNameNorm,
    Active,
    Created,
    LastModified,
    /// `meta.version` as rendered, `W/"<version>"` (`scim::user::etag`): a string, compared
    /// as one (RFC 7643 §3.1), not by its number.
    Version,
}

impl Column {
    /// The text columns: each leads an index of its own after the tenant, which an equality
    /// or a prefix (`sw`, a range) of it seeks.
    pub fn is_text(self) -> bool {
        matches!(self, Column::Id | Column::UserNameNorm | Column::ExternalId | Column::DisplayNameNorm)
    }
}

/// Columns of the `user_values` row (one element of a multi-valued attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValuesColumn {
    ValueNorm,
    TypeNorm,
    Primary,
}

/// Sub-attributes of a group member (the row of the enclosing `MembersAny`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberColumn {
    /// The member's SCIM id.
    Value,
    /// "User" or "Group".
    Type,
    /// The display the client gave, normalised (caseExact=false).
    Display,
}

/// Sub-attributes of one of a user's groups (the row of the enclosing `GroupsAny`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserGroupColumn {
    /// The group's SCIM id.
    Value,
    /// The group's displayName, normalised.
    Display,
    /// "direct" or "indirect" (RFC 7643 §4.1.2).
    Type,
}

/// Where a compared value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Column(Column),
    /// A JSON path (object keys) into the user's normalised document.
    Doc(Vec<String>),
    /// A JSON path into the array element of the enclosing `JsonAny`.
    Element(Vec<String>),
    /// A column of the row of the enclosing `ValuesAny`.
    Values(ValuesColumn),
    /// A sub-attribute of the member row of the enclosing `MembersAny`.
    Member(MemberColumn),
    /// A sub-attribute of the group of the enclosing `GroupsAny`.
    UserGroup(UserGroupColumn),
    /// What a multi-valued attribute sorts by (RFC 7644 §3.4.2.3): `sub` of the primary element
    /// of the document's array at `array`, else of its first element.
    PrimaryOrFirst {
        array: Vec<String>,
        sub: String,
    },
    /// What a user's `groups` sort by: a sub-attribute of the first group the user lists
    /// (groups are listed in creation order, nested ones included).
    FirstGroup(UserGroupColumn),
    /// What a group's `members` sort by: a sub-attribute of the first member the group lists.
    FirstMember(MemberColumn),
    /// `meta.location`: this prefix (the Base URL and the resource's endpoint) and the id.
    Location(String),
    /// `meta.resourceType`: the same for every row of a table, so only a search at the Base
    /// URL root, over both, sorts by it.
    ResourceType(&'static str),
}

/// How the operand's value is typed (RFC 7643 §2.3), which decides the SQL comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Bool,
    Number,
    /// `users` timestamp columns.
    Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Bool(bool),
    Number(f64),
    Timestamp(NaiveDateTime),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Const(bool),
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    /// Absent values count as "not matching", so `not` of a comparison on an absent attribute
    /// is true (RFC 7644 leaves this open; scimd's reference evaluator agrees).
    Not(Box<Predicate>),
    Compare {
        operand: Operand,
        kind: ValueKind,
        op: CmpOp,
        value: Literal,
    },
    Present {
        operand: Operand,
        kind: ValueKind,
    },
    /// Some element of the multi-valued attribute `attr` (indexed in `user_values`) matches.
    ValuesAny {
        attr: &'static str,
        pred: Box<Predicate>,
    },
    /// Some element of the JSON array at `path` in the document matches.
    JsonAny {
        path: Vec<String>,
        pred: Box<Predicate>,
    },
    /// Some member of the group matches (groups only).
    MembersAny {
        pred: Box<Predicate>,
    },
    /// Some group the user is in, directly or through nested groups, matches (users only:
    /// their readOnly `groups` attribute, RFC 7643 §4.1.2).
    GroupsAny {
        pred: Box<Predicate>,
    },
}

/// Which resource table a predicate is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Users,
    Groups,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Groups => "groups",
        }
    }
}

/// `ORDER BY` of a list: a singular operand, then creation order for stability.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub operand: Operand,
    pub kind: ValueKind,
    pub descending: bool,
}

/// A unique key of `users` and the value a point read looks for: `(tenant_id, id)` and
/// `(tenant_id, user_name_norm)` are unique, so it selects at most one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKey<'a> {
    Id(&'a str),
    /// The normalised userName, as `user_name_norm` holds it.
    UserNameNorm(&'a str),
}

/// A unique key of `groups`: `(tenant_id, id)` and `(tenant_id, display_name_norm)` are
/// unique, so it selects at most one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKey<'a> {
    Id(&'a str),
    /// The normalised displayName, as `display_name_norm` holds it.
    DisplayNameNorm(&'a str),
}

impl Predicate {
    /// The unique key it selects by, when it is `userName` or `id` equal to a string: reading
    /// it cannot be slow whatever the client sent.
    pub fn user_key(&self) -> Option<UserKey<'_>> {
        match self.column_equal_to_text()? {
            (Column::Id, value) => Some(UserKey::Id(value)),
            (Column::UserNameNorm, value) => Some(UserKey::UserNameNorm(value)),
            _ => None,
        }
    }

    /// The unique key it selects by, when it is a group's `displayName` or `id` equal to a
    /// string (Okta's and Entra's pre-check before they push a group).
    pub fn group_key(&self) -> Option<GroupKey<'_>> {
        match self.column_equal_to_text()? {
            (Column::Id, value) => Some(GroupKey::Id(value)),
            (Column::DisplayNameNorm, value) => Some(GroupKey::DisplayNameNorm(value)),
            _ => None,
        }
    }

    fn column_equal_to_text(&self) -> Option<(Column, &str)> {
        match self {
            Predicate::Compare {
                operand: Operand::Column(column), op: CmpOp::Eq, value: Literal::Text(value), ..
            } => Some((*column, value)),
            _ => None,
        }
    }
}
