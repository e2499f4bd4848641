//! Groups found, sorted and PATCHed by their members' `display` (RFC 7644 §3.4.2.2, §3.4.2.3,
//! §3.5.2.2; caseExact=false in schemas/Group.json), however the members were written.

use crate::groups::{group_members, users};
use crate::helpers::{patch_op, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn query(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

fn names(body: &Value) -> Vec<String> {
    let resources = body["Resources"].as_array().map(Vec::as_slice).unwrap_or_default();
    resources.iter().map(|g| g["displayName"].as_str().unwrap().to_string()).collect()
}

/// The displayNames of the groups `filter` selects, in `sort` order (displayName by default).
async fn found(app: &TestApp, filter: &str, sort: &str) -> Vec<String> {
    let r = app.get(&format!("/Groups?attributes=displayName&{sort}&filter={}", query(filter))).await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
    names(&r.body)
}

async fn group(app: &TestApp, name: &str, members: Value) -> String {
    let r = app.post("/Groups", json!({"displayName": name, "members": members})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// A: members POSTed with the group; B: added by PATCH (PostgreSQL's member function); C:
/// replaced by PUT; D: members without a display; E: none.
async fn directory(app: &TestApp) -> (Vec<String>, [String; 3]) {
    let u = users(app, 4, "d").await;
    let a =
        group(app, "A", json!([{"value": u[0], "display": "ann ÄRGER"}, {"value": u[1], "display": "bob@x.io"}])).await;
    let b = group(app, "B", json!([])).await;
    let add = json!([{"op": "add", "path": "members", "value": [
        {"value": u[2], "display": "ΟΔΥΣΣΕΥΣ"}, {"value": a, "display": "Group A"}]}]);
    assert_eq!(app.patch(&format!("/Groups/{b}"), patch_op(add)).await.status, StatusCode::NO_CONTENT);
    let c = group(app, "C", json!([{"value": u[3], "display": "someone else"}])).await;
    // A member's display is immutable (schemas/Group.json): u3 keeps the one it was added with.
    let put = json!({"displayName": "C", "members": [
        {"value": u[3], "display": "Someone Else!"}, {"value": u[1], "display": "Bob@X.io"}, {"value": u[0]}]});
    assert_eq!(app.put(&format!("/Groups/{c}"), put).await.status, StatusCode::OK);
    group(app, "D", json!([{"value": u[1]}])).await;
    group(app, "E", json!([])).await;
    (u, [a, b, c])
}

scim_test!(groups_are_found_by_their_members_display_case_insensitively, |app| {
    let (u, [a, ..]) = directory(&app).await;
    // Another tenant's group with a member of the same display is not found here.
    let other = app.tenant("other");
    let stranger = app.post_to_tenant(&other, "/Users", json!({"userName": "s@x.com"})).await.body["id"].clone();
    let group = json!({"displayName": "A", "members": [{"value": stranger, "display": "Ann Ärger"}]});
    let r = app.post_to_tenant(&other, "/Groups", group).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("members.display eq \"ann ärger\"".into(), vec!["A"]),
        ("members.display eq \"ANN ÄRGER\"".into(), vec!["A"]),
        ("members.display eq \"bob@x.io\"".into(), vec!["A", "C"]),
        // Rust's lowercasing, final sigma and all, on both sides.
        ("members.display eq \"οδυσσευς\"".into(), vec!["B"]),
        ("members.display eq \"ΟΔΥΣΣΕΥΣ\"".into(), vec!["B"]),
        ("members.display eq \"SOMEONE ELSE\"".into(), vec!["C"]),
        ("members.display eq \"someone else!\"".into(), vec![]),
        ("members.display sw \"ANN\"".into(), vec!["A"]),
        ("members.display ew \"@X.IO\"".into(), vec!["A", "C"]),
        ("members.display co \"rg\"".into(), vec!["A"]),
        ("members.display gt \"group\"".into(), vec!["B", "C"]),
        ("members.display pr".into(), vec!["A", "B", "C"]),
        // `ne`: no member has that display (RFC 7644 §3.4.2.2 on multi-valued attributes).
        ("members.display ne \"bob@x.io\"".into(), vec!["B", "D", "E"]),
        ("members.display eq null".into(), vec!["D", "E"]),
        ("not (members.display pr)".into(), vec!["D", "E"]),
        ("members[display eq \"group a\" and type eq \"group\"]".into(), vec!["B"]),
        ("members[display eq \"group a\" and type eq \"User\"]".into(), vec![]),
        // Entra ID's form of a value filter.
        ("members[type eq \"User\"].display eq \"Ann Ärger\"".into(), vec!["A"]),
        // C has u0 too, without a display: the value filter is about one member.
        (format!("members[display pr and value eq \"{}\"]", u[0]), vec!["A"]),
        (format!("members[not (display pr) and value eq \"{}\"]", u[0]), vec!["C"]),
        (format!("members.display sw \"group\" and members.value eq \"{a}\""), vec!["B"]),
        ("displayName eq \"D\" or members.display eq \"οδυσσευς\"".into(), vec!["B", "D"]),
        ("urn:ietf:params:scim:schemas:core:2.0:Group:members.display eq \"Group A\"".into(), vec!["B"]),
    ];
    for (filter, expected) in &cases {
        assert_eq!(found(&app, filter, "sortBy=displayName").await, *expected, "{filter}");
    }
    let search = json!({"filter": "members.display co \"ÄRG\"", "attributes": ["displayName"]});
    assert_eq!(names(&app.post("/Groups/.search", search).await.body), ["A"]);
    // At the Base URL root, the users understand no `members` and select nothing.
    let root = app.get(&format!("?attributes=displayName&filter={}", query("members.display eq \"GROUP A\""))).await;
    assert_eq!(names(&root.body), ["B"], "{}", root.body);
});

scim_test!(groups_sort_by_their_first_members_display_case_insensitively, |app| {
    directory(&app).await;
    // RFC 7644 §3.4.2.3: the first member as the group lists them (B lists group A first);
    // "ann ÄRGER" before "Group A" only case-insensitively; C's first member has no display.
    let filter = "members.display pr";
    assert_eq!(found(&app, filter, "sortBy=members.display").await, ["A", "B", "C"]);
    assert_eq!(found(&app, filter, "sortBy=members.display&sortOrder=descending").await, ["C", "B", "A"]);
});

scim_test!(members_are_removed_by_their_display, |app| {
    let (u, [a, b, c]) = directory(&app).await;
    let remove = |group: String, filter: &str| {
        let body = patch_op(json!([{"op": "remove", "path": format!("members[{filter}]")}]));
        let app = &app;
        async move { app.patch(&format!("/Groups/{group}"), body).await }
    };
    let set = |ids: &[&String]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(remove(a.clone(), "display eq \"BOB@X.IO\"").await.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &a).await, set(&[&u[0]]));
    assert_eq!(remove(b.clone(), "display sw \"group\"").await.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &b).await, set(&[&u[2]]));
    assert_eq!(remove(c.clone(), "not (display pr)").await.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &c).await, set(&[&u[1], &u[3]]));
    // What a remove left is found by the same filter as what it removed.
    assert_eq!(found(&app, "members.display eq \"bob@x.io\"", "sortBy=displayName").await, ["C"]);
});

