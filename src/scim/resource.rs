//! Validation of a client's resource JSON against its schemas (RFC 7643 §2): names matched
//! case-insensitively and rewritten as the schema spells them, values type-checked, read-only
//! and unknown attributes left out, nulls and empty arrays treated as unassigned (§2.5).

use super::schema::{AttrType, AttributeDef, Mutability, SchemaDef};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// The schemas of one resource type: its core schema and its extensions.
pub struct ResourceSchema<'r> {
    pub core: &'r SchemaDef,
    pub extensions: Vec<&'r SchemaDef>,
    /// RFC 7643 §3.1 id, externalId, meta.
    pub common: &'r SchemaDef,
}

/// A resource as scimd stores it: core attributes by their schema names, each extension's
/// attributes in an object under the extension's URN. Never holds id, meta or writeOnly values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Canonical {
    pub attrs: Map<String, Value>,
    /// writeOnly values (the password), split off so they are never stored with the resource.
    pub write_only: Map<String, Value>,
    /// Attributes the client sent that no schema defines; left out and reported.
    pub dropped: Vec<String>,
}

/// Where an attribute named at the top level of a resource lives.
pub enum Located<'r> {
    /// `schemas`, `id`, `meta` and other readOnly attributes: the client may not set them.
    ReadOnly(&'r str),
    Core(&'r AttributeDef),
    Common(&'r AttributeDef),
    Extension(&'r SchemaDef),
    Unknown,
}

impl<'r> ResourceSchema<'r> {
    pub fn locate(&self, name: &str) -> Located<'r> {
        if name.eq_ignore_ascii_case("schemas") {
            return Located::ReadOnly("schemas");
        }
        if let Some(ext) = self.extensions.iter().find(|s| s.id.eq_ignore_ascii_case(name)) {
            return Located::Extension(ext);
        }
        if let Some(def) = self.common.attribute(name) {
            return match def.mutability {
                Mutability::ReadOnly => Located::ReadOnly(&def.name),
                _ => Located::Common(def),
            };
        }
        match self.core.attribute(name) {
            Some(def) if def.mutability == Mutability::ReadOnly => Located::ReadOnly(&def.name),
            Some(def) => Located::Core(def),
            None => Located::Unknown,
        }
    }

    /// Checks `input` (a whole resource, as in POST and PUT) and returns its canonical form.
    pub fn canonicalize(&self, input: &Value) -> Result<Canonical> {
        let Value::Object(input) = input else {
            return Err(Error::invalid_syntax("the request body must be a JSON object"));
        };
        let mut out = Canonical::default();
        for (name, value) in input {
            match self.locate(name) {
                Located::ReadOnly(_) => {}
                Located::Core(def) | Located::Common(def) => put(&mut out, def, value, name)?,
                Located::Extension(ext) => {
                    let mut ext_out = Canonical::default();
                    match value {
                        Value::Null => {}
                        Value::Object(fields) => {
                            for (field, v) in fields {
                                match ext.attribute(field) {
                                    Some(def) if def.mutability == Mutability::ReadOnly => {}
                                    Some(def) => put(&mut ext_out, def, v, &format!("{}:{field}", ext.id))?,
                                    None => out.dropped.push(format!("{}:{field}", ext.id)),
                                }
                            }
                        }
                        _ => return Err(Error::invalid_value(format!("{} must be an object", ext.id))),
                    }
                    out.dropped.append(&mut ext_out.dropped);
                    if !ext_out.attrs.is_empty() {
                        out.attrs.insert(ext.id.clone(), Value::Object(ext_out.attrs));
                    }
                }
                Located::Unknown => out.dropped.push(name.clone()),
            }
        }
        self.check_required(&out.attrs)?;
        Ok(out)
    }

    /// `attrs` with every caseExact=false string normalised and every dateTime in one UTC
    /// form: the document filters on unindexed attributes compare against.
    pub fn normalized(&self, attrs: &Map<String, Value>) -> Value {
        let mut out = Map::with_capacity(attrs.len());
        for (name, value) in attrs {
            let v = match self.locate(name) {
                Located::Core(def) | Located::Common(def) => normalize_value(def, value),
                Located::Extension(ext) => match value {
                    Value::Object(fields) => Value::Object(
                        fields
                            .iter()
                            .map(|(k, v)| {
                                (k.clone(), ext.attribute(k).map_or_else(|| v.clone(), |d| normalize_value(d, v)))
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                },
                _ => value.clone(),
            };
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    fn check_required(&self, attrs: &Map<String, Value>) -> Result<()> {
        for def in self.core.attributes.iter().filter(|d| d.required) {
            match attrs.get(&def.name) {
                Some(Value::String(s)) if s.is_empty() => {}
                Some(_) => continue,
                None => {}
            }
            return Err(Error::invalid_value(format!("{} is required and must not be empty", def.name)));
        }
        Ok(())
    }
}

fn normalize_value(def: &AttributeDef, value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| normalize_value(def, v)).collect()),
        Value::Object(fields) if def.ty == AttrType::Complex => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), def.sub_attribute(k).map_or_else(|| v.clone(), |d| normalize_value(d, v))))
                .collect(),
        ),
        Value::String(s) if def.ty == AttrType::DateTime => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Value::String(crate::clock::format_datetime(t.with_timezone(&chrono::Utc))),
            Err(_) => value.clone(),
        },
        Value::String(s) if !def.case_exact() => Value::String(super::normalize(s)),
        other => other.clone(),
    }
}

