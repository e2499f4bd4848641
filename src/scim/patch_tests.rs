//! Table-driven tests of the PATCH engine on canonical users.

use super::compat::Compat;
use super::patch::{apply, parse_request, OpKind};
use super::schema::Registry;
use super::user::user_schema;
use crate::error::{Error, ScimType};
use serde_json::{json, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn base() -> Value {
    json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "b@x.com", "type": "work", "primary": true}],
    })
}

/// Applies `ops` to `base()` and re-validates, as the service does.
fn run(ops: Value) -> Result<Value, Error> {
    let registry = Registry::load();
    let schema = user_schema(&registry);
    let compat = Compat::new(false);
    let ops = parse_request(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        &compat,
    )?;
    let Value::Object(mut doc) = base() else { unreachable!() };
    apply(&schema, &mut doc, &ops, &compat)?;
    let c = schema.canonicalize(&Value::Object(doc), &compat)?;
    Ok(Value::Object(c.attrs))
}

/// (case name, operations, what must hold of the patched user)
type Case = (&'static str, Value, Box<dyn Fn(&Value) -> bool>);

#[test]
fn operations_change_what_rfc_7644_says() {
    let cases: Vec<Case> = vec![
        (
            "okta deactivate, no path",
            json!([{"op": "replace", "value": {"active": false}}]),
            Box::new(|u| u["active"] == false),
        ),
        (
            "replace by path",
            json!([{"op": "replace", "path": "active", "value": false}]),
            Box::new(|u| u["active"] == false),
        ),
        (
            "capitalised op",
            json!([{"op": "Replace", "path": "displayName", "value": "B"}]),
            Box::new(|u| u["displayName"] == "B"),
        ),
        (
            "sub-attribute path",
            json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}]),
            Box::new(|u| u["name"]["givenName"] == "Babs" && u["name"]["familyName"] == "Jensen"),
        ),
        (
            "complex replace merges",
            json!([{"op": "replace", "path": "name", "value": {"middleName": "J"}}]),
            Box::new(|u| u["name"]["middleName"] == "J" && u["name"]["givenName"] == "Barbara"),
        ),
        (
            "path-less dotted key",
            json!([{"op": "replace", "value": {"name.familyName": "Doe"}}]),
            Box::new(|u| u["name"]["familyName"] == "Doe"),
        ),
        (
            "add appends to multi-valued",
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@y.com", "type": "home"}]}]),
            Box::new(|u| u["emails"].as_array().unwrap().len() == 2),
        ),
        (
            "add of an equal value is a no-op",
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@x.com", "type": "work", "primary": true}]}]),
            Box::new(|u| u["emails"].as_array().unwrap().len() == 1),
        ),
        (
            "replace swaps the whole multi-valued attribute",
            json!([{"op": "replace", "path": "emails", "value": [{"value": "z@z.com"}]}]),
            Box::new(|u| u["emails"] == json!([{"value": "z@z.com"}])),
        ),
        ("remove attribute", json!([{"op": "remove", "path": "name"}]), Box::new(|u| u.get("name").is_none())),
        (
            "remove sub-attribute",
            json!([{"op": "remove", "path": "name.givenName"}]),
            Box::new(|u| u["name"].get("givenName").is_none()),
        ),
        (
            "remove of an absent attribute is a no-op",
            json!([{"op": "remove", "path": "title"}]),
            Box::new(|u| u["userName"] == "bjensen"),
        ),
        (
            "urn-qualified extension path",
            json!([{"op": "add", "path": format!("{ENT}:department"), "value": "Sales"}]),
            Box::new(|u| u[ENT]["department"] == "Sales"),
        ),
        (
            "path-less extension object",
            json!([{"op": "replace", "value": {ENT: {"employeeNumber": "42"}}}]),
            Box::new(|u| u[ENT]["employeeNumber"] == "42"),
        ),
        (
            "path-less urn-qualified key",
            json!([{"op": "replace", "value": {format!("{ENT}:costCenter"): "CC"}}]),
            Box::new(|u| u[ENT]["costCenter"] == "CC"),
        ),
        (
            "echoed id and schemas are ignored",
            json!([{"op": "replace", "value": {"id": "x", "schemas": [], "displayName": "D"}}]),
            Box::new(|u| u["displayName"] == "D" && u.get("id").is_none()),
        ),
        (
            "null value unassigns",
            json!([{"op": "replace", "path": "active", "value": null}]),
            Box::new(|u| u.get("active").is_none()),
        ),
        (
            "ops apply in order",
            json!([{"op": "replace", "path": "title", "value": "A"}, {"op": "replace", "path": "title", "value": "B"}]),
            Box::new(|u| u["title"] == "B"),
        ),
        (
            "a new primary clears the old one",
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@y.com", "primary": true}]}]),
            Box::new(|u| u["emails"][0]["primary"] == false && u["emails"][1]["primary"] == true),
        ),
        (
            "a new primary sent as a string clears the old one (Entra's validator)",
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@y.com", "primary": "True"}]}]),
            Box::new(|u| u["emails"][0]["primary"] == false && u["emails"][1]["primary"] == true),
        ),
        (
            "a primary set through a filter as a string clears the old one",
            json!([
                {"op": "add", "path": "emails", "value": [{"value": "c@y.com", "type": "home"}]},
                {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "true"},
            ]),
            Box::new(|u| u["emails"][0]["primary"] == false && u["emails"][1]["primary"] == true),
        ),
        (
            "a primary \"false\" string clears nothing",
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@y.com", "primary": "false"}]}]),
            Box::new(|u| u["emails"][0]["primary"] == true && u["emails"][1]["primary"] == false),
        ),
        (
            "replace a filtered sub-attribute (Entra)",
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"}]),
            Box::new(|u| u["emails"] == json!([{"value": "new@x.com", "type": "work", "primary": true}])),
        ),
        (
            "filters compare case-insensitively",
            json!([{"op": "replace", "path": "emails[type eq \"WORK\"].value", "value": "n@x.com"}]),
            Box::new(|u| u["emails"][0]["value"] == "n@x.com"),
        ),
        (
            "add to a filter that matches nothing creates the element (Entra)",
            json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555"}]),
            Box::new(|u| u["phoneNumbers"] == json!([{"type": "mobile", "value": "555"}])),
        ),
        (
            "replace by primary filter",
            json!([{"op": "replace", "path": "emails[primary eq true].display", "value": "Main"}]),
            Box::new(|u| u["emails"][0]["display"] == "Main"),
        ),
        (
            "remove by filter",
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
            Box::new(|u| u.get("emails").is_none()),
        ),
        (
            "remove by a filter matching nothing is a no-op",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            Box::new(|u| u["emails"].as_array().unwrap().len() == 1),
        ),
        (
            "remove a filtered sub-attribute",
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
            Box::new(|u| u["emails"][0].get("primary").is_none()),
        ),
        (
            "replace a matched element whole",
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@x.com", "type": "work"}}]),
            Box::new(|u| u["emails"] == json!([{"value": "w@x.com", "type": "work"}])),
        ),
        (
            "remove with value (Entra members style)",
            json!([{"op": "Remove", "path": "emails", "value": [{"$ref": null, "value": "B@X.COM"}]}]),
            Box::new(|u| u.get("emails").is_none()),
        ),
        (
            "add values already there, in another case or twice in one operation",
            json!([{"op": "add", "path": "emails", "value": [
                {"value": "B@X.COM"}, {"value": "n@x.com", "type": "home"}, {"value": "N@x.com"}
            ]}]),
            Box::new(|u| {
                u["emails"].as_array().map(Vec::len) == Some(2)
                    && u["emails"][1] == json!({"value": "n@x.com", "type": "home"})
            }),
        ),
        (
            "add an element without value that is there with its members in another order",
            json!([
                {"op": "add", "path": "addresses", "value": [{"type": "work", "locality": "Oslo"}]},
                {"op": "add", "path": "addresses", "value": [{"locality": "Oslo", "type": "work"}, {"locality": "Bergen"}]}
            ]),
            Box::new(|u| u["addresses"].as_array().map(Vec::len) == Some(2)),
        ),
        (
            "remove by value takes only the values listed",
            json!([
                {"op": "add", "path": "emails", "value": [{"value": "k@x.com"}]},
                {"op": "remove", "path": "emails", "value": [{"value": "b@x.com"}, {"value": "absent@x.com"}]}
            ]),
            Box::new(|u| u["emails"] == json!([{"value": "k@x.com"}])),
        ),
        (
            "remove every element a filter matches, apart from each other",
            json!([
                {"op": "add", "path": "emails", "value": [
                    {"value": "h1@x.com", "type": "home"}, {"value": "w2@x.com", "type": "work"},
                    {"value": "h2@x.com", "type": "home"}, {"value": "w3@x.com", "type": "work"}
                ]},
                {"op": "remove", "path": "emails[type eq \"work\"]"}
            ]),
            Box::new(|u| {
                u["emails"] == json!([{"value": "h1@x.com", "type": "home"}, {"value": "h2@x.com", "type": "home"}])
            }),
        ),
        (
            "string booleans (Entra default mode)",
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            Box::new(|u| u["active"] == false),
        ),
        (
            "manager as a bare id (Entra)",
            json!([{"op": "add", "path": format!("{ENT}:manager"), "value": "m-1"}]),
            Box::new(|u| u[ENT]["manager"] == json!({"value": "m-1"})),
        ),
        (
            "manager object (MS validator)",
            json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": "m-2"}}]),
            Box::new(|u| u[ENT]["manager"] == json!({"value": "m-2"})),
        ),
        (
            "the extension replaced whole",
            json!([{"op": "replace", "path": ENT, "value": {"department": "X"}}]),
            Box::new(|u| u[ENT] == json!({"department": "X"})),
        ),
        (
            "the extension removed whole",
            json!([{"op": "add", "path": format!("{ENT}:division"), "value": "D"}, {"op": "remove", "path": ENT}]),
            Box::new(|u| u.get(ENT).is_none()),
        ),
        (
            "password goes to the writeOnly side",
            json!([{"op": "replace", "path": "password", "value": "s3cret"}]),
            Box::new(|u| u.get("password").is_none()),
        ),
    ];
    for (name, ops, check) in cases {
        let out = run(ops).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(check(&out), "{name}: {out}");
    }
}

