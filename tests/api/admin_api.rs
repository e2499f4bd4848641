//! The admin JSON API: admin tokens, tenants, credentials issued and revoked through it (taking
//! effect at once on this replica), disabled tenants, the directory browser, and its errors.

use crate::helpers::{Response, TestApp};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use base64::Engine;
use scimd::clock::SystemClock;
use serde_json::{json, Value};

struct Admin<'a> {
    app: &'a TestApp,
    auth: String,
}

impl Admin<'_> {
    fn new(app: &TestApp) -> Admin<'_> {
        let (_, token) = scimd::admin::api_tokens::issue(&app.store, &SystemClock, Some("automation")).unwrap();
        Admin { app, auth: format!("Bearer {token}") }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let url = format!("{}/admin/api{path}", self.app.local);
        let headers: &[(&str, &str)] = if body.is_some() { &[("Content-Type", "application/json")] } else { &[] };
        self.app.send_raw(method, &url, Some(&self.auth), headers, body.map(|b| b.to_string().into_bytes())).await
    }

    /// A POST of `body` as it is, labelled JSON.
    async fn post_bytes(&self, path: &str, body: &[u8]) -> Response {
        let url = format!("{}/admin/api{path}", self.app.local);
        let json = [("Content-Type", "application/json")];
        self.app.send_raw(Method::POST, &url, Some(&self.auth), &json, Some(body.to_vec())).await
    }
}

#[track_caller]
fn assert_api_error(r: &Response, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("application/json"), "{:?}", r.headers);
    assert_eq!(r.body["status"], json!(status), "{}", r.body);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.body);
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

async fn scim_status(app: &TestApp, base: &str, auth: &str) -> StatusCode {
    app.send_raw(Method::GET, &format!("{base}/Users?startIndex=1&count=2"), Some(auth), &[], None).await.status
}

