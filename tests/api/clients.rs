//! Real client traffic replayed: Okta's SCIM 2.0 spec test, Okta profile push and
//! (de)activation, Entra ID's default and aadOptscim062020 PATCH shapes, OneLogin templates,
//! Ping, JumpCloud and Keycloak's plug-ins, and strict RFC mode refusing each quirk.

use crate::helpers::{okta_user, patch_op, TestApp};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn compat_rules(r: &crate::helpers::Response) -> Vec<String> {
    r.header("x-scimd-compat").map(|h| h.split(',').map(str::to_string).collect()).unwrap_or_default()
}

scim_test!(okta_scim_2_0_spec_test_passes, |app| {
    app.create_user("existing@atko.com").await;
    let okta = |method: Method, path: String, body: Option<Value>, auth: Option<String>| {
        let app = &app;
        async move {
            let auth = auth.unwrap_or_else(|| format!("Bearer {}", app.token));
            let headers = [
                ("Accept", "application/scim+json"),
                ("Accept-Charset", "utf-8"),
                ("Content-Type", "application/scim+json; charset=utf-8"),
                ("User-Agent", "OKTA SCIM Integration"),
            ];
            app.send_raw(
                method,
                &format!("{}{path}", app.base),
                Some(&auth),
                &headers,
                body.map(|b| b.to_string().into_bytes()),
            )
            .await
        }
    };
    // 1. Users endpoint.
    let r = okta(Method::GET, "/Users?count=1&startIndex=1".into(), None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let first = &r.body["Resources"][0];
    for k in ["id", "userName", "active"] {
        assert!(!first[k].is_null(), "{k}");
    }
    assert!(first["name"]["familyName"].is_string() && first["emails"][0]["value"].is_string());
    // 2. By id.
    let id = first["id"].as_str().unwrap();
    assert_eq!(okta(Method::GET, format!("/Users/{id}"), None, None).await.body["id"], id);
    // 3, 5. Unknown userName: an empty list.
    let r = okta(Method::GET, "/Users?filter=userName%20eq%20%22abcdefgh%40atko.com%22".into(), None, None).await;
    assert_eq!((r.status, r.body["totalResults"].clone()), (StatusCode::OK, json!(0)));
    // 4, 12. Unknown ids: 404 with a SCIM error.
    okta(Method::GET, "/Users/010101001010101011001010101011".into(), None, None).await.assert_error(404, None);
    okta(Method::GET, "/Users/00919288221112222".into(), None, None).await.assert_error(404, None);
    // 6-8. Create with realistic values, read back, create again: 409.
    let name = "RunscopeAbc123@atko.com";
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
        "name": {"givenName": "Runscope123", "familyName": "Abcdefghi123"},
        "emails": [{"primary": true, "value": name, "type": "work"}], "displayName": "Runscope123 Abcdefghi123", "active": true});
    let r = okta(Method::POST, "/Users".into(), Some(body.clone()), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!((r.body["active"].clone(), r.body["userName"].clone()), (json!(true), json!(name)));
    let created = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(okta(Method::GET, format!("/Users/{created}"), None, None).await.body["name"], body["name"]);
    okta(Method::POST, "/Users".into(), Some(body), None).await.assert_error(409, Some("uniqueness"));
    // 9. Username case sensitivity check.
    let r = okta(Method::GET, format!("/Users?filter=userName%20eq%20%22{}%22", name.to_uppercase()), None, None).await;
    assert_eq!(r.body["Resources"][0]["id"], created);
    // 11. A non-token: 401 with a SCIM error.
    okta(Method::GET, "/Users".into(), None, Some("non-token".into())).await.assert_error(401, None);
});

