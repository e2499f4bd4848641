//! Resources written as JSON text straight from their stored form: an attribute a projection
//! keeps whole is copied as stored, and only one it cuts is parsed. A page of 100 users spent
//! more than half of its CPU parsing each stored document into a `Value`, rebuilding it and
//! serialising it again.

use super::projection::{Keep, Projection};
use super::resource::ResourceSchema;
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// The top-level members of a stored JSON object, in stored order, each value unparsed.
pub struct StoredObject<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> StoredObject<'a> {
    pub fn parse(text: &'a str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::internal(format!("unreadable stored resource: {e}")))
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StoredObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Members;
        /// Borrows the key from the input unless it holds escapes.
        #[derive(Deserialize)]
        struct Key<'a>(#[serde(borrow)] Cow<'a, str>);
        impl<'de> Visitor<'de> for Members {
            type Value = StoredObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    members.push((key, value));
                }
                Ok(StoredObject(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// The members of the stored object `text`, between its braces, when a writer that keeps every
/// attribute may copy them as they stand: none is named `computed` (scimd writes those itself,
/// and a stored copy must not repeat them). Also whether a member is named `flag`. Parsing the
/// object member by member to decide the same was a fifth of a page of users' instructions.
///
/// A member's name is the string before a quote and a colon, the only place JSON text has
/// them side by side: a quote inside a string is escaped, and the name read back from such a
/// quote ends in a backslash. A name nested deeper than the top only sends the caller to
/// the parse. scimd writes stored objects with serde_json, without whitespace.
pub fn verbatim_members<'a>(text: &'a str, computed: &[&str], flag: &str) -> Option<(&'a str, bool)> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let bytes = inner.as_bytes();
    let mut flagged = false;
    for (end, _) in inner.match_indices("\":") {
        let start = bytes[..end].iter().rposition(|&b| b == b'"')? + 1;
        let name = &inner[start..end];
        if computed.contains(&name) {
            return None;
        }
        flagged |= name == flag;
    }
    Some((inner, flagged))
}

/// A resource's `meta` (RFC 7643 §3.1) as scimd writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta<'a> {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: &'a str,
    version: &'a str,
}

impl<'a> Meta<'a> {
    pub fn new(
        resource_type: &'static str,
        created: DateTime<Utc>,
        last_modified: DateTime<Utc>,
        location: &'a str,
        version: &'a str,
    ) -> Self {
        Meta {
            resource_type,
            created: format_datetime(created),
            last_modified: format_datetime(last_modified),
            location,
            version,
        }
    }
}

/// Writes one JSON object member by member.
pub struct ObjectWriter {
    out: String,
    empty: bool,
}

