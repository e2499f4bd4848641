//! What a client reads in an error: its own text quoted as it was written, in any script, and a
//! body that gives one name twice refused rather than read by its last value.

use crate::helpers::{okta_user, patch_op, TestApp};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn send_text(app: &TestApp, method: Method, path: &str, text: &str) -> crate::helpers::Response {
    let auth = format!("Bearer {}", app.token);
    let headers = [("Content-Type", "application/scim+json")];
    app.send_raw(method, &format!("{}{path}", app.base), Some(&auth), &headers, Some(text.as_bytes().to_vec())).await
}

scim_test!(a_name_in_any_script_is_quoted_in_an_error_as_it_was_sent, |app| {
    // Hindi, an é written as e and a combining accent, Japanese: Rust's {:?} had escaped the
    // combining marks ("ग\u{941}प\u{94d}ता").
    for name in ["गुप्ता", "Jose\u{301}", "山田太郎"] {
        app.create_user(name).await;
        let r = app.post("/Users", okta_user(name)).await;
        r.assert_error(409, Some("uniqueness"));
        assert_eq!(r.body["detail"], json!(format!("a user with userName \"{name}\" already exists")));
    }
    // What a reader could not see, or that would reorder what they read, is escaped.
    let group = json!({"schemas": [GROUP], "displayName": "ops\u{202e}rev\u{200b}"});
    assert_eq!(app.post("/Groups", group.clone()).await.status, StatusCode::CREATED);
    let r = app.post("/Groups", group).await;
    r.assert_error(409, Some("uniqueness"));
    assert_eq!(r.body["detail"], json!(r#"a group with displayName "ops\u202erev\u200b" already exists"#));
    let encoded: String = "गुप्ता".bytes().map(|b| format!("%{b:02X}")).collect();
    let r = app.get(&format!("/Users?sortBy={encoded}")).await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(r.body["detail"], json!("sortBy \"गुप्ता\" is not an attribute path"));
});

scim_test!(a_body_that_gives_one_name_twice_is_refused_and_writes_nothing, |app| {
    let posts = [
        format!(r#"{{"schemas": ["{USER}"], "userName": "first", "userName": "second"}}"#),
        format!(r#"{{"schemas": ["{USER}"], "userName": "first", "USERNAME": "second"}}"#),
        format!(
            r#"{{"schemas": ["{USER}"], "userName": "n", "name": {{"givenName": "A"}}, "Name": {{"familyName": "B"}}}}"#
        ),
        format!(
            r#"{{"schemas": ["{USER}"], "userName": "e", "emails": [{{"value": "a@x.com", "Value": "b@x.com"}}]}}"#
        ),
        format!(
            r#"{{"schemas": ["{USER}"], "userName": "x", "{ENTERPRISE}": {{"department": "A", "Department": "B"}}}}"#
        ),
    ];
    for text in &posts {
        let r = send_text(&app, Method::POST, "/Users", text).await;
        r.assert_error(400, Some("invalidSyntax"));
    }
    // A legacy enterprise URN and the current one name one extension.
    let both = json!({
        "schemas": [USER], "userName": "legacy",
        ENTERPRISE: {"department": "A"},
        "urn:scim:schemas:extension:enterprise:2.0": {"department": "B"},
    });
    let r = app.post("/Users", both).await;
    r.assert_error(400, Some("invalidSyntax"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("\"{ENTERPRISE}\""))
            && detail.contains("\"urn:scim:schemas:extension:enterprise:2.0\"")
    );
    assert_eq!(app.get("/Users").await.body["totalResults"], 0, "nothing was written");

    let user = app.create_user("kept@x.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let patch = r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false, "Value": true}]}"#;
    send_text(&app, Method::PATCH, &path, patch).await.assert_error(400, Some("invalidSyntax"));
    let put = format!(r#"{{"schemas": ["{USER}"], "userName": "kept@x.com", "active": false, "Active": true}}"#);
    send_text(&app, Method::PUT, &path, &put).await.assert_error(400, Some("invalidSyntax"));
    assert_eq!(app.get(&path).await.body, user, "unchanged");
    let search = r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"kept@x.com\"", "Filter": "userName eq \"other\""}"#;
    send_text(&app, Method::POST, "/Users/.search", search).await.assert_error(400, Some("invalidSyntax"));

    // The same names in different objects are no clash.
    let ops =
        json!([{"op": "replace", "path": "active", "value": false}, {"op": "replace", "path": "title", "value": "t"}]);
    assert_eq!(app.patch(&path, patch_op(ops)).await.status, StatusCode::OK);
});
