//! Value-path filters (`emails[type eq "work" and value co "@example.com"]`, RFC 7644
//! §3.4.2.2): one element of a multi-valued attribute satisfies the whole inner filter, run on
//! the indexed `user_values` rows where every sub-attribute it names is indexed, else on the
//! JSON document's elements.

use super::{bad, comparison, kind_of, Target, UserFilters, GROUPS_REF};
use crate::error::Result;
use crate::scim::schema::{AttrType, AttributeDef};
use crate::scim::user::INDEXED_MULTI_VALUED;
use crate::store::predicate::{Operand, Predicate, UserGroupColumn, ValuesColumn};
use scim_filter_parser::{AttrPath, Filter};

impl<'r> UserFilters<'r> {
    /// `attr[filter]`: one element satisfies the whole inner filter (RFC 7644 §3.4.2.2).
    pub(super) fn value_path(&self, path: &AttrPath, inner: &Filter) -> Result<Predicate> {
        if path.sub.is_some() {
            return Err(bad(format!("{path}[…]: brackets follow an attribute, not a sub-attribute")));
        }
        let target = self.resolve(&AttrPath { urn: path.urn.clone(), name: path.name.clone(), sub: None })?;
        let (attr, json) = match target {
            Target::Multi { attr, path, .. } => (attr, path),
            Target::MultiWhole { path: json } => {
                let def = self.core.attribute(&path.name).or_else(|| self.enterprise.attribute(&path.name));
                match def {
                    Some(d) if d.ty == AttrType::Complex => (d, json),
                    _ => return Err(bad(format!("{path} is not a complex attribute"))),
                }
            }
            // A singular complex attribute: the filter applies to it directly.
            Target::Doc { .. } | Target::ComplexWhole { .. } => return self.lower(&prefix_filter(inner, path)),
            _ => return Err(bad(format!("{path} cannot take a value filter"))),
        };
        let mut names = Vec::new();
        collect_subs(inner, &mut names);
        let mut subs = Vec::new();
        for n in &names {
            subs.push(
                attr.sub_attribute(n).ok_or_else(|| bad(format!("unknown attribute {}.{n} in filter", attr.name)))?,
            );
        }
        if is_user_groups(attr, &json) && subs.iter().any(|s| s.name == "$ref") {
            return Err(bad(GROUPS_REF));
        }
        let pred = self.lower_element(attr, inner)?;
        Ok(self.any_element(attr, &subs, json, pred))
    }

    /// A filter over the sub-attributes of one element of `attr`.
    fn lower_element(&self, attr: &'r AttributeDef, f: &Filter) -> Result<Predicate> {
        let sub_of = |p: &AttrPath| -> Result<&'r AttributeDef> {
            if p.urn.is_some() || p.sub.is_some() {
                return Err(bad(format!("inside {}[…] name sub-attributes only, not {p}", attr.name)));
            }
            attr.sub_attribute(&p.name)
                .ok_or_else(|| bad(format!("unknown attribute {}.{} in filter", attr.name, p.name)))
        };
        Ok(match f {
            Filter::And(items) => {
                Predicate::And(items.iter().map(|i| self.lower_element(attr, i)).collect::<Result<_>>()?)
            }
            Filter::Or(items) => {
                Predicate::Or(items.iter().map(|i| self.lower_element(attr, i)).collect::<Result<_>>()?)
            }
            Filter::Not(inner) => Predicate::Not(Box::new(self.lower_element(attr, inner)?)),
            Filter::Present(p) => {
                let sub = sub_of(p)?;
                Predicate::Present { operand: Operand::Element(vec![sub.name.clone()]), kind: kind_of(sub)? }
            }
            Filter::Compare(p, op, value) => {
                let sub = sub_of(p)?;
                comparison(Operand::Element(vec![sub.name.clone()]), kind_of(sub)?, sub.case_exact(), p, *op, value)?
            }
            Filter::ValuePath(p, _) => return Err(bad(format!("value filters do not nest ({p}[…])"))),
        })
    }

    /// "Some element matches": over the user's groups from the memberships (the attribute is
    /// not stored), over the `user_values` index when every sub-attribute used is indexed
    /// there, else over the JSON array.
    pub(super) fn any_element(
        &self,
        attr: &AttributeDef,
        subs: &[&AttributeDef],
        json: Vec<String>,
        pred: Predicate,
    ) -> Predicate {
        if is_user_groups(attr, &json) {
            return Predicate::GroupsAny { pred: Box::new(to_user_groups(pred)) };
        }
        let indexed = INDEXED_MULTI_VALUED.iter().find(|a| **a == attr.name && json.len() == 1);
        let all_indexed = subs.iter().all(|s| matches!(s.name.as_str(), "value" | "type" | "primary"));
        match indexed {
            Some(name) if all_indexed => Predicate::ValuesAny { attr: name, pred: Box::new(to_values(pred)) },
            _ => Predicate::JsonAny { path: json, pred: Box::new(pred) },
        }
    }
}

