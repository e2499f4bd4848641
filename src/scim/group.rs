//! The Group resource (RFC 7643 §4.2): validation, the columns derived from it, its rendering,
//! and PATCH operations on `members` turned into set operations the store runs in SQL.

use super::compat::{Compat, Rule};
use super::group_filter;
use super::json_text::{Meta, ObjectWriter, StoredObject};
use super::patch::{OpKind, PatchOperation};
use super::projection::Projection;
use super::resource::ResourceSchema;
use super::schema::{Registry, GROUP_SCHEMA};
use super::{check_indexed, check_resource_size, normalize, user};
use crate::error::{Error, Quoted, Result};
use crate::store::predicate::Predicate;
use crate::store::{GroupRow, GroupWrite, MemberKind, MemberRef};
use scim_filter_parser::{parse_path, CompValue, CompareOp, Filter, PatchPath};
use serde_json::{Map, Value};
use std::collections::HashSet;

pub fn group_schema(registry: &Registry) -> ResourceSchema<'_> {
    ResourceSchema { core: &registry.group, extensions: vec![], common: &registry.common }
}

/// A member named by a client: its id and, if given, its type.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSpec {
    pub id: String,
    pub kind: Option<MemberKind>,
    /// Kept and returned as sent; never part of the member's identity.
    pub display: Option<String>,
}

/// Splits the canonical `members` off the attributes stored on the group row.
pub fn take_members(attrs: &mut Map<String, Value>) -> Result<Vec<MemberSpec>> {
    match attrs.remove("members") {
        None => Ok(Vec::new()),
        Some(v) => member_specs(&v),
    }
}

/// `[{"value": id, "type": "User"}, …]` (a single object or bare ids tolerated upstream).
pub fn member_specs(value: &Value) -> Result<Vec<MemberSpec>> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|item| {
            let id = item
                .get("value")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::invalid_value("each member needs a value (the member's id)"))?;
            let kind = match item.get("type").and_then(Value::as_str) {
                None => None,
                Some(t) if t.eq_ignore_ascii_case("User") => Some(MemberKind::User),
                Some(t) if t.eq_ignore_ascii_case("Group") => Some(MemberKind::Group),
                Some(t) => {
                    return Err(Error::invalid_value(format!(
                        "member type must be User or Group, not {t}",
                        t = Quoted(t)
                    )))
                }
            };
            let display = item.get("display").and_then(Value::as_str).map(str::to_string);
            // RFC 7643 §8.7.1: `members.value` is caseExact=false, and scimd's ids are
            // lowercase, so a member named in capitals is the member of that id.
            Ok(MemberSpec { id: super::normalize(id), kind, display })
        })
        .collect()
}

/// Checks that every named member exists in this tenant (and has the type given), returning
/// them resolved; otherwise a 400 that names the missing ones.
pub fn check_members(specs: &[MemberSpec], found: &[MemberRef], group_pk: Option<i64>) -> Result<Vec<MemberRef>> {
    let mut out = Vec::with_capacity(specs.len());
    let mut seen = HashSet::new();
    let mut missing = Vec::new();
    for spec in specs {
        let hit = found.iter().find(|m| m.id == spec.id && spec.kind.is_none_or(|k| k == m.kind));
        match hit {
            Some(m) if group_pk == Some(m.pk) && m.kind == MemberKind::Group => {
                return Err(Error::invalid_value("a group cannot be a member of itself"));
            }
            Some(m) => {
                if seen.insert((m.kind, m.pk)) {
                    out.push(MemberRef { display: spec.display.clone(), ..m.clone() });
                }
            }
            None => missing.push(spec.id.as_str()),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).copied().collect();
        return Err(Error::invalid_value(format!(
            "{} member(s) do not exist in this tenant: {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() { ", …" } else { "" }
        )));
    }
    Ok(out)
}

