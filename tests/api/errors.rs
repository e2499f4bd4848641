//! Every client mistake is a SCIM error with the right status and scimType, and writes nothing.

use crate::helpers::{okta_user, TestApp};
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
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
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

scim_test!(unknown_paths_and_wrong_methods_are_scim_errors, |app| {
    app.get("/Nope").await.assert_error(404, None);
    app.get("/Users/a/b").await.assert_error(404, None);
    let r = app.send_raw(Method::GET, &format!("{}/nothing/here", app.root), None, &[], None).await;
    r.assert_error(404, None);
    let r = app.call(Method::PUT, "/Users", Some(json!({}))).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    app.call(Method::POST, "/Users/some-id", Some(json!({}))).await.assert_error(405, None);
    app.get("/Users/does-not-exist").await.assert_error(404, None);
    app.get("/Users/010101001010101011001010101011").await.assert_error(404, None);
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