impl ObjectWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        let mut out = String::with_capacity(bytes);
        out.push('{');
        ObjectWriter { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_json_string(&mut self.out, key);
        self.out.push(':');
    }

    /// `members` must be JSON object members, comma-separated, as `verbatim_members` gives.
    pub fn members(&mut self, members: &str) {
        if members.is_empty() {
            return;
        }
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push_str(members);
    }

    /// `json` must be one JSON value.
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.out.push_str(json);
    }

    pub fn value<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<()> {
        self.key(key);
        let text = serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot write {key}: {e}")))?;
        self.out.push_str(&text);
        Ok(())
    }

    /// Writes the member as the projection keeps it, or not at all.
    pub fn projected(
        &mut self,
        schema: &ResourceSchema<'_>,
        projection: &Projection,
        key: &str,
        json: &RawValue,
    ) -> Result<()> {
        match projection.keep(schema, key) {
            Keep::Drop => Ok(()),
            Keep::Whole => {
                self.raw(key, json.get());
                Ok(())
            }
            Keep::Part => {
                let mut value: Value = serde_json::from_str(json.get())
                    .map_err(|e| Error::internal(format!("unreadable stored {key}: {e}")))?;
                if projection.reshape(key, &mut value) {
                    self.value(key, &value)?;
                }
                Ok(())
            }
        }
    }

    /// Every top-level attribute of `stored` the projection keeps, except `computed`: those
    /// scimd writes itself and never stores, which a stored copy must not repeat.
    pub fn stored_attributes(
        &mut self,
        stored: &StoredObject<'_>,
        schema: &ResourceSchema<'_>,
        projection: &Projection,
        computed: &[&str],
    ) -> Result<()> {
        for (key, json) in &stored.0 {
            if !computed.contains(&key.as_ref()) {
                self.projected(schema, projection, key, json)?;
            }
        }
        Ok(())
    }

    /// Like `projected`, for a member computed rather than stored.
    pub fn projected_value<T: Serialize>(
        &mut self,
        schema: &ResourceSchema<'_>,
        projection: &Projection,
        key: &str,
        value: &T,
    ) -> Result<()> {
        match projection.keep(schema, key) {
            Keep::Drop => Ok(()),
            Keep::Whole => self.value(key, value),
            Keep::Part => {
                let mut value =
                    serde_json::to_value(value).map_err(|e| Error::internal(format!("cannot write {key}: {e}")))?;
                if projection.reshape(key, &mut value) {
                    self.value(key, &value)?;
                }
                Ok(())
            }
        }
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::from(s).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use crate::scim::user::user_schema;
    use serde_json::json;

    #[test]
    fn stored_members_keep_their_order_and_text() {
        let text = r#"{"userName":"a\"b","emails":[{"value":"x"}],"k\u0065y":1,"active":true}"#;
        let stored = StoredObject::parse(text).unwrap();
        let keys: Vec<&str> = stored.0.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["userName", "emails", "key", "active"]);
        assert_eq!(stored.0[0].1.get(), r#""a\"b""#);
        assert!(stored.contains("emails") && !stored.contains("name"));
        for bad in ["[1]", "{", "", "{\"a\":}"] {
            assert!(StoredObject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stored_members_are_copied_whole_unless_one_is_computed() {
        let computed = ["id", "meta"];
        let cases: &[(&str, Option<bool>)] = &[
            (r#"{"userName":"a","urn:x":{"k":1}}"#, Some(true)),
            (r#"{"userName":"a"}"#, Some(false)),
            (r#"{}"#, Some(false)),
            (r#"{"userName":"a","id":"x"}"#, None),
            (r#"{"meta":{},"userName":"a"}"#, None),
            // A computed name deeper down sends the writer to the parse all the same.
            (r#"{"emails":[{"id":1}]}"#, None),
            // Inside strings, quotes are escaped: neither is a member's name.
            (r#"{"title":"\"id\":1","nickName":"urn:x\":"}"#, Some(false)),
            (r#"{"title":"x\\","nickName":"urn:x"}"#, Some(false)),
            ("[1]", None),
        ];
        for (text, want) in cases {
            let got = verbatim_members(text, &computed, "urn:x");
            assert_eq!(got.map(|(_, flagged)| flagged), *want, "{text}");
            if let Some((members, _)) = got {
                assert_eq!(format!("{{{members}}}"), *text);
            }
        }
    }

    #[test]
    fn written_objects_are_the_projected_resource() {
        let registry = Registry::load();
        let schema = user_schema(&registry);
        let stored =
            r#"{"userName":"b","name":{"givenName":"G","familyName":"F"},"emails":[{"value":"a@x","type":"work"}]}"#;
        let cases: &[(Option<&str>, Option<&str>, Value)] = &[
            (
                None,
                None,
                json!({"id": "1", "userName": "b", "name": {"givenName": "G", "familyName": "F"},
                "emails": [{"value": "a@x", "type": "work"}], "meta": {"version": "W/\"1\""}}),
            ),
            (Some("userName"), None, json!({"id": "1", "userName": "b"})),
            (
                Some("name.givenName,meta.version"),
                None,
                json!({"id": "1", "name": {"givenName": "G"}, "meta": {"version": "W/\"1\""}}),
            ),
            (None, Some("emails.type,meta,name"), json!({"id": "1", "userName": "b", "emails": [{"value": "a@x"}]})),
        ];
        for (attributes, excluded, want) in cases {
            let projection = Projection::parse(&schema, *attributes, *excluded);
            let mut w = ObjectWriter::with_capacity(64);
            w.raw("id", "\"1\"");
            for (key, json) in &StoredObject::parse(stored).unwrap().0 {
                w.projected(&schema, &projection, key, json).unwrap();
            }
            w.projected_value(&schema, &projection, "meta", &json!({"version": "W/\"1\""})).unwrap();
            let written: Value = serde_json::from_str(&w.finish()).unwrap();
            assert_eq!(&written, want, "{attributes:?} {excluded:?}");
        }
        let mut w = ObjectWriter::with_capacity(0);
        w.value("quote\"d\n", "v").unwrap();
        assert_eq!(w.finish(), r#"{"quote\"d\n":"v"}"#);
    }
}
