//! Every client mistake is a SCIM error with the right status and scimType, and writes nothing.

use crate::helpers::{okta_user, patch_op, TestApp};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::json;

async fn post_raw(app: &TestApp, body: &[u8], content_type: &str) -> crate::helpers::Response {
    let auth = format!("Bearer {}", app.token);
    app.send_raw(
        Method::POST,
        &format!("{}/Users", app.base),
        Some(&auth),
        &[("Content-Type", content_type)],
        Some(body.to_vec()),
    )
    .await
}

scim_test!(malformed_bodies_are_400_and_write_nothing, |app| {
    let cases: &[(&[u8], &str)] = &[
        (b"{\"userName\": ", "invalidSyntax"),
        (b"not json", "invalidSyntax"),
        (b"", "invalidSyntax"),
        (b"[1,2]", "invalidSyntax"),
        (b"\"userName\"", "invalidSyntax"),
        (b"{}", "invalidValue"),
        (b"{\"userName\": \"\"}", "invalidValue"),
        (b"{\"userName\": \"   \"}", "invalidValue"),
        (b"{\"userName\": \"\\t\\n\"}", "invalidValue"),
        ("{\"userName\": \"\u{3000}\u{a0}\"}".as_bytes(), "invalidValue"),
        (b"{\"userName\": null}", "invalidValue"),
        (b"{\"userName\": 42}", "invalidValue"),
        (b"{\"userName\": \"a\", \"active\": \"sometimes\"}", "invalidValue"),
        (b"{\"userName\": \"a\", \"emails\": 5}", "invalidValue"),
        (b"{\"userName\": \"a\", \"emails\": [{\"value\": 1}]}", "invalidValue"),
        (b"{\"userName\": \"a\", \"name\": \"Bob\"}", "invalidValue"),
        (b"{\"userName\": \"a\", \"emails\": [{\"value\": \"x\", \"primary\": true}, {\"value\": \"y\", \"primary\": true}]}", "invalidValue"),
        (b"{\"userName\": \"a\", \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\": 5}", "invalidValue"),
        (b"{\"userName\": \"a\", \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\": {\"employeeNumber\": 5}}", "invalidValue"),
    ];
    for (body, scim_type) in cases {
        let r = post_raw(&app, body, "application/scim+json").await;
        r.assert_error(400, Some(scim_type));
    }
    // A compressed body is not decoded, and the error says so (gzip's magic bytes, then junk).
    let auth = format!("Bearer {}", app.token);
    let url = format!("{}/Users", app.base);
    let gzip = [("Content-Type", "application/scim+json"), ("Content-Encoding", "gzip")];
    let r = app.send_raw(Method::POST, &url, Some(&auth), &gzip, Some(vec![0x1f, 0x8b, 8, 0, 1, 2, 3])).await;
    r.assert_error(400, Some("invalidSyntax"));
    assert!(r.body["detail"].as_str().unwrap().contains("Content-Encoding: gzip"), "{}", r.body);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
    // One that is JSON all the same is read, whatever coding its header names.
    let plain = br#"{"userName": "coded@example.com"}"#.to_vec();
    let r = app.send_raw(Method::POST, &url, Some(&auth), &gzip, Some(plain)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
});

// RFC 7644 §3.8: `Accept: application/json` SHOULD be honoured (OneLogin's docs ask for it);
// the default, and any tie, is application/scim+json.
scim_test!(accept_chooses_between_scim_json_and_json, |app| {
    let id = app.create_user("accept@x.com").await["id"].as_str().unwrap().to_string();
    let auth = format!("Bearer {}", app.token);
    let get = |path: String, accept: &'static str| {
        let (app, auth) = (&app, auth.clone());
        async move {
            let headers: Vec<(&str, &str)> = if accept.is_empty() { vec![] } else { vec![("Accept", accept)] };
            app.send_raw(Method::GET, &format!("{}{path}", app.base), Some(&auth), &headers, None).await
        }
    };
    let default = get(format!("/Users/{id}"), "").await;
    assert_eq!(default.header("content-type"), Some("application/scim+json"));
    for (accept, want) in [
        ("application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("application/scim+json", "application/scim+json"),
        ("application/json, application/scim+json", "application/scim+json"),
        ("application/json;q=0.5, application/scim+json", "application/scim+json"),
        ("*/*", "application/scim+json"),
    ] {
        let r = get(format!("/Users/{id}"), accept).await;
        assert_eq!((r.status, r.header("content-type")), (StatusCode::OK, Some(want)), "{accept}");
        assert_eq!(r.raw, default.raw, "the same body whatever its label");
    }
    // Lists, errors and streamed groups are labelled alike.
    assert_eq!(get("/Users".into(), "application/json").await.header("content-type"), Some("application/json"));
    let missing = get("/Users/nope".into(), "application/json").await;
    assert_eq!((missing.status.as_u16(), missing.header("content-type")), (404, Some("application/json")));
    let group = app.post("/Groups", json!({"displayName": "G", "members": [{"value": id}]})).await;
    let gid = group.body["id"].as_str().unwrap();
    let r = get(format!("/Groups/{gid}"), "application/json").await;
    assert_eq!(
        (r.header("content-type"), r.body["members"][0]["value"].as_str()),
        (Some("application/json"), Some(id.as_str()))
    );
});

scim_test!(json_and_scim_json_with_any_charset_are_accepted, |app| {
    for (i, ct) in [
        "application/json",
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json;charset=UTF-8",
    ]
    .into_iter()
    .enumerate()
    {
        let body = okta_user(&format!("ct{i}@x.com")).to_string();
        let r = post_raw(&app, body.as_bytes(), ct).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct}: {}", r.body);
        assert!(r.header("content-type").unwrap().starts_with("application/scim+json"));
    }
});

