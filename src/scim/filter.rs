//! Filters (RFC 7644 §3.4.2.2) and `sortBy` (§3.4.2.3), checked against the User schema and
//! lowered to a store `Predicate` that runs as one SQL query. A filter that does not parse or
//! does not fit the schema is a 400 invalidFilter: never an unfiltered answer.

use super::compat::Compat;
use super::normalize;
use super::schema::{
    AttrType, AttributeDef, Mutability, Registry, Returned, SchemaDef, ENTERPRISE_USER_SCHEMA, USER_SCHEMA,
};
use crate::error::{Error, Quoted, Result};
use crate::store::predicate::{CmpOp, Column, Literal, Operand, Predicate, SortKey, ValueKind};
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};

mod value_path;

/// Why `groups.$ref` is refused in a filter or a sort: a user's groups are read from the
/// memberships, which hold the group, not its URL.
const GROUPS_REF: &str = "groups.$ref is not stored: name groups.value, the group's id";

fn bad(detail: impl Into<String>) -> Error {
    Error::invalid_filter(detail)
}

/// How one attribute path is reached in storage.
enum Target<'r> {
    Column {
        column: Column,
        kind: ValueKind,
        case_exact: bool,
    },
    /// A fixed answer: `meta.resourceType` is always "User".
    ResourceType,
    /// `schemas`: the core URN always, the enterprise URN when the extension is present.
    Schemas,
    /// A singular attribute (or sub-attribute) in the JSON document.
    Doc {
        path: Vec<String>,
        def: &'r AttributeDef,
    },
    /// A singular complex attribute named without a sub-attribute: only `pr` applies.
    ComplexWhole {
        path: Vec<String>,
    },
    /// A sub-attribute of a multi-valued complex attribute (any element matches).
    Multi {
        attr: &'r AttributeDef,
        sub: &'r AttributeDef,
        path: Vec<String>,
    },
    /// A multi-valued attribute itself (`emails pr`).
    MultiWhole {
        path: Vec<String>,
    },
    /// `meta.location`: the users' endpoint URL, then the id.
    Location(String),
}

pub struct UserFilters<'r> {
    core: &'r SchemaDef,
    enterprise: &'r SchemaDef,
    /// The users' endpoint URL with its trailing `/`, which `meta.location` starts with.
    location: Option<String>,
}

fn kind_of(def: &AttributeDef) -> Result<ValueKind> {
    Ok(match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => ValueKind::Text,
        AttrType::Boolean => ValueKind::Bool,
        AttrType::Integer | AttrType::Decimal => ValueKind::Number,
        AttrType::Complex => return Err(bad(format!("{} is complex; name one of its sub-attributes", def.name))),
    })
}

impl<'r> UserFilters<'r> {
    pub fn new(registry: &'r Registry) -> Self {
        UserFilters { core: &registry.user, enterprise: &registry.enterprise_user, location: None }
    }

    /// The filters of requests to the tenant at `base_url`, whose users' `meta.location` they
    /// can compare.
    pub fn at(self, base_url: &str) -> Self {
        UserFilters { location: Some(format!("{base_url}/Users/")), ..self }
    }

    /// The predicate for a `filter` parameter; no filter means every user.
    pub fn predicate(&self, filter: Option<&str>, compat: &Compat) -> Result<Predicate> {
        let Some(text) = filter.filter(|t| !t.trim().is_empty()) else {
            return Ok(Predicate::Const(true));
        };
        let ast = super::filter_parse::parse(text, compat)?;
        super::filter_cost::bounded(self.lower(&ast)?)
    }

    fn lower(&self, f: &Filter) -> Result<Predicate> {
        Ok(match f {
            Filter::And(items) => Predicate::And(items.iter().map(|i| self.lower(i)).collect::<Result<_>>()?),
            Filter::Or(items) => Predicate::Or(items.iter().map(|i| self.lower(i)).collect::<Result<_>>()?),
            Filter::Not(inner) => Predicate::Not(Box::new(self.lower(inner)?)),
            Filter::Present(path) => self.present(self.resolve(path)?),
            Filter::Compare(path, op, value) => self.compare(self.resolve(path)?, path, *op, value)?,
            Filter::ValuePath(path, inner) => self.value_path(path, inner)?,
        })
    }

