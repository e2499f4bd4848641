//! The User resource (RFC 7643 §4.1, §4.3): the columns derived from its canonical form and its
//! rendering with `id` and `meta`.

use super::json_text::{verbatim_members, Meta, ObjectWriter, StoredObject};
use super::projection::Projection;
use super::resource::{Canonical, ResourceSchema};
use super::schema::{Registry, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use super::{check_indexed, check_resource_size, normalize};
use crate::error::{Error, Result};
use crate::store::{UserGroup, UserKeys, UserRow, UserValueRow, UserWrite};
use serde::Serialize;
use serde_json::{Map, Value};

/// Multi-valued attributes whose `value`, `type` and `primary` are indexed in `user_values`.
pub const INDEXED_MULTI_VALUED: [&str; 8] =
    ["emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates"];

pub fn user_schema(registry: &Registry) -> ResourceSchema<'_> {
    ResourceSchema { core: &registry.user, extensions: vec![&registry.enterprise_user], common: &registry.common }
}

/// Sets `active: true` on a new user that does not say (RFC 7643 leaves the default to the
/// service provider; IdPs expect a created user to be active).
pub fn default_active(attrs: &mut Map<String, Value>) {
    attrs.entry("active").or_insert(Value::Bool(true));
}

/// The database columns of a canonical user.
pub fn derive_write(schema: &ResourceSchema<'_>, attrs: &Map<String, Value>) -> Result<UserWrite> {
    let user_name = attrs
        .get("userName")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_value("userName is required"))?
        .to_string();
    // Serialized as it is: `Value::Object(attrs.clone())` copied every value first.
    let data = serde_json::to_string(attrs).map_err(Error::internal)?;
    check_resource_size("user", &data)?;
    Ok(UserWrite {
        user_name,
        keys: keys_of(attrs)?,
        data,
        data_norm: schema.normalized_text(attrs).map_err(Error::internal)?,
    })
}

/// What `attrs` put in the indexes: the indexed columns of a user's row and its index rows.
/// `derive_write` writes them; an update passes the stored user's to `Tx::update_user_row`, which
/// writes only what differs. Each is checked against `MAX_INDEXED_BYTES`.
pub fn keys_of(attrs: &Map<String, Value>) -> Result<UserKeys> {
    let text = |name: &str| attrs.get(name).and_then(Value::as_str);
    let mut values = Vec::new();
    for attr in INDEXED_MULTI_VALUED {
        let Some(Value::Array(items)) = attrs.get(attr) else { continue };
        for (position, item) in items.iter().enumerate() {
            let sub = |name: &str| -> Result<Option<String>> {
                let norm = item.get(name).and_then(Value::as_str).map(normalize);
                check_indexed(format_args!("{attr}.{name}"), norm.as_deref().unwrap_or_default())?;
                Ok(norm)
            };
            values.push(UserValueRow {
                attr,
                position: position as i32,
                value_norm: sub("value")?,
                type_norm: sub("type")?,
                is_primary: item.get("primary").and_then(Value::as_bool),
            });
        }
    }
    let keys = UserKeys {
        user_name_norm: text("userName").map(normalize).unwrap_or_default(),
        external_id: text("externalId").map(str::to_string),
        display_name_norm: text("displayName").map(normalize),
        active: attrs.get("active").and_then(Value::as_bool),
        values,
    };
    check_indexed("userName", &keys.user_name_norm)?;
    check_indexed("externalId", keys.external_id.as_deref().unwrap_or_default())?;
    check_indexed("displayName", keys.display_name_norm.as_deref().unwrap_or_default())?;
    Ok(keys)
}

/// The canonical attributes stored for `row`.
pub fn stored_attrs(row: &UserRow) -> Result<Map<String, Value>> {
    match serde_json::from_str(&row.data) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) | Err(_) => Err(Error::internal(format!("user {} has unreadable stored data", row.id))),
    }
}