scim_test!(okta_profile_push_deactivation_and_reactivation, |app| {
    let u = app.create_user("crud@okta.local").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let mut push = app.get(&path).await.body;
    push["name"]["givenName"] = json!("Changed");
    push["password"] = json!("TkdFNVdIVkxhM2c9");
    push.as_object_mut().unwrap().remove("active");
    let r = app.put(&path, push).await;
    assert_eq!(
        (r.status, r.body["name"]["givenName"].clone(), r.body["active"].clone()),
        (StatusCode::OK, json!("Changed"), json!(true))
    );
    assert_eq!(compat_rules(&r), ["put-keeps-active", "put-ignores-password"]);
    let off = app.patch(&path, patch_op(json!([{"op": "replace", "value": {"active": false}}]))).await;
    assert_eq!(off.body["active"], false);
    // A push without `active` leaves a deactivated user deactivated.
    let mut push = app.get(&path).await.body;
    push.as_object_mut().unwrap().remove("active");
    push["title"] = json!("Pushed while inactive");
    let r = app.put(&path, push).await;
    assert_eq!(
        (r.status, &r.body["active"], &r.body["title"]),
        (StatusCode::OK, &json!(false), &json!("Pushed while inactive"))
    );
    let inactive = app.get("/Users?filter=active%20eq%20false").await;
    assert_eq!(inactive.body["totalResults"], 1, "{}", inactive.body);
    let found = app.get("/Users?filter=userName%20eq%20%22crud%40okta.local%22").await;
    assert_eq!(found.body["Resources"][0]["active"], false);
    let on = app.patch(&path, patch_op(json!([{"op": "replace", "value": {"active": true}}]))).await;
    assert_eq!(on.body["active"], true);
    assert!(compat_rules(&on).is_empty(), "Okta's (de)activation is plain RFC 7644");
});

/// The JSON body of a GET of `path` sent as written (awc would encode it), which must be
/// answered `status`.
async fn answer_on_the_wire(app: &TestApp, path: &str, status: u16) -> Value {
    let wire = app.get_on_the_wire(path).await;
    let (head, body) = wire.split_once("\r\n\r\n").unwrap_or((&wire, ""));
    assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{wire}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {wire}"))
}

async fn entra_user(app: &TestApp) -> String {
    // Entra's create, with its nulls and empty roles.
    let r = app
        .post("/Users", json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_00aa00aa@testuser.com",
            "active": true, "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb@testuser.com"}],
            "meta": {"resourceType": "User"}, "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [], "addresses": null, "title": null, "manager": null,
        }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

