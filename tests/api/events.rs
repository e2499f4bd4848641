//! The event outbox and its pull API: every committed change's events in one gap-free
//! per-tenant sequence, none for a failed request, never a secret, and resumable by `seq`.

use crate::helpers::{okta_user, patch_op, TestApp};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use scimd::clock::SystemClock;
use serde_json::{json, Value};

pub(crate) async fn events(app: &TestApp, admin: &str, after: i64, limit: i64) -> Vec<Value> {
    let url = format!("{}/admin/api/tenants/acme/events?after={after}&limit={limit}", app.root);
    let r = app.send_raw(Method::GET, &url, Some(admin), &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

pub(crate) fn admin_token(app: &TestApp) -> String {
    format!("Bearer {}", scimd::admin::api_tokens::issue(&app.store, &SystemClock, None).unwrap().1)
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[track_caller]
fn assert_gap_free(events: &[Value]) {
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>(), "gap-free from 1");
}

scim_test!(every_change_writes_its_events_in_commit_order, |app| {
    let admin = admin_token(&app);
    let user = app.create_user("alice@example.com").await;
    let uid = user["id"].as_str().unwrap();
    let path = format!("/Users/{uid}");
    let title = patch_op(json!([{"op": "replace", "path": "title", "value": "CTO"}]));
    assert_eq!(app.patch(&path, title).await.status, StatusCode::OK);
    let off = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(app.patch(&path, off).await.status, StatusCode::OK);
    let mut pushed = okta_user("alice@example.com");
    pushed["active"] = json!(true);
    assert_eq!(app.put(&path, pushed).await.status, StatusCode::OK);
    let bob = app.create_user("bob@example.com").await;
    let group = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng", "members": [{"value": uid}]}))
        .await;
    let gid = group.body["id"].as_str().unwrap().to_string();
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": bob["id"]}, {"value": uid}]}]));
    assert_eq!(app.patch(&format!("/Groups/{gid}"), add).await.status, StatusCode::NO_CONTENT);
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{uid}\"]")},
        {"op": "replace", "path": "displayName", "value": "Engineering"}]));
    assert_eq!(app.patch(&format!("/Groups/{gid}"), remove).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);

    let all = events(&app, &admin, 0, 1000).await;
    assert_gap_free(&all);
    assert_eq!(
        types(&all),
        [
            "tenant.created",
            "credential.issued", // the test tenant and its token
            "user.created",
            "user.updated",
            "user.updated",
            "user.deactivated",
            "user.updated",
            "user.reactivated",
            "user.created",
            "group.created",
            "group.member_added",
            "group.member_added",
            "group.member_removed",
            "group.updated",
            "group.deleted",
            "user.deleted",
        ]
    );
    let by_type = |t: &str| all.iter().filter(|e| e["type"] == t).cloned().collect::<Vec<_>>();
    let updated = &by_type("user.updated")[0];
    assert_eq!((updated["resource_type"].clone(), updated["resource_id"].clone()), (json!("User"), json!(uid)));
    assert_eq!(updated["data"]["changed"], json!(["title"]));
    assert_eq!(
        (updated["data"]["before"]["title"].clone(), updated["data"]["after"]["title"].clone()),
        (Value::Null, json!("CTO"))
    );
    assert!(updated["request_id"].as_str().is_some_and(|r| !r.is_empty()), "{updated}");
    // One request's events (a deactivation's update and deactivated) share its request id and
    // time, each with its own values.
    let (change, deactivated) = (&by_type("user.updated")[1], &by_type("user.deactivated")[0]);
    assert_eq!(
        (change["request_id"].clone(), change["occurred_at"].clone()),
        (deactivated["request_id"].clone(), deactivated["occurred_at"].clone())
    );
    assert_ne!(change["request_id"], updated["request_id"]);
    assert_eq!((deactivated["resource_type"].clone(), deactivated["resource_id"].clone()), (json!("User"), json!(uid)));
    assert_eq!(change["data"]["changed"], json!(["active"]));
    // The second member_added lists only bob: alice was already a member.
    assert_eq!(by_type("group.member_added")[1]["data"]["members"], json!([{"value": bob["id"], "type": "User"}]));
    assert_eq!(by_type("group.member_removed")[0]["data"]["members"], json!([{"value": uid, "type": "User"}]));
    let ids: std::collections::HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "event ids are unique");
    // Okta sends a password on create and push; it never reaches an event.
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("1mz050nq") && !text.contains("argon2"), "a secret leaked into an event");

    // Resuming from any seq yields exactly the rest, in order.
    let mut resumed = Vec::new();
    let mut after = 0;
    loop {
        let page = events(&app, &admin, after, 3).await;
        let Some(last) = page.last() else { break };
        after = last["seq"].as_i64().unwrap();
        resumed.extend(page);
    }
    assert_eq!(resumed, all);
});

