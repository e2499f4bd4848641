//! Filters and `sortBy` on Groups: id, externalId, displayName (case-insensitive, like its
//! uniqueness), meta timestamps, and members (`members.value eq "id"`, `members[type eq …]`,
//! `members.display`) as a set query over `group_members`.

use super::compat::Compat;
use super::filter::{comparison, location_comparison};
use super::filter_eval;
use super::schema::GROUP_SCHEMA;
use crate::error::{Error, Quoted, Result};
use crate::store::predicate::{CmpOp, Column, Literal, MemberColumn, Operand, Predicate, SortKey, ValueKind};
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};

fn bad(detail: impl Into<String>) -> Error {
    Error::invalid_filter(detail)
}

enum Target {
    Column {
        column: Column,
        kind: ValueKind,
        case_exact: bool,
    },
    ResourceType,
    Schemas,
    Member(MemberColumn),
    Members,
    /// `meta.location`: the groups' endpoint URL, then the id.
    Location,
}

fn resolve(path: &AttrPath) -> Result<Target> {
    if let Some(u) = path.urn.as_deref().filter(|u| !u.eq_ignore_ascii_case(GROUP_SCHEMA)) {
        return Err(bad(format!("unknown schema {u} in filter")));
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let column = |column, kind, case_exact| Ok(Target::Column { column, kind, case_exact });
    match (name.as_str(), sub.as_deref()) {
        ("id", None) => column(Column::Id, ValueKind::Text, true),
        ("externalid", None) => column(Column::ExternalId, ValueKind::Text, true),
        ("displayname", None) => column(Column::DisplayNameNorm, ValueKind::Text, false),
        ("meta", Some("created")) => column(Column::Created, ValueKind::Timestamp, true),
        ("meta", Some("lastmodified")) => column(Column::LastModified, ValueKind::Timestamp, true),
        ("meta", Some("version")) => column(Column::Version, ValueKind::Text, true),
        ("meta", Some("resourcetype")) => Ok(Target::ResourceType),
        ("meta", Some("location")) => Ok(Target::Location),
        ("schemas", None) => Ok(Target::Schemas),
        ("members", None) => Ok(Target::Members),
        ("members", Some("value")) => Ok(Target::Member(MemberColumn::Value)),
        ("members", Some("type")) => Ok(Target::Member(MemberColumn::Type)),
        ("members", Some("display")) => Ok(Target::Member(MemberColumn::Display)),
        _ => Err(bad(format!("{path} cannot be filtered on for groups"))),
    }
}

/// Member types compare case-insensitively against the stored "User" / "Group".
fn member_literal(column: MemberColumn, value: &CompValue) -> CompValue {
    match (column, value) {
        (MemberColumn::Type, CompValue::String(s)) if s.eq_ignore_ascii_case("user") => {
            CompValue::String("User".into())
        }
        (MemberColumn::Type, CompValue::String(s)) if s.eq_ignore_ascii_case("group") => {
            CompValue::String("Group".into())
        }
        _ => value.clone(),
    }
}

/// One membership's `c` compared, caseExact=false (schemas/Group.json): ids (scimd's are
/// lowercase, so a lowercased literal compares with them as they are), displays, and types.
fn member_comparison(c: MemberColumn, p: &AttrPath, op: CompareOp, v: &CompValue) -> Result<Predicate> {
    match (c, v) {
        (MemberColumn::Type, CompValue::String(s)) if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            Ok(type_comparison(op, s))
        }
        // An equality with a type is one with its canonical name (`member_literal`).
        (MemberColumn::Type, _) => comparison(Operand::Member(c), ValueKind::Text, true, p, op, &member_literal(c, v)),
        _ => comparison(Operand::Member(c), ValueKind::Text, false, p, op, v),
    }
}

/// A type has two values, so `type co "SER"` and the like are decided here for each, and are
/// the equalities with those that match, which the membership's key seeks.
fn type_comparison(op: CompareOp, literal: &str) -> Predicate {
    let matching = ["User", "Group"].into_iter().filter(|t| filter_eval::text_matches(op, t, literal, false));
    Predicate::Or(
        matching
            .map(|t| Predicate::Compare {
                operand: Operand::Member(MemberColumn::Type),
                kind: ValueKind::Text,
                op: CmpOp::Eq,
                value: Literal::Text(t.into()),
            })
            .collect(),
    )
}

