//! A group's `meta.version` and `lastModified` (RFC 7644 §3.14, RFC 7643 §3.1): one new
//! version for each write that changes the group, none for one that does not, and If-Match
//! naming the version a write replaces.

use crate::groups::{member_ids, users};
use crate::helpers::patch_op;
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn meta(group: &Value) -> (Value, Value) {
    (group["meta"]["version"].clone(), group["meta"]["lastModified"].clone())
}

// Okta pushes a group's whole membership, and Entra ID adds members it is not sure of: writes
// that change nothing are common, and a client that compares versions or lastModified must
// not see a change that did not happen.
scim_test!(a_group_write_that_changes_nothing_keeps_its_version, |app| {
    let u = users(&app, 2, "same").await;
    let body = json!({"displayName": "Same", "externalId": "e1", "members": [{"value": u[0]}]});
    let g = app.post("/Groups", body.clone()).await.body;
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    let created = meta(&g);
    let unchanged = [
        // A member added again: the path of PATCHes of members alone.
        json!([{"op": "add", "path": "members", "value": [{"value": u[0]}]}]),
        // A member removed that is not one, with and without a filter.
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[1])}]),
        json!([{"op": "Remove", "path": "members", "value": [{"value": u[1]}]}]),
        // The same name (the general path), the same members, the same values without a path.
        json!([{"op": "Replace", "path": "displayName", "value": "Same"}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": u[0]}]}]),
        json!([{"op": "replace", "value": {"displayName": "Same", "externalId": "e1"}}]),
        json!([
            {"op": "add", "path": "members", "value": [{"value": u[0]}]},
            {"op": "replace", "path": "externalId", "value": "e1"},
        ]),
    ];
    for ops in unchanged {
        let r = app.patch(&format!("{path}?excludedAttributes=members"), patch_op(ops.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{ops}: {}", r.body);
        assert_eq!(meta(&r.body), created, "{ops}");
        assert_eq!(meta(&app.get(&path).await.body), created, "{ops}");
    }
    // Refused writes of the same shapes change nothing either: a stale If-Match on the locked
    // row, an unknown member, a malformed operation.
    let url = format!("{}{path}", app.base);
    let auth = format!("Bearer {}", app.token);
    let stale = [("Content-Type", "application/scim+json"), ("If-Match", "W/\"999\"")];
    let put = body.to_string().into_bytes();
    app.send_raw(awc::http::Method::PUT, &url, Some(&auth), &stale, Some(put)).await.assert_error(412, None);
    let unknown = json!({"displayName": "Same", "externalId": "e1", "members": [{"value": "no-such-user"}]});
    app.put(&path, unknown).await.assert_error(400, Some("invalidValue"));
    let malformed = json!([{"op": "add", "path": "members[", "value": [{"value": u[0]}]}]);
    app.patch(&path, patch_op(malformed)).await.assert_error(400, Some("invalidPath"));
    assert_eq!(meta(&app.get(&path).await.body), created, "after refused writes");
    let r = app.put(&path, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(meta(&r.body), created, "a PUT of what is stored");
    assert_eq!(member_ids(&app.get(&path).await.body), BTreeSet::from([u[0].clone()]));
    // Each change is one new version, whichever path it takes.
    let changes = [
        ("PATCH", json!([{"op": "add", "path": "members", "value": [{"value": u[1]}]}])),
        ("PATCH", json!([{"op": "replace", "path": "externalId", "value": "e2"}])),
        ("PUT", json!({"displayName": "Same", "externalId": "e2", "members": [{"value": u[1]}]})),
        ("PUT", json!({"displayName": "Other", "externalId": "e2", "members": [{"value": u[1]}]})),
    ];
    for (n, (method, body)) in changes.into_iter().enumerate() {
        let r = match method {
            "PUT" => app.put(&path, body.clone()).await,
            _ => app.patch(&format!("{path}?attributes=meta"), patch_op(body.clone())).await,
        };
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.body);
        assert_eq!(r.body["meta"]["version"], format!("W/\"{}\"", n + 2), "{body}");
    }
});

// RFC 7644 §3.14 on a PATCH that only adds and removes members (one store call while the
// group is locked): a stale If-Match is 412 with nothing applied, and still wins over a member
// that does not exist, as on a PATCH of any other shape.
scim_test!(a_member_patch_honours_if_match_and_applies_nothing_when_stale, |app| {
    use awc::http::Method;
    let u = users(&app, 2, "etag").await;
    let g = app.post("/Groups", json!({"displayName": "Guarded", "members": [{"value": u[0]}]})).await.body;
    let gid = g["id"].as_str().unwrap();
    let url = format!("{}/Groups/{gid}", app.base);
    let auth = format!("Bearer {}", app.token);
    let version = g["meta"]["version"].as_str().unwrap().to_string();
    let swap = patch_op(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", u[0])},
        {"op": "add", "path": "members", "value": [{"value": u[1]}]},
    ]))
    .to_string()
    .into_bytes();
    fn headers(etag: &str) -> [(&str, &str); 2] {
        [("Content-Type", "application/scim+json"), ("If-Match", etag)]
    }
    let stale = app.send_raw(Method::PATCH, &url, Some(&auth), &headers("W/\"999\""), Some(swap.clone())).await;
    stale.assert_error(412, None);
    let missing = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]));
    let missing = missing.to_string().into_bytes();
    let r = app.send_raw(Method::PATCH, &url, Some(&auth), &headers("W/\"999\""), Some(missing)).await;
    r.assert_error(412, None);
    let after = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(member_ids(&after), BTreeSet::from([u[0].clone()]), "nothing applied");
    assert_eq!(after["meta"]["version"], version.as_str(), "the version did not move");
    let r = app.send_raw(Method::PATCH, &url, Some(&auth), &headers(&version), Some(swap)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let after = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(member_ids(&after), BTreeSet::from([u[1].clone()]));
    assert_eq!(after["meta"]["version"], "W/\"2\"");
    // A PATCH that renames (the general path, which writes the group's row once its members
    // are done) is one new version too, so the next If-Match can name it.
    let rename = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Guarded Too"}]));
    let rename = rename.to_string().into_bytes();
    let r = app.send_raw(Method::PATCH, &url, Some(&auth), &headers("W/\"2\""), Some(rename)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.get(&format!("/Groups/{gid}")).await.body["meta"]["version"], "W/\"3\"");
});