    /// `attr` with an optional schema URN: core (and common) attributes, then the extension.
    fn resolve(&self, path: &AttrPath) -> Result<Target<'r>> {
        let in_extension = match path.urn.as_deref() {
            None => false,
            Some(u) if u.eq_ignore_ascii_case(USER_SCHEMA) => false,
            Some(u) if u.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) => true,
            Some(u) => return Err(bad(format!("unknown schema {u}"))),
        };
        let name = path.name.as_str();
        let sub = path.sub.as_deref();
        if !in_extension {
            let column = |column, kind, case_exact| Ok(Target::Column { column, kind, case_exact });
            match (name.to_ascii_lowercase().as_str(), sub.map(str::to_ascii_lowercase).as_deref()) {
                ("id", None) => return column(Column::Id, ValueKind::Text, true),
                ("externalid", None) => return column(Column::ExternalId, ValueKind::Text, true),
                ("username", None) => return column(Column::UserNameNorm, ValueKind::Text, false),
                ("displayname", None) => return column(Column::DisplayNameNorm, ValueKind::Text, false),
                ("active", None) => return column(Column::Active, ValueKind::Bool, true),
                ("meta", Some("created")) => return column(Column::Created, ValueKind::Timestamp, true),
                ("meta", Some("lastmodified")) => return column(Column::LastModified, ValueKind::Timestamp, true),
                ("meta", Some("version")) => return column(Column::Version, ValueKind::Text, true),
                ("meta", Some("resourcetype")) => return Ok(Target::ResourceType),
                // Known when the filters are a request's (`at`).
                ("meta", Some("location")) => {
                    let prefix = self.location.clone().ok_or_else(|| bad(format!("{path} cannot be filtered on")))?;
                    return Ok(Target::Location(prefix));
                }
                ("meta", _) => return Err(bad(format!("{path} cannot be filtered on"))),
                ("schemas", None) => return Ok(Target::Schemas),
                _ => {}
            }
        }
        let (schema, prefix) = if in_extension {
            (self.enterprise, Some(ENTERPRISE_USER_SCHEMA))
        } else if self.core.attribute(name).is_some() {
            (self.core, None)
        } else if self.enterprise.attribute(name).is_some() {
            // Unqualified extension names are accepted too (RFC 7644 §3.10 makes the URN
            // optional where the name is unambiguous).
            (self.enterprise, Some(ENTERPRISE_USER_SCHEMA))
        } else {
            return Err(bad(format!("unknown attribute {path}")));
        };
        let def = schema.attribute(name).ok_or_else(|| bad(format!("unknown attribute {path}")))?;
        if def.returned == Returned::Never || def.mutability == Mutability::WriteOnly {
            return Err(bad(format!("{} cannot be filtered on", def.name)));
        }
        if !in_extension && def.name == "groups" && sub.is_some_and(|s| s.eq_ignore_ascii_case("$ref")) {
            return Err(bad(GROUPS_REF));
        }
        let mut json_path: Vec<String> = prefix.map(|p| vec![p.to_string()]).unwrap_or_default();
        json_path.push(def.name.clone());
        let sub_def = match sub {
            Some(s) => Some(def.sub_attribute(s).ok_or_else(|| bad(format!("unknown attribute {path}")))?),
            None => None,
        };
        Ok(match (def.multi_valued, def.ty == AttrType::Complex, sub_def) {
            (_, false, Some(_)) => return Err(bad(format!("{} has no sub-attributes", def.name))),
            (false, false, None) => Target::Doc { path: json_path, def },
            (false, true, Some(sub)) => {
                json_path.push(sub.name.clone());
                Target::Doc { path: json_path, def: sub }
            }
            // `manager eq "id"`: a complex attribute compared as a whole means its value.
            (false, true, None) => match def.sub_attribute("value") {
                Some(value) => {
                    json_path.push(value.name.clone());
                    Target::Doc { path: json_path, def: value }
                }
                None => Target::ComplexWhole { path: json_path },
            },
            (true, true, Some(sub)) => Target::Multi { attr: def, sub, path: json_path },
            (true, true, None) => match def.sub_attribute("value") {
                Some(value) => Target::Multi { attr: def, sub: value, path: json_path },
                None => Target::MultiWhole { path: json_path },
            },
            (true, false, _) => Target::MultiWhole { path: json_path },
        })
    }

    fn present(&self, target: Target<'r>) -> Predicate {
        match target {
            Target::Column { column, kind, .. } => Predicate::Present { operand: Operand::Column(column), kind },
            Target::ResourceType | Target::Schemas | Target::Location(_) => Predicate::Const(true),
            Target::Doc { path, def } => {
                Predicate::Present { operand: Operand::Doc(path), kind: kind_of(def).unwrap_or(ValueKind::Text) }
            }
            Target::ComplexWhole { path } | Target::MultiWhole { path } => {
                Predicate::Present { operand: Operand::Doc(path), kind: ValueKind::Text }
            }
            Target::Multi { attr, sub, path } => {
                let inner =
                    Predicate::Present { operand: Operand::Element(vec![sub.name.clone()]), kind: ValueKind::Text };
                self.any_element(attr, &[sub], path, inner)
            }
        }
    }

    fn compare(&self, target: Target<'r>, path: &AttrPath, op: CompareOp, value: &CompValue) -> Result<Predicate> {
        match target {
            Target::Column { column, kind, case_exact } => {
                comparison(Operand::Column(column), kind, case_exact, path, op, value)
            }
            Target::ResourceType => {
                let CompValue::String(s) = value else { return Err(bad("meta.resourceType takes a string")) };
                let is_user = match op {
                    CompareOp::Eq => s == "User",
                    CompareOp::Ne => s != "User",
                    CompareOp::Co => "User".contains(s.as_str()),
                    CompareOp::Sw => "User".starts_with(s.as_str()),
                    CompareOp::Ew => "User".ends_with(s.as_str()),
                    _ => return Err(bad("meta.resourceType supports eq, ne, co, sw, ew")),
                };
                Ok(Predicate::Const(is_user))
            }
            Target::Schemas => {
                let CompValue::String(s) = value else { return Err(bad("schemas takes a string")) };
                let has = if s.eq_ignore_ascii_case(USER_SCHEMA) {
                    Predicate::Const(true)
                } else if s.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
                    Predicate::Present {
                        operand: Operand::Doc(vec![ENTERPRISE_USER_SCHEMA.into()]),
                        kind: ValueKind::Text,
                    }
                } else {
                    Predicate::Const(false)
                };
                match op {
                    CompareOp::Eq => Ok(has),
                    CompareOp::Ne => Ok(Predicate::Not(Box::new(has))),
                    _ => Err(bad("schemas supports eq and ne")),
                }
            }
            Target::Location(prefix) => location_comparison(&prefix, path, op, value),
            Target::Doc { path: json, def } => {
                comparison(Operand::Doc(json), kind_of(def)?, def.case_exact(), path, op, value)
            }
            Target::ComplexWhole { .. } | Target::MultiWhole { .. } => {
                Err(bad(format!("{path} is complex; compare one of its sub-attributes")))
            }
            Target::Multi { attr, sub, path: json } => {
                let element = Operand::Element(vec![sub.name.clone()]);
                let inner = comparison(element, kind_of(sub)?, sub.case_exact(), path, op, value)?;
                // `ne` reads "no element equals": not(any element equals).
                match inner {
                    Predicate::Not(eq) => Ok(Predicate::Not(Box::new(self.any_element(attr, &[sub], json, *eq)))),
                    p => Ok(self.any_element(attr, &[sub], json, p)),
                }
            }
        }
    }

    /// RFC 7644 §3.4.2.3: `sortBy` names an attribute, a complex one by a sub-attribute (a
    /// multi-valued one sorts by its primary value, else its first); `sortOrder` is ascending
    /// (default) or descending.
    pub fn sort_key(&self, sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Option<SortKey>> {
        self.sort_key_by(sort_by, sort_order, false)
    }

    /// The sort key of a search at the Base URL root, where `meta.location` sorts by the
    /// whole URL: the users' and the groups' differ in more than their ids.
    pub fn root_sort_key(&self, sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Option<SortKey>> {
        self.sort_key_by(sort_by, sort_order, true)
    }

    fn sort_key_by(&self, sort_by: Option<&str>, sort_order: Option<&str>, urls: bool) -> Result<Option<SortKey>> {
        let descending = descending(sort_order)?;
        let Some(text) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        let path = match scim_filter_parser::parse_path(text) {
            Ok(scim_filter_parser::PatchPath::Attr(p)) => p,
            _ => {
                return Err(Error::invalid_value(format!(
                    "sortBy {text} is not an attribute path",
                    text = Quoted(text)
                )))
            }
        };
        let target = self.resolve(&path).map_err(|e| Error::invalid_value(format!("sortBy: {e}")))?;
        let (operand, kind) = match target {
            Target::Column { column, kind, .. } => (Operand::Column(column), kind),
            Target::Location(prefix) if urls => (Operand::Location(prefix), ValueKind::Text),
            Target::ResourceType if urls => (Operand::ResourceType("User"), ValueKind::Text),
            // Every location is the same prefix and the id.
            Target::Location(_) => (Operand::Column(Column::Id), ValueKind::Text),
            Target::Doc { path, def } => (Operand::Doc(path), kind_of(def)?),
            Target::Multi { attr, sub, path } => (value_path::sorted_by(attr, sub, path), kind_of(sub)?),
            Target::ComplexWhole { .. } | Target::MultiWhole { .. } => {
                return Err(Error::invalid_value(format!(
                    "sortBy {text} is complex: name one of its sub-attributes",
                    text = Quoted(text)
                )))
            }
            Target::ResourceType | Target::Schemas => {
                return Err(Error::invalid_value(format!(
                    "sortBy {text}: every user has the same value",
                    text = Quoted(text)
                )))
            }
        };
        Ok(Some(SortKey { operand, kind, descending }))
    }
}

/// RFC 7644 §3.4.2.3 `sortOrder`: ascending (the default) or descending.
pub(super) fn descending(sort_order: Option<&str>) -> Result<bool> {
    match sort_order.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("ascending") => Ok(false),
        Some("descending") => Ok(true),
        Some(other) => Err(Error::invalid_value(format!(
            "sortOrder must be ascending or descending, not {other}",
            other = Quoted(other)
        ))),
    }
}