fn members_any(pred: Predicate) -> Predicate {
    Predicate::MembersAny { pred: Box::new(pred) }
}

/// A filter inside `members[…]` (a list's filter, a PATCH's remove path) as a predicate on
/// one membership, `m`.
pub(super) fn lower_member(f: &Filter) -> Result<Predicate> {
    Ok(match f {
        Filter::And(items) => Predicate::And(items.iter().map(lower_member).collect::<Result<_>>()?),
        Filter::Or(items) => Predicate::Or(items.iter().map(lower_member).collect::<Result<_>>()?),
        Filter::Not(inner) => Predicate::Not(Box::new(lower_member(inner)?)),
        Filter::Present(p) | Filter::Compare(p, _, _) => {
            let column = match (p.urn.as_deref(), p.name.to_ascii_lowercase().as_str(), p.sub.is_none()) {
                (None, "value", true) => MemberColumn::Value,
                (None, "type", true) => MemberColumn::Type,
                (None, "display", true) => MemberColumn::Display,
                _ => return Err(bad(format!("inside members[…] filter on value, type or display, not {p}"))),
            };
            match f {
                Filter::Compare(_, op, v) => member_comparison(column, p, *op, v)?,
                _ => Predicate::Present { operand: Operand::Member(column), kind: ValueKind::Text },
            }
        }
        Filter::ValuePath(p, _) => return Err(bad(format!("value filters do not nest ({p}[…])"))),
    })
}

/// `f` as a predicate on groups; `location` is the groups' endpoint URL with its `/`.
fn lower(f: &Filter, location: &str) -> Result<Predicate> {
    let all = |items: &[Filter]| items.iter().map(|i| lower(i, location)).collect::<Result<Vec<_>>>();
    Ok(match f {
        Filter::And(items) => Predicate::And(all(items)?),
        Filter::Or(items) => Predicate::Or(all(items)?),
        Filter::Not(inner) => Predicate::Not(Box::new(lower(inner, location)?)),
        Filter::Present(p) => match resolve(p)? {
            Target::Column { column, kind, .. } => Predicate::Present { operand: Operand::Column(column), kind },
            Target::ResourceType | Target::Schemas | Target::Location => Predicate::Const(true),
            Target::Members => members_any(Predicate::Const(true)),
            Target::Member(c) => members_any(Predicate::Present { operand: Operand::Member(c), kind: ValueKind::Text }),
        },
        Filter::Compare(p, op, v) => match resolve(p)? {
            Target::Column { column, kind, case_exact } => {
                comparison(Operand::Column(column), kind, case_exact, p, *op, v)?
            }
            Target::ResourceType => match (op, v) {
                (CompareOp::Eq, CompValue::String(s)) => Predicate::Const(s == "Group"),
                (CompareOp::Ne, CompValue::String(s)) => Predicate::Const(s != "Group"),
                _ => return Err(bad("meta.resourceType supports eq and ne with a string")),
            },
            Target::Schemas => match (op, v) {
                (CompareOp::Eq, CompValue::String(s)) => Predicate::Const(s.eq_ignore_ascii_case(GROUP_SCHEMA)),
                (CompareOp::Ne, CompValue::String(s)) => Predicate::Const(!s.eq_ignore_ascii_case(GROUP_SCHEMA)),
                _ => return Err(bad("schemas supports eq and ne with a string")),
            },
            Target::Location => location_comparison(location, p, *op, v)?,
            // `members eq "id"` means its value, as for any complex attribute with one.
            Target::Members | Target::Member(MemberColumn::Value) => member_compare(MemberColumn::Value, p, *op, v)?,
            Target::Member(c) => member_compare(c, p, *op, v)?,
        },
        Filter::ValuePath(p, inner) => match resolve(p)? {
            Target::Members if p.sub.is_none() => members_any(lower_member(inner)?),
            _ => return Err(bad(format!("{p}[…]: only members takes a value filter on groups"))),
        },
    })
}