// RFC 7644 §3.4.2.2 and §3.4.2.3: `meta.version` is a string attribute like any other, so it
// filters and sorts as the text it is rendered as, for groups and users alike.
scim_test!(meta_version_filters_and_sorts_as_text, |app| {
    let u = users(&app, 1, "v").await;
    for (name, writes) in [("one", 0), ("eleven", 10), ("two", 1)] {
        let g = app.post("/Groups", json!({"displayName": name})).await.body;
        let id = g["id"].as_str().unwrap().to_string();
        for n in 0..writes {
            let op = if n % 2 == 0 { "add" } else { "remove" };
            let r = app
                .patch(
                    &format!("/Groups/{id}"),
                    patch_op(json!([{"op": op, "path": "members", "value": [{"value": u[0]}]}])),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        }
    }
    let names = |body: &Value| -> Vec<String> {
        body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap().to_string()).collect()
    };
    let q = crate::helpers::q;
    let listed = app.get(&format!("/Groups?filter={}", q(r#"meta.version eq "W/\"11\"""#))).await.body;
    assert_eq!(names(&listed), ["eleven"]);
    let listed = app.get(&format!("/Groups?filter={}", q(r#"meta.version gt "W/\"1\"""#))).await.body;
    assert_eq!(names(&listed), ["eleven", "two"], "as text, \"W/\\\"11\\\"\" sorts after \"W/\\\"1\\\"\"");
    let listed = app.get("/Groups?sortBy=meta.version&sortOrder=descending").await.body;
    assert_eq!(names(&listed), ["two", "eleven", "one"]);
    let version = app.get(&format!("/Users/{}", u[0])).await.body["meta"]["version"].clone();
    let filter = q(&format!("meta.version eq {version}"));
    assert_eq!(app.get(&format!("/Users?filter={filter}")).await.body["totalResults"], 1);
    app.get(&format!("/Groups?filter={}", q("meta.version gt 5"))).await.assert_error(400, Some("invalidFilter"));
});

// RFC 7643 §3.1: `meta.location` is a caseExact reference, the endpoint's URL and the id: it
// filters as that string (an equality is the id's) and sorts as the id does.
scim_test!(meta_location_filters_as_the_url_it_is, |app| {
    let u = users(&app, 3, "loc").await;
    let g = app.post("/Groups", json!({"displayName": "located"})).await.body;
    let q = crate::helpers::q;
    let count = |path: String| {
        let app = &app;
        async move {
            let r = app.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            r.body["totalResults"].as_u64().unwrap()
        }
    };
    let user_url = format!("{}/Users/{}", app.base, u[1]);
    let group_url = g["meta"]["location"].as_str().unwrap().to_string();
    for (filter, users, groups) in [
        (format!("meta.location eq \"{user_url}\""), 1, 0),
        (format!("meta.location ne \"{user_url}\""), 2, 1),
        (format!("meta.location eq \"{group_url}\""), 0, 1),
        (format!("meta.location eq \"{}\"", user_url.to_uppercase()), 0, 0),
        (format!("meta.location sw \"{}/Users/\"", app.base), 3, 0),
        (format!("meta.location ew \"{}\"", &u[2][u[2].len() - 6..]), 1, 0),
        ("meta.location co \"/Groups/\"".to_string(), 0, 1),
        (format!("meta.location gt \"{}/Groups/\"", app.base), 3, 1),
        ("meta.location pr".to_string(), 3, 1),
    ] {
        assert_eq!(count(format!("/Users?filter={}", q(&filter))).await, users, "{filter}");
        assert_eq!(count(format!("/Groups?filter={}", q(&filter))).await, groups, "{filter}");
        assert_eq!(count(format!("/?filter={}", q(&filter))).await, users + groups, "{filter} at the root");
    }
    let ids = |body: Value| -> Vec<String> {
        body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    let by_location = ids(app.get("/Users?sortBy=meta.location&sortOrder=descending").await.body);
    assert_eq!(by_location, ids(app.get("/Users?sortBy=id&sortOrder=descending").await.body));
    app.get(&format!("/Users?filter={}", q("meta.location eq 5"))).await.assert_error(400, Some("invalidFilter"));
});
