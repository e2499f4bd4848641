//! PATCH `remove` at `members[filter]` with any filter on a member's `value` and `type` (and
//! `display`: member_display.rs), not
//! only Okta's and Entra's `value eq "id"` (RFC 7644 §3.5.2.2: "the matching records are
//! removed"), and a member's id in any case wherever one is named.

use crate::events::{admin_token, events};
use crate::groups::{group_members, users};
use crate::helpers::{patch_op, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn remove(app: &TestApp, group: &str, filter: &str) -> crate::helpers::Response {
    let body = patch_op(json!([{"op": "remove", "path": format!("members[{filter}]")}]));
    app.patch(&format!("/Groups/{group}"), body).await
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

scim_test!(a_remove_filter_removes_the_members_it_matches, |app| {
    let admin = admin_token(&app);
    let u = users(&app, 4, "f").await;
    let inner = app.post("/Groups", json!({"displayName": "inner"})).await.body["id"].as_str().unwrap().to_string();
    let members: Vec<Value> = u.iter().map(|id| json!({"value": id})).chain([json!({"value": inner})]).collect();
    let g = app.post("/Groups", json!({"displayName": "outer", "members": members})).await.body;
    let gid = g["id"].as_str().unwrap().to_string();
    // Another group with the same members keeps them all.
    let members: Vec<Value> = u.iter().map(|id| json!({"value": id})).collect();
    let other = app.post("/Groups", json!({"displayName": "other", "members": members})).await.body;
    let other = other["id"].as_str().unwrap().to_string();

    assert_eq!(remove(&app, &gid, "type eq \"group\"").await.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&u.iter().collect::<Vec<_>>()));
    let r = remove(&app, &gid, &format!("value eq \"{}\" and type eq \"User\"", u[0])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[1], &u[2], &u[3]]));
    let r = remove(&app, &gid, &format!("not (value eq \"{}\") and value ne \"{}\"", u[1], u[2])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[1], &u[2]]));
    // A filter that matches nothing changes nothing: no new version, no event.
    let before = app.get(&format!("/Groups/{gid}")).await.body;
    let seen = events(&app, &admin, 0, 1000).await.len();
    assert_eq!(remove(&app, &gid, "type eq \"Group\"").await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/Groups/{gid}")).await.body, before);
    assert_eq!(events(&app, &admin, 0, 1000).await.len(), seen);
    assert_eq!(remove(&app, &gid, "value pr").await.status, StatusCode::NO_CONTENT);
    assert!(group_members(&app, &gid).await.is_empty());
    assert_eq!(group_members(&app, &other).await.len(), 4, "another group's memberships stay");

    let removed: Vec<Value> = events(&app, &admin, 0, 1000)
        .await
        .into_iter()
        .filter(|e| e["type"] == "group.member_removed" && e["resource_id"] == gid.as_str())
        .map(|e| {
            // One event per operation; within one, in no particular order.
            let mut members = e["data"]["members"].as_array().unwrap().clone();
            members.sort_by_key(|m| m["value"].as_str().unwrap().to_string());
            Value::Array(members)
        })
        .collect();
    let mut last_two = vec![json!({"value": u[1], "type": "User"}), json!({"value": u[2], "type": "User"})];
    last_two.sort_by_key(|m| m["value"].as_str().unwrap().to_string());
    assert_eq!(
        removed,
        [
            json!([{"value": inner, "type": "Group"}]),
            json!([{"value": u[0], "type": "User"}]),
            json!([{"value": u[3], "type": "User"}]),
            Value::Array(last_two),
        ]
    );
});

scim_test!(a_remove_filter_that_cannot_select_members_is_refused_and_applies_nothing, |app| {
    let u = users(&app, 2, "bad").await;
    let g = app.post("/Groups", json!({"displayName": "g", "members": [{"value": u[0]}]})).await.body;
    let gid = g["id"].as_str().unwrap().to_string();
    for (filter, scim_type) in [
        ("userName eq \"x\"", "invalidFilter"),
        ("value eq", "invalidPath"),
        ("emails eq \"x\"", "invalidFilter"),
        ("value.sub eq \"x\"", "invalidFilter"),
        ("type gt 5", "invalidFilter"),
    ] {
        let ops = json!([
            {"op": "add", "path": "members", "value": [{"value": u[1]}]},
            {"op": "remove", "path": format!("members[{filter}]")},
        ]);
        let r = app.patch(&format!("/Groups/{gid}"), patch_op(ops)).await;
        r.assert_error(400, Some(scim_type));
        assert_eq!(group_members(&app, &gid).await, set(&[&u[0]]), "{filter}: nothing applied");
    }
    // A filtered path on a member's sub-attribute stays immutable.
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "remove", "path": "members[type eq \"User\"].display"}])),
        )
        .await;
    r.assert_error(400, Some("mutability"));
});

scim_test!(member_ids_compare_case_insensitively_in_filters_and_remove_paths, |app| {
    // RFC 7643 §8.7.1, schemas/Group.json: a member's value is caseExact=false.
    let u = users(&app, 3, "case").await;
    let members: Vec<Value> = u.iter().map(|id| json!({"value": id})).collect();
    let gid = app.post("/Groups", json!({"displayName": "g", "members": members})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let q = form_urlencoded::byte_serialize(format!("members.value eq \"{}\"", u[0].to_uppercase()).as_bytes())
        .collect::<String>();
    assert_eq!(app.get(&format!("/Groups?filter={q}")).await.body["totalResults"], 1);
    // By id (Okta's and Entra's form), and by a filter read from the memberships.
    let r = remove(&app, &gid, &format!("value eq \"{}\"", u[1].to_uppercase())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[0], &u[2]]));
    let r = remove(&app, &gid, &format!("value eq \"{}\" and type eq \"User\"", u[2].to_uppercase())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[0]]));
    // Named in capitals when written: the member of that id, stored and announced as its id.
    let admin = admin_token(&app);
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": u[1].to_uppercase()}]}]));
    assert_eq!(app.patch(&format!("/Groups/{gid}"), add).await.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[0], &u[1]]));
    let added = events(&app, &admin, 0, 1000).await.into_iter().rfind(|e| e["type"] == "group.member_added").unwrap();
    assert_eq!(added["data"]["members"][0]["value"], json!(u[1]), "{added}");
    let by_value = patch_op(json!([{"op": "remove", "path": "members", "value": [{"value": u[0].to_uppercase()}]}]));
    assert_eq!(app.patch(&format!("/Groups/{gid}"), by_value).await.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[1]]));
    let put = json!({"displayName": "g", "members": [{"value": u[2].to_uppercase()}, {"value": u[1]}]});
    assert_eq!(app.put(&format!("/Groups/{gid}"), put).await.status, StatusCode::OK);
    assert_eq!(group_members(&app, &gid).await, set(&[&u[1], &u[2]]));
    let members = json!([{"value": u[0].to_uppercase()}]);
    let posted = app.post("/Groups", json!({"displayName": "posted", "members": members})).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    assert_eq!(posted.body["members"][0]["value"], json!(u[0]));
});