fn put(out: &mut Canonical, def: &AttributeDef, value: &Value, path: &str) -> Result<()> {
    let Some(v) = check_attribute(def, value, path, &mut out.dropped)? else {
        return Ok(());
    };
    let target = if def.mutability == Mutability::WriteOnly { &mut out.write_only } else { &mut out.attrs };
    target.insert(def.name.clone(), v);
    Ok(())
}

/// The canonical value of one attribute, or `None` when it is unassigned.
fn check_attribute(def: &AttributeDef, value: &Value, path: &str, dropped: &mut Vec<String>) -> Result<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        return check_single(def, value, path, dropped);
    }
    let Value::Array(items) = value else {
        return Err(Error::invalid_value(format!("{path} is multi-valued and must be an array")));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = check_single(def, item, path, dropped)? {
            out.push(v);
        }
    }
    // RFC 7643 §2.4: the primary value "true" MUST appear no more than once.
    let primaries = out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
    if primaries > 1 {
        return Err(Error::invalid_value(format!("{path} has more than one element with primary true")));
    }
    Ok(if out.is_empty() { None } else { Some(Value::Array(out)) })
}

fn check_single(def: &AttributeDef, value: &Value, path: &str, dropped: &mut Vec<String>) -> Result<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if def.ty != AttrType::Complex {
        return check_simple(def.ty, value, path).map(Some);
    }
    let Value::Object(fields) = value else {
        return Err(Error::invalid_value(format!("{path} must be an object")));
    };
    let mut out = Map::new();
    for (name, v) in fields {
        match def.sub_attribute(name) {
            Some(sub) if sub.mutability == Mutability::ReadOnly => {}
            Some(sub) => {
                if let Some(v) = check_single(sub, v, &format!("{path}.{}", sub.name), dropped)? {
                    out.insert(sub.name.clone(), v);
                }
            }
            None => dropped.push(format!("{path}.{name}")),
        }
    }
    Ok(if out.is_empty() { None } else { Some(Value::Object(out)) })
}

fn check_simple(ty: AttrType, value: &Value, path: &str) -> Result<Value> {
    let ok = match ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => value.is_string(),
        AttrType::Boolean => value.is_boolean(),
        AttrType::Integer => value.is_i64() || value.is_u64(),
        AttrType::Decimal => value.is_number(),
        // RFC 7643 §2.3.5: an xsd:dateTime, which RFC 3339 timestamps are.
        AttrType::DateTime => value.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        AttrType::Complex => false,
    };
    if ok {
        Ok(value.clone())
    } else {
        let want = match ty {
            AttrType::String => "a string",
            AttrType::Reference => "a reference (string)",
            AttrType::Binary => "base64 binary (string)",
            AttrType::Boolean => "a boolean",
            AttrType::Integer => "an integer",
            AttrType::Decimal => "a number",
            AttrType::DateTime => "an RFC 3339 dateTime string",
            AttrType::Complex => "an object",
        };
        Err(Error::invalid_value(format!("{path} must be {want}")))
    }
}