pub fn derive_write(schema: &ResourceSchema<'_>, attrs: &Map<String, Value>) -> Result<GroupWrite> {
    let display_name = attrs
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_value("displayName is required"))?
        .to_string();
    let display_name_norm = normalize(&display_name);
    check_indexed("displayName", &display_name_norm)?;
    let external_id = attrs.get("externalId").and_then(Value::as_str).map(str::to_string);
    check_indexed("externalId", external_id.as_deref().unwrap_or_default())?;
    // Serialized as it is: `Value::Object(attrs.clone())` copied every value first.
    let data = serde_json::to_string(attrs).map_err(Error::internal)?;
    check_resource_size("group", &data)?;
    Ok(GroupWrite {
        display_name_norm,
        display_name,
        external_id,
        data,
        data_norm: schema.normalized_text(attrs).map_err(Error::internal)?,
    })
}

pub fn stored_attrs(row: &GroupRow) -> Result<Map<String, Value>> {
    match serde_json::from_str(&row.data) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::internal(format!("group {} has unreadable stored data", row.id))),
    }
}

/// A group without its members, which are written after it (possibly streamed).
pub struct RenderedGroup {
    /// JSON text of an object.
    pub body: String,
    pub location: String,
    pub etag: String,
}

/// `row` without its members, as `projection` shapes it: the stored attributes are copied as
/// text (see `json_text`), as a user's are.
pub fn render(
    row: &GroupRow,
    base_url: &str,
    schema: &ResourceSchema<'_>,
    projection: &Projection,
) -> Result<RenderedGroup> {
    let stored = StoredObject::parse(&row.data)?;
    let location = [base_url, "/Groups/", &row.id].concat();
    let etag = user::etag(row.version);
    let mut w = ObjectWriter::with_capacity(row.data.len() + 256);
    w.value("schemas", &[GROUP_SCHEMA])?;
    w.value("id", &row.id)?;
    w.stored_attributes(&stored, schema, projection, &["schemas", "id", "meta", "members"])?;
    let meta = Meta::new("Group", row.created_at, row.last_modified, &location, &etag);
    w.projected_value(schema, projection, "meta", &meta)?;
    Ok(RenderedGroup { body: w.finish(), location, etag })
}

/// A PATCH operation on a group, split by what it touches.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupOp {
    /// Any operation on the group's other attributes (run by the PATCH engine).
    Attributes(PatchOperation),
    AddMembers(Vec<MemberSpec>),
    RemoveMembers(Vec<MemberSpec>),
    RemoveAllMembers,
    /// `remove` at `members[filter]` with a filter that is not only `value eq` ids: the
    /// members the predicate holds for (RFC 7644 §3.5.2.2).
    RemoveMatching(Predicate),
    ReplaceMembers(Vec<MemberSpec>),
}

impl GroupOp {
    /// The members the operation names (none for attributes or removing every member).
    pub fn member_specs(&self) -> &[MemberSpec] {
        match self {
            GroupOp::AddMembers(specs) | GroupOp::RemoveMembers(specs) | GroupOp::ReplaceMembers(specs) => specs,
            GroupOp::Attributes(_) | GroupOp::RemoveAllMembers | GroupOp::RemoveMatching(_) => &[],
        }
    }
}

fn is_members(s: &str) -> bool {
    s.eq_ignore_ascii_case("members") || s.eq_ignore_ascii_case(&format!("{GROUP_SCHEMA}:members"))
}

/// `value eq "id"` joined by `or`: the ids a remove filter names.
fn ids_in(filter: &Filter) -> Option<Vec<MemberSpec>> {
    match filter {
        Filter::Compare(p, CompareOp::Eq, CompValue::String(id))
            if p.name.eq_ignore_ascii_case("value") && p.sub.is_none() =>
        {
            // caseExact=false, as in a filter (`group_filter::member_comparison`).
            Some(vec![MemberSpec { id: super::normalize(id), kind: None, display: None }])
        }
        Filter::Or(items) => items.iter().map(ids_in).collect::<Option<Vec<_>>>().map(|v| v.concat()),
        _ => None,
    }
}