/// A user as the client sees it, as JSON text, with `meta.location` under `base_url`.
pub struct RenderedUser {
    pub body: String,
    pub location: String,
    pub etag: String,
}

/// RFC 7644 §3.14: scimd's versions are weak entity tags over the row's version counter.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// One entry of a user's read-only `groups` (RFC 7643 §4.1.2).
#[derive(Serialize)]
struct GroupRef<'a> {
    value: &'a str,
    #[serde(rename = "$ref")]
    reference: String,
    display: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `row` as `projection` shapes it, with the `groups` it is in: the stored attributes are
/// copied as text (see `json_text`).
pub fn render(
    row: &UserRow,
    groups: &[&UserGroup],
    base_url: &str,
    schema: &ResourceSchema<'_>,
    projection: &Projection,
) -> Result<RenderedUser> {
    let location = [base_url, "/Users/", &row.id].concat();
    let etag = etag(row.version);
    let mut w = ObjectWriter::with_capacity(row.data.len() + 256);
    let verbatim =
        projection.keeps_everything().then(|| verbatim_members(&row.data, &COMPUTED, ENTERPRISE_USER_SCHEMA)).flatten();
    if let Some((members, enterprise)) = verbatim {
        w.value("schemas", schemas(enterprise))?;
        w.value("id", &row.id)?;
        w.members(members);
    } else {
        write_parsed(&mut w, row, schema, projection)?;
    }
    if !groups.is_empty() {
        let refs: Vec<GroupRef<'_>> = groups
            .iter()
            .map(|g| GroupRef {
                value: &g.group_id,
                reference: [base_url, "/Groups/", &g.group_id].concat(),
                display: &g.display,
                kind: if g.direct { "direct" } else { "indirect" },
            })
            .collect();
        w.projected_value(schema, projection, "groups", &refs)?;
    }
    let meta = Meta::new("User", row.created_at, row.last_modified, &location, &etag);
    w.projected_value(schema, projection, "meta", &meta)?;
    Ok(RenderedUser { body: w.finish(), location, etag })
}

/// The attributes scimd writes itself and never stores, which a stored copy must not repeat.
const COMPUTED: [&str; 4] = ["schemas", "id", "meta", "groups"];