// README: a deletion's event stands for the memberships it ends.
scim_test!(deleting_a_member_emits_only_its_deletion, |app| {
    let admin = admin_token(&app);
    let user = app.create_user("member@example.com").await;
    let uid = user["id"].as_str().unwrap();
    let group = app.post("/Groups", json!({"displayName": "Eng", "members": [{"value": uid}]})).await;
    let gid = group.body["id"].as_str().unwrap();
    let before = events(&app, &admin, 0, 1000).await.len();
    assert_eq!(app.delete(&format!("/Users/{uid}")).await.status, StatusCode::NO_CONTENT);
    let after = events(&app, &admin, 0, 1000).await;
    assert_eq!(types(&after[before..]), ["user.deleted"]);
    assert_eq!(app.get(&format!("/Groups/{gid}")).await.body["members"], json!([]), "the membership ended");
});

scim_test!(a_patch_that_changes_nothing_keeps_the_version_and_writes_no_event, |app| {
    let admin = admin_token(&app);
    let user = app.post("/Users", okta_user("same@example.com")).await.body;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let before = events(&app, &admin, 0, 1000).await.len();
    let email = user["emails"][0].clone();
    for ops in [
        json!([{"op": "replace", "value": {"active": true}}]),
        json!([{"op": "replace", "path": "active", "value": true}]),
        json!([{"op": "add", "path": "emails", "value": [email]}]),
        json!([{"op": "replace", "path": "userName", "value": user["userName"]}]),
        json!([{"op": "replace", "path": "name.givenName", "value": user["name"]["givenName"]}]),
    ] {
        let r = app.patch(&path, patch_op(ops.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{ops}: {}", r.body);
        assert_eq!(r.body["meta"], user["meta"], "{ops}: version and lastModified kept");
        assert_eq!(r.body, user, "{ops}");
    }
    assert_eq!(events(&app, &admin, 0, 1000).await.len(), before, "no event for a change of nothing");
    // A change after them is one version on.
    let r = app.patch(&path, patch_op(json!([{"op": "replace", "path": "title", "value": "CTO"}]))).await;
    assert_ne!(r.body["meta"]["version"], user["meta"]["version"]);
    assert_eq!(events(&app, &admin, 0, 1000).await.len(), before + 1);
});

scim_test!(a_failed_request_writes_no_event, |app| {
    let admin = admin_token(&app);
    let user = app.create_user("alice@example.com").await;
    let before = events(&app, &admin, 0, 1000).await.len();
    app.post("/Users", okta_user("ALICE@example.com")).await.assert_error(409, Some("uniqueness"));
    let bad = patch_op(json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "remove", "path": "userName"}]));
    app.patch(&format!("/Users/{}", user["id"].as_str().unwrap()), bad).await.assert_error(400, None);
    let missing = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": "no-such-id"}]}]));
    let group = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}))
        .await;
    app.patch(&format!("/Groups/{}", group.body["id"].as_str().unwrap()), missing).await;
    let noop = patch_op(json!([{"op": "replace", "path": "userName", "value": "alice@example.com"}]));
    assert_eq!(app.patch(&format!("/Users/{}", user["id"].as_str().unwrap()), noop).await.status, StatusCode::OK);
    let after = events(&app, &admin, 0, 1000).await;
    assert_eq!(types(&after[before..]), ["group.created"], "only the group's creation happened");
});