// RFC 8259 §8.1: a parser MAY ignore a byte order mark before the JSON text; one elsewhere,
// or a BOM with nothing after it, is still not JSON.
scim_test!(a_body_after_a_utf8_byte_order_mark_is_read, |app| {
    let with_bom = |text: String| [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let r = post_raw(&app, &with_bom(okta_user("bom@x.com").to_string()), "application/scim+json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let patch = patch_op(json!([{"op": "replace", "path": "active", "value": false}])).to_string();
    let auth = format!("Bearer {}", app.token);
    let url = format!("{}/Users/{id}", app.base);
    let r = app.send_raw(Method::PATCH, &url, Some(&auth), &[], Some(with_bom(patch))).await;
    assert_eq!((r.status, &r.body["active"]), (StatusCode::OK, &json!(false)), "{}", r.body);
    post_raw(&app, b"\xEF\xBB\xBF", "application/scim+json").await.assert_error(400, Some("invalidSyntax"));
    let twice = [b"\xEF\xBB\xBF".as_slice(), &with_bom(okta_user("twice@x.com").to_string())].concat();
    post_raw(&app, &twice, "application/scim+json").await.assert_error(400, Some("invalidSyntax"));
    let inside = okta_user("inside@x.com").to_string().replacen(',', ",\u{feff}", 1);
    post_raw(&app, inside.as_bytes(), "application/scim+json").await.assert_error(400, Some("invalidSyntax"));
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
});

scim_test!(unknown_paths_and_wrong_methods_are_scim_errors, |app| {
    app.get("/Nope").await.assert_error(404, None);
    app.get("/Users/a/b").await.assert_error(404, None);
    let r = app.send_raw(Method::GET, &format!("{}/nothing/here", app.root), None, &[], None).await;
    r.assert_error(404, None);
    let r = app.call(Method::PUT, "/Users", Some(json!({}))).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    app.call(Method::POST, "/Users/some-id", Some(json!({}))).await.assert_error(405, None);
    app.get("/Users/does-not-exist").await.assert_error(404, None);
    app.get("/Users/010101001010101011001010101011").await.assert_error(404, None);
});

// RFC 9110 §9.3.2: HEAD answers as GET does, headers without the body.
scim_test!(head_answers_as_get_without_a_body, |app| {
    let id = app.create_user("head@x.com").await["id"].as_str().unwrap().to_string();
    let get = app.get(&format!("/Users/{id}")).await;
    let head = app.call(Method::HEAD, &format!("/Users/{id}"), None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.raw.is_empty(), "no body");
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(head.header("content-length"), Some(get.raw.len().to_string().as_str()));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    for path in ["/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes/User"] {
        assert_eq!(app.call(Method::HEAD, path, None).await.status, StatusCode::OK, "{path}");
    }
    let missing = app.call(Method::HEAD, "/Users/nope", None).await;
    assert_eq!((missing.status, missing.raw.len()), (StatusCode::NOT_FOUND, 0));
    let r = app.send_raw(Method::HEAD, &format!("{}/Users", app.base), Some("Bearer wrong"), &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.send_raw(Method::HEAD, &format!("{}/healthz", app.local), None, &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    // Readiness reads the database (database_outage.rs has it out of reach).
    let r = app.send_raw(Method::GET, &format!("{}/readyz", app.local), None, &[], None).await;
    assert_eq!((r.status, r.raw.as_slice()), (StatusCode::OK, &b"ready"[..]));
    let r = app.send_raw(Method::HEAD, &format!("{}/readyz", app.local), None, &[], None).await;
    assert_eq!((r.status, r.raw.len()), (StatusCode::OK, 0));
    let r = app.call(Method::DELETE, "/ServiceProviderConfig", None).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
});

// RFC 7644 §3.11 and §3.12: what scimd does not offer is a 501, not a missing endpoint.
scim_test!(me_and_bulk_are_501s, |app| {
    app.get("/Me").await.assert_error(501, None);
    app.call(Method::PATCH, "/Me/password", Some(json!({}))).await.assert_error(501, None);
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "q1", "data": {"userName": "bulk1"}}]});
    let r = app.call(Method::POST, "/Bulk", Some(bulk)).await;
    r.assert_error(501, None);
    assert!(r.body["detail"].as_str().unwrap().contains("bulk.supported"), "{}", r.body);
    assert_eq!(app.get("/ServiceProviderConfig").await.body["bulk"]["supported"], false);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0, "nothing of the bulk request was applied");
});

