//! attributes/excludedAttributes on every read and write, ETags with If-Match and
//! If-None-Match, and the discovery endpoints.

use crate::helpers::{okta_user, patch_op};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

scim_test!(attributes_and_excluded_attributes_apply_to_every_response, |app| {
    let mut body = okta_user("proj@x.com");
    body[ENT] = json!({"department": "D", "costCenter": "C"});
    let r = app.post("/Users?attributes=userName", body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["schemas", "id", "userName"]);
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let r = app.get(&format!("{path}?attributes=emails.value,{ENT}:department")).await;
    assert_eq!(r.body["emails"], json!([{"value": "proj@x.com"}]));
    assert_eq!(r.body[ENT], json!({"department": "D"}));
    assert!(r.body.get("name").is_none() && r.body.get("meta").is_none());
    let r = app.get(&format!("{path}?excludedAttributes=emails,name.familyName,meta,id")).await;
    assert!(r.body.get("emails").is_none() && r.body.get("meta").is_none());
    assert_eq!(r.body["id"], id, "id is returned always");
    assert_eq!(r.body["name"], json!({"givenName": "Test"}));
    let list = app.get("/Users?attributes=id").await;
    assert_eq!(list.body["Resources"][0].as_object().unwrap().len(), 2, "{}", list.body);
    let search = app.post("/Users/.search", json!({"excludedAttributes": ["emails"]})).await;
    assert!(search.body["Resources"][0].get("emails").is_none() && search.body["Resources"][0]["userName"].is_string());
    let r = app
        .patch(
            &format!("{path}?attributes=active"),
            patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(r.body, json!({"schemas": r.body["schemas"], "id": id, "active": false}));
    let r = app.put(&format!("{path}?excludedAttributes=emails"), okta_user("proj@x.com")).await;
    assert!(r.status == StatusCode::OK && r.body.get("emails").is_none());
    // An element or attribute cut down to nothing is left out, not written as `{}`.
    let r = app.get(&format!("{path}?excludedAttributes=emails.value,emails.type,emails.primary")).await;
    assert!(r.body.get("emails").is_none() && r.body["userName"].is_string(), "{}", r.body);
    let r = app.get(&format!("{path}?attributes=phoneNumbers.type,emails.display")).await;
    assert_eq!(r.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["schemas", "id"], "{}", r.body);
});

scim_test!(a_groups_attributes_are_projected_as_a_users_are, |app| {
    let uid = app.post("/Users", okta_user("member@x.com")).await.body["id"].as_str().unwrap().to_string();
    let g = app.post("/Groups", json!({"displayName": "Proj", "externalId": "e-1", "members": [{"value": uid}]})).await;
    let gid = g.body["id"].as_str().unwrap().to_string();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let whole = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(keys(&whole), ["schemas", "id", "displayName", "externalId", "meta", "members"]);
    assert_eq!(whole["meta"]["resourceType"], "Group");
    assert_eq!(whole["meta"]["location"], g.body["meta"]["location"]);
    let cases = [
        ("attributes=displayName", vec!["schemas", "id", "displayName"]),
        ("attributes=members", vec!["schemas", "id", "members"]),
        ("attributes=meta.version,members.value", vec!["schemas", "id", "meta", "members"]),
        ("excludedAttributes=externalId,meta,id", vec!["schemas", "id", "displayName", "members"]),
        ("excludedAttributes=members,meta.created", vec!["schemas", "id", "displayName", "externalId", "meta"]),
        // Names that are no attribute select nothing, as for users: what is always returned.
        ("attributes=members%5B", vec!["schemas", "id"]),
        ("attributes=members.nosuch", vec!["schemas", "id"]),
        // Every sub-attribute excluded leaves no `{}` behind (RFC 7643 §2.5: empty is unassigned).
        (
            "excludedAttributes=members.value,members.%24ref,members.type,members.display",
            vec!["schemas", "id", "displayName", "externalId", "meta"],
        ),
    ];
    for (query, want) in cases {
        let r = app.get(&format!("/Groups/{gid}?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(keys(&r.body), want, "{query}: {}", r.body);
        let listed = app.get(&format!("/Groups?{query}")).await.body;
        assert_eq!(listed["Resources"][0], r.body, "{query}: a list projects as a read does");
    }
    let r = app.get(&format!("/Groups/{gid}?attributes=meta.version,members.value")).await.body;
    assert_eq!(r["meta"], json!({"version": whole["meta"]["version"]}));
    assert_eq!(r["members"], json!([{"value": uid}]));
    // A member with nothing left to write (no `display`) is left out, not written as `{}`.
    let other = app.post("/Users", okta_user("shown@x.com")).await.body["id"].as_str().unwrap().to_string();
    let add = json!([{"op": "add", "path": "members", "value": [{"value": other, "display": "Shown"}]}]);
    assert_eq!(app.patch(&format!("/Groups/{gid}"), patch_op(add)).await.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("/Groups/{gid}?attributes=members.display")).await.body;
    assert_eq!(r["members"], json!([{"display": "Shown"}]), "{r}");
    let listed = app.get("/Groups?attributes=members.display").await.body;
    assert_eq!(listed["Resources"][0], r);
    let r = app.get(&format!("/Groups/{gid}?excludedAttributes=members,meta.created")).await.body;
    assert!(r["meta"].get("created").is_none() && r["meta"]["lastModified"].is_string(), "{r}");
});

scim_test!(etags_guard_writes_and_save_reads, |app| {
    let u = app.create_user("etag@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let url = format!("{}{path}", app.base);
    let auth = format!("Bearer {}", app.token);
    let ct = ("Content-Type", "application/scim+json");
    let patch = patch_op(json!([{"op": "replace", "path": "title", "value": "T"}])).to_string().into_bytes();
    // A stale or foreign version: 412 and nothing written.
    for stale in ["W/\"7\"", "\"7\"", "W/\"1\"x"] {
        let r = app.send_raw(Method::PATCH, &url, Some(&auth), &[ct, ("If-Match", stale)], Some(patch.clone())).await;
        r.assert_error(412, None);
    }
    assert!(app.get(&path).await.body.get("title").is_none());
    // The current version (weak or not, or *) lets the write through and moves the version.
    let r = app.send_raw(Method::PATCH, &url, Some(&auth), &[ct, ("If-Match", "W/\"1\"")], Some(patch.clone())).await;
    assert_eq!((r.status, r.header("etag")), (StatusCode::OK, Some("W/\"2\"")));
    let put = okta_user("etag@x.com").to_string().into_bytes();
    let r = app.send_raw(Method::PUT, &url, Some(&auth), &[ct, ("If-Match", "\"1\"")], Some(put.clone())).await;
    r.assert_error(412, None);
    let r = app.send_raw(Method::PUT, &url, Some(&auth), &[ct, ("If-Match", "\"9\", W/\"2\"")], Some(put)).await;
    assert_eq!(r.status, StatusCode::OK);
    // If-None-Match: 304 while unchanged, 200 once changed.
    let r = app.send_raw(Method::GET, &url, Some(&auth), &[("If-None-Match", "W/\"3\"")], None).await;
    assert_eq!((r.status, r.header("etag"), r.raw.is_empty()), (StatusCode::NOT_MODIFIED, Some("W/\"3\""), true));
    let r = app.send_raw(Method::GET, &url, Some(&auth), &[("If-None-Match", "W/\"2\"")], None).await;
    assert_eq!(r.status, StatusCode::OK);
    // DELETE honours If-Match too.
    app.send_raw(Method::DELETE, &url, Some(&auth), &[("If-Match", "W/\"1\"")], None).await.assert_error(412, None);
    let r = app.send_raw(Method::DELETE, &url, Some(&auth), &[("If-Match", "*")], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
});

// RFC 7644 §3.14: If-Match names the version a write replaces. On PostgreSQL a write reads the
// resource before it locks it, so a change that lands in between must still fail the request;
// here it is held open until the request waits for it.
scim_test!(if_match_fails_for_a_change_that_lands_while_the_write_waits, |app| {
    let u = app.create_user("race@x.com").await;
    let uid = u["id"].as_str().unwrap().to_string();
    let g = app.post("/Groups", json!({"displayName": "Race", "members": [{"value": uid}]})).await.body;
    let gid = g["id"].as_str().unwrap().to_string();
    let auth = format!("Bearer {}", app.token);
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]));
    let title = patch_op(json!([{"op": "replace", "path": "title", "value": "T"}]));
    // (table, id, the version the resource is at and the request names, request)
    let cases = [
        ("groups", &gid, 1, Method::PATCH, format!("/Groups/{gid}"), Some(remove.to_string().into_bytes())),
        ("groups", &gid, 2, Method::DELETE, format!("/Groups/{gid}"), None),
        ("users", &uid, 1, Method::PATCH, format!("/Users/{uid}"), Some(title.to_string().into_bytes())),
        ("users", &uid, 2, Method::DELETE, format!("/Users/{uid}"), None),
    ];
    for (table, id, version, method, path, body) in cases {
        // The held change moves the resource past the version the request names.
        let held = app.db.hold(&format!("UPDATE {table} SET version = version + 1 WHERE id = '{id}'"));
        let if_match = format!("W/\"{version}\"");
        let headers = [("Content-Type", "application/scim+json"), ("If-Match", if_match.as_str())];
        let url = format!("{}{path}", app.base);
        let request = app.send_raw(method.clone(), &url, Some(&auth), &headers, body);
        let release = async {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
            held.commit();
        };
        let (r, ()) = futures_util::future::join(request, release).await;
        r.assert_error(412, None);
        if table == "users" {
            let user = app.get(&format!("/Users/{uid}")).await;
            assert_eq!(user.status, StatusCode::OK, "{method} {path}: the user is still there");
            assert!(user.body.get("title").is_none(), "{method} {path}: the PATCH applied nothing");
        }
    }
    let group = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(group["members"][0]["value"], uid.as_str(), "the PATCH removed nothing: {group}");
    assert_eq!(group["meta"]["version"], "W/\"3\"", "only the held changes moved the version");
});

scim_test!(discovery_states_what_scimd_supports, |app| {
    let spc = app.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.body["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]));
    for (feature, supported) in
        [("patch", true), ("bulk", false), ("filter", true), ("sort", true), ("etag", true), ("changePassword", true)]
    {
        assert_eq!(spc.body[feature]["supported"], supported, "{feature}");
    }
    assert_eq!(spc.body["filter"]["maxResults"], 1000);
    assert_eq!(spc.body["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(spc.body["meta"]["location"], format!("{}/ServiceProviderConfig", app.base));
    let types = app.get("/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(types["Resources"][1]["endpoint"], "/Groups");
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(app.get("/ResourceTypes/User").await.body["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let schemas = app.get("/Schemas").await.body;
    assert_eq!(schemas["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(schemas["totalResults"], 3);
    let user = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await.body;
    let password = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!((password["mutability"].clone(), password["returned"].clone()), (json!("writeOnly"), json!("never")));
    app.get(&format!("/Schemas/{ENT}")).await;
    app.get("/Schemas/urn:nope").await.assert_error(404, None);
    app.get("/ResourceTypes/Nope").await.assert_error(404, None);
    app.get("/Schemas?filter=id%20pr").await.assert_error(403, None);
    app.call(Method::POST, "/ServiceProviderConfig", Some(json!({}))).await.assert_error(405, None);
    let r = app.send_raw(Method::GET, &format!("{}/Schemas", app.base), None, &[], None).await;
    r.assert_error(401, None);
});
