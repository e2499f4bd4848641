//! `sortBy` a multi-valued attribute (RFC 7644 §3.4.2.3): by the primary value, else the
//! first, users without one last ascending and first descending; a user's groups and a
//! group's members by the first one listed.

use crate::groups::users;
use crate::helpers::{patch_op, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::json;

async fn sorted(app: &TestApp, resources: &str, query: &str, name: &str) -> Vec<String> {
    let r = app.get(&format!("/{resources}?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body["Resources"].as_array().unwrap().iter().map(|u| u[name].as_str().unwrap().to_string()).collect()
}

scim_test!(users_sort_by_the_primary_value_else_the_first, |app| {
    for (name, emails, phones) in [
        // The primary is not the first element: it decides.
        ("p", json!([{"value": "z@x.io", "type": "work"}, {"value": "B@x.io", "primary": true}]), json!([])),
        // No primary: the first element decides, whatever the others hold.
        ("q", json!([{"value": "c@x.io", "type": "Home"}, {"value": "a@x.io"}]), json!([{"value": "555-2"}])),
        ("r", json!([]), json!([{"value": "555-1", "primary": true}, {"value": "555-0"}])),
        ("s", json!([{"value": "A@y.io", "type": "other", "primary": false}]), json!([])),
    ] {
        let r = app.post("/Users", json!({"userName": name, "emails": emails, "phoneNumbers": phones})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let users = |q: &'static str| sorted(&app, "Users", q, "userName");
    assert_eq!(users("sortBy=emails.value").await, ["s", "p", "q", "r"]);
    assert_eq!(users("sortBy=emails").await, ["s", "p", "q", "r"], "a complex attribute's value");
    assert_eq!(users("sortBy=emails.value&sortOrder=descending").await, ["r", "q", "p", "s"]);
    // The primary element has no type: the user sorts as having none.
    assert_eq!(users("sortBy=emails.type").await, ["q", "s", "p", "r"]);
    assert_eq!(users("sortBy=phoneNumbers.value").await, ["r", "q", "p", "s"]);
    assert_eq!(users("sortBy=urn:ietf:params:scim:schemas:core:2.0:User:emails.value").await, ["s", "p", "q", "r"]);
    // Pages of the sorted list hold its rows in its order.
    assert_eq!(users("sortBy=emails.value&startIndex=2&count=2").await, ["p", "q"]);
    assert_eq!(users("sortBy=emails.value&filter=userName%20ne%20%22s%22&count=2").await, ["p", "q"]);
    for bad in ["sortBy=addresses", "sortBy=name", "sortBy=schemas", "sortBy=groups.$ref", "sortBy=emails.nosuch"] {
        app.get(&format!("/Users?{bad}")).await.assert_error(400, Some("invalidValue"));
    }
});

scim_test!(users_sort_by_their_first_group_and_groups_by_their_first_member, |app| {
    let u = users(&app, 4, "s").await;
    let group = |name: &'static str, members: Vec<String>| {
        let app = &app;
        async move {
            let members: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
            let r = app.post("/Groups", json!({"displayName": name, "members": members})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    // Created first, so listed first by every user in it, directly or not.
    let zeta = group("Zeta", vec![u[2].clone()]).await;
    let alpha = group("Alpha", vec![u[0].clone(), zeta.clone()]).await;
    let _mid = group("Mid", vec![u[1].clone(), u[0].clone()]).await;
    let users = |q: &'static str| sorted(&app, "Users", q, "userName");
    // s0: Alpha (its first), s1: Mid, s2: Zeta (then Alpha through Zeta), s3: none.
    let s = |names: [&str; 4]| names.map(|n| format!("{n}@x.com")).to_vec();
    assert_eq!(users("sortBy=groups.display").await, s(["s0", "s1", "s2", "s3"]));
    assert_eq!(users("sortBy=groups.display&sortOrder=descending").await, s(["s3", "s2", "s1", "s0"]));
    // A user in Zeta through nesting only sorts by it as indirect.
    let nest = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": u[3]}]}]));
    assert_eq!(app.patch(&format!("/Groups/{alpha}"), nest).await.status, StatusCode::NO_CONTENT);
    let into_zeta = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": alpha}]}]));
    assert_eq!(app.patch(&format!("/Groups/{zeta}"), into_zeta).await.status, StatusCode::NO_CONTENT);
    // Now s0 and s3 list Zeta first, indirectly; s2 directly; s1 Mid, directly.
    assert_eq!(users("sortBy=groups.display&sortOrder=descending").await, s(["s3", "s2", "s0", "s1"]));
    assert_eq!(users("sortBy=groups.type").await, s(["s1", "s2", "s0", "s3"]));
    let first_ids: Vec<String> = {
        let mut keyed = Vec::new();
        for (i, id) in u.iter().enumerate() {
            let user = app.get(&format!("/Users/{id}")).await.body;
            keyed.push((user["groups"][0]["value"].as_str().unwrap().to_string(), i));
        }
        keyed.sort();
        keyed.into_iter().map(|(_, i)| format!("s{i}@x.com")).collect()
    };
    assert_eq!(users("sortBy=groups.value").await, first_ids);

    // Groups by their first member as they list them: groups before users, each by creation.
    let groups = |q: &'static str| sorted(&app, "Groups", q, "displayName");
    assert_eq!(groups("sortBy=members.type").await, ["Zeta", "Alpha", "Mid"]);
    let first_member = |name: &str| {
        let app = &app;
        let filter = format!("/Groups?filter=displayName%20eq%20%22{name}%22");
        async move { app.get(&filter).await.body["Resources"][0]["members"][0]["value"].as_str().unwrap().to_string() }
    };
    let mut keyed = Vec::new();
    for name in ["Zeta", "Alpha", "Mid"] {
        keyed.push((first_member(name).await, name.to_string()));
    }
    keyed.sort();
    let want: Vec<String> = keyed.into_iter().map(|(_, n)| n).collect();
    assert_eq!(groups("sortBy=members.value").await, want);
    assert_eq!(groups("sortBy=members").await, want);
    for bad in ["sortBy=members.$ref", "sortBy=nosuch"] {
        app.get(&format!("/Groups?{bad}")).await.assert_error(400, Some("invalidValue"));
    }
});
