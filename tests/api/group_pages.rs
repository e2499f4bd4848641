//! Pages of groups listed with their members (Okta's "Import Groups"), whose members scimd
//! reads for several groups at once: each group must come out as GET /Groups/{id} gives it,
//! however the reads split the page (the tests' member page is 10).

use crate::groups::users;
use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};

/// The groups of `body`'s Resources, each as GET /Groups/{id}`rest` gives it.
async fn as_read_alone(app: &TestApp, body: &Value, rest: &str) -> Vec<Value> {
    let mut alone = Vec::new();
    for g in body["Resources"].as_array().unwrap() {
        let r = app.get(&format!("/Groups/{}{rest}", g["id"].as_str().unwrap())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        alone.push(r.body);
    }
    alone
}

fn resources(body: &Value) -> Vec<Value> {
    body["Resources"].as_array().unwrap().clone()
}

scim_test!(groups_listed_with_their_members_have_them_all, |app| {
    let u = users(&app, 48, "m").await;
    // Created in this order, so their keys ascend; named so that sorting by name is another
    // order. Sizes around the member page of 10, none, and one group holding another.
    let sizes = [("d", 0), ("b", 1), ("h", 9), ("a", 10), ("f", 11), ("c", 2), ("i", 0), ("e", 12), ("g", 3)];
    let mut ids = Vec::new();
    let mut next = 0;
    for (name, size) in sizes {
        let mut members: Vec<Value> = u[next..next + size].iter().map(|id| json!({"value": id})).collect();
        next += size;
        if name == "g" {
            members.push(json!({"value": ids[3], "type": "Group"}));
        }
        let r = app.post("/Groups", json!({"displayName": format!("team {name}"), "members": members})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    for rest in [
        "",
        "?startIndex=3&count=4",
        "?count=100&startIndex=1",
        "?sortBy=displayName",
        "?sortBy=displayName&sortOrder=descending&count=5",
        "?filter=displayName%20sw%20%22team%22",
    ] {
        let list = app.get(&format!("/Groups{rest}")).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(resources(&list.body), as_read_alone(&app, &list.body, "").await, "{rest}");
    }
    // A malformed list is refused before any group or member is read.
    app.get("/Groups?count=ten").await.assert_error(400, Some("invalidValue"));
    app.get("/Groups?startIndex=1.5&count=100").await.assert_error(400, Some("invalidValue"));
    app.get("/Groups?filter=displayName%20eq").await.assert_error(400, Some("invalidFilter"));
    app.post("/Groups/.search", json!({"filter": "members[value eq"})).await.assert_error(400, Some("invalidFilter"));
    let list = app.get("/Groups").await.body;
    let sizes_listed: Vec<usize> =
        resources(&list).iter().map(|g| g.get("members").map_or(0, |m| m.as_array().unwrap().len())).collect();
    assert_eq!(sizes_listed, [0, 1, 9, 10, 11, 2, 0, 12, 4]);
    // Some of each member's sub-attributes.
    let list = app.get("/Groups?attributes=members.value,displayName").await.body;
    assert_eq!(resources(&list), as_read_alone(&app, &list, "?attributes=members.value,displayName").await);
    assert!(resources(&list).iter().flat_map(|g| g["members"].as_array().cloned().unwrap_or_default()).all(|m| m
        .as_object()
        .unwrap()
        .keys()
        .collect::<Vec<_>>()
        == ["value"]));
    // POST /Groups/.search and the root search list groups the same way.
    let search = app.post("/Groups/.search", json!({"startIndex": 2, "count": 6})).await.body;
    assert_eq!(resources(&search), as_read_alone(&app, &search, "").await);
    let root = app.post("/.search", json!({"startIndex": 47, "count": 8})).await.body;
    let found = resources(&root);
    assert_eq!(found.iter().filter(|r| r["meta"]["resourceType"] == "User").count(), 2);
    let groups: Vec<Value> = found.into_iter().filter(|r| r["meta"]["resourceType"] == "Group").collect();
    assert_eq!(groups, as_read_alone(&app, &json!({"Resources": groups}), "").await);
    // A member removed shows in the next list.
    let r = app
        .patch(
            &format!("/Groups/{}", ids[4]),
            crate::helpers::patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[20])}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let list = app.get("/Groups").await.body;
    assert_eq!(resources(&list)[4]["members"].as_array().unwrap().len(), 10);
    assert_eq!(resources(&list), as_read_alone(&app, &list, "").await);
});