fn schemas(enterprise: bool) -> &'static [&'static str] {
    match enterprise {
        true => &[USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        false => &[USER_SCHEMA],
    }
}

/// `schemas`, `id` and the stored attributes the projection keeps, decided one by one.
fn write_parsed(
    w: &mut ObjectWriter,
    row: &UserRow,
    schema: &ResourceSchema<'_>,
    projection: &Projection,
) -> Result<()> {
    let stored = StoredObject::parse(&row.data)?;
    w.value("schemas", schemas(stored.contains(ENTERPRISE_USER_SCHEMA)))?;
    w.value("id", &row.id)?;
    w.stored_attributes(&stored, schema, projection, &COMPUTED)
}

/// The password to store, if the client set one (writeOnly, RFC 7643 §4.1.1).
pub fn password_of(c: &Canonical) -> Option<&str> {
    c.write_only.get("password").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::compat::Compat;
    use proptest::prelude::*;
    use serde_json::json;

    fn row(data: String) -> UserRow {
        let t = chrono::DateTime::from_timestamp(1_796_000_000, 123_000_000).unwrap();
        UserRow { pk: 1, id: "u1".into(), data, version: 3, created_at: t, last_modified: t, in_groups: false }
    }

    /// Strings with what could fool a reading of JSON text: quotes, colons, backslashes,
    /// member names scimd computes, and the enterprise URN.
    fn tricky() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z\"\\\\:{},é ]{0,12}",
            Just("id".to_string()),
            Just("\"id\":".to_string()),
            Just("meta\\".to_string()),
            Just(format!("{ENTERPRISE_USER_SCHEMA}\":")),
        ]
    }

    proptest! {
        /// A user whose every attribute is kept is written as its stored members copied
        /// whole, and that is what deciding member by member writes, byte for byte.
        #[test]
        fn a_stored_user_copied_whole_is_written_as_parsed(
            user_name in tricky(),
            title in proptest::option::of(tricky()),
            given in proptest::option::of(tricky()),
            email in proptest::option::of(tricky()),
            department in proptest::option::of(tricky()),
        ) {
            let registry = Registry::load();
            let schema = user_schema(&registry);
            let mut input = json!({"userName": format!("u{user_name}"), "title": title,
                "name": {"givenName": given}, "emails": [{"value": email, "type": "work"}]});
            if department.is_some() {
                input[ENTERPRISE_USER_SCHEMA] = json!({"department": department, "manager": {"value": "m"}});
            }
            let canonical = schema.canonicalize(&input, &Compat::new(false)).unwrap();
            let row = row(derive_write(&schema, &canonical.attrs).unwrap().data);
            let everything = Projection::parse(&schema, None, None);
            prop_assert!(everything.keeps_everything());
            prop_assert!(verbatim_members(&row.data, &COMPUTED, ENTERPRISE_USER_SCHEMA).is_some(), "{}", row.data);
            let written = render(&row, &[], "https://h/scim/v2/t", &schema, &everything).unwrap().body;
            let mut parsed = ObjectWriter::with_capacity(0);
            write_parsed(&mut parsed, &row, &schema, &everything).unwrap();
            let meta = Meta::new("User", row.created_at, row.last_modified, "https://h/scim/v2/t/Users/u1", "W/\"3\"");
            parsed.value("meta", &meta).unwrap();
            prop_assert_eq!(written, parsed.finish());
        }
    }

    #[test]
    fn a_stored_copy_that_repeats_a_computed_member_is_parsed_and_left_without_it() {
        let registry = Registry::load();
        let schema = user_schema(&registry);
        let everything = Projection::parse(&schema, None, None);
        for data in [
            r#"{"userName":"a","id":"forged"}"#,
            r#"{"userName":"a","meta":{"x":1}}"#,
            r#"{"groups":[],"userName":"a"}"#,
        ] {
            assert!(verbatim_members(data, &COMPUTED, ENTERPRISE_USER_SCHEMA).is_none(), "{data}");
            let body: Value =
                serde_json::from_str(&render(&row(data.into()), &[], "b", &schema, &everything).unwrap().body).unwrap();
            assert_eq!((&body["id"], &body["userName"]), (&json!("u1"), &json!("a")), "{data}");
            assert!(body.get("groups").is_none() && body["meta"]["resourceType"] == "User", "{data}");
        }
    }

    #[test]
    fn derived_columns_follow_the_resource() {
        let registry = Registry::load();
        let input = json!({
            "userName": "Alice@Example.COM",
            "externalId": "ext-1",
            "displayName": "Alice",
            "active": false,
            "emails": [{"value": "A@x.com", "type": "Work", "primary": true}, {"value": "b@y.com"}],
        });
        let c = user_schema(&registry).canonicalize(&input, &crate::scim::compat::Compat::new(false)).unwrap();
        let w = derive_write(&user_schema(&registry), &c.attrs).unwrap();
        let norm: Value = serde_json::from_str(&w.data_norm).unwrap();
        assert_eq!(norm["userName"], "alice@example.com");
        assert_eq!(norm["externalId"], "ext-1", "externalId is caseExact");
        assert_eq!(norm["emails"][0]["type"], "work");
        let k = &w.keys;
        assert_eq!((w.user_name.as_str(), k.user_name_norm.as_str()), ("Alice@Example.COM", "alice@example.com"));
        assert_eq!(k.external_id.as_deref(), Some("ext-1"));
        assert_eq!(k.active, Some(false));
        assert_eq!(k.values.len(), 2);
        assert_eq!(k.values[0].value_norm.as_deref(), Some("a@x.com"));
        assert_eq!(k.values[0].type_norm.as_deref(), Some("work"));
        assert_eq!((k.values[0].is_primary, k.values[1].is_primary), (Some(true), None));
    }
}