/// What `sortBy` of a multi-valued attribute's `sub` sorts by.
pub(super) fn sorted_by(attr: &AttributeDef, sub: &AttributeDef, json: Vec<String>) -> Operand {
    if is_user_groups(attr, &json) {
        return Operand::FirstGroup(user_group_column(Some(&sub.name)));
    }
    Operand::PrimaryOrFirst { array: json, sub: sub.name.clone() }
}

/// The core `groups` attribute: which groups a user is in, kept by the memberships.
fn is_user_groups(attr: &AttributeDef, json: &[String]) -> bool {
    attr.name == "groups" && json.len() == 1
}

/// Element operands as the sub-attributes of one of the user's groups (`$ref` is refused
/// before).
fn to_user_groups(p: Predicate) -> Predicate {
    map_elements(p, &|sub| Operand::UserGroup(user_group_column(sub)))
}

fn user_group_column(sub: Option<&str>) -> UserGroupColumn {
    match sub {
        Some("display") => UserGroupColumn::Display,
        Some("type") => UserGroupColumn::Type,
        _ => UserGroupColumn::Value,
    }
}

/// Element operands as the columns of the `user_values` row.
fn to_values(p: Predicate) -> Predicate {
    map_elements(p, &|sub| {
        Operand::Values(match sub {
            Some("type") => ValuesColumn::TypeNorm,
            Some("primary") => ValuesColumn::Primary,
            _ => ValuesColumn::ValueNorm,
        })
    })
}

/// `p` with each element operand replaced by `column(its sub-attribute)`.
fn map_elements(p: Predicate, column: &dyn Fn(Option<&str>) -> Operand) -> Predicate {
    let col = |operand: Operand| match operand {
        Operand::Element(path) => column(path.first().map(String::as_str)),
        other => other,
    };
    match p {
        Predicate::And(items) => Predicate::And(items.into_iter().map(|i| map_elements(i, column)).collect()),
        Predicate::Or(items) => Predicate::Or(items.into_iter().map(|i| map_elements(i, column)).collect()),
        Predicate::Not(inner) => Predicate::Not(Box::new(map_elements(*inner, column))),
        Predicate::Compare { operand, kind, op, value } => {
            Predicate::Compare { operand: col(operand), kind, op, value }
        }
        Predicate::Present { operand, kind } => Predicate::Present { operand: col(operand), kind },
        other => other,
    }
}

fn collect_subs(f: &Filter, out: &mut Vec<String>) {
    match f {
        Filter::And(items) | Filter::Or(items) => items.iter().for_each(|i| collect_subs(i, out)),
        Filter::Not(inner) => collect_subs(inner, out),
        Filter::Present(p) | Filter::Compare(p, _, _) => out.push(p.name.clone()),
        Filter::ValuePath(p, _) => out.push(p.name.clone()),
    }
}

/// `name[givenName eq "x"]` on a singular complex attribute is `name.givenName eq "x"`.
fn prefix_filter(f: &Filter, parent: &AttrPath) -> Filter {
    let prefix =
        |p: &AttrPath| AttrPath { urn: parent.urn.clone(), name: parent.name.clone(), sub: Some(p.name.clone()) };
    match f {
        Filter::And(items) => Filter::And(items.iter().map(|i| prefix_filter(i, parent)).collect()),
        Filter::Or(items) => Filter::Or(items.iter().map(|i| prefix_filter(i, parent)).collect()),
        Filter::Not(inner) => Filter::Not(Box::new(prefix_filter(inner, parent))),
        Filter::Present(p) => Filter::Present(prefix(p)),
        Filter::Compare(p, op, v) => Filter::Compare(prefix(p), *op, v.clone()),
        Filter::ValuePath(p, inner) => Filter::ValuePath(p.clone(), inner.clone()),
    }
}
