//! The PATCH engine (RFC 7644 §3.5.2) on a canonical resource: apply each operation of the
//! PatchOp message (`message`) in order to a copy of the stored attributes, and hand the
//! result back to be validated as a whole. All operations apply or none do: the caller stores
//! the result only if every operation and the final validation succeed.

use super::compat::{Compat, Rule};
use super::resource::{Located, ResourceSchema};
use super::schema::{AttrType, AttributeDef, Mutability, SchemaDef};
use crate::error::{Error, Quoted, Result, ScimType};
use scim_filter_parser::{parse_path, AttrPath, Filter, PatchPath};
use serde_json::{Map, Value};
use std::cell::Cell;

mod filtered;
mod message;
mod multi_valued;
use filtered::check_element_filter;
pub use message::{parse_request, OpKind, PatchOperation};
use multi_valued::{single_primary, SameValues};

/// Applies `ops` in order to `doc` (canonical attributes plus any writeOnly values the
/// operations set, which the caller splits off again when it re-validates `doc`).
pub fn apply(
    schema: &ResourceSchema<'_>,
    doc: &mut Map<String, Value>,
    ops: &[PatchOperation],
    compat: &Compat,
) -> Result<()> {
    let engine = Engine { schema, compat, visits: Cell::new(0) };
    for op in ops {
        match &op.path {
            Some(path) => engine.apply_at(doc, op.op, path, op.value.as_ref())?,
            None => engine.apply_pathless(doc, op)?,
        }
    }
    Ok(())
}

struct Engine<'a, 'r> {
    schema: &'a ResourceSchema<'r>,
    compat: &'a Compat,
    /// Elements of multi-valued attributes the operations so far may have visited.
    visits: Cell<usize>,
}

/// The most elements of multi-valued attributes one PATCH may visit, counting for each
/// operation on such an attribute the elements it holds and those the operation brings. Each
/// operation looks at every element it holds (to find its filter's matches, or the values
/// already there), so operations times elements is the PATCH's work: 12,500 operations that
/// each add an email, all within the body limit, took 6.6 s of CPU (`bench/hostile`). Real
/// PATCHes visit tens of elements; this allows about a tenth of a second of work.
const MAX_PATCH_VISITS: usize = 1_000_000;

/// Where a path points.
enum Target<'r> {
    /// An extension as a whole (`urn:…:enterprise:2.0:User`).
    Extension(&'r SchemaDef),
    Attr {
        extension: Option<&'r SchemaDef>,
        def: &'r AttributeDef,
        sub: Option<&'r AttributeDef>,
    },
    /// `attr[filter]` or `attr[filter].sub`.
    Filtered {
        extension: Option<&'r SchemaDef>,
        def: &'r AttributeDef,
        filter: Filter,
        sub: Option<&'r AttributeDef>,
    },
}

