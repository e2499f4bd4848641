//! The normalised form of a resource's attributes as JSON text (`data_norm`): every
//! caseExact=false string lowercased and every dateTime in one UTC form, the document that
//! filters on unindexed attributes compare against.
//!
//! Serialized straight from the attributes: building the normalised `Value` first copied every
//! key and value of the resource, on every write.

use super::resource::{Located, ResourceSchema};
use super::schema::{AttrType, AttributeDef, SchemaDef};
use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value};

impl ResourceSchema<'_> {
    /// `attrs` normalised, as JSON text.
    pub fn normalized_text(&self, attrs: &Map<String, Value>) -> serde_json::Result<String> {
        serde_json::to_string(&Resource { schema: self, attrs })
    }
}

struct Resource<'a, 'r> {
    schema: &'a ResourceSchema<'r>,
    attrs: &'a Map<String, Value>,
}

impl Serialize for Resource<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.attrs.iter().map(|(name, value)| {
            let normalized = match self.schema.locate(name) {
                Located::Core(def) | Located::Common(def) => Attribute::Defined(def, value),
                Located::Extension(ext) => Attribute::Extension(ext, value),
                _ => Attribute::AsIs(value),
            };
            (name, normalized)
        }))
    }
}

enum Attribute<'a> {
    Defined(&'a AttributeDef, &'a Value),
    /// An extension's object: its fields normalised by the extension's attribute of that name.
    Extension(&'a SchemaDef, &'a Value),
    AsIs(&'a Value),
}

impl Serialize for Attribute<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Attribute::Defined(def, value) => serialize_value(def, value, s),
            Attribute::Extension(ext, Value::Object(fields)) => s.collect_map(
                fields
                    .iter()
                    .map(|(k, v)| (k, ext.attribute(k).map_or(Attribute::AsIs(v), |d| Attribute::Defined(d, v)))),
            ),
            Attribute::Extension(_, value) | Attribute::AsIs(value) => value.serialize(s),
        }
    }
}

fn serialize_value<S: Serializer>(def: &AttributeDef, value: &Value, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Value::Array(items) => s.collect_seq(items.iter().map(|v| Attribute::Defined(def, v))),
        Value::Object(fields) if def.ty == AttrType::Complex => s.collect_map(
            fields
                .iter()
                .map(|(k, v)| (k, def.sub_attribute(k).map_or(Attribute::AsIs(v), |d| Attribute::Defined(d, v)))),
        ),
        Value::String(text) if def.ty == AttrType::DateTime => match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(t) => s.serialize_str(&crate::clock::format_datetime(t.with_timezone(&chrono::Utc))),
            Err(_) => s.serialize_str(text),
        },
        Value::String(text) if !def.case_exact() => s.serialize_str(&super::normalize(text)),
        other => other.serialize(s),
    }
}

#[cfg(test)]
mod tests {
    use crate::scim::resource::ResourceSchema;
    use crate::scim::schema::SchemaDef;
    use serde_json::json;

    fn schema(value: serde_json::Value) -> SchemaDef {
        serde_json::from_value(value).unwrap()
    }

    fn attribute(name: &str, ty: &str, case_exact: bool) -> serde_json::Value {
        json!({"name": name, "type": ty, "multiValued": false, "required": false, "caseExact": case_exact,
               "mutability": "readWrite", "returned": "default"})
    }

    #[test]
    fn strings_fold_by_case_exactness_datetimes_go_to_utc_and_the_rest_stays_in_order() {
        let mut tags = attribute("tags", "complex", false);
        tags["multiValued"] = json!(true);
        tags["subAttributes"] = json!([attribute("value", "string", false), attribute("kind", "string", true)]);
        let core = schema(json!({"id": "urn:x:core", "name": "Core", "attributes": [
            attribute("name", "string", false), attribute("code", "string", true),
            attribute("since", "dateTime", false), attribute("count", "integer", false), tags]}));
        let common = schema(json!({"id": "urn:x:common", "name": "Common", "attributes": [
            attribute("externalId", "string", true)]}));
        let ext = schema(json!({"id": "urn:x:ext", "name": "Ext", "attributes": [attribute("dept", "string", false)]}));
        let resource = ResourceSchema { core: &core, extensions: vec![&ext], common: &common };
        let attrs = json!({
            "Name": "Ada \"Q\" LOVELACE",
            "code": "AbC",
            "since": "2026-12-03T15:04:05.120+02:00",
            "count": 7,
            "tags": [{"value": "Ä-Tag", "kind": "Big", "extra": "KeepS"}, {"value": "TWO"}],
            "externalId": "Ext-1",
            "urn:x:ext": {"dept": "R&D", "unknown": "As-Is"},
            "other": "MiXed",
        });
        let text = resource.normalized_text(attrs.as_object().unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"Name":"ada \"q\" lovelace","code":"AbC","since":"2026-12-03T13:04:05.120Z","count":7,"tags":[{"value":"ä-tag","kind":"Big","extra":"KeepS"},{"value":"two"}],"externalId":"Ext-1","urn:x:ext":{"dept":"r&d","unknown":"As-Is"},"other":"MiXed"}"#
        );
        let odd = json!({"since": "not a time", "urn:x:ext": "not an object", "tags": "Not-A-List"});
        assert_eq!(
            resource.normalized_text(odd.as_object().unwrap()).unwrap(),
            r#"{"since":"not a time","urn:x:ext":"not an object","tags":"not-a-list"}"#
        );
    }
}
