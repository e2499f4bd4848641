//! Filters evaluated in memory over a rendered resource: the reference the SQL compiler is
//! tested against, and what PATCH value paths will select elements with. Same semantics as
//! `filter`: caseExact=false strings compare normalised, absent values match nothing (so
//! `not` and `ne` match them), `pr` needs a non-empty value, multi-valued attributes match
//! when any element does.

use super::normalize;
use super::schema::{AttrType, AttributeDef, Registry, SchemaDef};
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};

/// The evaluator of one resource type: its core schema, its extension if it has one, and the
/// common attributes.
pub struct Evaluator<'r> {
    core: &'r SchemaDef,
    extension: Option<&'r SchemaDef>,
    common: &'r SchemaDef,
}

pub type UserEvaluator<'r> = Evaluator<'r>;

/// The values an attribute path reaches and how to compare them.
struct Reached<'a> {
    values: Vec<&'a Value>,
    ty: AttrType,
    case_exact: bool,
}

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(non_empty),
        Value::Object(o) => o.values().any(non_empty),
        _ => true,
    }
}

/// Every value at `sub` of `value` (each element's, for arrays).
fn descend<'a>(value: &'a Value, sub: Option<&str>, out: &mut Vec<&'a Value>) {
    match (value, sub) {
        (Value::Array(items), _) => items.iter().for_each(|i| descend(i, sub, out)),
        (Value::Object(o), Some(s)) => {
            if let Some(v) = get_ci(o, s) {
                out.push(v);
            }
        }
        (v, None) => out.push(v),
        _ => {}
    }
}

impl<'r> Evaluator<'r> {
    /// Users', with the enterprise extension.
    pub fn new(registry: &'r Registry) -> Self {
        Evaluator { core: &registry.user, extension: Some(&registry.enterprise_user), common: &registry.common }
    }

    pub fn groups(registry: &'r Registry) -> Self {
        Evaluator { core: &registry.group, extension: None, common: &registry.common }
    }

    pub fn matches(&self, f: &Filter, user: &Map<String, Value>) -> bool {
        match f {
            Filter::And(items) => items.iter().all(|i| self.matches(i, user)),
            Filter::Or(items) => items.iter().any(|i| self.matches(i, user)),
            Filter::Not(inner) => !self.matches(inner, user),
            Filter::Present(p) => self.reach(p, user).is_some_and(|r| r.values.iter().any(|v| non_empty(v))),
            Filter::Compare(p, op, v) => match self.reach(p, user) {
                Some(r) => compare_any(&r, *op, v),
                // Absent: it "equals null" and differs from every value.
                None => match (op, v) {
                    (CompareOp::Eq, CompValue::Null) => true,
                    (CompareOp::Ne, CompValue::Null) => false,
                    (CompareOp::Ne, _) => true,
                    _ => false,
                },
            },
            Filter::ValuePath(p, inner) => {
                let Some((def, value)) = self.attribute(p, user) else { return false };
                let elements: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    v => vec![v],
                };
                elements.into_iter().any(|e| matches_element(def, inner, e))
            }
        }
    }

    fn attribute<'a>(&self, p: &AttrPath, user: &'a Map<String, Value>) -> Option<(&'r AttributeDef, &'a Value)> {
        let extension = match (p.urn.as_deref(), self.extension) {
            (Some(u), Some(ext)) if u.eq_ignore_ascii_case(&ext.id) => Some(ext),
            (Some(u), _) if u.eq_ignore_ascii_case(&self.core.id) => None,
            (Some(_), _) => return None,
            (None, ext) => ext.filter(|ext| self.core.attribute(&p.name).is_none() && ext.attribute(&p.name).is_some()),
        };
        if let Some(ext) = extension {
            let def = ext.attribute(&p.name)?;
            let container = get_ci(user, &ext.id)?.as_object()?;
            return Some((def, get_ci(container, &def.name)?));
        }
        let def = self.core.attribute(&p.name).or_else(|| self.common.attribute(&p.name))?;
        Some((def, get_ci(user, &def.name)?))
    }

    fn reach<'a>(&self, p: &AttrPath, user: &'a Map<String, Value>) -> Option<Reached<'a>> {
        if p.urn.is_none() && p.name.eq_ignore_ascii_case("schemas") {
            let values = user.get("schemas")?.as_array()?.iter().collect();
            return Some(Reached { values, ty: AttrType::String, case_exact: false });
        }
        let (def, value) = self.attribute(p, user)?;
        let sub = match (&p.sub, def.ty) {
            (Some(s), _) => Some(def.sub_attribute(s)?),
            (None, AttrType::Complex) => def.sub_attribute("value"),
            (None, _) => None,
        };
        let mut values = Vec::new();
        descend(value, sub.map(|s| s.name.as_str()), &mut values);
        let leaf = sub.unwrap_or(def);
        // A complex attribute without a `value` is only ever tested for presence.
        if sub.is_none() && def.ty == AttrType::Complex {
            return Some(Reached { values: vec![value], ty: AttrType::Complex, case_exact: false });
        }
        Some(Reached { values, ty: leaf.ty, case_exact: leaf.case_exact() })
    }
}