scim_test!(a_body_over_the_limit_is_413, |app| {
    let big = json!({"userName": "big", "title": "x".repeat(1024 * 1024)}).to_string();
    post_raw(&app, big.as_bytes(), "application/json").await.assert_error(413, None);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
});

scim_test!(the_body_limit_is_configurable, |settings| settings.max_body_bytes = 100, |app| {
    let body = okta_user("long-enough-to-pass-one-hundred-bytes@x.com").to_string();
    post_raw(&app, body.as_bytes(), "application/json").await.assert_error(413, None);
    post_raw(&app, br#"{"userName":"s"}"#, "application/json").await;
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
});

scim_test!(internal_errors_are_500_with_a_generic_detail, |app| {
    let u = app.create_user("broken@x.com").await;
    app.db.execute("UPDATE users SET data = 'secret-internal-state'");
    let r = app.get(&format!("/Users/{}", u["id"].as_str().unwrap())).await;
    r.assert_error(500, None);
    assert!(!String::from_utf8_lossy(&r.raw).contains("secret-internal-state"));
});

// No stored string can hold U+0000 (PostgreSQL's text cannot): a body, query or path that
// carries one is a client error on both backends, never a 500, and writes nothing.
scim_test!(the_nul_character_is_refused_wherever_it_is_sent, |app| {
    let user = app.create_user("nul@x.com").await;
    let uid = user["id"].as_str().unwrap();
    let nul_bodies: &[&[u8]] = &[
        b"{\"userName\": \"a\\u0000b\"}",
        b"{\"userName\": \"ok@x.com\", \"title\": \"a\\u0000\"}",
        b"{\"userName\": \"ok@x.com\", \"emails\": [{\"value\": \"e\\u0000@x.com\"}]}",
        b"{\"userName\": \"ok@x.com\", \"a\\u0000\": 1}",
    ];
    for body in nul_bodies {
        post_raw(&app, body, "application/scim+json").await.assert_error(400, Some("invalidValue"));
    }
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "x\u{0}"}]});
    app.patch(&format!("/Users/{uid}"), patch).await.assert_error(400, Some("invalidValue"));
    app.post("/Groups", json!({"displayName": "g\u{0}"})).await.assert_error(400, Some("invalidValue"));
    let search =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"\u{0}\""});
    app.post("/Users/.search", search).await.assert_error(400, Some("invalidValue"));
    app.get("/Users?filter=userName%20eq%20%22a%00b%22").await.assert_error(400, Some("invalidFilter"));
    app.get("/Users?filter=title%20co%20%22%00%22").await.assert_error(400, Some("invalidFilter"));
    app.get("/Groups?filter=displayName%20eq%20%22a%00b%22").await.assert_error(400, Some("invalidFilter"));
    app.get("/Groups?filter=id%20eq%20%22a%00b%22").await.assert_error(400, Some("invalidFilter"));
    // Written as a filter's escape (`\u0000`), it reached PostgreSQL and was a 500 there.
    app.get("/Users?filter=userName%20eq%20%22a%5Cu0000b%22").await.assert_error(400, Some("invalidFilter"));
    app.get("/Users?filter=id%20eq%20%22%5Cu0000%22").await.assert_error(400, Some("invalidFilter"));
    app.get("/Groups?filter=displayName%20eq%20%22a%5Cu0000b%22").await.assert_error(400, Some("invalidFilter"));
    let escaped = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"a\\u0000b\""});
    app.post("/Users/.search", escaped).await.assert_error(400, Some("invalidFilter"));
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "emails[value eq \"\\u0000\"]"}]});
    app.patch(&format!("/Users/{uid}"), patch).await.assert_error(400, Some("invalidPath"));
    app.get("/Users?attributes=userName%00").await.assert_error(400, Some("invalidValue"));
    app.get("/Users/a%00b").await.assert_error(404, None);
    app.get("/Groups/a%00b").await.assert_error(404, None);
    app.delete("/Users/a%00b").await.assert_error(404, None);
    let nowhere = format!("{}/scim/v2/a%00b/Users", app.root);
    let auth = format!("Bearer {}", app.token);
    app.send_raw(Method::GET, &nowhere, Some(&auth), &[], None).await.assert_error(404, None);
    let after = app.get("/Users").await.body;
    assert_eq!(after["totalResults"], 1, "{after}");
    assert_eq!(after["Resources"][0]["meta"]["version"], user["meta"]["version"]);
    assert_eq!(app.get("/Groups").await.body["totalResults"], 0);
});

