//! A user's read-only `groups` (RFC 7643 §4.1.2) as group changes make it: direct and
//! indirect through nested groups, in group order, and shown on every answer of racing
//! updates of the user.

use crate::groups::{group_members, member_ids, users};
use crate::helpers::patch_op;
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

scim_test!(nested_groups_give_users_direct_and_indirect_groups, |app| {
    let u = users(&app, 2, "nest").await;
    let inner =
        app.post("/Groups", json!({"displayName": "Inner", "members": [{"value": u[0], "type": "User"}]})).await.body;
    let inner_id = inner["id"].as_str().unwrap().to_string();
    let outer = app
        .post(
            "/Groups",
            json!({"displayName": "Outer", "members": [{"value": inner_id, "type": "Group"}, {"value": u[1]}]}),
        )
        .await
        .body;
    let outer_id = outer["id"].as_str().unwrap().to_string();
    assert_eq!(member_ids(&outer), BTreeSet::from([inner_id.clone(), u[1].clone()]));
    let user0 = app.get(&format!("/Users/{}", u[0])).await.body;
    let groups: Vec<(String, String)> = user0["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["display"].as_str().unwrap().to_string(), g["type"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(groups, [("Inner".to_string(), "direct".to_string()), ("Outer".to_string(), "indirect".to_string())]);
    assert_eq!(user0["groups"][0]["$ref"], format!("{}/Groups/{inner_id}", app.base));
    let listed = app.get("/Users?filter=userName%20eq%20%22nest0%40x.com%22").await.body;
    assert_eq!(listed["Resources"][0]["groups"].as_array().unwrap().len(), 2);
    // A page of several users gets each user's own groups (one lookup for the page).
    let page = app.get("/Users?filter=userName%20sw%20%22nest%22&sortBy=userName").await.body;
    let per_user: Vec<Vec<(String, String)>> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            u["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| (g["display"].as_str().unwrap().to_string(), g["type"].as_str().unwrap().to_string()))
                .collect()
        })
        .collect();
    let pair = |d: &str, t: &str| (d.to_string(), t.to_string());
    assert_eq!(per_user, [vec![pair("Inner", "direct"), pair("Outer", "indirect")], vec![pair("Outer", "direct")]]);
    assert!(app.get(&format!("/Users/{}?excludedAttributes=groups", u[0])).await.body.get("groups").is_none());
    // A cycle terminates.
    app.patch(
        &format!("/Groups/{inner_id}"),
        patch_op(json!([{"op": "add", "path": "members", "value": [{"value": outer_id}]}])),
    )
    .await;
    assert_eq!(app.get(&format!("/Users/{}", u[0])).await.body["groups"].as_array().unwrap().len(), 2);
    // Filters over members.
    let q = |f: &str| format!("/Groups?filter={}", form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>());
    assert_eq!(app.get(&q(&format!("members.value eq \"{}\"", u[1]))).await.body["Resources"][0]["id"], outer_id);
    assert_eq!(app.get(&q("members[type eq \"group\"]")).await.body["totalResults"], 2);
    assert_eq!(app.get(&q(&format!("members eq \"{}\"", u[0]))).await.body["Resources"][0]["id"], inner_id);
    assert_eq!(app.get(&q(&format!("members.value ne \"{}\"", u[0]))).await.body["Resources"][0]["id"], outer_id);
    assert_eq!(app.get(&q("displayName sw \"in\"")).await.body["totalResults"], 1);
    let sorted = app.get("/Groups?sortBy=displayName&sortOrder=descending&excludedAttributes=members").await.body;
    assert_eq!(sorted["Resources"][0]["displayName"], "Outer");
    // Deleting a user removes its memberships; deleting a group leaves its members.
    app.delete(&format!("/Users/{}", u[1])).await;
    assert_eq!(group_members(&app, &outer_id).await, BTreeSet::from([inner_id.clone()]));
    app.delete(&format!("/Groups/{inner_id}")).await;
    assert!(group_members(&app, &outer_id).await.is_empty());
    assert!(app.get(&format!("/Users/{}", u[0])).await.body.get("groups").is_none());
});

