//! Any PATCH a client can send, drawn from paths and values that reach every branch of the
//! engine, well-formed or not: the engine and the validation after it answer a client error
//! or a user that validates again, and never panic or fail as scimd's own fault.

use super::compat::Compat;
use super::patch::{apply, parse_request};
use super::schema::Registry;
use super::user::{derive_write, user_schema};
use crate::error::Error;
use proptest::prelude::*;
use serde_json::{json, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn path() -> impl Strategy<Value = Option<String>> {
    let paths: Vec<String> = [
        "emails",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "emails[value pr].primary",
        "emails[not (type eq \"x\")]",
        "EMAILS[TYPE EQ \"work\"].Display",
        "emails.value",
        "emails[",
        "emails[type eq \"work\"].nosuch",
        "name",
        "name.givenName",
        "name[givenName eq \"x\"]",
        "active",
        "userName",
        "displayName",
        "externalId",
        "password",
        "id",
        "meta.created",
        "groups",
        "members",
        "x509Certificates",
        "roles[primary eq true]",
        "addresses[type eq \"home\"].locality",
        "phoneNumbers",
        "nosuch",
        "",
        ENT,
        &format!("{ENT}:manager"),
        &format!("{ENT}:manager.value"),
        &format!("{ENT}:department"),
        "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
        "urn:nosuch:schema:attr",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    prop_oneof![Just(None), prop::sample::select(paths).prop_map(Some)]
}

fn value() -> impl Strategy<Value = Option<Value>> {
    let values = vec![
        json!(null),
        json!(true),
        json!("False"),
        json!("x@y.io"),
        json!(""),
        json!(7),
        json!(1.5),
        json!([]),
        json!([1, 2]),
        json!([{"value": "a@x.io"}]),
        json!([{"value": "A@X.IO", "primary": true}, {"value": "b@x.io", "primary": "true"}]),
        json!([{"primary": true}]),
        json!({"value": "m-1"}),
        json!({"givenName": "G", "familyName": null}),
        json!({"active": false}),
        json!({"emails": [{"value": "z@x.io", "type": "work"}]}),
        json!({"name.givenName": "Q"}),
        json!({"id": "other", "meta": {}, "schemas": []}),
        json!({ENT: {"department": "D"}}),
        json!({format!("{ENT}:manager"): ""}),
        json!({"": 1, "nosuch": [1]}),
        json!({"userName": null}),
        json!({"value": {"nested": [true]}}),
    ];
    prop_oneof![Just(None), prop::sample::select(values).prop_map(Some)]
}

/// `{"op", "path"?, "value"?}`.
fn operation_of(op: &str, path: Option<&str>, value: Option<Value>) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("op".into(), json!(op));
    if let Some(p) = path {
        o.insert("path".into(), json!(p));
    }
    if let Some(v) = value {
        o.insert("value".into(), v);
    }
    Value::Object(o)
}

fn operation() -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec!["add", "replace", "remove", "Add", "REPLACE", "Remove", "move", ""]);
    (ops, path(), value()).prop_map(|(op, path, value)| operation_of(op, path.as_deref(), value))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_patch_is_applied_whole_or_refused_as_the_clients_mistake(
        ops in prop::collection::vec(operation(), 0..6),
        strict in any::<bool>(),
    ) {
        let registry = Registry::load();
        let schema = user_schema(&registry);
        let compat = Compat::new(strict);
        let user = json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara"},
            "active": true,
            "emails": [
                {"value": "b@x.io", "type": "work", "primary": true},
                {"value": "h@x.io", "type": "home"},
                {"value": "w@x.io", "type": "work"},
            ],
            "phoneNumbers": [{"value": "+1 555", "type": "work"}, {"value": "+1 556"}],
            "addresses": [{"type": "home", "locality": "Oslo", "primary": true}],
            "roles": [{"value": "admin", "primary": true}, {"value": "user"}],
            "x509Certificates": [{"value": "MIIB"}],
            ENT: {"manager": {"value": "m-0"}, "department": "Sales"},
        });
        let Value::Object(mut doc) = user else { unreachable!() };
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let outcome = parse_request(&body, &compat)
            .and_then(|ops| apply(&schema, &mut doc, &ops, &compat))
            .and_then(|()| schema.canonicalize(&Value::Object(doc), &compat))
            .and_then(|c| derive_write(&schema, &c.attrs).map(|_| c));
        match outcome {
            Ok(c) => {
                // What is stored validates again as it is.
                let again = schema.canonicalize(&Value::Object(c.attrs.clone()), &compat);
                prop_assert!(again.as_ref().is_ok_and(|a| a.attrs == c.attrs), "{:?} then {:?}", c.attrs, again);
            }
            Err(Error::BadRequest { .. }) => {}
            Err(other) => prop_assert!(false, "{body}: {other:?}"),
        }
    }
}

fn group_operation() -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec!["add", "replace", "remove", "Remove", "move"]);
    let paths = prop::sample::select(vec![
        None,
        Some("members"),
        Some("members[value eq \"u-1\"]"),
        Some("members[value eq \"u-1\"].display"),
        Some("members[type eq \"User\"]"),
        Some("members[value eq"),
        Some("displayName"),
        Some("externalId"),
        Some("id"),
        Some("nosuch"),
        Some("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
    ]);
    let values = prop::sample::select(vec![
        None,
        Some(json!(null)),
        Some(json!("G")),
        Some(json!("")),
        Some(json!(3)),
        Some(json!([])),
        Some(json!([{"value": "u-1"}, {"value": "u-1", "$ref": null}])),
        Some(json!([{"value": "g-2", "type": "Group"}, {"value": "u-3", "type": "Robot"}])),
        Some(json!([{"display": "no value"}])),
        Some(json!({"value": "u-4"})),
        Some(json!({"members": [{"value": "u-5"}], "displayName": "N", "id": "g"})),
        Some(json!({"externalId": "e", "members": "x"})),
    ]);
    (ops, paths, values).prop_map(|(op, path, value)| operation_of(op, path, value))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A group's PATCH is split into member changes (for the store) and the rest (for the
    /// engine); either part is a client error or a group that validates.
    #[test]
    fn any_group_patch_is_split_and_applied_or_refused_as_the_clients_mistake(
        ops in prop::collection::vec(group_operation(), 0..6),
        strict in any::<bool>(),
    ) {
        use super::group::{derive_write as derive_group, group_schema, split_ops, GroupOp};
        let registry = Registry::load();
        let schema = group_schema(&registry);
        let compat = Compat::new(strict);
        let Value::Object(mut doc) = json!({"displayName": "Engineering", "externalId": "x-1"}) else { unreachable!() };
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let outcome = parse_request(&body, &compat).and_then(|ops| split_ops(ops, &compat)).and_then(|split| {
            let attributes: Vec<_> = split
                .into_iter()
                .filter_map(|op| match op {
                    GroupOp::Attributes(op) => Some(op),
                    _ => None,
                })
                .collect();
            apply(&schema, &mut doc, &attributes, &compat)?;
            let c = schema.canonicalize(&Value::Object(doc), &compat)?;
            derive_group(&schema, &c.attrs).map(|_| ())
        });
        match outcome {
            Ok(()) | Err(Error::BadRequest { .. }) => {}
            Err(other) => prop_assert!(false, "{body}: {other:?}"),
        }
    }
}