// A user is stored as at most 64 KiB of JSON (`scim::MAX_RESOURCE_BYTES`): a larger one by
// POST, PUT or PATCH is 400 invalidValue and changes nothing. Pages of up to 1,000 users are
// rendered whole; users as large as a request body made pages of gigabytes.
scim_test!(a_user_larger_than_a_resource_may_be_is_refused, |app| {
    let emails =
        |n: usize| (0..n).map(|i| json!({"value": format!("e{i}@example.com"), "type": "work"})).collect::<Vec<_>>();
    let mut fat = okta_user("fat@x.com");
    fat["emails"] = json!(emails(3_000));
    app.post("/Users", fat.clone()).await.assert_error(400, Some("invalidValue"));
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
    // Just under the bound is stored.
    let mut large = okta_user("large@x.com");
    large["emails"] = json!(emails(1_400));
    let user = app.post("/Users", large.clone()).await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body["detail"]);
    let uid = user.body["id"].as_str().unwrap();
    app.put(&format!("/Users/{uid}"), fat).await.assert_error(400, Some("invalidValue"));
    let grow = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "emails", "value": emails(3_000)}]});
    app.patch(&format!("/Users/{uid}"), grow).await.assert_error(400, Some("invalidValue"));
    let after = app.get(&format!("/Users/{uid}")).await.body;
    assert_eq!(after["meta"]["version"], user.body["meta"]["version"]);
    assert_eq!(after["emails"].as_array().map(Vec::len), Some(1_400));
});

// An error's detail quotes what was sent only so far: a PATCH path of 200,000 characters
// was answered with all of it.
scim_test!(an_error_quotes_a_long_input_only_in_part, |app| {
    let uid = app.create_user("quoted@x.com").await["id"].as_str().unwrap().to_string();
    let path = format!("emails[{}", "value eq \"x\" or ".repeat(14_000));
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": path}]});
    let r = app.patch(&format!("/Users/{uid}"), patch).await;
    r.assert_error(400, Some("invalidPath"));
    assert!(r.raw.len() < 4_000, "{} bytes", r.raw.len());
    assert!(r.body["detail"].as_str().unwrap().starts_with("invalid path \"emails[value eq"));
});

// A required name of white space alone is as empty as "" (a mapping gone wrong): 400 on every
// write that would store it, users and groups, and nothing changes.
scim_test!(blank_names_are_refused_on_every_write, |app| {
    let user = app.create_user("kept@example.com").await;
    let id = user["id"].as_str().unwrap();
    let mut put = okta_user(" \u{3000} ");
    put["id"] = json!(id);
    app.put(&format!("/Users/{id}"), put).await.assert_error(400, Some("invalidValue"));
    let blank = patch_op(json!([{"op": "replace", "path": "userName", "value": "\t"}]));
    app.patch(&format!("/Users/{id}"), blank).await.assert_error(400, Some("invalidValue"));
    let blank = patch_op(json!([{"op": "replace", "value": {"userName": "  "}}]));
    app.patch(&format!("/Users/{id}"), blank).await.assert_error(400, Some("invalidValue"));
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["userName"], "kept@example.com");

    app.post("/Groups", json!({"displayName": "  "})).await.assert_error(400, Some("invalidValue"));
    let group = app.post("/Groups", json!({"displayName": "Kept"})).await.body;
    let gid = group["id"].as_str().unwrap();
    app.put(&format!("/Groups/{gid}"), json!({"displayName": "\u{a0}"})).await.assert_error(400, Some("invalidValue"));
    let blank = patch_op(json!([{"op": "replace", "path": "displayName", "value": " "}]));
    app.patch(&format!("/Groups/{gid}"), blank).await.assert_error(400, Some("invalidValue"));
    assert_eq!(app.get(&format!("/Groups/{gid}")).await.body["displayName"], "Kept");
    assert_eq!(app.get("/Groups").await.body["totalResults"], 1);
    // Spaces around a name are kept as sent: only a name of nothing else is refused.
    assert_eq!(app.create_user(" padded@example.com ").await["userName"], " padded@example.com ");
});
