//! /Groups: Okta's Push Groups, Link Group, rename and full push; Entra ID's group shapes;
//! errors; concurrency; members read in pages. Versions and If-Match: group_versions.rs; a
//! user's `groups`: user_groups.rs.

use crate::helpers::{patch_op, query_of, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub(crate) async fn users(app: &TestApp, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(app.create_user(&format!("{prefix}{i}@x.com")).await["id"].as_str().unwrap().to_string());
    }
    ids
}

pub(crate) fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

pub(crate) async fn group_members(app: &TestApp, id: &str) -> BTreeSet<String> {
    let r = app.get(&format!("/Groups/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    member_ids(&r.body)
}

scim_test!(okta_push_link_rename_and_delete, |app| {
    let u = users(&app, 3, "okta").await;
    // Push: create empty, then Okta's metadata reconcile (path-less {id, displayName}).
    let r = app.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), Some(format!("{}/Groups/{gid}", app.base).as_str()));
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    let path = format!("/Groups/{gid}");
    let r = app
        .patch(&path, patch_op(json!([{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2"}}])))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Membership: removes then one add with several values.
    let r = app.patch(&path, patch_op(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", u[2])},
        {"op": "add", "path": "members", "value": [{"value": u[0], "display": "okta0@x.com"}, {"value": u[1], "display": "x"}]},
    ]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let g = app.get(&path).await.body;
    assert_eq!(member_ids(&g), BTreeSet::from([u[0].clone(), u[1].clone()]));
    let m0 = g["members"].as_array().unwrap().iter().find(|m| m["value"] == u[0]).unwrap();
    assert_eq!(m0["type"], "User");
    assert_eq!(m0["display"], "okta0@x.com");
    assert_eq!(m0["$ref"], format!("{}/Users/{}", app.base, u[0]));
    // Re-adding is a no-op; removing a non-member too.
    app.patch(&path, patch_op(json!([{"op": "add", "path": "members", "value": [{"value": u[0]}]}]))).await;
    app.patch(&path, patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[2])}]))).await;
    assert_eq!(group_members(&app, &gid).await.len(), 2);
    // Link Group: find by displayName (any case), then push the full membership.
    let found = app.get("/Groups?filter=displayName%20eq%20%22test%20scimv2%22&startIndex=1&count=100").await;
    assert_eq!(found.body["Resources"][0]["id"], gid);
    let r = app
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "path": "members", "value": [{"value": u[1]}, {"value": u[2]}]}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(group_members(&app, &gid).await, BTreeSet::from([u[1].clone(), u[2].clone()]));
    // Rename, then AIW's PUT with members.
    app.patch(&path, patch_op(json!([{"op": "replace", "value": {"id": gid, "displayName": "Renamed"}}]))).await;
    let r = app
        .put(
            &path,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid, "displayName": "Renamed",
        "members": [{"value": u[0], "display": "okta0@x.com"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["displayName"].clone(), member_ids(&r.body)),
        (json!("Renamed"), BTreeSet::from([u[0].clone()]))
    );
    // Import: a page of groups carries members.
    let list = app.get("/Groups?startIndex=1&count=100").await.body;
    assert_eq!(member_ids(&list["Resources"][0]), BTreeSet::from([u[0].clone()]));
    // Delete: 204, then 404; the users stay.
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    app.get(&path).await.assert_error(404, None);
    assert_eq!(app.get(&format!("/Users/{}", u[0])).await.status, StatusCode::OK);
});

scim_test!(entra_group_shapes, |app| {
    let u = users(&app, 2, "entra").await;
    let r = app.post("/Groups", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName", "meta": {"resourceType": "Group"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("x-scimd-compat"), Some("foreign-schema-urn"));
    let gid = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{gid}");
    let r = app.get(&format!("{path}?excludedAttributes=members")).await;
    assert!(r.body.get("members").is_none() && r.body["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    let r = app.get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22DISPLAYNAME%22").await;
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    let r = app.patch(&path, patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u[0]}, {"$ref": null, "value": u[1]}]}]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .patch(&path, patch_op(json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u[0]}]}])))
        .await;
    assert_eq!(
        (r.status, r.header("x-scimd-compat")),
        (StatusCode::NO_CONTENT, Some("patch-name-case,remove-with-value"))
    );
    assert_eq!(group_members(&app, &gid).await, BTreeSet::from([u[1].clone()]));
    let r = app
        .patch(&path, patch_op(json!([{"op": "Replace", "path": "displayName", "value": "updatedDisplayName"}])))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .patch(
            &format!("{path}?attributes=displayName"),
            patch_op(json!([{"op": "replace", "value": {"externalId": "e2"}}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid, "displayName": "updatedDisplayName"})
    );
    // Empty Operations (Entra's validator) change nothing, not even the version.
    let version = app.get(&path).await.body["meta"]["version"].clone();
    assert_eq!(app.patch(&path, patch_op(json!([]))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.body["meta"]["version"], version);
});