/// RFC 7643 §3.1 `meta.location`, a caseExact reference: `prefix` (the endpoint's URL) and the
/// id. Equality with a URL of the endpoint is equality of the id, read by its index; any other
/// comparison is made on the URL built in SQL.
pub(super) fn location_comparison(
    prefix: &str,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
) -> Result<Predicate> {
    if let (CompareOp::Eq | CompareOp::Ne, CompValue::String(url)) = (op, value) {
        let eq = match url.strip_prefix(prefix) {
            Some(id) => {
                let id = CompValue::String(id.to_string());
                comparison(Operand::Column(Column::Id), ValueKind::Text, true, path, CompareOp::Eq, &id)?
            }
            None => Predicate::Const(false),
        };
        return Ok(if op == CompareOp::Eq { eq } else { Predicate::Not(Box::new(eq)) });
    }
    comparison(Operand::Location(prefix.to_string()), ValueKind::Text, true, path, op, value)
}

/// One typed comparison (RFC 7644 §3.4.2.2 operator rules by attribute type).
pub(super) fn comparison(
    operand: Operand,
    kind: ValueKind,
    case_exact: bool,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
) -> Result<Predicate> {
    if *value == CompValue::Null {
        let present = Predicate::Present { operand, kind };
        return match op {
            CompareOp::Eq => Ok(Predicate::Not(Box::new(present))),
            CompareOp::Ne => Ok(present),
            _ => Err(bad(format!("{path} {}: null compares only with eq and ne", op.as_str()))),
        };
    }
    let cmp = match op {
        CompareOp::Eq | CompareOp::Ne => CmpOp::Eq,
        CompareOp::Co => CmpOp::Contains,
        CompareOp::Sw => CmpOp::StartsWith,
        CompareOp::Ew => CmpOp::EndsWith,
        CompareOp::Gt => CmpOp::Gt,
        CompareOp::Ge => CmpOp::Ge,
        CompareOp::Lt => CmpOp::Lt,
        CompareOp::Le => CmpOp::Le,
    };
    let substring = matches!(cmp, CmpOp::Contains | CmpOp::StartsWith | CmpOp::EndsWith);
    let ordered = matches!(cmp, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le);
    let literal = match (kind, value) {
        (ValueKind::Text, CompValue::String(s)) => Literal::Text(if case_exact { s.clone() } else { normalize(s) }),
        (ValueKind::Bool, CompValue::Bool(b)) if !substring && !ordered => Literal::Bool(*b),
        (ValueKind::Bool, CompValue::Bool(_)) => {
            return Err(bad(format!("{path} is boolean: only eq, ne and pr apply, not {}", op.as_str())));
        }
        (ValueKind::Number, CompValue::Number(n)) if !substring => {
            Literal::Number(n.parse().map_err(|_| bad(format!("{n} is not a number")))?)
        }
        (ValueKind::Timestamp, CompValue::String(s)) if !substring => {
            let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| {
                bad(format!("{path} is a dateTime; {s} is not an RFC 3339 date and time", s = Quoted(s)))
            })?;
            Literal::Timestamp(t.naive_utc())
        }
        (ValueKind::Number | ValueKind::Timestamp, _) if substring => {
            return Err(bad(format!("{} applies to strings only, not to {path}", op.as_str())));
        }
        (kind, v) => {
            let want = match kind {
                ValueKind::Text => "a string",
                ValueKind::Bool => "true or false",
                ValueKind::Number => "a number",
                ValueKind::Timestamp => "a dateTime string",
            };
            return Err(bad(format!("{path} compares with {want}, not {v}")));
        }
    };
    let compare = Predicate::Compare { operand, kind, op: cmp, value: literal };
    Ok(if op == CompareOp::Ne { Predicate::Not(Box::new(compare)) } else { compare })
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