scim_test!(entra_default_patch_shapes, |app| {
    let id = entra_user(&app).await;
    let path = format!("/Users/{id}");
    let r = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Replace", "path": format!("{ENT}:employeeNumber"), "value": "42"},
                {"op": "Add", "path": format!("{ENT}:manager"), "value": "26118915-6090"},
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emails"], json!([{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}]));
    assert_eq!(r.body["name"]["familyName"], "updatedFamilyName");
    assert_eq!(r.body["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
    assert_eq!(r.body[ENT], json!({"employeeNumber": "42", "manager": {"value": "26118915-6090"}}));
    let rules = compat_rules(&r);
    for rule in ["patch-name-case", "filter-creates-element", "bare-complex-value"] {
        assert!(rules.contains(&rule.to_string()), "{rule} in {rules:?}");
    }
    // Disable with a string boolean, then the user is still found, inactive.
    let r = app.patch(&path, patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]))).await;
    assert_eq!(r.body["active"], false);
    assert!(compat_rules(&r).contains(&"string-scalars".to_string()));
    let found = app.get("/Users?filter=userName%20eq%20%22test_user_00aa00aa%40testuser.com%22").await;
    assert_eq!(found.body["Resources"][0]["active"], false);
    // The validator's own query, with `+` for spaces and its quotes unencoded: actix-http's
    // http 0.2 refused the raw `"` with an empty 400 (vendor/http-0.2.12/PATCHED.md).
    let body = answer_on_the_wire(&app, "/Users?filter=userName+eq+\"test_user_00aa00aa%40testuser.com\"", 200).await;
    assert_eq!((&body["totalResults"], &body["Resources"][0]["id"]), (&json!(1), &json!(id)));
    // Its quote left open is the filter's error, said as SCIM says errors.
    let body = answer_on_the_wire(&app, "/Users?filter=userName+eq+\"test_user_00aa00aa%40testuser.com", 400).await;
    assert_eq!((&body["status"], &body["scimType"]), (&json!("400"), &json!("invalidFilter")), "{body}");
    // Clear the manager with "", rename, and the validator's empty Operations.
    let r = app.patch(&path, patch_op(json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": ""}]))).await;
    assert!(r.body[ENT].get("manager").is_none(), "{}", r.body);
    let r = app
        .patch(&path, patch_op(json!([{"op": "Replace", "path": "userName", "value": "renamed@testuser.com"}])))
        .await;
    assert_eq!(r.body["userName"], "renamed@testuser.com");
    let r = app.patch(&path, patch_op(json!([]))).await;
    assert_eq!((r.status, compat_rules(&r)), (StatusCode::OK, vec!["empty-operations".to_string()]));
    // The MS validator's manager object forms.
    let r = app
        .patch(
            &path,
            patch_op(json!([{"op": "add", "path": format!("{ENT}:manager"), "value": {"value": "AXTKDLNRKMKT"}}])),
        )
        .await;
    assert_eq!(r.body[ENT]["manager"], json!({"value": "AXTKDLNRKMKT"}));
    let r = app.patch(&path, patch_op(json!([{"op": "remove", "path": format!("{ENT}:manager")}]))).await;
    assert!(r.body[ENT].get("manager").is_none());
    // The validator's `"primary": "true"` string on a new email takes primary from the old one
    // (RFC 7644 §3.5.2), as a boolean would.
    let r = app
        .patch(
            &path,
            patch_op(json!([{"op": "add", "path": "emails", "value": [{"value": "home@x.com", "type": "home", "primary": "true"}]}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let primaries: Vec<_> = r.body["emails"].as_array().unwrap().iter().map(|e| (&e["type"], &e["primary"])).collect();
    assert_eq!(primaries, [(&json!("work"), &json!(false)), (&json!("home"), &json!(true))]);
});

scim_test!(entra_aad_opt_scim_062020_patch_shapes, |app| {
    let id = entra_user(&app).await;
    let path = format!("/Users/{id}");
    let r = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"},
                {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
                                              format!("{ENT}:employeeNumber"): "Aklq"}},
                {"op": "add", "path": "nickName", "value": "Babs"},
                {"op": "replace", "path": "active", "value": false},
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(
        (b["displayName"].clone(), b["nickName"].clone(), b["active"].clone()),
        (json!("Bjfe"), json!("Babs"), json!(false))
    );
    assert_eq!(b["name"], json!({"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"}));
    assert_eq!(b[ENT]["employeeNumber"], "Aklq");
    assert_eq!(b["emails"][0]["value"], "new@contoso.com");
    assert!(compat_rules(&r).is_empty(), "the compliant shapes need no quirks: {:?}", compat_rules(&r));
});

scim_test!(onelogin_templates_with_legacy_urns_and_single_objects, |app| {
    let r = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
                "userName": "onelogin-test-user01",
                "name": {"givenName": "AAA Test", "familyName": " User 01", "formatted": ""},
                "emails": {"value": "ol@example.com", "type": "work", "primary": true},
                "urn:scim:schemas:extension:enterprise:1.0": {"department": "Sales", "manager": {"managerId": "m1"}},
                "customAttribute": "x",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["emails"], json!([{"value": "ol@example.com", "type": "work", "primary": true}]));
    assert_eq!(r.body["name"]["familyName"], " User 01", "values are stored as sent");
    assert_eq!(r.body[ENT]["department"], "Sales");
    let mut rules = compat_rules(&r);
    rules.sort();
    assert_eq!(rules, ["foreign-schema-urn", "single-value-for-multi-valued", "unknown-attribute"]);
    // OneLogin updates by PUT of the same template, without active.
    let path = format!("/Users/{}", r.body["id"].as_str().unwrap());
    app.patch(&path, patch_op(json!([{"op": "replace", "path": "active", "value": false}]))).await;
    let r = app
        .put(&path, json!({"schemas": ["urn:scim:schemas:core:1.0"], "userName": "onelogin-test-user01", "title": "T"}))
        .await;
    assert_eq!((r.body["title"].clone(), r.body["active"].clone()), (json!("T"), json!(false)));
});

// idp-clients.md §4: PingFederate matches by `userName Eq "%s"`, updates users by PUT (also to
// disable them) and groups by PUT with every member, and lists 1,000 at a time; JumpCloud adds
// members Azure-style and deletes its test user and group; Keycloak's plug-ins send `active`
// as a string, replace all members every time and empty a group by removing `value: null`.
scim_test!(ping_jumpcloud_and_keycloak_shapes, |app| {
    let a = app.create_user("ping.a@example.com").await["id"].as_str().unwrap().to_string();
    let b = app.create_user("ping.b@example.com").await["id"].as_str().unwrap().to_string();
    let found = app.get("/Users?filter=userName%20Eq%20%22PING.A@example.com%22").await;
    assert_eq!(found.body["Resources"][0]["id"], a.as_str(), "{}", found.body);
    let disabled = app.put(&format!("/Users/{a}"), json!({"userName": "ping.a@example.com", "active": false})).await;
    assert_eq!((disabled.status, disabled.body["active"].clone()), (StatusCode::OK, json!(false)));
    let g = app.post("/Groups", json!({"displayName": "Ping Group", "members": [{"value": a}]})).await.body;
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    let put = app.put(&path, json!({"displayName": "Ping Group", "members": [{"value": a}, {"value": b}]})).await;
    assert_eq!(put.body["members"].as_array().unwrap().len(), 2, "{}", put.body);
    let page = app.get("/Users?startIndex=1&count=1000").await;
    assert_eq!((page.body["totalResults"].clone(), page.body["itemsPerPage"].clone()), (json!(2), json!(2)));
    // "Results per page" -1, "server max": the largest page, users and groups alike.
    for (list, listed) in [("/Users?count=-1", 2), ("/Groups?count=-1", 1), ("?count=-1&startIndex=2", 2)] {
        let r = app.get(list).await;
        assert_eq!(r.body["itemsPerPage"], json!(listed), "{list}: {}", r.body);
        assert_eq!(compat_rules(&r), ["negative-count-as-maximum"], "{list}");
    }
    // JumpCloud.
    let jc = app.post("/Groups", json!({"displayName": "JC Test"})).await.body;
    let jc_path = format!("/Groups/{}", jc["id"].as_str().unwrap());
    let add = json!([{"op": "add", "path": "members", "value": [{"value": b}]}]);
    assert_eq!(app.patch(&jc_path, patch_op(add)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&jc_path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&jc_path).await.status, StatusCode::NOT_FOUND);
    // Keycloak.
    let active = json!([{"op": "replace", "path": "active", "value": "True"}]);
    let r = app.patch(&format!("/Users/{a}"), patch_op(active)).await;
    assert_eq!((r.status, r.body["active"].clone()), (StatusCode::OK, json!(true)), "{}", r.body);
    let all = json!([{"op": "replace", "path": "members", "value": [{"value": a}, {"value": b}]}]);
    assert_eq!(app.patch(&path, patch_op(all)).await.status, StatusCode::NO_CONTENT);
    let empty = json!([{"op": "remove", "path": "members", "value": null}]);
    assert_eq!(app.patch(&path, patch_op(empty)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.body["members"], json!([]));
    let user = app.get(&format!("/Users/{b}")).await.body;
    assert!(user.get("groups").is_none(), "in no group: {user}");
});

// idp-clients.md §5: unquoted legacy values (`externalId eq jyoung`) tolerated.
scim_test!(a_bare_filter_value_reads_as_a_string, |app| {
    let mut user = okta_user("jyoung@example.com");
    user["externalId"] = json!("jyoung");
    assert_eq!(app.post("/Users", user).await.status, StatusCode::CREATED);
    let r = app.get("/Users?filter=externalId%20eq%20jyoung%20and%20userName%20eq%20JYOUNG@example.com").await;
    assert_eq!((r.status, r.body["totalResults"].clone()), (StatusCode::OK, json!(1)), "{}", r.body);
    assert_eq!(compat_rules(&r), ["unquoted-filter-value"]);
    let g = app.post("/Groups", json!({"displayName": "Eng"})).await;
    assert_eq!(g.status, StatusCode::CREATED);
    let r = app.get("/Groups?filter=displayName%20eq%20eng").await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    // Quoted filters fire nothing; what a bare word cannot mend stays the client's error.
    assert!(compat_rules(&app.get("/Users?filter=externalId%20eq%20%22jyoung%22").await).is_empty());
    app.get("/Users?filter=displayName%20eq%20Sales%20Team").await.assert_error(400, Some("invalidFilter"));
});

scim_test!(strict_rfc_mode_refuses_every_quirk, |app| {
    let (base, token) = app.tenant("rfc");
    scimd::tenancy::set_strict_rfc(&app.store, "rfc", true).unwrap();
    let send = |method: Method, path: String, body: Value| {
        let app = &app;
        let url = format!("{base}{path}");
        let auth = format!("Bearer {token}");
        async move {
            app.send_raw(
                method,
                &url,
                Some(&auth),
                &[("Content-Type", "application/scim+json")],
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let core = "urn:ietf:params:scim:schemas:core:2.0:User";
    let r = send(Method::POST, "/Users".into(), json!({"schemas": [core], "userName": "s@x.com"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let path = format!("/Users/{}", r.body["id"].as_str().unwrap());
    let refused: Vec<(Method, Value, &str)> = vec![
        (Method::POST, json!({"userName": "a"}), "invalidSyntax"),
        (Method::POST, json!({"schemas": ["urn:scim:schemas:core:1.0"], "userName": "a"}), "invalidSyntax"),
        (Method::POST, json!({"schemas": [core], "userName": "a", "custom": 1}), "invalidSyntax"),
        (Method::POST, json!({"schemas": [core], "userName": "a", "emails": {"value": "x"}}), "invalidValue"),
        (Method::POST, json!({"schemas": [core], "userName": "a", "active": "True"}), "invalidValue"),
        (Method::PATCH, patch_op(json!([{"op": "Replace", "path": "title", "value": "x"}])), "invalidSyntax"),
        (Method::PATCH, patch_op(json!([])), "invalidSyntax"),
        (
            Method::PATCH,
            patch_op(json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "x"}])),
            "noTarget",
        ),
        (Method::PATCH, patch_op(json!([{"op": "replace", "value": {"id": "x", "title": "t"}}])), "mutability"),
        (
            Method::PATCH,
            patch_op(json!([{"op": "add", "path": format!("{ENT}:manager"), "value": "m"}])),
            "invalidValue",
        ),
        (Method::PATCH, json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}), "invalidSyntax"),
    ];
    for (method, body, scim_type) in refused {
        let target = if method == Method::POST { "/Users".to_string() } else { path.clone() };
        send(method, target, body.clone()).await.assert_error(400, Some(scim_type));
    }
    let bare = format!("{base}/Users?filter=externalId%20eq%20jyoung");
    let r = app.send_raw(Method::GET, &bare, Some(&format!("Bearer {token}")), &[], None).await;
    r.assert_error(400, Some("invalidFilter"));
    // RFC 7644 §3.4.2.4: a negative count is 0.
    let negative = format!("{base}/Users?count=-1");
    let r = app.send_raw(Method::GET, &negative, Some(&format!("Bearer {token}")), &[], None).await;
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(1), json!(0)), "{}", r.body);
    assert!(r.header("x-scimd-compat").is_none());
    // A PUT without active clears it in strict mode; with a password it sets one.
    let r = send(Method::PUT, path.clone(), json!({"schemas": [core], "userName": "s@x.com", "password": "pw"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("active").is_none() && r.header("x-scimd-compat").is_none());
});
