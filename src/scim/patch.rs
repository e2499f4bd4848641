//! The PATCH engine (RFC 7644 §3.5.2) on a canonical resource: parse the PatchOp message, apply
//! each operation in order to a copy of the stored attributes, and hand the result back to be
//! validated as a whole. All operations apply or none do: the caller stores the result only if
//! every operation and the final validation succeed.

use super::resource::{Located, ResourceSchema};
use super::schema::{AttrType, AttributeDef, Mutability, SchemaDef, PATCH_OP};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Field names of the PatchOp message are matched case-insensitively: clients send
/// `Operations`, `operations`, `Op`.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// RFC 7644 §3.5.2: `{"schemas": [PatchOp], "Operations": [{op, path?, value?}, …]}`.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOperation>> {
    let Value::Object(obj) = body else {
        return Err(Error::invalid_syntax("the PATCH body must be a JSON object"));
    };
    if let Some(schemas) = field(obj, "schemas") {
        let names: Option<Vec<&str>> = schemas.as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
        if !names.is_some_and(|n| n.iter().any(|s| s.eq_ignore_ascii_case(PATCH_OP))) {
            return Err(Error::invalid_syntax(format!("schemas must contain {PATCH_OP}")));
        }
    }
    let Some(Value::Array(ops)) = field(obj, "Operations") else {
        return Err(Error::invalid_syntax("the PATCH body needs an Operations array"));
    };
    ops.iter().map(parse_operation).collect()
}

fn parse_operation(op: &Value) -> Result<PatchOperation> {
    let Value::Object(obj) = op else {
        return Err(Error::invalid_syntax("each operation must be a JSON object"));
    };
    let kind = match field(obj, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => return Err(Error::invalid_syntax("op must be one of add, replace, remove")),
    };
    let path = match field(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.trim().to_string()),
        Some(_) => return Err(Error::invalid_path("path must be a string")),
    };
    let value = field(obj, "value").cloned();
    if kind != OpKind::Remove && value.is_none() {
        return Err(Error::invalid_syntax("add and replace operations need a value"));
    }
    Ok(PatchOperation { op: kind, path, value })
}

/// Applies `ops` in order to `doc` (canonical attributes plus any writeOnly values the
/// operations set, which the caller splits off again when it re-validates `doc`).
pub fn apply(schema: &ResourceSchema<'_>, doc: &mut Map<String, Value>, ops: &[PatchOperation]) -> Result<()> {
    for op in ops {
        match &op.path {
            Some(path) => apply_at(schema, doc, op.op, path, op.value.as_ref())?,
            None => apply_pathless(schema, doc, op)?,
        }
    }
    Ok(())
}

/// RFC 7644 §3.5.2.1/§3.5.2.3 without `path`: the value is a partial resource whose keys are
/// attribute names, sub-attribute paths (`name.givenName`) or URN-qualified paths.
fn apply_pathless(schema: &ResourceSchema<'_>, doc: &mut Map<String, Value>, op: &PatchOperation) -> Result<()> {
    if op.op == OpKind::Remove {
        return Err(Error::no_target("remove needs a path (RFC 7644 §3.5.2.2)"));
    }
    let Some(Value::Object(fields)) = &op.value else {
        return Err(Error::invalid_syntax("an add or replace without path needs an object value"));
    };
    for (key, value) in fields {
        match schema.locate(key) {
            // Clients echo id, meta and schemas back in partial resources; they cannot change
            // them and RFC 7644 §3.5.2 lets a service ignore unchanged read-only values.
            Located::ReadOnly(_) => {}
            Located::Extension(ext) => match value {
                Value::Object(inner) => {
                    for (k, v) in inner {
                        apply_at(schema, doc, op.op, &format!("{}:{k}", ext.id), Some(v))?;
                    }
                }
                Value::Null => {}
                _ => return Err(Error::invalid_value(format!("{} must be an object", ext.id))),
            },
            _ => apply_at(schema, doc, op.op, key, Some(value))?,
        }
    }
    Ok(())
}

/// A resolved attribute path: which container holds it, its definition, an optional
/// sub-attribute.
struct Target<'r> {
    extension: Option<&'r SchemaDef>,
    def: &'r AttributeDef,
    sub: Option<&'r AttributeDef>,
}

fn resolve<'r>(schema: &ResourceSchema<'r>, path: &str) -> Result<Target<'r>> {
    if path.contains('[') {
        return Err(Error::invalid_path(format!("value-path filters are not supported yet: {path}")));
    }
    let unknown = || Error::invalid_path(format!("unknown attribute path {path:?}"));
    // RFC 7644 §3.10: an attribute may be qualified by its schema URN.
    let (extension, rest) = match schema.extensions.iter().find(|e| {
        path.len() > e.id.len() && path[..e.id.len()].eq_ignore_ascii_case(&e.id) && path.as_bytes()[e.id.len()] == b':'
    }) {
        Some(ext) => (Some(*ext), &path[ext.id.len() + 1..]),
        None => {
            let core = &schema.core.id;
            let is_core = path.len() > core.len() && path[..core.len()].eq_ignore_ascii_case(core);
            (None, if is_core { path[core.len()..].trim_start_matches(':') } else { path })
        }
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    let def = match extension {
        Some(ext) => ext.attribute(attr).ok_or_else(unknown)?,
        None => match schema.locate(attr) {
            Located::Core(def) | Located::Common(def) => def,
            Located::ReadOnly(name) => return Err(Error::mutability(format!("{name} is read-only"))),
            _ => return Err(unknown()),
        },
    };
    if def.mutability == Mutability::ReadOnly {
        return Err(Error::mutability(format!("{} is read-only", def.name)));
    }
    let sub = match sub {
        None => None,
        Some(s) => {
            let sub = def.sub_attribute(s).ok_or_else(unknown)?;
            if sub.mutability == Mutability::ReadOnly {
                return Err(Error::mutability(format!("{}.{} is read-only", def.name, sub.name)));
            }
            Some(sub)
        }
    };
    Ok(Target { extension, def, sub })
}

fn apply_at(
    schema: &ResourceSchema<'_>,
    doc: &mut Map<String, Value>,
    op: OpKind,
    path: &str,
    value: Option<&Value>,
) -> Result<()> {
    let target = resolve(schema, path)?;
    let container = match target.extension {
        None => doc,
        Some(ext) => {
            let entry = doc.entry(ext.id.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry.as_object_mut().expect("just made an object")
        }
    };
    let name = target.def.name.clone();
    match (op, target.sub) {
        (OpKind::Remove, None) => {
            container.remove(&name);
        }
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
            match container.entry(name).or_insert_with(|| empty_of(target.def)) {
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
            if target.def.multi_valued {
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
                for item in new_items {
                    // RFC 7644 §3.5.2.1: adding a value that is already there changes nothing.
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            } else if target.def.ty == AttrType::Complex {
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

fn empty_of(def: &AttributeDef) -> Value {
    if def.multi_valued {
        Value::Array(Vec::new())
    } else {
        Value::Object(Map::new())
    }
}
