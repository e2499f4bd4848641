//! Users found by their read-only `groups` (RFC 7643 §4.1.2, RFC 7644 §3.4.2.2): a group's id,
//! displayName or the membership's type, direct and through nested groups, in one tenant.

use crate::groups::users;
use crate::helpers::{patch_op, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::json;

async fn found(app: &TestApp, filter: &str) -> Vec<String> {
    let q = form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
    let r = app.get(&format!("/Users?attributes=userName&sortBy=userName&filter={q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
    let names = r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap());
    names.map(|n| n.trim_end_matches("@x.com").to_string()).collect()
}

async fn group(app: &TestApp, name: &str, members: &[&str]) -> String {
    let members: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
    let r = app.post("/Groups", json!({"displayName": name, "members": members})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn add_member(app: &TestApp, group: &str, member: &str) {
    let op = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": member}]}]));
    assert_eq!(app.patch(&format!("/Groups/{group}"), op).await.status, StatusCode::NO_CONTENT);
}

scim_test!(users_are_found_by_their_groups_direct_and_nested, |app| {
    let u = users(&app, 4, "m").await;
    let engineering = group(&app, "Engineering", &[&u[0], &u[1]]).await;
    let staff = group(&app, "Staff", &[&engineering, &u[1]]).await;
    let _sales = group(&app, "Sales", &[&u[2]]).await;
    // Another tenant's group of the same name, holding its own user, selects nobody here.
    let other = app.tenant("other");
    let stranger = app.post_to_tenant(&other, "/Users", json!({"userName": "m3@x.com"})).await.body["id"].clone();
    let group = json!({"displayName": "Engineering", "members": [{"value": stranger}]});
    let r = app.post_to_tenant(&other, "/Groups", group).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("groups.value eq \"{engineering}\""), vec!["m0", "m1"]),
        // RFC 7643 §4.1.2: the value is caseExact false.
        (format!("groups.value eq \"{}\"", staff.to_uppercase()), vec!["m0", "m1"]),
        (format!("groups eq \"{staff}\""), vec!["m0", "m1"]),
        (format!("groups[value eq \"{staff}\" and type eq \"indirect\"]"), vec!["m0"]),
        (format!("groups[value eq \"{staff}\" and type eq \"direct\"]"), vec!["m1"]),
        (format!("groups[type eq \"DIRECT\" and value eq \"{staff}\"]"), vec!["m1"]),
        (format!("groups.value ne \"{engineering}\""), vec!["m2", "m3"]),
        ("groups.display eq \"engineering\"".into(), vec!["m0", "m1"]),
        ("groups.display sw \"S\"".into(), vec!["m0", "m1", "m2"]),
        ("groups.display co \"ale\"".into(), vec!["m2"]),
        ("groups.type eq \"indirect\"".into(), vec!["m0"]),
        ("groups[type eq \"indirect\" or display eq \"sales\"]".into(), vec!["m0", "m2"]),
        ("groups pr".into(), vec!["m0", "m1", "m2"]),
        ("not (groups pr)".into(), vec!["m3"]),
        ("groups.display eq \"sales\" or userName eq \"m3@x.com\"".into(), vec!["m2", "m3"]),
        ("groups.display eq \"staff\" and groups.display eq \"sales\"".into(), vec![]),
        ("groups.display eq \"nosuch\"".into(), vec![]),
    ];
    for (filter, want) in &cases {
        assert_eq!(&found(&app, filter).await, want, "{filter}");
    }

    // A cycle ends: Engineering inside Staff inside Engineering.
    add_member(&app, &engineering, &staff).await;
    assert_eq!(found(&app, &format!("groups[value eq \"{engineering}\" and type eq \"direct\"]")).await, ["m0", "m1"]);
    assert_eq!(found(&app, "groups[display eq \"staff\" and type eq \"indirect\"]").await, ["m0"]);
    // A user both a member and a member's member is a direct member, as the user shows it.
    let m1 = app.get(&format!("/Users/{}", u[1])).await.body;
    let kinds: Vec<_> = m1["groups"].as_array().unwrap().iter().map(|g| g["type"].clone()).collect();
    assert_eq!(kinds, [json!("direct"), json!("direct")]);

    // Leaving a group and deleting one are seen at once.
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[1])}]));
    assert_eq!(app.patch(&format!("/Groups/{staff}"), remove).await.status, StatusCode::NO_CONTENT);
    assert_eq!(found(&app, "groups[display eq \"staff\" and type eq \"direct\"]").await, Vec::<String>::new());
    assert_eq!(app.delete(&format!("/Groups/{engineering}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(found(&app, "groups pr").await, ["m2"]);

    // The same filter in a POST /.search (RFC 7644 §3.4.3).
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "groups.display eq \"Sales\"", "attributes": ["userName"]});
    let r = app.post("/Users/.search", search).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
});

scim_test!(filters_on_groups_that_cannot_be_answered_are_400_invalid_filter, |app| {
    for filter in [
        "groups.$ref eq \"x\"",
        "groups[$ref pr]",
        "groups.nosuch eq \"x\"",
        "groups[nosuch eq \"x\"]",
        "groups.value gt true",
        "groups.type eq 1",
        "groups.value[type eq \"direct\"]",
    ] {
        let q = form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
        app.get(&format!("/Users?filter={q}")).await.assert_error(400, Some("invalidFilter"));
    }
});
