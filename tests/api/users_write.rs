//! POST, GET, PUT, PATCH and DELETE of /Users, and what concurrency must not break.

use crate::helpers::{okta_user, patch_op};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

scim_test!(post_returns_201_the_full_resource_and_its_location, |app| {
    let r = app.post("/Users", okta_user("test.user@okta.local")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("application/scim+json"));
    let u = &r.body;
    let id = u["id"].as_str().unwrap();
    assert_eq!(u["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
    assert_eq!(u["userName"], "test.user@okta.local");
    assert_eq!(u["name"]["givenName"], "Test");
    assert_eq!(u["emails"][0]["value"], "test.user@okta.local");
    assert_eq!(u["active"], true);
    assert_eq!(u["externalId"], "ext-test.user@okta.local");
    assert!(u.get("password").is_none(), "password is never returned");
    assert!(u.get("groups").is_none() || u["groups"] == json!([]));
    let meta = &u["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], format!("{}/Users/{id}", app.base));
    assert_eq!(r.header("location"), meta["location"].as_str());
    assert_eq!(meta["version"], "W/\"1\"");
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert!(chrono::DateTime::parse_from_rfc3339(meta["created"].as_str().unwrap()).is_ok());
    assert_eq!(meta["created"], meta["lastModified"]);
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, r.body);
});

scim_test!(every_rfc_7643_user_attribute_and_the_enterprise_extension_round_trip, |app| {
    let input = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "userName": "bjensen@example.com",
        "externalId": "701984",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen", "nickName": "Babs", "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide", "userType": "Employee", "preferredLanguage": "en-US", "locale": "en-US",
        "timezone": "America/Los_Angeles", "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA",
                       "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}],
        "entitlements": [{"value": "delegated-admin"}],
        "roles": [{"value": "student"}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENT: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
              "division": "Theme Park", "department": "Tour Operations",
              "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"}},
    });
    let r = app.post("/Users", input.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let got = app.get(&format!("/Users/{}", r.body["id"].as_str().unwrap())).await.body;
    for (k, v) in input.as_object().unwrap() {
        assert_eq!(&got[k], v, "{k}");
    }
});

scim_test!(post_ignores_client_supplied_read_only_values_and_unknown_attributes, |app| {
    let mut body = okta_user("echo@x.com");
    body["id"] = json!("client-chosen");
    body["meta"] = json!({"created": "04-12-2018 00:00:00", "version": "v1.0"});
    body["groups"] = json!([{"value": "g1"}]);
    body["roles"] = json!([]);
    body["customAttribute"] = json!("x");
    body["addresses"] = json!(null);
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_ne!(r.body["id"], "client-chosen");
    assert!(r.body.get("customAttribute").is_none());
    assert!(r.body.get("roles").is_none() && r.body.get("addresses").is_none());
    assert_ne!(r.body["meta"]["version"], "v1.0");
});