scim_test!(malformed_member_display_filters_and_sorts_are_refused, |app| {
    let (_, [a, ..]) = directory(&app).await;
    for (filter, scim_type) in [
        ("members.display eq 5", "invalidFilter"),
        ("members.display gt true", "invalidFilter"),
        ("members.display eq", "invalidFilter"),
        ("members[display co]", "invalidFilter"),
        ("members[display.x eq \"a\"]", "invalidFilter"),
        ("members.$ref eq \"x\"", "invalidFilter"),
    ] {
        let r = app.get(&format!("/Groups?filter={}", query(filter))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{filter}: {}", r.body);
        r.assert_error(400, Some(scim_type));
        let r = app.post("/Groups/.search", json!({"filter": filter})).await;
        r.assert_error(400, Some(scim_type));
    }
    app.get("/Groups?sortBy=members.display.x").await.assert_error(400, Some("invalidValue"));
    // A malformed remove path applies nothing of its PATCH.
    let before = group_members(&app, &a).await;
    let ops = json!([
        {"op": "remove", "path": "members[display eq \"bob@x.io\"]"},
        {"op": "remove", "path": "members[display eq]"},
    ]);
    app.patch(&format!("/Groups/{a}"), patch_op(ops)).await.assert_error(400, Some("invalidPath"));
    assert_eq!(group_members(&app, &a).await, before);
});
