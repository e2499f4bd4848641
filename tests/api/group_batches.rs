//! Concurrent writes of one group, some refused after they changed its rows: on PostgreSQL
//! they share transactions in the group's lane (`store::group_lanes`), on SQLite the writer's
//! batches, and each refused one must be rolled back alone.

use crate::groups::{group_members, users};
use crate::helpers::patch_op;
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

/// The number in a weak ETag `W/"n"`.
fn version_number(etag: &str) -> u64 {
    etag.trim_start_matches("W/\"").trim_end_matches('"').parse().unwrap_or_else(|_| panic!("version {etag}"))
}

scim_test!(concurrent_group_writes_refused_after_writing_roll_back_alone, |app| {
    let u = users(&app, 40, "lane").await;
    let g = app.post("/Groups", json!({"displayName": "Laned"})).await.body;
    let gid = g["id"].as_str().unwrap().to_string();
    let (url, auth) = (format!("{}/Groups/{gid}", app.base), format!("Bearer {}", app.token));
    let before = version_number(g["meta"]["version"].as_str().unwrap());
    // The odd ones carry a stale If-Match (RFC 7644 §3.14, against the version the change
    // replaces). On PostgreSQL many run in one statement with the good ones, each in a block of
    // its own, so a refused one applies nothing and the others land.
    let patches = u.iter().enumerate().map(|(i, id)| {
        let body = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])).to_string();
        let (app, url, auth) = (&app, url.clone(), auth.clone());
        async move {
            let mut headers = vec![("Content-Type", "application/scim+json")];
            if i % 2 == 1 {
                headers.push(("If-Match", "W/\"999999\""));
            }
            app.send_raw(Method::PATCH, &url, Some(&auth), &headers, Some(body.into_bytes())).await
        }
    });
    let answers = futures_util::future::join_all(patches).await;
    for (i, r) in answers.iter().enumerate() {
        match i % 2 {
            0 => assert_eq!(r.status, StatusCode::NO_CONTENT, "{i}: {}", r.body),
            _ => r.assert_error(412, None),
        }
    }
    let landed: BTreeSet<String> = u.iter().step_by(2).cloned().collect();
    assert_eq!(group_members(&app, &gid).await, landed);
    // Each write that landed moved the version once; none refused did.
    let after = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(version_number(after["meta"]["version"].as_str().unwrap()), before + landed.len() as u64);
    // Users refused show no group; those added show this one.
    for (i, id) in u.iter().enumerate().take(4) {
        let groups = app.get(&format!("/Users/{id}")).await.body.get("groups").cloned();
        match i % 2 {
            0 => assert_eq!(groups.unwrap()[0]["value"], gid.as_str(), "{id}"),
            _ => assert!(groups.is_none(), "{id}: {groups:?}"),
        }
    }
});