scim_test!(a_user_without_active_is_created_active, |app| {
    let r = app.post("/Users", json!({"userName": "plain"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["active"], true);
});

scim_test!(user_name_is_unique_case_insensitively_and_kept_as_sent, |app| {
    let first = app.create_user("Alice@Example.com").await;
    assert_eq!(first["userName"], "Alice@Example.com");
    for dup in ["Alice@Example.com", "alice@example.com", "ALICE@EXAMPLE.COM"] {
        app.post("/Users", okta_user(dup)).await.assert_error(409, Some("uniqueness"));
    }
    let unicode = app.create_user("ÄLICE@x.com").await;
    app.post("/Users", okta_user("älice@x.com")).await.assert_error(409, Some("uniqueness"));
    assert_eq!(unicode["userName"], "ÄLICE@x.com");
});

scim_test!(two_racing_posts_of_one_user_name_make_one_user, |app| {
    for round in 0..10 {
        let name = format!("race{round}@x.com");
        let upper = name.to_uppercase();
        let (a, b) =
            futures_util::future::join(app.post("/Users", okta_user(&name)), app.post("/Users", okta_user(&upper)))
                .await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let loser = if a.status == StatusCode::CONFLICT { a } else { b };
        loser.assert_error(409, Some("uniqueness"));
        let list = app.get(&format!("/Users?filter=userName%20eq%20%22{name}%22")).await;
        assert_eq!(list.body["totalResults"], 1);
    }
});

scim_test!(put_replaces_writable_attributes_and_ignores_echoes, |app| {
    let created = app.create_user("put@x.com").await;
    let id = created["id"].as_str().unwrap();
    // Okta's 2018 PUT: the GET body back, with odd meta dates, a password and groups.
    let put = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "something-else",
        "userName": "put@x.com",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": true, "value": "put@x.com", "type": "work", "display": "put@x.com"}],
        "groups": [],
        "password": "TkdFNVdIVkxhM2c9",
        "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00", "version": "v1.0"},
    });
    let r = app.put(&format!("/Users/{id}"), put).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["name"], json!({"givenName": "Another", "middleName": "Excited", "familyName": "User"}));
    assert!(r.body.get("displayName").is_none(), "omitted optional attributes are cleared");
    assert!(r.body.get("externalId").is_none());
    assert_eq!(r.body["active"], true, "a PUT without active keeps it");
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    assert!(r.body.get("password").is_none());
    // AIW deactivation by PUT.
    let mut off = okta_user("put@x.com");
    off["active"] = json!(false);
    assert_eq!(app.put(&format!("/Users/{id}"), off).await.body["active"], false);
    let r = app.put(&format!("/Users/{id}"), json!({"userName": "put@x.com"})).await;
    assert_eq!(r.body["active"], false, "still inactive when active is omitted");
    // Okta pushes the whole profile when anything in Okta changes: a push of what is stored
    // (its placeholder password aside) changes nothing, not even the version or lastModified.
    let before = app.get(&format!("/Users/{id}")).await.body;
    for again in [
        json!({"userName": "put@x.com", "password": "another-placeholder", "active": false}),
        json!({"userName": "put@x.com", "password": "another-placeholder"}),
    ] {
        let r = app.put(&format!("/Users/{id}"), again.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body, before, "an unchanged PUT keeps meta: {again}");
    }
    let r = app.put(&format!("/Users/{id}"), json!({"userName": "put@x.com", "title": "CTO"})).await;
    assert_eq!(r.body["meta"]["version"], "W/\"5\"");
});