scim_test!(flat_groups_show_on_their_users_in_group_order_and_follow_changes, |app| {
    let u = users(&app, 2, "flat").await;
    // A name JSON must escape, so the groups' aggregation in SQL is read back exactly.
    let odd = "Ops \"A\" \\ é ✓";
    let mut ids = Vec::new();
    for name in [odd, "Second", "Other"] {
        let members = if name == "Other" { json!([{"value": u[1]}]) } else { json!([{"value": u[0]}]) };
        let r = app.post("/Groups", json!({"displayName": name, "members": members})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let groups_of = |user: &serde_json::Value| -> Vec<(String, String, String, String)> {
        user["groups"]
            .as_array()
            .map(|gs| {
                gs.iter()
                    .map(|g| {
                        let s = |k: &str| g[k].as_str().unwrap().to_string();
                        (s("value"), s("display"), s("type"), s("$ref"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let expect = |i: usize, name: &str| {
        (ids[i].clone(), name.to_string(), "direct".to_string(), format!("{}/Groups/{}", app.base, ids[i]))
    };
    let user0 = app.get(&format!("/Users/{}", u[0])).await;
    assert_eq!(user0.status, StatusCode::OK);
    assert_eq!(groups_of(&user0.body), [expect(0, odd), expect(1, "Second")]);
    assert_eq!(groups_of(&app.get(&format!("/Users/{}", u[1])).await.body), [expect(2, "Other")]);
    // Projections: groups only when shown.
    let r = app.get(&format!("/Users/{}?attributes=groups.display", u[0])).await.body;
    assert_eq!(r["groups"], json!([{"display": odd}, {"display": "Second"}]));
    assert!(app.get(&format!("/Users/{}?attributes=userName", u[0])).await.body.get("groups").is_none());
    assert!(app.get(&format!("/Users/{}?excludedAttributes=groups", u[0])).await.body.get("groups").is_none());
    // A rename, a removal and a deleted group show on the next read.
    app.patch(
        &format!("/Groups/{}", ids[1]),
        patch_op(json!([{"op": "replace", "path": "displayName", "value": "Renamed"}])),
    )
    .await;
    assert_eq!(groups_of(&app.get(&format!("/Users/{}", u[0])).await.body), [expect(0, odd), expect(1, "Renamed")]);
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[0])}]);
    assert_eq!(app.patch(&format!("/Groups/{}", ids[0]), patch_op(remove)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(groups_of(&app.get(&format!("/Users/{}", u[0])).await.body), [expect(1, "Renamed")]);
    assert_eq!(app.delete(&format!("/Groups/{}", ids[1])).await.status, StatusCode::NO_CONTENT);
    assert!(groups_of(&app.get(&format!("/Users/{}", u[0])).await.body).is_empty());
    // An id no user has is a 404.
    app.get(&format!("/Users/{}", uuid::Uuid::new_v4())).await.assert_error(404, None);
});

fn group_pairs(user: &Value) -> Vec<(String, String)> {
    user["groups"]
        .as_array()
        .map(|gs| {
            gs.iter()
                .map(|g| (g["display"].as_str().unwrap().to_string(), g["type"].as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

// Racing updates of one user, in a tenant whose groups nest (the user's groups then come from
// the recursive query), all land, each answer shows the user's groups, and one that changes
// nothing keeps the version.
scim_test!(racing_updates_of_a_user_in_nested_groups_all_land_and_show_its_groups, |app| {
    let u = users(&app, 1, "race").await;
    let inner = app.post("/Groups", json!({"displayName": "Inner", "members": [{"value": u[0]}]})).await.body;
    let nested = json!({"displayName": "Outer", "members": [{"value": inner["id"], "type": "Group"}]});
    assert_eq!(app.post("/Groups", nested).await.status, StatusCode::CREATED);
    let path = format!("/Users/{}", u[0]);
    let expected = vec![("Inner".to_string(), "direct".to_string()), ("Outer".to_string(), "indirect".to_string())];
    let adds = (0..8).map(|i| {
        let ops = json!([{"op": "add", "path": "emails", "value": [{"value": format!("r{i}@x.com")}]}]);
        app.patch(&path, patch_op(ops))
    });
    let titles = (0..8)
        .map(|i| app.patch(&path, patch_op(json!([{"op": "replace", "path": "title", "value": format!("T{i}")}]))));
    let (adds, titles) =
        futures_util::future::join(futures_util::future::join_all(adds), futures_util::future::join_all(titles)).await;
    for r in adds.iter().chain(&titles) {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(group_pairs(&r.body), expected, "{}", r.body);
    }
    let after = app.get(&path).await.body;
    assert_eq!(after["emails"].as_array().unwrap().len(), 9, "{after}");
    assert_eq!(after["meta"]["version"], "W/\"17\"");
    // A PATCH that changes nothing writes nothing, keeps the version, and still shows groups.
    let title = after["title"].clone();
    let same = app.patch(&path, patch_op(json!([{"op": "replace", "path": "title", "value": title}]))).await;
    assert_eq!((same.status, &same.body["meta"]["version"]), (StatusCode::OK, &json!("W/\"17\"")));
    assert_eq!(group_pairs(&same.body), expected);
    // A PUT echoing what it read, with a new title, races nothing and keeps the groups.
    let mut put = after.clone();
    put["title"] = json!("Final");
    let r = app.put(&path, put).await;
    assert_eq!(
        (r.status, &r.body["title"], &r.body["meta"]["version"]),
        (StatusCode::OK, &json!("Final"), &json!("W/\"18\""))
    );
    assert_eq!(group_pairs(&r.body), expected);
});
