//! Writes of one user racing each other: none is lost, and a bad one fails alone with a SCIM
//! error (on PostgreSQL a write that lost its version check runs again under a lock).

use crate::helpers::patch_op;
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::json;

// Enough at once that a write retried on a failed version check alone can lose every try:
// on PostgreSQL a write that lost once then reads the user under a lock and waits its turn.
scim_test!(concurrent_patches_of_one_user_lose_no_update, |app| {
    const AT_ONCE: usize = 64;
    let u = app.create_user("busy@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let requests = (0..AT_ONCE).map(|i| {
        let body = patch_op(json!([{"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.com")}]}]));
        let path = path.clone();
        let app = &app;
        async move { app.patch(&path, body).await }
    });
    for r in futures_util::future::join_all(requests).await {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let after = app.get(&path).await.body;
    assert_eq!(after["emails"].as_array().unwrap().len(), AT_ONCE + 1, "{after}");
    assert_eq!(after["meta"]["version"], format!("W/\"{}\"", AT_ONCE + 1));
});

// Bad PATCHes racing good ones on one user (on PostgreSQL some of them reach the write that
// runs again under the lock) are SCIM errors that apply nothing, and the good ones all land.
scim_test!(bad_patches_racing_good_ones_of_one_user_fail_alone, |app| {
    let u = app.create_user("racing@x.com").await;
    let (url, auth) = (format!("{}/Users/{}", app.base, u["id"].as_str().unwrap()), format!("Bearer {}", app.token));
    let requests = (0..48).map(|i| {
        let ops = match i % 3 {
            0 => json!([{"op": "add", "path": "emails", "value": [{"value": format!("ok{i}@x.com")}]}]),
            _ => json!([{"op": "replace", "path": "title", "value": format!("T{i}")}]),
        };
        let ops = if i % 3 == 1 { json!([ops[0], {"op": "replace", "path": "active", "value": "maybe"}]) } else { ops };
        let (app, url, auth, body) = (&app, url.clone(), auth.clone(), patch_op(ops).to_string());
        async move {
            let mut headers = vec![("Content-Type", "application/scim+json")];
            if i % 3 == 2 {
                headers.push(("If-Match", "W/\"999999\""));
            }
            app.send_raw(Method::PATCH, &url, Some(&auth), &headers, Some(body.into_bytes())).await
        }
    });
    for (i, r) in futures_util::future::join_all(requests).await.iter().enumerate() {
        match i % 3 {
            0 => assert_eq!(r.status, StatusCode::OK, "{i}: {}", r.body),
            1 => r.assert_error(400, Some("invalidValue")),
            _ => r.assert_error(412, None),
        }
    }
    let after = app.get(&format!("/Users/{}", u["id"].as_str().unwrap())).await.body;
    assert_eq!(after["emails"].as_array().unwrap().len(), 17, "{after}");
    assert!(after.get("title").is_none(), "{after}");
    assert_eq!(after["meta"]["version"], "W/\"17\"");
});