scim_test!(a_write_of_the_largest_user_lands_whole, |app| {
    // Replacing a user as large as scimd stores (just under 64 KiB of JSON) rewrites its
    // overflow pages and hundreds of index rows in one transaction. (Writes of 300 KB landed
    // here until users were bounded; one once failed with SQLITE_FULL, when the sub-journal's
    // in-memory limit was set above 128 KiB.)
    let created = app.create_user("big@x.com").await;
    let id = created["id"].as_str().unwrap();
    for fill in ['a', 'b'] {
        let mut body = okta_user("big@x.com");
        body["title"] = json!(fill.to_string().repeat(24_000));
        body["emails"] =
            (0..600).map(|i| json!({"value": format!("{fill}{i:04}@example.com"), "type": "work"})).collect();
        let r = app.put(&format!("/Users/{id}"), body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let read = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(read["title"].as_str().map(str::len), Some(24_000));
    assert!(read["title"].as_str().unwrap().starts_with('b'));
    assert_eq!(read["emails"].as_array().map(Vec::len), Some(600));
    let found = app.get("/Users?filter=emails.value%20eq%20%22b0599%40example.com%22").await.body;
    assert_eq!(found["totalResults"], 1, "{found}");
    let gone = app.get("/Users?filter=emails.value%20eq%20%22a0599%40example.com%22").await.body;
    assert_eq!(gone["totalResults"], 0, "{gone}");
});

scim_test!(indexed_strings_longer_than_the_index_allows_are_invalid_values, |app| {
    // PostgreSQL cannot index a B-tree entry over 2,704 bytes: scimd caps every indexed string
    // at 1,024 bytes on both backends, with a 400 rather than a database error.
    let long = "x".repeat(1025);
    let mut body = okta_user(&format!("{long}@x.com"));
    app.post("/Users", body.clone()).await.assert_error(400, Some("invalidValue"));
    body = okta_user("ok@x.com");
    body["emails"][0]["value"] = json!(format!("{long}@x.com"));
    app.post("/Users", body.clone()).await.assert_error(400, Some("invalidValue"));
    body = okta_user("ok@x.com");
    body["externalId"] = json!(long);
    app.post("/Users", body).await.assert_error(400, Some("invalidValue"));
    let list = app.get("/Users").await.body;
    assert_eq!(list["totalResults"], 0, "nothing written: {list}");
    let id = app.create_user("ok@x.com").await["id"].as_str().unwrap().to_string();
    let op = patch_op(json!([{"op": "replace", "path": "displayName", "value": long}]));
    app.patch(&format!("/Users/{id}"), op).await.assert_error(400, Some("invalidValue"));
    assert_ne!(app.get(&format!("/Users/{id}")).await.body["displayName"], json!(long));
    app.post("/Groups", json!({"displayName": long})).await.assert_error(400, Some("invalidValue"));
    // 1,024 bytes, multi-byte characters included, is still accepted.
    let mut body = okta_user("edge@x.com");
    body["displayName"] = json!("é".repeat(512));
    assert_eq!(app.post("/Users", body).await.status, StatusCode::CREATED);
});

async fn matching(app: &crate::helpers::TestApp, filter: &str) -> u64 {
    let query = form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
    let r = app.get(&format!("/Users?filter={query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
    r.body["totalResults"].as_u64().unwrap()
}

scim_test!(filters_follow_emails_through_writes_that_change_them_and_writes_that_do_not, |app| {
    let finds = |filter: &'static str| matching(&app, filter);
    let id = app.create_user("ada@example.com").await["id"].as_str().unwrap().to_string();
    let mut user = okta_user("ada@example.com");
    user["title"] = json!("Engineer");
    // A profile push that leaves the emails alone.
    assert_eq!(app.put(&format!("/Users/{id}"), user.clone()).await.status, StatusCode::OK);
    assert_eq!(finds(r#"emails[type eq "work" and value eq "ada@example.com"]"#).await, 1);
    // One that changes them: the old value no longer matches, the new ones do.
    user["emails"] = json!([{"value": "ada@new.example.com", "type": "work", "primary": true},
                            {"value": "ada@home.example.com", "type": "home"}]);
    assert_eq!(app.put(&format!("/Users/{id}"), user.clone()).await.status, StatusCode::OK);
    assert_eq!(finds(r#"emails.value eq "ada@example.com""#).await, 0);
    assert_eq!(finds(r#"emails[type eq "home" and value eq "ada@home.example.com"]"#).await, 1);
    // A deactivation touches no email; a PATCH that moves `primary` changes only that.
    let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(app.patch(&format!("/Users/{id}"), deactivate).await.status, StatusCode::OK);
    assert_eq!(finds(r#"emails[primary eq true and value eq "ada@new.example.com"]"#).await, 1);
    let move_primary = patch_op(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].primary", "value": false},
        {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}
    ]));
    let r = app.patch(&format!("/Users/{id}"), move_primary).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(finds(r#"emails[primary eq true and value eq "ada@new.example.com"]"#).await, 0);
    assert_eq!(finds(r#"emails[primary eq true and value eq "ada@home.example.com"]"#).await, 1);
});

scim_test!(put_errors, |app| {
    let a = app.create_user("a@x.com").await;
    app.create_user("b@x.com").await;
    let id = a["id"].as_str().unwrap();
    app.put(&format!("/Users/{id}"), okta_user("B@X.COM")).await.assert_error(409, Some("uniqueness"));
    app.put("/Users/no-such-id", okta_user("c@x.com")).await.assert_error(404, None);
    app.put(&format!("/Users/{id}"), json!({"name": {"givenName": "x"}})).await.assert_error(400, Some("invalidValue"));
    app.put(&format!("/Users/{id}"), json!({"userName": 5})).await.assert_error(400, Some("invalidValue"));
    app.put(&format!("/Users/{id}"), json!(["userName"])).await.assert_error(400, Some("invalidSyntax"));
    let after = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(after, a, "failed PUTs change nothing");
});

scim_test!(okta_deactivates_and_reactivates_with_a_path_less_patch, |app| {
    let u = app.create_user("okta@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let r = app.patch(&path, patch_op(json!([{"op": "replace", "value": {"active": false}}]))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["userName"], "okta@x.com");
    // Deactivated users stay listed and findable.
    let found = app.get("/Users?filter=userName%20eq%20%22OKTA%40x.com%22").await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["active"], false);
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
    let r = app.patch(&path, patch_op(json!([{"op": "replace", "value": {"active": true}}]))).await;
    assert_eq!(r.body["active"], true);
    assert_eq!(app.get(&path).await.body["active"], true);
});

scim_test!(a_patch_sets_a_password_hashed_and_only_when_the_whole_patch_applies, |app| {
    let u = app.create_user("pw@x.com").await;
    let id = u["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let hash = || app.db.text(&format!("SELECT password_hash AS value FROM users WHERE id = '{id}'")).unwrap();
    assert!(scimd::auth::secrets::verify_secret("1mz050nq", &hash()).unwrap(), "created with okta_user's password");
    // Okta's password sync: a path-less replace.
    let r = app.patch(&path, patch_op(json!([{"op": "replace", "value": {"password": "N3w-Secret!"}}]))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("password").is_none());
    assert_ne!(r.body["meta"]["version"], u["meta"]["version"]);
    assert!(scimd::auth::secrets::verify_secret("N3w-Secret!", &hash()).unwrap());
    // With a path, together with another change.
    let ops = json!([{"op": "replace", "path": "password", "value": "Th1rd!"}, {"op": "replace", "path": "title", "value": "CFO"}]);
    let r = app.patch(&path, patch_op(ops)).await;
    assert_eq!((r.status, &r.body["title"]), (StatusCode::OK, &json!("CFO")), "{}", r.body);
    assert!(scimd::auth::secrets::verify_secret("Th1rd!", &hash()).unwrap());
    // A password in a PATCH that fails as a whole is not set.
    let bad = json!([{"op": "replace", "path": "password", "value": "Fourth!"}, {"op": "remove", "path": "userName"}]);
    app.patch(&path, patch_op(bad)).await.assert_error(400, None);
    assert!(scimd::auth::secrets::verify_secret("Th1rd!", &hash()).unwrap());
    let wrong_type = json!([{"op": "replace", "path": "password", "value": 42}]);
    app.patch(&path, patch_op(wrong_type)).await.assert_error(400, Some("invalidValue"));
    assert!(scimd::auth::secrets::verify_secret("Th1rd!", &hash()).unwrap());
});

scim_test!(patch_add_replace_remove_on_attributes, |app| {
    let u = app.create_user("p@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let r = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "add", "path": "nickName", "value": "Babs"},
                {"op": "Replace", "path": "name.familyName", "value": "Jensen"},
                {"op": "add", "path": "emails", "value": [{"value": "home@x.com", "type": "home"}]},
                {"op": "replace", "path": format!("{ENT}:department"), "value": "Tours"},
                {"op": "remove", "path": "displayName"},
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["nickName"], "Babs");
    assert_eq!(b["name"]["familyName"], "Jensen");
    assert_eq!(b["name"]["givenName"], "Test");
    assert_eq!(b["emails"].as_array().unwrap().len(), 2);
    assert_eq!(b[ENT]["department"], "Tours");
    assert!(b["schemas"].as_array().unwrap().contains(&json!(ENT)));
    assert!(b.get("displayName").is_none());
    assert_eq!(b["meta"]["version"], "W/\"2\"");
    assert_eq!(&app.get(&path).await.body, b);
    // Empty Operations (Entra) succeeds and changes nothing, not even the version.
    let r = app.patch(&path, patch_op(json!([]))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
});

scim_test!(a_failing_patch_applies_none_of_its_operations, |app| {
    let u = app.create_user("atomic@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let cases = [
        (
            json!([{"op": "replace", "path": "title", "value": "T"}, {"op": "replace", "path": "active", "value": "maybe"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "title", "value": "T"}, {"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (json!([{"op": "replace", "path": "title", "value": "T"}, {"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "title", "value": "T"}, {"op": "remove", "path": "userName"}]),
            "invalidValue",
        ),
        (json!([{"op": "replace", "path": "title", "value": "T"}, {"op": "jump", "path": "title"}]), "invalidSyntax"),
        (json!([{"op": "replace", "path": "nosuch", "value": "T"}]), "invalidPath"),
    ];
    for (ops, scim_type) in cases {
        app.patch(&path, patch_op(ops)).await.assert_error(400, Some(scim_type));
    }
    app.patch(&path, json!({"Operations": "no"})).await.assert_error(400, Some("invalidSyntax"));
    app.patch("/Users/nope", patch_op(json!([]))).await.assert_error(404, None);
    let other = app.create_user("taken@x.com").await;
    assert!(other["id"].is_string());
    app.patch(&path, patch_op(json!([{"op": "replace", "path": "userName", "value": "TAKEN@x.com"}])))
        .await
        .assert_error(409, Some("uniqueness"));
    assert_eq!(app.get(&path).await.body, u, "nothing changed");
});

scim_test!(delete_is_204_then_404_and_frees_the_user_name, |app| {
    let u = app.create_user("gone@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let r = app.delete(&path).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.raw.is_empty());
    app.get(&path).await.assert_error(404, None);
    app.delete(&path).await.assert_error(404, None);
    app.patch(&path, patch_op(json!([]))).await.assert_error(404, None);
    app.create_user("GONE@x.com").await;
});