/// Sorts each operation into member set operations and attribute operations.
pub fn split_ops(ops: Vec<PatchOperation>, compat: &Compat) -> Result<Vec<GroupOp>> {
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        match op.path.as_deref() {
            None => {
                // Path-less: `members` keys are member operations, the rest attribute ones
                // (Okta renames with {"id": …, "displayName": …}).
                let Some(Value::Object(fields)) = &op.value else {
                    out.push(GroupOp::Attributes(op));
                    continue;
                };
                let mut rest = Map::new();
                for (k, v) in fields {
                    if is_members(k) {
                        let specs = member_specs(v)?;
                        out.push(match op.op {
                            OpKind::Replace => GroupOp::ReplaceMembers(specs),
                            _ => GroupOp::AddMembers(specs),
                        });
                    } else {
                        rest.insert(k.clone(), v.clone());
                    }
                }
                if !rest.is_empty() {
                    out.push(GroupOp::Attributes(PatchOperation { value: Some(Value::Object(rest)), ..op }));
                }
            }
            Some(path) if is_members(path) => out.push(match (op.op, &op.value) {
                (OpKind::Add, Some(v)) => GroupOp::AddMembers(member_specs(v)?),
                (OpKind::Replace, Some(v)) => GroupOp::ReplaceMembers(member_specs(v)?),
                (OpKind::Remove, None | Some(Value::Null)) => GroupOp::RemoveAllMembers,
                (OpKind::Remove, Some(v)) => {
                    // Entra ID's default: {"op":"Remove","path":"members","value":[{"value":id}]}.
                    compat
                        .allow(Rule::RemoveWithValue, || "remove takes no value; use members[value eq \"…\"]".into())?;
                    GroupOp::RemoveMembers(member_specs(v)?)
                }
                (_, None) => return Err(Error::invalid_syntax("add and replace operations need a value")),
            }),
            Some(path) => match parse_path(path) {
                Ok(PatchPath::ValuePath { attr, filter, sub })
                    if is_members(&attr.name)
                        || attr.urn.is_some()
                            && is_members(&format!("{}:{}", attr.urn.clone().unwrap_or_default(), attr.name)) =>
                {
                    if sub.is_some() || op.op != OpKind::Remove {
                        return Err(Error::mutability(
                            "member sub-attributes are immutable: add or remove whole members",
                        ));
                    }
                    // Okta's and Entra's `value eq` ids are looked up by key; any other
                    // filter selects from the group's memberships.
                    out.push(match ids_in(&filter) {
                        Some(ids) => GroupOp::RemoveMembers(ids),
                        None => GroupOp::RemoveMatching(group_filter::lower_member(&filter)?),
                    });
                }
                Ok(PatchPath::Attr(p)) if is_members(&p.name) && p.sub.is_some() => {
                    return Err(Error::mutability("member sub-attributes are immutable: add or remove whole members"));
                }
                _ => out.push(GroupOp::Attributes(op)),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::predicate::{CmpOp, Literal, MemberColumn, Operand, ValueKind};
    use serde_json::json;

    fn op(op: OpKind, path: Option<&str>, value: Option<Value>) -> PatchOperation {
        PatchOperation { op, path: path.map(str::to_string), value }
    }

    fn spec(id: &str) -> MemberSpec {
        MemberSpec { id: id.into(), kind: None, display: None }
    }

    #[test]
    fn member_operations_become_set_operations() {
        let compat = Compat::new(false);
        let cases = vec![
            (
                op(OpKind::Add, Some("members"), Some(json!([{"value": "a", "display": "x"}]))),
                vec![GroupOp::AddMembers(vec![MemberSpec { display: Some("x".into()), ..spec("a") }])],
            ),
            (op(OpKind::Remove, Some("members[value eq \"A\"]"), None), vec![GroupOp::RemoveMembers(vec![spec("a")])]),
            (
                op(OpKind::Remove, Some("members[display eq \"Ann\"]"), None),
                vec![GroupOp::RemoveMatching(Predicate::Compare {
                    operand: Operand::Member(MemberColumn::Display),
                    kind: ValueKind::Text,
                    op: CmpOp::Eq,
                    value: Literal::Text("ann".into()),
                })],
            ),
            (
                op(OpKind::Remove, Some("members[value eq \"a\" or value eq \"b\"]"), None),
                vec![GroupOp::RemoveMembers(vec![spec("a"), spec("b")])],
            ),
            (
                op(OpKind::Remove, Some("Members"), Some(json!([{"$ref": null, "value": "A"}]))),
                vec![GroupOp::RemoveMembers(vec![spec("a")])],
            ),
            (
                op(OpKind::Add, Some("members"), Some(json!([{"value": "AbC", "display": "Ann"}]))),
                vec![GroupOp::AddMembers(vec![MemberSpec { display: Some("Ann".into()), ..spec("abc") }])],
            ),
            (op(OpKind::Remove, Some("members"), None), vec![GroupOp::RemoveAllMembers]),
            (
                op(OpKind::Remove, Some("members[type eq \"user\"]"), None),
                vec![GroupOp::RemoveMatching(Predicate::Compare {
                    operand: Operand::Member(MemberColumn::Type),
                    kind: ValueKind::Text,
                    op: CmpOp::Eq,
                    value: Literal::Text("User".into()),
                })],
            ),
            (
                op(OpKind::Replace, Some("members"), Some(json!([{"value": "a", "type": "Group"}]))),
                vec![GroupOp::ReplaceMembers(vec![MemberSpec { kind: Some(MemberKind::Group), ..spec("a") }])],
            ),
            (
                op(OpKind::Replace, None, Some(json!({"id": "g", "displayName": "N"}))),
                vec![GroupOp::Attributes(op(OpKind::Replace, None, Some(json!({"id": "g", "displayName": "N"}))))],
            ),
            (
                op(OpKind::Add, None, Some(json!({"members": [{"value": "a"}], "externalId": "e"}))),
                vec![
                    GroupOp::AddMembers(vec![spec("a")]),
                    GroupOp::Attributes(op(OpKind::Add, None, Some(json!({"externalId": "e"})))),
                ],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(split_ops(vec![input.clone()], &compat).unwrap(), want, "{input:?}");
        }
        for bad in [
            op(OpKind::Replace, Some("members[value eq \"a\"].display"), Some(json!("x"))),
            op(OpKind::Add, Some("members[value eq \"a\"]"), Some(json!({}))),
            op(OpKind::Add, Some("members"), Some(json!([{"display": "no value"}]))),
            op(OpKind::Add, Some("members"), Some(json!([{"value": "a", "type": "Robot"}]))),
        ] {
            assert!(split_ops(vec![bad.clone()], &compat).is_err(), "{bad:?}");
        }
        assert!(split_ops(
            vec![op(OpKind::Remove, Some("members"), Some(json!([{"value": "a"}])))],
            &Compat::new(true)
        )
        .is_err());
    }

    #[test]
    fn unknown_and_self_members_are_refused() {
        let found = vec![
            MemberRef { kind: MemberKind::User, pk: 1, id: "u".into(), display: None, marked_in_groups: false },
            MemberRef { kind: MemberKind::Group, pk: 9, id: "g".into(), display: None, marked_in_groups: true },
        ];
        assert_eq!(check_members(&[spec("u"), spec("u")], &found, None).unwrap().len(), 1);
        assert!(check_members(&[spec("u"), spec("nope")], &found, None).is_err());
        assert!(check_members(&[MemberSpec { kind: Some(MemberKind::Group), ..spec("u") }], &found, None).is_err());
        assert!(check_members(&[spec("g")], &found, Some(9)).is_err());
    }

    /// Groups have no attribute that can hold 64 KiB yet (displayName and externalId are
    /// indexed, members are rows); the bound is checked where their stored text is made, for
    /// the extensions to come.
    #[test]
    fn a_group_is_stored_within_the_resource_bound() {
        let registry = Registry::load();
        let schema = group_schema(&registry);
        let attrs = |n: usize| {
            let mut attrs = Map::new();
            attrs.insert("displayName".into(), json!("g"));
            attrs.insert("urn:example:ext".into(), json!({"notes": "n".repeat(n)}));
            attrs
        };
        assert!(derive_write(&schema, &attrs(60_000)).is_ok());
        let e = derive_write(&schema, &attrs(70_000)).err();
        assert!(matches!(e, Some(Error::BadRequest { scim_type: crate::error::ScimType::InvalidValue, .. })), "{e:?}");
    }
}