/// `ne` means "no member equals"; other operators "some member matches".
fn member_compare(c: MemberColumn, p: &AttrPath, op: CompareOp, v: &CompValue) -> Result<Predicate> {
    let inner = member_comparison(c, p, op, v)?;
    Ok(match inner {
        Predicate::Not(eq) => Predicate::Not(Box::new(members_any(*eq))),
        other => members_any(other),
    })
}

/// The predicate for a `filter` parameter of a request to the tenant at `base_url`; no
/// filter means every group.
pub fn predicate(filter: Option<&str>, compat: &Compat, base_url: &str) -> Result<Predicate> {
    let Some(text) = filter.filter(|t| !t.trim().is_empty()) else {
        return Ok(Predicate::Const(true));
    };
    let ast = super::filter_parse::parse(text, compat)?;
    super::filter_cost::bounded(lower(&ast, &format!("{base_url}/Groups/"))?)
}

pub fn sort_key(sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Option<SortKey>> {
    sort_key_by(sort_by, sort_order, None)
}

/// The sort key of a search at the Base URL root (`base_url`), where `meta.location` sorts by
/// the whole URL: the users' and the groups' differ in more than their ids.
pub fn root_sort_key(sort_by: Option<&str>, sort_order: Option<&str>, base_url: &str) -> Result<Option<SortKey>> {
    sort_key_by(sort_by, sort_order, Some(format!("{base_url}/Groups/")))
}

fn sort_key_by(sort_by: Option<&str>, sort_order: Option<&str>, location: Option<String>) -> Result<Option<SortKey>> {
    let descending = super::filter::descending(sort_order)?;
    let Some(text) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let path = match scim_filter_parser::parse_path(text) {
        Ok(scim_filter_parser::PatchPath::Attr(p)) => p,
        _ => return Err(Error::invalid_value(format!("sortBy {text} is not an attribute path", text = Quoted(text)))),
    };
    // RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its first value (members have no
    // primary), as the group lists its members.
    let (operand, kind) = match resolve(&path) {
        Ok(Target::Column { column, kind, .. }) => (Operand::Column(column), kind),
        Ok(Target::ResourceType) if location.is_some() => (Operand::ResourceType("Group"), ValueKind::Text),
        Ok(Target::Location) => match location {
            Some(prefix) => (Operand::Location(prefix), ValueKind::Text),
            // Every location is the same prefix and the id.
            None => (Operand::Column(Column::Id), ValueKind::Text),
        },
        Ok(Target::Members) => (Operand::FirstMember(MemberColumn::Value), ValueKind::Text),
        Ok(Target::Member(column)) => (Operand::FirstMember(column), ValueKind::Text),
        _ => return Err(Error::invalid_value(format!("sortBy {text} cannot sort groups", text = Quoted(text)))),
    };
    Ok(Some(SortKey { operand, kind, descending }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::predicate::GroupKey;

    fn lower(filter: &str) -> Predicate {
        predicate(Some(filter), &Compat::default(), "https://h/scim/v2/acme").unwrap()
    }

    #[test]
    fn only_equality_on_display_name_or_id_selects_one_group_by_a_unique_key() {
        assert_eq!(lower(r#"displayName eq "Sales EMEA""#).group_key(), Some(GroupKey::DisplayNameNorm("sales emea")));
        assert_eq!(lower(r#"id eq "Ab-1""#).group_key(), Some(GroupKey::Id("Ab-1")));
        for (f, one) in [
            (r#"DISPLAYNAME eq "x""#, true),
            (r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x""#, true),
            (r#"displayName ne "x""#, false),
            (r#"displayName sw "x""#, false),
            (r#"displayName eq "a" or displayName eq "b""#, false),
            (r#"displayName eq "a" and externalId eq "b""#, false),
            (r#"not (displayName eq "a")"#, false),
            (r#"externalId eq "x""#, false),
            (r#"members.value eq "x""#, false),
            (r#"members[value eq "x"]"#, false),
            ("displayName pr", false),
            (r#"displayName eq null"#, false),
        ] {
            assert_eq!(lower(f).group_key().is_some(), one, "{f}");
        }
    }
}
