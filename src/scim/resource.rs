//! Validation of a client's resource JSON against its schemas (RFC 7643 §2): names matched
//! case-insensitively and rewritten as the schema spells them, values type-checked, read-only
//! and unknown attributes left out, nulls and empty arrays treated as unassigned (§2.5).

use super::compat::{Compat, Rule};
use super::schema::{AttrType, AttributeDef, Mutability, SchemaDef, ENTERPRISE_USER_SCHEMA};
use crate::error::{Error, Quoted, Result};
use serde_json::{Map, Value};
use std::fmt;

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

/// Schema URNs of SCIM 1.x drafts that IdP templates still send, and what they stand for.
const LEGACY_EXTENSIONS: [(&str, &str); 2] = [
    ("urn:scim:schemas:extension:enterprise:1.0", ENTERPRISE_USER_SCHEMA),
    ("urn:scim:schemas:extension:enterprise:2.0", ENTERPRISE_USER_SCHEMA),
];

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

    /// A client's whole resource (POST, PUT): its `schemas` checked (RFC 7643 §3), then
    /// canonicalised.
    pub fn canonicalize_request(&self, input: &Value, compat: &Compat) -> Result<Canonical> {
        let Value::Object(obj) = input else {
            return Err(Error::invalid_syntax("the request body must be a JSON object"));
        };
        match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")).map(|(_, v)| v) {
            None => compat.allow(Rule::MissingSchemas, || format!("schemas must list {}", self.core.id))?,
            Some(Value::Array(urns)) => {
                let urns: Vec<&str> = urns
                    .iter()
                    .map(|u| u.as_str().ok_or_else(|| Error::invalid_syntax("schemas must be an array of URN strings")))
                    .collect::<Result<_>>()?;
                let known = |u: &str| {
                    u.eq_ignore_ascii_case(&self.core.id)
                        || self.extensions.iter().any(|e| e.id.eq_ignore_ascii_case(u))
                };
                if let Some(foreign) = urns.iter().find(|u| !known(u)) {
                    compat.allow(Rule::ForeignSchemaUrn, || format!("unknown schema {foreign}"))?;
                }
                if !urns.iter().any(|u| u.eq_ignore_ascii_case(&self.core.id)) {
                    compat.allow(Rule::ForeignSchemaUrn, || format!("schemas must contain {}", self.core.id))?;
                }
            }
            Some(_) => return Err(Error::invalid_syntax("schemas must be an array of URN strings")),
        }
        self.canonicalize(input, compat)
    }

    /// Checks the attributes of `input` (a whole resource) and returns its canonical form.
    pub fn canonicalize(&self, input: &Value, compat: &Compat) -> Result<Canonical> {
        let Value::Object(input) = input else {
            return Err(Error::invalid_syntax("the request body must be a JSON object"));
        };
        let mut out = Canonical::default();
        // Which name gave each extension: a legacy URN and the current one name the same.
        let mut extensions_given: Vec<(&str, &str)> = Vec::new();
        for (name, value) in input {
            let mut located = self.locate(name);
            if let (Located::Unknown, Some((legacy, modern))) =
                (&located, LEGACY_EXTENSIONS.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)))
            {
                if let Some(ext) = self.extensions.iter().find(|e| e.id == *modern) {
                    compat
                        .allow(Rule::ForeignSchemaUrn, || format!("{legacy} is not a SCIM 2.0 schema; use {modern}"))?;
                    located = Located::Extension(ext);
                }
            }
            match located {
                Located::ReadOnly(_) => {}
                Located::Core(def) | Located::Common(def) => put(&mut out, def, value, Path::Attribute(name), compat)?,
                Located::Extension(ext) => {
                    if let Some((first, _)) = extensions_given.iter().find(|(_, id)| *id == ext.id) {
                        return Err(Error::invalid_syntax(format!(
                            "the request body gives {} twice, as {} and as {}",
                            ext.id,
                            Quoted(first),
                            Quoted(name)
                        )));
                    }
                    extensions_given.push((name, &ext.id));
                    let mut ext_out = Canonical::default();
                    match value {
                        Value::Null => {}
                        Value::Object(fields) => {
                            for (field, v) in fields {
                                match ext.attribute(field) {
                                    Some(def) if def.mutability == Mutability::ReadOnly => {}
                                    Some(def) => put(&mut ext_out, def, v, Path::Extension(&ext.id, field), compat)?,
                                    None => drop_unknown(&mut out.dropped, format!("{}:{field}", ext.id), compat)?,
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
                Located::Unknown => drop_unknown(&mut out.dropped, name.clone(), compat)?,
            }
        }
        self.check_required(&out.attrs)?;
        Ok(out)
    }

    fn check_required(&self, attrs: &Map<String, Value>) -> Result<()> {
        for def in self.core.attributes.iter().filter(|d| d.required) {
            // A name of white space alone (`" "`, U+3000) identifies no one any more than an
            // empty one does: either is an IdP's mapping gone wrong, better refused than stored.
            match attrs.get(&def.name) {
                Some(Value::String(s)) if s.trim().is_empty() => {}
                Some(_) => continue,
                None => {}
            }
            return Err(Error::invalid_value(format!("{} is required and must not be empty or blank", def.name)));
        }
        Ok(())
    }
}

/// Where a value sits in the request, for messages about it: written out only when one is
/// needed. Formatting every sub-attribute's and extension attribute's path up front cost 1-3%
/// of the instructions of a user's POST, PUT or PATCH (`bench/instructions`).
#[derive(Clone, Copy)]
enum Path<'a> {
    Attribute(&'a str),
    /// An attribute of an extension: `URN:name`.
    Extension(&'a str, &'a str),
    /// A sub-attribute: `parent.name`.
    Sub(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Attribute(name) => f.write_str(name),
            Path::Extension(urn, name) => write!(f, "{urn}:{name}"),
            Path::Sub(parent, name) => write!(f, "{parent}.{name}"),
        }
    }
}

fn drop_unknown(dropped: &mut Vec<String>, path: String, compat: &Compat) -> Result<()> {
    compat.allow(Rule::UnknownAttribute, || format!("unknown attribute {path}"))?;
    dropped.push(path);
    Ok(())
}

fn put(out: &mut Canonical, def: &AttributeDef, value: &Value, path: Path<'_>, compat: &Compat) -> Result<()> {
    let Some(v) = check_attribute(def, value, path, &mut out.dropped, compat)? else {
        return Ok(());
    };
    let target = if def.mutability == Mutability::WriteOnly { &mut out.write_only } else { &mut out.attrs };
    target.insert(def.name.clone(), v);
    Ok(())
}

/// The canonical value of one attribute, or `None` when it is unassigned.
fn check_attribute(
    def: &AttributeDef,
    value: &Value,
    path: Path<'_>,
    dropped: &mut Vec<String>,
    compat: &Compat,
) -> Result<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        return check_single(def, value, path, dropped, compat);
    }
    let single;
    let items = match value {
        Value::Array(items) => items,
        other => {
            compat.allow(Rule::SingleValueForMultiValued, || format!("{path} is multi-valued and must be an array"))?;
            single = vec![other.clone()];
            &single
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = check_single(def, item, path, dropped, compat)? {
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

fn check_single(
    def: &AttributeDef,
    value: &Value,
    path: Path<'_>,
    dropped: &mut Vec<String>,
    compat: &Compat,
) -> Result<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if def.ty != AttrType::Complex {
        return check_simple(def.ty, value, path, compat).map(Some);
    }
    let fields = match value {
        Value::Object(fields) => fields,
        // Entra ID sends the manager as a bare id, and "" to clear it.
        Value::String(s) if def.sub_attribute("value").is_some() => {
            compat.allow(Rule::BareComplexValue, || format!("{path} must be an object such as {{\"value\": …}}"))?;
            if s.is_empty() {
                return Ok(None);
            }
            return Ok(Some(serde_json::json!({ "value": s })));
        }
        _ => return Err(Error::invalid_value(format!("{path} must be an object"))),
    };
    let mut out = Map::new();
    for (name, v) in fields {
        match def.sub_attribute(name) {
            Some(sub) if sub.mutability == Mutability::ReadOnly => {}
            Some(sub) => {
                if let Some(v) = check_single(sub, v, Path::Sub(&path, &sub.name), dropped, compat)? {
                    out.insert(sub.name.clone(), v);
                }
            }
            None => drop_unknown(dropped, format!("{path}.{name}"), compat)?,
        }
    }
    Ok(if out.is_empty() { None } else { Some(Value::Object(out)) })
}

/// Scalars as strings (`"False"`, `"42"`), as Entra ID and others send them, read by type.
fn coerce_string(ty: AttrType, value: &Value) -> Option<Value> {
    let s = value.as_str()?.trim();
    match ty {
        AttrType::Boolean if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        AttrType::Boolean if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        AttrType::Integer => s.parse::<i64>().ok().map(Value::from),
        AttrType::Decimal => s.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
        _ => None,
    }
}

/// `true`, or a string validation reads as `true` (`"True"`, `" true "`).
pub(crate) fn reads_as_true(value: &Value) -> bool {
    value == &Value::Bool(true) || coerce_string(AttrType::Boolean, value) == Some(Value::Bool(true))
}

fn check_simple(ty: AttrType, value: &Value, path: Path<'_>, compat: &Compat) -> Result<Value> {
    if let Some(coerced) = coerce_string(ty, value) {
        compat.allow(Rule::StringScalars, || format!("{path} must be a JSON {}, not a string", type_name(ty)))?;
        return Ok(coerced);
    }
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
        Err(Error::invalid_value(format!("{path} must be {}", type_name(ty))))
    }
}

fn type_name(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "a string",
        AttrType::Reference => "a reference (string)",
        AttrType::Binary => "base64 binary (string)",
        AttrType::Boolean => "a boolean",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::DateTime => "an RFC 3339 dateTime string",
        AttrType::Complex => "an object",
    }
}

#[cfg(test)]
mod tests {
    use crate::scim::compat::Compat;
    use crate::scim::schema::Registry;
    use crate::scim::user::user_schema;
    use serde_json::json;

    /// A wrong value is named by its path in the request, however deep it sits.
    #[test]
    fn messages_name_the_value_s_path() {
        let registry = Registry::load();
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let cases = [
            (json!({"userName": 5}), "userName must be a string".to_string()),
            (json!({"userName": "a", "name": {"givenName": 5}}), "name.givenName must be a string".into()),
            (json!({"userName": "a", "emails": [{"value": true}]}), "emails.value must be a string".into()),
            (json!({"userName": "a", ent: {"employeeNumber": 5}}), format!("{ent}:employeeNumber must be a string")),
            (json!({"userName": "a", ent: {"manager": {"value": 5}}}), format!("{ent}:manager.value must be a string")),
            (json!({"userName": "a", ent: {"manager": 5}}), format!("{ent}:manager must be an object")),
        ];
        for (input, expected) in cases {
            let err = user_schema(&registry).canonicalize(&input, &Compat::new(false)).unwrap_err();
            assert_eq!(err.to_string(), expected, "{input}");
        }
    }
}