scim_test!(events_stay_gap_free_under_concurrent_writes, |app| {
    let admin = admin_token(&app);
    let creates = (0..16).map(|i| app.post("/Users", okta_user(&format!("user{i}@example.com"))));
    let created = futures_util::future::join_all(creates).await;
    assert!(created.iter().all(|r| r.status == StatusCode::CREATED));
    let paths: Vec<String> = created.iter().map(|r| format!("/Users/{}", r.body["id"].as_str().unwrap())).collect();
    let patches = paths.iter().map(|path| {
        let body = patch_op(json!([{"op": "replace", "path": "nickName", "value": "n"}]));
        app.patch(path, body)
    });
    assert!(futures_util::future::join_all(patches).await.iter().all(|r| r.status == StatusCode::OK));
    let all = events(&app, &admin, 0, 1000).await;
    assert_gap_free(&all);
    assert_eq!(types(&all).iter().filter(|t| **t == "user.created").count(), 16);
    assert_eq!(types(&all).iter().filter(|t| **t == "user.updated").count(), 16);
    let unknown = app
        .send_raw(Method::GET, &format!("{}/admin/api/tenants/nosuch/events", app.root), Some(&admin), &[], None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = app
        .send_raw(Method::GET, &format!("{}/admin/api/tenants/acme/events?after=x", app.root), Some(&admin), &[], None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
});

// Concurrent PUTs and PATCHes of one user: each is worked out from the version it replaces,
// so each write's event starts where the one before it ended, and every answer carries a
// version of its own. (Planning a write from a read made before it queued, then applying it
// to a newer version, fails this.)
scim_test!(concurrent_puts_and_patches_of_one_user_chain_their_events, |app| {
    let admin = admin_token(&app);
    let user = app.create_user("chain@example.com").await;
    let uid = user["id"].as_str().unwrap();
    let path = format!("/Users/{uid}");
    let puts = (0..12).map(|i| {
        let mut body = okta_user("chain@example.com");
        body["title"] = json!(format!("put{i}"));
        body.as_object_mut().unwrap().remove("password");
        app.put(&path, body)
    });
    let patches = (0..12)
        .map(|i| app.patch(&path, patch_op(json!([{"op": "replace", "path": "title", "value": format!("patch{i}")}]))));
    let (put, patched) =
        futures_util::future::join(futures_util::future::join_all(puts), futures_util::future::join_all(patches)).await;
    let mut versions = std::collections::BTreeSet::new();
    for r in put.iter().chain(&patched) {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        versions.insert(r.body["meta"]["version"].as_str().unwrap().to_string());
    }
    assert_eq!(versions.len(), 24, "every write made a version of its own: {versions:?}");
    let updates: Vec<Value> =
        events(&app, &admin, 0, 1000).await.into_iter().filter(|e| e["type"] == "user.updated").collect();
    assert_eq!(updates.len(), 24);
    let mut title = Value::Null;
    for e in &updates {
        assert_eq!(e["data"]["before"]["title"], title, "{e}");
        title = e["data"]["after"]["title"].clone();
    }
    let now = app.get(&path).await.body;
    assert_eq!((now["title"].clone(), now["meta"]["version"].clone()), (title, json!("W/\"25\"")));
});

scim_test!(one_member_patches_report_only_what_they_changed, |app| {
    let admin = admin_token(&app);
    let (alice, bob) = (app.create_user("alice@example.com").await, app.create_user("bob@example.com").await);
    let (a, b) = (alice["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let group = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng", "members": [{"value": a}]}))
        .await;
    let path = format!("/Groups/{}", group.body["id"].as_str().unwrap());
    let add = |id: &str| json!({"op": "add", "path": "members", "value": [{"value": id}]});
    let remove = |id: &str| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")});
    let values = |ids: &[&str]| ids.iter().map(|id| json!({"value": id})).collect::<Vec<_>>();
    let add_all = |ids: &[&str]| json!({"op": "add", "path": "members", "value": values(ids)});
    let remove_all = |ids: &[&str]| json!({"op": "remove", "path": "members", "value": values(ids)});
    let (added, removed) = ("group.member_added", "group.member_removed");
    for (ops, expected) in [
        (json!([add(a)]), vec![]),    // a member already
        (json!([remove(b)]), vec![]), // not a member
        (json!([remove(a), add(a)]), vec![(removed, vec![a]), (added, vec![a])]),
        (json!([add(b)]), vec![(added, vec![b])]),
        (json!([remove(b)]), vec![(removed, vec![b])]),
        // One member in two operations of a kind: the second changes nothing.
        (json!([add(b), add(b)]), vec![(added, vec![b])]),
        (json!([remove(b), remove(b)]), vec![(removed, vec![b])]),
        // An operation naming several members: its event names those it changed.
        (json!([add_all(&[a, b])]), vec![(added, vec![b])]),
        (json!([remove_all(&[a, b])]), vec![(removed, vec![a, b])]),
        (json!([add_all(&[a, b]), remove(b)]), vec![(added, vec![a, b]), (removed, vec![b])]),
        (json!([remove(a), add_all(&[a, b])]), vec![(removed, vec![a]), (added, vec![a, b])]),
        (json!([remove_all(&[b, "no-such-user"])]), vec![(removed, vec![b])]),
    ] {
        let before = events(&app, &admin, 0, 1000).await.len();
        assert_eq!(app.patch(&path, patch_op(ops.clone())).await.status, StatusCode::NO_CONTENT, "{ops}");
        let mut new = events(&app, &admin, 0, 1000).await.split_off(before);
        new.retain(|e| e["type"].as_str().unwrap().starts_with("group.member_"));
        let mut got: Vec<(&str, Vec<String>)> = Vec::new();
        for e in &new {
            let mut ids = Vec::new();
            for m in e["data"]["members"].as_array().unwrap() {
                assert_eq!(m["type"], "User", "{ops}");
                ids.push(m["value"].as_str().unwrap().to_string());
            }
            ids.sort();
            got.push((e["type"].as_str().unwrap(), ids));
        }
        let want: Vec<(&str, Vec<String>)> = expected
            .iter()
            .map(|(kind, ids)| {
                let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
                ids.sort();
                (*kind, ids)
            })
            .collect();
        assert_eq!(got, want, "{ops}");
    }
    let members = app.get(&path).await.body["members"].clone();
    let values: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(values, [a]);
});