scim_test!(group_errors_are_scim_errors_and_apply_nothing, |app| {
    let u = users(&app, 1, "err").await;
    let (other_base, other_token) = app.tenant("globex");
    let r = app
        .send_raw(
            awc::http::Method::POST,
            &format!("{other_base}/Users"),
            Some(&format!("Bearer {other_token}")),
            &[("Content-Type", "application/json")],
            Some(json!({"userName": "alien"}).to_string().into_bytes()),
        )
        .await;
    let alien = r.body["id"].as_str().unwrap().to_string();
    let g = app.post("/Groups", json!({"displayName": "Admins"})).await.body;
    let gid = g["id"].as_str().unwrap();
    let path = format!("/Groups/{gid}");
    app.post("/Groups", json!({"displayName": "ADMINS"})).await.assert_error(409, Some("uniqueness"));
    app.post("/Groups", json!({"displayName": ""})).await.assert_error(400, Some("invalidValue"));
    app.post("/Groups", json!({"members": []})).await.assert_error(400, Some("invalidValue"));
    app.post("/Groups", json!({"displayName": "X", "members": [{"value": "nope"}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    // Ids are looked up as one bound JSON array: quotes, brackets and commas stay values.
    for odd in ["x\"]", "', 'y", "[\"a\",\"b\"]", "\\", "ü\u{0}"] {
        app.post("/Groups", json!({"displayName": "Odd", "members": [{"value": odd}, {"value": u[0]}]}))
            .await
            .assert_error(400, Some("invalidValue"));
    }
    app.post("/Groups", json!({"displayName": "Y", "members": [{"value": alien}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    // A valid add followed by an unknown member: neither applies.
    app.patch(
        &path,
        patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": u[0]}]},
            {"op": "add", "path": "members", "value": [{"value": "missing-id"}]},
        ])),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.patch(&path, patch_op(json!([{"op": "add", "path": "members", "value": [{"value": gid}]}])))
        .await
        .assert_error(400, Some("invalidValue"));
    app.patch(&path, patch_op(json!([{"op": "replace", "path": "members[value eq \"x\"].display", "value": "d"}])))
        .await
        .assert_error(400, Some("mutability"));
    app.patch(&path, patch_op(json!([{"op": "replace", "path": "displayName", "value": 7}])))
        .await
        .assert_error(400, Some("invalidValue"));
    app.patch(&path, patch_op(json!([{"op": "remove", "path": "displayName"}])))
        .await
        .assert_error(400, Some("invalidValue"));
    assert!(group_members(&app, gid).await.is_empty());
    assert_eq!(app.get(&path).await.body["displayName"], "Admins");
    app.get("/Groups/nope").await.assert_error(404, None);
    app.patch("/Groups/nope", patch_op(json!([]))).await.assert_error(404, None);
    // A PATCH of members alone (one statement on PostgreSQL) of a group that is not there.
    let members_only = json!([
        {"op": "add", "path": "members", "value": [{"value": u[0]}]},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", u[0])},
    ]);
    app.patch("/Groups/nope", patch_op(members_only)).await.assert_error(404, None);
    app.delete("/Groups/nope").await.assert_error(404, None);
    app.put("/Groups/nope", json!({"displayName": "Z"})).await.assert_error(404, None);
    app.get("/Groups?filter=members.%24ref%20eq%20%22x%22").await.assert_error(400, Some("invalidFilter"));
    app.get("/Groups?filter=displayName%20eq").await.assert_error(400, Some("invalidFilter"));
    app.get("/Groups?sortBy=meta").await.assert_error(400, Some("invalidValue"));
    app.call(awc::http::Method::PUT, "/Groups", Some(json!({}))).await.assert_error(405, None);
});

scim_test!(concurrent_membership_changes_lose_nothing, |app| {
    let u = users(&app, 60, "conc").await;
    let g = app.post("/Groups", json!({"displayName": "Busy", "members": u[50..].iter().map(|id| json!({"value": id})).collect::<Vec<_>>()})).await.body;
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    // 50 parallel adds of different members and 10 parallel removals.
    let adds = u[..50].iter().map(|id| {
        let body = patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]));
        let (app, path) = (&app, path.clone());
        async move { app.patch(&path, body).await }
    });
    let removes = u[50..].iter().map(|id| {
        let body = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]));
        let (app, path) = (&app, path.clone());
        async move { app.patch(&path, body).await }
    });
    let (added, removed) =
        futures_util::future::join(futures_util::future::join_all(adds), futures_util::future::join_all(removes)).await;
    for r in added.iter().chain(removed.iter()) {
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    let want: BTreeSet<String> = u[..50].iter().cloned().collect();
    assert_eq!(group_members(&app, g["id"].as_str().unwrap()).await, want);
    // Users in no group before their PATCH add show the group, as do users removed and added
    // back, who were marked as in a group already.
    let readd = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": u[50]}, {"value": u[0]}]}]));
    assert_eq!(app.patch(&path, readd).await.status, StatusCode::NO_CONTENT);
    for id in [&u[0], &u[49], &u[50]] {
        let groups = app.get(&format!("/Users/{id}")).await.body["groups"].clone();
        assert_eq!(groups[0]["value"], g["id"], "{id}: {groups}");
    }
    assert!(app.get(&format!("/Users/{}", u[51])).await.body.get("groups").is_none());
    // A member of one group added to another (its row is left as it is) shows both.
    let other = app.post("/Groups", json!({"displayName": "Other"})).await.body;
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": u[1]}]}]));
    assert_eq!(
        app.patch(&format!("/Groups/{}", other["id"].as_str().unwrap()), add).await.status,
        StatusCode::NO_CONTENT
    );
    let groups = app.get(&format!("/Users/{}", u[1])).await.body["groups"].clone();
    let mut shown: Vec<&str> = groups.as_array().unwrap().iter().map(|g| g["display"].as_str().unwrap()).collect();
    shown.sort();
    assert_eq!(shown, ["Busy", "Other"], "{groups}");
    // Two renames to one name: one wins, one gets 409.
    let a = app.post("/Groups", json!({"displayName": "A"})).await.body;
    let b = app.post("/Groups", json!({"displayName": "B"})).await.body;
    let rename = |id: &Value| {
        let path = format!("/Groups/{}", id.as_str().unwrap());
        let app = &app;
        async move { app.patch(&path, patch_op(json!([{"op": "replace", "path": "displayName", "value": "Same"}]))).await }
    };
    let (ra, rb) = futures_util::future::join(rename(&a["id"]), rename(&b["id"])).await;
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{} / {}", ra.body, rb.body);
});

scim_test!(large_groups_are_read_in_pages_and_complete, |app| {
    let u = users(&app, 25, "big").await;
    let g = app.post("/Groups", json!({"displayName": "Big"})).await.body;
    let gid = g["id"].as_str().unwrap().to_string();
    // Nested groups as members too, so pages cross from Group to User rows.
    let mut groups = Vec::new();
    for i in 0..2 {
        groups.push(
            app.post("/Groups", json!({"displayName": format!("Sub{i}")})).await.body["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut all: Vec<Value> = u.iter().chain(groups.iter()).map(|id| json!({"value": id})).collect();
    all.reverse();
    let r =
        app.patch(&format!("/Groups/{gid}"), patch_op(json!([{"op": "add", "path": "members", "value": all}]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let want: BTreeSet<String> = u.iter().chain(groups.iter()).cloned().collect();
    let got = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(member_ids(&got), want);
    assert_eq!(got["members"].as_array().unwrap().len(), 27, "no member twice");
    let list = app.get("/Groups?filter=displayName%20eq%20%22big%22").await.body;
    assert_eq!(member_ids(&list["Resources"][0]), want);
    // Each page seeks to where the last one ended, rather than stepping over the members
    // before it (which made reading a 100,000-member group take quadratic time).
    let tenant = app.store.read(|tx| tx.tenant_by_name("acme")).unwrap().unwrap().id;
    let group = app.store.read(|tx| tx.group_by_id(tenant, &gid)).unwrap().unwrap();
    let plan = app
        .store
        .read(|tx| tx.explain_members_page(tenant, group.pk, (scimd::store::MemberKind::User, 1)))
        .unwrap()
        .join("\n");
    let seeks = match app.store.backend() {
        scimd::store::Backend::Sqlite => plan.contains("(member_type,member_pk)>(?,?)"),
        scimd::store::Backend::Postgres => {
            plan.lines().any(|l| l.contains("Index Cond") && l.contains("ROW(member_type, member_pk) > ROW("))
        }
    };
    assert!(seeks, "{plan}");
});

scim_test!(root_search_spans_users_and_groups, |app| {
    let u = users(&app, 3, "root").await;
    for name in ["Alpha", "Beta"] {
        app.post("/Groups", json!({"displayName": name, "members": [{"value": u[0]}]})).await;
    }
    // RFC 7644 §3.4.2: GET at the root asks the same with query parameters.
    let page = |body: Value| {
        let app = &app;
        async move {
            let posted = app.post("/.search", body.clone()).await;
            for root in ["", "/"] {
                let got = app.get(&format!("{root}{}", query_of(&body))).await;
                // Errors agree on their kind; their wording names the parameter as sent.
                let kind = |r: &crate::helpers::Response| match r.status {
                    StatusCode::OK => r.body.clone(),
                    _ => json!([r.status.as_u16(), r.body["scimType"]]),
                };
                assert_eq!(kind(&got), kind(&posted), "{body}");
            }
            posted
        }
    };
    let all = page(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!((all.body["totalResults"].clone(), all.body["itemsPerPage"].clone()), (json!(5), json!(5)));
    let kinds: Vec<&str> =
        all.body["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["User", "User", "User", "Group", "Group"]);
    // A page that straddles the two types.
    let straddle = page(json!({"startIndex": 3, "count": 2})).await.body;
    let ids: Vec<&str> =
        straddle["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!((ids, straddle["startIndex"].clone()), (vec!["User", "Group"], json!(3)));
    // displayName means both; userName only users; members only groups.
    assert_eq!(page(json!({"filter": "displayName eq \"beta\""})).await.body["totalResults"], 1);
    assert_eq!(page(json!({"filter": "userName sw \"root\""})).await.body["totalResults"], 3);
    assert_eq!(
        page(json!({"filter": format!("members.value eq \"{}\"", u[0]), "excludedAttributes": ["members"]})).await.body
            ["totalResults"],
        2
    );
    // One order across both types (`root_sort` checks it against a reference order).
    let sorted = page(json!({"sortBy": "meta.created", "sortOrder": "descending", "count": 3})).await.body;
    let kinds: Vec<&str> =
        sorted["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Group", "Group", "User"]);
    page(json!({"filter": "nosuch eq 1"})).await.assert_error(400, Some("invalidFilter"));
    page(json!({"count": "many"})).await.assert_error(400, Some("invalidValue"));
    app.delete("/").await.assert_error(405, None);
    assert_eq!(app.post("/Groups/.search", json!({"filter": "displayName sw \"a\""})).await.body["totalResults"], 1);
});