/// Whether one element of the multi-valued `attr` satisfies `f` (paths are its sub-attributes).
pub fn matches_element(attr: &AttributeDef, f: &Filter, element: &Value) -> bool {
    match f {
        Filter::And(items) => items.iter().all(|i| matches_element(attr, i, element)),
        Filter::Or(items) => items.iter().any(|i| matches_element(attr, i, element)),
        Filter::Not(inner) => !matches_element(attr, inner, element),
        Filter::Present(p) | Filter::Compare(p, _, _) => {
            let Some(sub) = attr.sub_attribute(&p.name) else { return false };
            let values: Vec<&Value> = element.as_object().and_then(|o| get_ci(o, &sub.name)).into_iter().collect();
            let r = Reached { values, ty: sub.ty, case_exact: sub.case_exact() };
            match f {
                Filter::Present(_) => r.values.iter().any(|v| non_empty(v)),
                Filter::Compare(_, op, v) => compare_any(&r, *op, v),
                _ => unreachable!(),
            }
        }
        Filter::ValuePath(..) => false,
    }
}

fn compare_any(r: &Reached<'_>, op: CompareOp, literal: &CompValue) -> bool {
    let present = r.values.iter().any(|v| non_empty(v));
    match (op, literal) {
        (CompareOp::Eq, CompValue::Null) => !present,
        (CompareOp::Ne, CompValue::Null) => present,
        (CompareOp::Ne, v) => !r.values.iter().any(|x| compare(r, x, CompareOp::Eq, v)),
        (op, v) => r.values.iter().any(|x| compare(r, x, op, v)),
    }
}

fn compare(r: &Reached<'_>, value: &Value, op: CompareOp, literal: &CompValue) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (r.ty, value, literal) {
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => Some(a.cmp(b)),
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Number(b)) => {
            a.as_f64().zip(b.parse::<f64>().ok()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        (AttrType::DateTime, Value::String(a), CompValue::String(b)) => {
            let (Ok(a), Ok(b)) = (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b))
            else {
                return false;
            };
            Some(a.cmp(&b))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(a), CompValue::String(b)) => {
            return text_matches(op, a, b, r.case_exact);
        }
        _ => None,
    };
    ordering.is_some_and(|o| ordered(op, o))
}

/// Whether the string `value` satisfies `op literal`, normalised unless `case_exact`.
pub(super) fn text_matches(op: CompareOp, value: &str, literal: &str, case_exact: bool) -> bool {
    let (a, b) =
        if case_exact { (value.to_string(), literal.to_string()) } else { (normalize(value), normalize(literal)) };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordered(op, a.cmp(&b)),
    }
}

fn ordered(op: CompareOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => o == Equal,
        CompareOp::Ne => o != Equal,
        CompareOp::Gt => o == Greater,
        CompareOp::Ge => o != Less,
        CompareOp::Lt => o == Less,
        CompareOp::Le => o != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