#[test]
fn bad_operations_get_the_right_scim_type() {
    let cases: Vec<(&str, Value, ScimType)> = vec![
        ("unknown op", json!([{"op": "move", "path": "title", "value": "x"}]), ScimType::InvalidSyntax),
        ("add without value", json!([{"op": "add", "path": "title"}]), ScimType::InvalidSyntax),
        ("remove without path", json!([{"op": "remove"}]), ScimType::NoTarget),
        ("read-only id", json!([{"op": "replace", "path": "id", "value": "x"}]), ScimType::Mutability),
        ("read-only meta", json!([{"op": "replace", "path": "meta.created", "value": "x"}]), ScimType::Mutability),
        ("read-only groups", json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]), ScimType::Mutability),
        ("unknown attribute", json!([{"op": "replace", "path": "nosuch", "value": "x"}]), ScimType::InvalidPath),
        (
            "unknown sub-attribute",
            json!([{"op": "replace", "path": "name.nosuch", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        ("wrong type", json!([{"op": "replace", "path": "active", "value": "maybe"}]), ScimType::InvalidValue),
        ("remove required userName", json!([{"op": "remove", "path": "userName"}]), ScimType::InvalidValue),
        ("path-less with non-object", json!([{"op": "replace", "value": "x"}]), ScimType::InvalidSyntax),
        ("path not a string", json!([{"op": "replace", "path": 7, "value": "x"}]), ScimType::InvalidPath),
        (
            "filter on a singular attribute",
            json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": {}}]),
            ScimType::InvalidPath,
        ),
        (
            "filter naming no sub-attribute",
            json!([{"op": "replace", "path": "emails[nope eq \"x\"].value", "value": "v"}]),
            ScimType::InvalidPath,
        ),
        ("unparseable path", json!([{"op": "replace", "path": "emails[type eq", "value": "v"}]), ScimType::InvalidPath),
        (
            "filter that describes no element",
            json!([{"op": "replace", "path": "emails[type co \"x\"].value", "value": "v"}]),
            ScimType::NoTarget,
        ),
    ];
    for (name, ops, want) in cases {
        match run(ops) {
            Err(Error::BadRequest { scim_type, .. }) => assert_eq!(scim_type, want, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn the_message_itself_is_checked() {
    let compat = Compat::new(false);
    let ok = parse_request(&json!({"Operations": [{"Op": "ADD", "Path": "title", "Value": "x"}]}), &compat).unwrap();
    assert_eq!(ok[0].op, OpKind::Add);
    let empty = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "operations": []});
    assert!(parse_request(&empty, &compat).unwrap().is_empty());
    for bad in [
        json!([]),
        json!({}),
        json!({"Operations": {}}),
        json!({"schemas": ["wrong"], "Operations": []}),
        json!({"Operations": [1]}),
    ] {
        assert!(parse_request(&bad, &compat).is_err(), "{bad}");
    }
    // Strict mode takes the message only as RFC 7644 spells it.
    let strict = Compat::new(true);
    let p = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    for quirky in [
        json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
        json!({"schemas": [p], "Operations": [{"op": "Add", "path": "title", "value": "x"}]}),
        json!({"schemas": [p], "operations": [{"op": "add", "path": "title", "value": "x"}]}),
        json!({"schemas": [p], "Operations": []}),
    ] {
        assert!(parse_request(&quirky, &strict).is_err(), "{quirky}");
    }
}

/// Operations times the elements they visit is bounded (`MAX_PATCH_VISITS`): 2,000 adds of
/// one email each visit about two million; a hundred adds beside a thousand emails, 100,000.
#[test]
fn a_patch_visits_a_bounded_number_of_elements() {
    let add = |i: usize| json!({"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.com")}]});
    match run(Value::Array((0..2_000).map(add).collect())) {
        Err(Error::BadRequest { scim_type, .. }) => assert_eq!(scim_type, ScimType::TooMany),
        other => panic!("{other:?}"),
    }
    let many = json!({"op": "add", "path": "emails", "value": (0..1_000).map(|i| json!({"value": format!("m{i}@x.com")})).collect::<Vec<_>>()});
    let ops: Vec<Value> = std::iter::once(many).chain((0..100).map(add)).collect();
    let out = run(Value::Array(ops)).unwrap();
    assert_eq!(out["emails"].as_array().map(Vec::len), Some(1 + 1_000 + 100));
    let filtered =
        |i: usize| json!({"op": "replace", "path": format!("emails[value eq \"m{i}@x.com\"].type"), "value": "home"});
    let ops: Vec<Value> = std::iter::once(json!({"op": "add", "path": "emails", "value": (0..1_000).map(|i| json!({"value": format!("m{i}@x.com")})).collect::<Vec<_>>()}))
        .chain((0..1_000).map(filtered))
        .collect();
    match run(Value::Array(ops)) {
        Err(Error::BadRequest { scim_type, .. }) => assert_eq!(scim_type, ScimType::TooMany),
        other => panic!("{other:?}"),
    }
}