impl<'r> Engine<'_, 'r> {
    /// RFC 7644 §3.5.2.1/§3.5.2.3 without `path`: the value is a partial resource whose keys
    /// are attribute names, sub-attribute paths (`name.givenName`) or URN-qualified paths.
    fn apply_pathless(&self, doc: &mut Map<String, Value>, op: &PatchOperation) -> Result<()> {
        if op.op == OpKind::Remove {
            return Err(Error::no_target("remove needs a path (RFC 7644 §3.5.2.2)"));
        }
        let Some(Value::Object(fields)) = &op.value else {
            return Err(Error::invalid_syntax("an add or replace without path needs an object value"));
        };
        for (key, value) in fields {
            match self.schema.locate(key) {
                Located::ReadOnly(name) => {
                    self.compat.allow(Rule::PathlessReadOnlyEcho, || format!("{name} is read-only"))?;
                }
                Located::Extension(ext) => match value {
                    Value::Object(inner) => {
                        for (k, v) in inner {
                            self.apply_named(doc, op.op, &format!("{}:{k}", ext.id), v)?;
                        }
                    }
                    Value::Null => {}
                    _ => return Err(Error::invalid_value(format!("{} must be an object", ext.id))),
                },
                _ => self.apply_named(doc, op.op, key, value)?,
            }
        }
        Ok(())
    }

    /// A key of a path-less value: unknown names are dropped like unknown attributes in a
    /// POST (IdP templates carry them), or refused in strict mode.
    fn apply_named(&self, doc: &mut Map<String, Value>, op: OpKind, key: &str, value: &Value) -> Result<()> {
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        match self.resolve(key) {
            Err(Error::BadRequest { scim_type: ScimType::InvalidPath, .. }) => {
                self.compat.allow(Rule::UnknownAttribute, || format!("unknown attribute {key}"))
            }
            _ => self.apply_at(doc, op, key, Some(value)),
        }
    }

    fn resolve(&self, path: &str) -> Result<Target<'r>> {
        if let Some(ext) = self.schema.extensions.iter().find(|e| e.id.eq_ignore_ascii_case(path)) {
            return Ok(Target::Extension(ext));
        }
        let parsed = parse_path(path)
            .map_err(|e| Error::invalid_path(format!("invalid path {path}: {e}", path = Quoted(path))))?;
        let (attr_path, filter, filter_sub) = match parsed {
            PatchPath::Attr(p) => (p, None, None),
            PatchPath::ValuePath { attr, filter, sub } => (attr, Some(filter), sub),
        };
        let (extension, def) = self.attribute(&attr_path, path)?;
        if def.mutability == Mutability::ReadOnly {
            return Err(Error::mutability(format!("{} is read-only", def.name)));
        }
        let sub_name = attr_path.sub.as_deref().or(filter_sub.as_deref());
        let sub = match sub_name {
            None => None,
            Some(s) => {
                let sub = def.sub_attribute(s).ok_or_else(|| {
                    Error::invalid_path(format!("unknown attribute path {path}", path = Quoted(path)))
                })?;
                if sub.mutability == Mutability::ReadOnly {
                    return Err(Error::mutability(format!("{}.{} is read-only", def.name, sub.name)));
                }
                Some(sub)
            }
        };
        match filter {
            None => Ok(Target::Attr { extension, def, sub }),
            Some(filter) => {
                if !(def.multi_valued && def.ty == AttrType::Complex) {
                    return Err(Error::invalid_path(format!("{} is not a multi-valued complex attribute", def.name)));
                }
                check_element_filter(def, &filter, path)?;
                Ok(Target::Filtered { extension, def, filter, sub })
            }
        }
    }

    fn visit(&self, elements: usize) -> Result<()> {
        let visits = self.visits.get().saturating_add(elements);
        if visits > MAX_PATCH_VISITS {
            return Err(Error::bad_request(
                ScimType::TooMany,
                format!(
                    "the operations would visit more than {MAX_PATCH_VISITS} elements of multi-valued \
                     attributes; send them in several PATCH requests"
                ),
            ));
        }
        self.visits.set(visits);
        Ok(())
    }

    fn attribute(&self, p: &AttrPath, path: &str) -> Result<(Option<&'r SchemaDef>, &'r AttributeDef)> {
        let unknown = || Error::invalid_path(format!("unknown attribute path {path}", path = Quoted(path)));
        let ext = match p.urn.as_deref() {
            None => None,
            Some(u) if u.eq_ignore_ascii_case(&self.schema.core.id) => None,
            Some(u) => Some(*self.schema.extensions.iter().find(|e| e.id.eq_ignore_ascii_case(u)).ok_or_else(unknown)?),
        };
        if let Some(ext) = ext {
            return Ok((Some(ext), ext.attribute(&p.name).ok_or_else(unknown)?));
        }
        match self.schema.locate(&p.name) {
            Located::Core(def) | Located::Common(def) => Ok((None, def)),
            Located::ReadOnly(name) => Err(Error::mutability(format!("{name} is read-only"))),
            _ => Err(unknown()),
        }
    }

    fn apply_at(&self, doc: &mut Map<String, Value>, op: OpKind, path: &str, value: Option<&Value>) -> Result<()> {
        let target = self.resolve(path)?;
        let (extension, def) = match &target {
            Target::Extension(ext) => return self.apply_extension(doc, ext, op, value),
            Target::Attr { extension, def, .. } | Target::Filtered { extension, def, .. } => (*extension, *def),
        };
        let container = match extension {
            None => doc,
            Some(ext) => {
                let entry = doc.entry(ext.id.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                entry.as_object_mut().expect("just made an object")
            }
        };
        if def.mutability == Mutability::Immutable && op != OpKind::Add && container.contains_key(&def.name) {
            return Err(Error::mutability(format!("{} is immutable once set", def.name)));
        }
        if def.multi_valued {
            let held = container.get(&def.name).and_then(Value::as_array).map_or(0, Vec::len);
            let brought = value.and_then(Value::as_array).map_or(1, Vec::len);
            self.visit(held + brought)?;
        }
        match target {
            Target::Filtered { filter, sub, .. } => self.apply_filtered(container, def, &filter, sub, op, value),
            Target::Attr { sub, .. } => self.apply_plain(container, def, sub, op, value),
            Target::Extension(_) => unreachable!(),
        }
    }

    fn apply_extension(
        &self,
        doc: &mut Map<String, Value>,
        ext: &SchemaDef,
        op: OpKind,
        value: Option<&Value>,
    ) -> Result<()> {
        match (op, value) {
            (OpKind::Remove, _) => {
                doc.remove(&ext.id);
            }
            (_, Some(Value::Object(fields))) => {
                if op == OpKind::Replace {
                    doc.remove(&ext.id);
                }
                for (k, v) in fields {
                    self.apply_named(doc, OpKind::Replace, &format!("{}:{k}", ext.id), v)?;
                }
            }
            _ => return Err(Error::invalid_value(format!("{} takes an object", ext.id))),
        }
        Ok(())
    }

    fn apply_plain(
        &self,
        container: &mut Map<String, Value>,
        def: &AttributeDef,
        sub: Option<&AttributeDef>,
        op: OpKind,
        value: Option<&Value>,
    ) -> Result<()> {
        let name = def.name.clone();
        match (op, sub) {
            (OpKind::Remove, None) => match value {
                // Entra ID removes members by value: {"op":"Remove","path":"members","value":[…]}.
                Some(v) if def.multi_valued && !v.is_null() => {
                    self.compat.allow(Rule::RemoveWithValue, || {
                        format!("remove takes no value; use a path filter on {name}")
                    })?;
                    let doomed = match v {
                        Value::Array(items) => SameValues::of(def, items),
                        single => SameValues::of(def, [single]),
                    };
                    if let Some(Value::Array(items)) = container.get_mut(&name) {
                        items.retain(|item| !doomed.contains(item));
                    }
                }
                _ => {
                    container.remove(&name);
                }
            },
            (OpKind::Remove, Some(sub)) => match container.get_mut(&name) {
                Some(Value::Object(obj)) => {
                    obj.remove(&sub.name);
                }
                Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|o| {
                    o.remove(&sub.name);
                }),
                _ => {}
            },
            (_, Some(sub)) => {
                let value = value.cloned().unwrap_or(Value::Null);
                match container.entry(name).or_insert_with(|| empty_of(def)) {
                    // Without a filter a sub-attribute of a multi-valued attribute means every element.
                    Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|o| {
                        o.insert(sub.name.clone(), value.clone());
                    }),
                    slot => {
                        if !slot.is_object() {
                            *slot = Value::Object(Map::new());
                        }
                        slot.as_object_mut().expect("object").insert(sub.name.clone(), value);
                    }
                }
            }
            (op, None) => {
                let value = value.cloned().unwrap_or(Value::Null);
                if def.multi_valued {
                    let new_items = match value {
                        Value::Array(items) => items,
                        Value::Null => Vec::new(),
                        single => vec![single],
                    };
                    let slot = container.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                    if op == OpKind::Replace || !slot.is_array() {
                        *slot = Value::Array(Vec::new());
                    }
                    let items = slot.as_array_mut().expect("array");
                    // RFC 7644 §3.5.2.1: adding a value that is already there changes nothing,
                    // nor does a value the operation lists twice.
                    let fresh: Vec<bool> = {
                        let mut held = SameValues::of(def, items.iter());
                        new_items
                            .iter()
                            .map(|item| {
                                let fresh = !held.contains(item);
                                if fresh {
                                    held.insert(item);
                                }
                                fresh
                            })
                            .collect()
                    };
                    let mut touched = Vec::new();
                    for (item, fresh) in new_items.into_iter().zip(fresh) {
                        if fresh {
                            touched.push(items.len());
                            items.push(item);
                        }
                    }
                    single_primary(items, &touched);
                } else if def.ty == AttrType::Complex {
                    // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes given replace, others are kept.
                    match (container.get_mut(&name), value) {
                        (Some(Value::Object(existing)), Value::Object(fields)) => existing.extend(fields),
                        (_, v) => {
                            container.insert(name, v);
                        }
                    }
                } else {
                    container.insert(name, value);
                }
            }
        }
        Ok(())
    }
}

fn empty_of(def: &AttributeDef) -> Value {
    if def.multi_valued {
        Value::Array(Vec::new())
    } else {
        Value::Object(Map::new())
    }
}
