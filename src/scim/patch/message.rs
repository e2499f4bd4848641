//! The PatchOp message (RFC 7644 §3.5.2): its operations as the PATCH engine takes them, read
//! as RFC 7644 spells them or, where the compatibility layer allows, as IdPs send them.

use crate::error::{Error, Quoted, Result};
use crate::scim::compat::{Compat, Rule};
use crate::scim::schema::PATCH_OP;
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

/// A member of the PatchOp message by its exact name, or by another spelling if the layer
/// allows it (`operations`, `Op`).
fn field<'a>(obj: &'a Map<String, Value>, name: &str, compat: &Compat) -> Result<Option<&'a Value>> {
    if let Some(v) = obj.get(name) {
        return Ok(Some(v));
    }
    match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        Some((k, v)) => {
            compat.allow(Rule::PatchNameCase, || {
                format!("{k} must be spelled {name}", k = Quoted(k), name = Quoted(name))
            })?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

/// RFC 7644 §3.5.2: `{"schemas": [PatchOp], "Operations": [{op, path?, value?}, …]}`.
pub fn parse_request(body: &Value, compat: &Compat) -> Result<Vec<PatchOperation>> {
    let Value::Object(obj) = body else {
        return Err(Error::invalid_syntax("the PATCH body must be a JSON object"));
    };
    match field(obj, "schemas", compat)? {
        None => compat.allow(Rule::MissingSchemas, || format!("schemas must be [{PATCH_OP:?}]"))?,
        Some(schemas) => {
            let names: Option<Vec<&str>> = schemas.as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
            if !names.is_some_and(|n| n.iter().any(|s| s.eq_ignore_ascii_case(PATCH_OP))) {
                return Err(Error::invalid_syntax(format!("schemas must contain {PATCH_OP}")));
            }
        }
    }
    let Some(Value::Array(ops)) = field(obj, "Operations", compat)? else {
        return Err(Error::invalid_syntax("the PATCH body needs an Operations array"));
    };
    if ops.is_empty() {
        compat.allow(Rule::EmptyOperations, || "Operations must hold at least one operation".into())?;
    }
    ops.iter().map(|op| parse_operation(op, compat)).collect()
}

fn parse_operation(op: &Value, compat: &Compat) -> Result<PatchOperation> {
    let Value::Object(obj) = op else {
        return Err(Error::invalid_syntax("each operation must be a JSON object"));
    };
    let name = field(obj, "op", compat)?.and_then(Value::as_str).unwrap_or("");
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => OpKind::Add,
        "replace" => OpKind::Replace,
        "remove" => OpKind::Remove,
        _ => {
            return Err(Error::invalid_syntax(format!(
                "op must be add, replace or remove, not {name}",
                name = Quoted(name)
            )))
        }
    };
    if !matches!(name, "add" | "replace" | "remove") {
        compat.allow(Rule::PatchNameCase, || format!("op {name} must be lower-case", name = Quoted(name)))?;
    }
    let path = match field(obj, "path", compat)? {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.trim().to_string()),
        Some(_) => return Err(Error::invalid_path("path must be a string")),
    };
    let value = field(obj, "value", compat)?.cloned();
    if kind != OpKind::Remove && value.is_none() {
        return Err(Error::invalid_syntax("add and replace operations need a value"));
    }
    Ok(PatchOperation { op: kind, path, value })
}
