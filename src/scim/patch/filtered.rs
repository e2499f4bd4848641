//! PATCH operations on the elements a value selection filter picks (`emails[type eq "work"]`,
//! RFC 7644 §3.5.2): which elements match, and the element an `add` or `replace` creates when
//! none does.

use super::{single_primary, Engine, OpKind};
use crate::error::{Error, Quoted, Result};
use crate::scim::compat::Rule;
use crate::scim::filter_eval::matches_element;
use crate::scim::schema::AttributeDef;
use scim_filter_parser::{CompValue, CompareOp, Filter};
use serde_json::{Map, Value};

impl Engine<'_, '_> {
    /// RFC 7644 §3.5.2.1–3 with a value selection filter.
    pub(super) fn apply_filtered(
        &self,
        container: &mut Map<String, Value>,
        def: &AttributeDef,
        filter: &Filter,
        sub: Option<&AttributeDef>,
        op: OpKind,
        value: Option<&Value>,
    ) -> Result<()> {
        let slot = container.entry(def.name.clone()).or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        let items = slot.as_array_mut().expect("array");
        let matched: Vec<usize> = (0..items.len()).filter(|i| matches_element(def, filter, &items[*i])).collect();
        if op == OpKind::Remove {
            match sub {
                None => {
                    // `matched` ascends, so each element is checked against its next entry
                    // only (`contains` made removing n matches of n elements O(n²)).
                    let mut doomed = matched.iter().peekable();
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = doomed.next_if_eq(&&i).is_none();
                        i += 1;
                        keep
                    });
                }
                Some(sub) => matched.iter().for_each(|i| {
                    if let Some(o) = items[*i].as_object_mut() {
                        o.remove(&sub.name);
                    }
                }),
            }
            return Ok(());
        }
        let value = value.cloned().unwrap_or(Value::Null);
        let touched = if matched.is_empty() {
            // RFC 7644 §3.5.2.3 says noTarget; Entra ID expects the element to be made.
            self.compat
                .allow(Rule::FilterCreatesElement, || format!("no element of {} matches the path filter", def.name))?;
            let mut element = element_from_filter(def, filter).ok_or_else(|| {
                Error::no_target(format!(
                    "no element of {} matches, and the filter does not describe one to create",
                    def.name
                ))
            })?;
            match (sub, value) {
                (Some(sub), v) => {
                    element.insert(sub.name.clone(), v);
                }
                (None, Value::Object(fields)) => element.extend(fields),
                (None, _) => return Err(Error::invalid_value(format!("{} elements are objects", def.name))),
            }
            items.push(Value::Object(element));
            vec![items.len() - 1]
        } else {
            for i in &matched {
                match (op, sub, &value) {
                    (_, Some(sub), v) => {
                        if let Some(o) = items[*i].as_object_mut() {
                            o.insert(sub.name.clone(), v.clone());
                        }
                    }
                    (OpKind::Replace, None, v) => items[*i] = v.clone(),
                    (_, None, Value::Object(fields)) => {
                        if let Some(o) = items[*i].as_object_mut() {
                            o.extend(fields.clone());
                        }
                    }
                    (_, None, _) => return Err(Error::invalid_value(format!("{} elements are objects", def.name))),
                }
            }
            matched
        };
        single_primary(items, &touched);
        Ok(())
    }
}

/// The element an `eq`-only filter describes: `type eq "work"` → `{"type": "work"}`.
fn element_from_filter(def: &AttributeDef, f: &Filter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let parts: Vec<&Filter> = match f {
        Filter::And(items) => items.iter().collect(),
        other => vec![other],
    };
    for part in parts {
        let Filter::Compare(p, CompareOp::Eq, v) = part else { return None };
        let sub = def.sub_attribute(&p.name)?;
        let value = match v {
            CompValue::String(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => serde_json::from_str(n).ok()?,
            CompValue::Null => return None,
        };
        out.insert(sub.name.clone(), value);
    }
    Some(out)
}

/// A value selection filter names only the attribute's own sub-attributes (`emails[type eq
/// "work"]`, not `emails[name.givenName eq "x"]`).
pub(super) fn check_element_filter(def: &AttributeDef, f: &Filter, path: &str) -> Result<()> {
    match f {
        Filter::And(items) | Filter::Or(items) => items.iter().try_for_each(|i| check_element_filter(def, i, path)),
        Filter::Not(inner) => check_element_filter(def, inner, path),
        Filter::Present(p) | Filter::Compare(p, _, _)
            if p.urn.is_none() && p.sub.is_none() && def.sub_attribute(&p.name).is_some() =>
        {
            Ok(())
        }
        _ => Err(Error::invalid_path(format!(
            "the filter in {} must compare sub-attributes of {}",
            Quoted(path),
            def.name
        ))),
    }
}