scim_test!(admin_api_runs_the_tenant_and_credential_lifecycle, |app| {
    let admin = Admin::new(&app);
    let created = admin.call(Method::POST, "/tenants", Some(json!({"name": "initech"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["tenant"], "initech");
    assert_eq!(created.body["base_url"], format!("{}/scim/v2/initech", app.root));
    assert!(created.body.get("base_url_warning").is_none(), "{}", created.body);
    assert_eq!((created.body["users"].clone(), created.body["mode"].clone()), (json!(0), json!("compatible")));
    assert_api_error(&admin.call(Method::POST, "/tenants", Some(json!({"name": "initech"}))).await, 409);

    let basic_cred =
        admin.call(Method::POST, "/tenants/initech/credentials", Some(json!({"kind": "basic", "label": "okta"}))).await;
    assert_eq!(basic_cred.status, StatusCode::CREATED, "{}", basic_cred.body);
    assert_eq!(basic_cred.header("cache-control"), Some("no-store"));
    assert!(basic_cred.body.get("base_url_warning").is_none(), "{}", basic_cred.body);
    let base = basic_cred.body["base_url"].as_str().unwrap().to_string();
    let user = basic_cred.body["username"].as_str().unwrap().to_string();
    let basic_auth = basic(&user, basic_cred.body["password"].as_str().unwrap());
    let bearer = admin
        .call(Method::POST, "/tenants/initech/credentials", Some(json!({"kind": "bearer", "expires_in": "90d"})))
        .await;
    assert_eq!(bearer.status, StatusCode::CREATED);
    assert!(bearer.body["expires_at"].is_string() && bearer.body.get("password").is_none());
    let bearer_auth = format!("Bearer {}", bearer.body["token"].as_str().unwrap());
    assert_eq!(scim_status(&app, &base, &basic_auth).await, StatusCode::OK);
    assert_eq!(scim_status(&app, &base, &bearer_auth).await, StatusCode::OK);
    // Neither works on another tenant's Base URL.
    assert_eq!(scim_status(&app, &app.base, &basic_auth).await, StatusCode::UNAUTHORIZED);

    // Listing shows when each was last used, and never a secret. The use is recorded beside
    // the request that made it, not before its answer: it shows within moments.
    let mut listed = admin.call(Method::GET, "/tenants/initech/credentials", None).await;
    for _ in 0..50 {
        if listed.body.as_array().unwrap().iter().all(|c| c["last_used_at"].is_string()) {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        listed = admin.call(Method::GET, "/tenants/initech/credentials", None).await;
    }
    let creds = listed.body.as_array().unwrap();
    assert_eq!(creds.len(), 2);
    for c in creds {
        assert!(c["last_used_at"].is_string(), "{c}");
        let text = c.to_string();
        assert!(!text.contains("argon2") && c.get("password").is_none() && c.get("token").is_none(), "{text}");
    }
    assert_eq!(creds[0]["label"], "okta");
    let shown = admin.call(Method::GET, "/tenants/initech", None).await;
    assert!(shown.body["last_activity"].is_string(), "{}", shown.body);

    // Revocation through the API takes effect on this replica at once, not at the next recheck.
    let revoke = admin.call(Method::DELETE, &format!("/tenants/initech/credentials/{user}"), None).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    assert_eq!(scim_status(&app, &base, &basic_auth).await, StatusCode::UNAUTHORIZED);
    assert_eq!(scim_status(&app, &base, &bearer_auth).await, StatusCode::OK);
    assert_api_error(&admin.call(Method::DELETE, &format!("/tenants/initech/credentials/{user}"), None).await, 404);

    // Disabling stops every credential at once; enabling restores them.
    let disabled = admin.call(Method::POST, "/tenants/initech/disable", None).await;
    assert_eq!(disabled.body["disabled"], true, "{}", disabled.body);
    assert_eq!(scim_status(&app, &base, &bearer_auth).await, StatusCode::UNAUTHORIZED);
    admin.call(Method::POST, "/tenants/initech/enable", None).await;
    assert_eq!(scim_status(&app, &base, &bearer_auth).await, StatusCode::OK);

    let names: Vec<Value> = admin
        .call(Method::GET, "/tenants", None)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].clone())
        .collect();
    assert_eq!(names, [json!("acme"), json!("initech")]);
    assert_eq!(admin.call(Method::DELETE, "/tenants/initech", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(scim_status(&app, &base, &bearer_auth).await, StatusCode::UNAUTHORIZED);
    assert_api_error(&admin.call(Method::GET, "/tenants/initech", None).await, 404);
});

// The host app's automation reads no server log: JSON that carries a Base URL no client can
// reach (a public URL naming every interface) says so beside it.
scim_test!(
    admin_api_says_when_its_base_urls_reach_no_scimd,
    |settings| settings.public_url = Some("http://0.0.0.0:8080".into()),
    |app| {
        let admin = Admin::new(&app);
        let warned = |r: &Value| {
            let warning = r["base_url_warning"].as_str().unwrap_or_default();
            r["base_url"].as_str().is_some_and(|u| u.starts_with("http://0.0.0.0:8080/scim/v2/"))
                && warning.contains("http://0.0.0.0:8080")
                && warning.contains("--public-url")
        };
        let created = admin.call(Method::POST, "/tenants", Some(json!({"name": "initech"}))).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let issued = admin.call(Method::POST, "/tenants/initech/credentials", Some(json!({"kind": "basic"}))).await;
        let shown = admin.call(Method::GET, "/tenants/initech", None).await;
        let disabled = admin.call(Method::POST, "/tenants/initech/disable", None).await;
        let listed = admin.call(Method::GET, "/tenants", None).await;
        for body in [&created.body, &issued.body, &shown.body, &disabled.body] {
            assert!(warned(body), "{body}");
        }
        assert!(listed.body.as_array().unwrap().iter().all(warned), "{}", listed.body);
    }
);

scim_test!(admin_api_browses_users_and_groups_by_name_prefix, |app| {
    let admin = Admin::new(&app);
    let alice = app.create_user("alice@example.com").await;
    app.create_user("alan@example.com").await;
    app.create_user("bob@example.com").await;
    let patched = app
        .patch(
            &format!("/Users/{}", alice["id"].as_str().unwrap()),
            crate::helpers::patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let group = app
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
            "members": [{"value": alice["id"]}]}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED);

    let all = admin.call(Method::GET, "/tenants/acme/users", None).await;
    assert_eq!(all.body["total"], 3, "{}", all.body);
    let found = admin.call(Method::GET, "/tenants/acme/users?q=AL", None).await;
    let items = found.body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|u| u["user_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alan@example.com", "alice@example.com"]);
    assert_eq!((items[1]["active"].clone(), items[1]["groups"].clone()), (json!(false), json!(1)));
    assert_eq!((items[0]["active"].clone(), items[0]["groups"].clone()), (json!(true), json!(0)));
    assert_eq!(items[0]["email"], "alan@example.com");
    // Display names are searched too, and pages are 1-based.
    let by_display = admin.call(Method::GET, "/tenants/acme/users?q=test%20us&startIndex=3&count=1", None).await;
    assert_eq!(
        (by_display.body["total"].clone(), by_display.body["items"][0]["user_name"].clone()),
        (json!(3), json!("bob@example.com"))
    );
    let groups = admin.call(Method::GET, "/tenants/acme/groups?q=eng", None).await;
    assert_eq!(groups.body["items"][0]["members"], 1, "{}", groups.body);
    assert_eq!(admin.call(Method::GET, "/tenants/acme/groups?q=zzz", None).await.body["total"], 0);
    // Wildcards are literal text, not patterns.
    assert_eq!(admin.call(Method::GET, "/tenants/acme/users?q=%25", None).await.body["total"], 0);
    let shown = admin.call(Method::GET, "/tenants/acme", None).await;
    assert_eq!((shown.body["users"].clone(), shown.body["groups"].clone()), (json!(3), json!(1)));
    // A prefix of the greatest character: every name from it on starts with it, however long.
    app.create_user("\u{10FFFF}\u{10FFFF}x@example.com").await;
    for q in ["%F4%8F%BF%BF", "%F4%8F%BF%BF%F4%8F%BF%BF"] {
        let found = admin.call(Method::GET, &format!("/tenants/acme/users?q={q}"), None).await;
        assert_eq!(found.body["items"][0]["user_name"], "\u{10FFFF}\u{10FFFF}x@example.com", "{q}: {}", found.body);
    }
});

scim_test!(admin_api_refuses_bad_tokens_and_bad_input, |app| {
    let admin = Admin::new(&app);
    let url = format!("{}/admin/api/tenants", app.root);
    for auth in [None, Some("Bearer nope".to_string()), Some(format!("Bearer {}", app.token)), Some(basic("a", "b"))] {
        let r = app.send_raw(Method::GET, &url, auth.as_deref(), &[], None).await;
        assert_api_error(&r, 401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    // An admin token is no SCIM credential either.
    assert_eq!(scim_status(&app, &app.base, &admin.auth).await, StatusCode::UNAUTHORIZED);

    let bad_json = app
        .send_raw(
            Method::POST,
            &url,
            Some(&admin.auth),
            &[("Content-Type", "application/json")],
            Some(b"{\"name\":".to_vec()),
        )
        .await;
    assert_api_error(&bad_json, 400);
    // A wrong token is told so, whatever else is wrong with the request.
    let json = [("Content-Type", "application/json")];
    let r = app.send_raw(Method::POST, &url, Some("Bearer nope"), &json, Some(b"{\"name\":".to_vec())).await;
    assert_api_error(&r, 401);
    let r = app.send_raw(Method::GET, &format!("{url}/acme/users?startIndex=x"), Some("Bearer nope"), &[], None).await;
    assert_api_error(&r, 401);
    // So is a path or method no endpoint has: the scope checks the token before it routes.
    for (method, path) in [(Method::GET, "/nothing"), (Method::PUT, "/tenants")] {
        let r = app.send_raw(method, &format!("{}/admin/api{path}", app.root), None, &[], None).await;
        assert_api_error(&r, 401);
        assert!(r.header("allow").is_none(), "{path}");
    }
    assert_api_error(&admin.call(Method::POST, "/tenants", Some(json!({"name": "Bad_Name"}))).await, 400);
    assert_api_error(&admin.call(Method::POST, "/tenants", Some(json!({"name": "x", "extra": 1}))).await, 400);
    assert_api_error(&admin.call(Method::POST, "/tenants", Some(json!({"name": 7}))).await, 400);
    assert_api_error(&admin.call(Method::POST, "/tenants/acme/credentials", Some(json!({"kind": "saml"}))).await, 400);
    // A past expiry, and one so far off that its arithmetic overflowed (a panic, once 500).
    for expires_in in ["-1d", "99999999999d", "36501d"] {
        let body = json!({"kind": "basic", "expires_in": expires_in});
        assert_api_error(&admin.call(Method::POST, "/tenants/acme/credentials", Some(body)).await, 400);
    }
    assert_api_error(
        &admin.call(Method::POST, "/tenants/nosuch/credentials", Some(json!({"kind": "basic"}))).await,
        404,
    );
    assert_api_error(&admin.call(Method::GET, "/tenants/acme/users?startIndex=x", None).await, 400);
    assert_api_error(&admin.call(Method::GET, "/nothing", None).await, 404);
    let wrong_method = admin.call(Method::PUT, "/tenants", Some(json!({}))).await;
    assert_api_error(&wrong_method, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET, HEAD, POST"));
    let head = admin.call(Method::HEAD, "/tenants/acme", None).await;
    assert_eq!((head.status, head.raw.len()), (StatusCode::OK, 0), "HEAD answers as GET, without the body");

    // A revoked admin token stops working (at the next recheck: 1 s in tests).
    let id = admin.auth["Bearer scimdadm_".len().."Bearer scimdadm_".len() + 16].to_string();
    scimd::admin::api_tokens::revoke(&app.store, &SystemClock, &id).unwrap();
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_api_error(&admin.call(Method::GET, "/tenants", None).await, 401);
});

// Labels are free text from an operator: a control character (U+0000 above all, which
// PostgreSQL's text cannot hold: a 500 there) or an over-long label is a 400, and nothing is
// written.
scim_test!(admin_api_refuses_labels_with_control_characters_and_writes_nothing, |app| {
    let admin = Admin::new(&app);
    let credentials = |r: Response| r.body.as_array().map(Vec::len).unwrap_or(usize::MAX);
    let before = credentials(admin.call(Method::GET, "/tenants/acme/credentials", None).await);
    for label in ["okta\u{0}", "line\nbreak", "a\ttab", &"x".repeat(201)] {
        let issued = admin
            .call(Method::POST, "/tenants/acme/credentials", Some(json!({"kind": "bearer", "label": label})))
            .await;
        assert_api_error(&issued, 400);
        let hook = json!({"tenant": "acme", "url": "https://hooks.example.com/scim", "label": label});
        assert_api_error(&admin.call(Method::POST, "/webhooks", Some(hook)).await, 400);
    }
    assert_eq!(credentials(admin.call(Method::GET, "/tenants/acme/credentials", None).await), before);
    assert_eq!(admin.call(Method::GET, "/webhooks", None).await.body.as_array().map(Vec::len), Some(0));
    // Surrounding space is trimmed, and a blank label is no label.
    let issued = admin
        .call(Method::POST, "/tenants/acme/credentials", Some(json!({"kind": "bearer", "label": "  Okta  "})))
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    let blank =
        admin.call(Method::POST, "/tenants/acme/credentials", Some(json!({"kind": "basic", "label": " "}))).await;
    assert_eq!(blank.status, StatusCode::CREATED, "{}", blank.body);
    let listed = admin.call(Method::GET, "/tenants/acme/credentials", None).await;
    let labels: Vec<&Value> = listed.body.as_array().unwrap().iter().map(|c| &c["label"]).collect();
    assert!(labels.contains(&&json!("Okta")) && labels.contains(&&Value::Null), "{labels:?}");
});

// The API's bodies are read as the SCIM ones are: a leading byte order mark ignored (RFC 8259
// §8.1; PowerShell 5.1's files carry one), an empty body where one is required a 400, a body
// past 16 KiB a 413. A retry's body is optional, but one that is not the JSON it takes is a 400:
// actix-web's `Option<Json<_>>` took it for no body, and a retry meant for one tenant reset
// every tenant's stream.
scim_test!(admin_api_bodies_take_a_bom_and_a_bad_optional_body_is_refused, |app| {
    let admin = Admin::new(&app);
    let created = admin.post_bytes("/tenants", b"\xEF\xBB\xBF{\"name\": \"bom\"}").await;
    assert_eq!(
        (created.status, created.body["tenant"].clone()),
        (StatusCode::CREATED, json!("bom")),
        "{}",
        created.body
    );
    assert_api_error(&admin.post_bytes("/tenants", b"").await, 400);
    assert_api_error(&admin.post_bytes("/tenants", b"\xEF\xBB\xBF  \n").await, 400);
    let long = json!({"name": "long", "pad": "x".repeat(17 * 1024)}).to_string().into_bytes();
    assert_api_error(&admin.post_bytes("/tenants", &long).await, 413);
    assert_eq!(admin.call(Method::GET, "/tenants/long", None).await.status, StatusCode::NOT_FOUND);

    let hook = json!({"tenant": "acme", "url": "https://hooks.example.com/scim"});
    let registered = admin.call(Method::POST, "/webhooks", Some(hook)).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let retry = format!("/webhooks/{}/retry", registered.body["id"].as_str().unwrap());
    for bad in [&b"{\"tenant\": 7}"[..], b"{\"tenants\": \"acme\"}", b"{\"tenant\":", b"[]"] {
        let r = admin.post_bytes(&retry, bad).await;
        assert_api_error(&r, 400);
    }
    for fine in [&b""[..], b" ", b"{}", b"{\"tenant\": \"acme\"}", b"\xEF\xBB\xBF{\"tenant\": \"acme\"}"] {
        let r = admin.post_bytes(&retry, fine).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}: {}", String::from_utf8_lossy(fine), r.body);
    }
});
