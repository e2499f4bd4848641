//! Webhook delivery against a local receiver: Standard Webhooks signatures, seq order, retries
//! through failures, a restart mid-delivery, the failing state with retry-now and replay, the
//! event-type filter, 410 Gone, and the outbound client's limits.

use crate::helpers::{patch_op, TestApp};
use crate::scim_test;
use crate::webhook_receiver::{admin_call, admin_token, assert_signed, Receiver};
use awc::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Registers an endpoint for acme through the admin API: (id, secret).
pub(crate) async fn register(app: &TestApp, admin: &str, url: &str, events: Option<&str>) -> (String, String) {
    let r = admin_call(
        app,
        admin,
        Method::POST,
        "/webhooks",
        Some(json!({"tenant": "acme", "url": url, "events": events})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    (r.body["id"].as_str().unwrap().to_string(), r.body["secret"].as_str().unwrap().to_string())
}

pub(crate) async fn all_events(app: &TestApp, admin: &str) -> Vec<Value> {
    let r = admin_call(app, admin, Method::GET, "/tenants/acme/events?after=0&limit=1000", None).await;
    r.body.as_array().unwrap().clone()
}

async fn stream_state(app: &TestApp, admin: &str, id: &str) -> Value {
    let r = admin_call(app, admin, Method::GET, &format!("/webhooks/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("secret").is_none(), "the secret is shown once only");
    r.body["deliveries"][0].clone()
}

async fn wait_for_state(app: &TestApp, admin: &str, id: &str, want: &str) -> Value {
    let start = Instant::now();
    loop {
        let state = stream_state(app, admin, id).await;
        if state["state"] == want {
            return state;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "waited for {want}: {state}");
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn user_lifecycle(app: &TestApp, name: &str) -> String {
    let user = app.create_user(name).await;
    let id = user["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let off = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(app.patch(&path, off).await.status, StatusCode::OK);
    id
}

scim_test!(signed_events_arrive_once_in_order_through_failures_and_a_restart, |app| {
    let mut app = app;
    let admin = admin_token(&app);
    let receiver = Receiver::start().await;
    receiver.set(|b| b.script = VecDeque::from([500, 503, 500]));
    let (id, secret) = register(&app, &admin, &receiver.url, None).await;
    let start_seq = all_events(&app, &admin).await.len() as i64;

    let alice = user_lifecycle(&app, "alice@example.com").await;
    receiver.wait_for("the first user's events", |r| r.delivered().len() == 3).await;
    assert!(receiver.received().len() >= 6, "three failed attempts came first");

    // Now the receiver is down: the group's events wait, and scimd is restarted meanwhile.
    receiver.set(|b| b.otherwise = Some(500));
    let group = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"}))
        .await;
    let gid = group.body["id"].as_str().unwrap().to_string();
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": alice}]}]));
    assert_eq!(app.patch(&format!("/Groups/{gid}"), add).await.status, StatusCode::NO_CONTENT);
    let failed_before = receiver.received().len();
    receiver.wait_for("a failed attempt at the group", |r| r.received().len() > failed_before).await;
    app.restart().await;
    receiver.set(|b| b.otherwise = None);
    assert_eq!(app.delete(&format!("/Users/{alice}")).await.status, StatusCode::NO_CONTENT);

    let expected: Vec<Value> =
        all_events(&app, &admin).await.into_iter().filter(|e| e["seq"].as_i64().unwrap() > start_seq).collect();
    let types: Vec<&str> = expected.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["user.created", "user.updated", "user.deactivated", "group.created", "group.member_added", "user.deleted"]
    );
    receiver.wait_for("every event", |r| r.delivered().len() == expected.len()).await;

    let delivered = receiver.delivered();
    for (got, want) in delivered.iter().zip(&expected) {
        assert_eq!(got["data"], *want, "payload data is the pull API's event");
        assert_eq!(got["type"], want["type"]);
        assert_eq!(got["timestamp"], want["occurred_at"]);
    }
    for r in receiver.received() {
        assert_signed(&r, &secret);
        assert_eq!(r.id, r.json()["data"]["id"], "webhook-id is the event id");
    }
    // Retries repeat an event, never reorder: every attempt is at the next undelivered seq.
    let mut acked = 0;
    for r in receiver.received() {
        let seq = r.json()["data"]["seq"].as_i64().unwrap();
        assert!(seq == start_seq + acked + 1 || seq == start_seq + acked, "seq {seq} after {acked} acknowledged");
        if (200..300).contains(&r.status) && seq == start_seq + acked + 1 {
            acked += 1;
        }
    }
    let state = wait_for_state(&app, &admin, &id, "up to date").await;
    assert_eq!(state["deliveredSeq"], state["latestSeq"], "{state}");
});

scim_test!(
    failing_streams_wait_for_retry_now_and_replay_resends,
    |settings| settings.webhooks.max_attempts = 3,
    |app| {
        let admin = admin_token(&app);
        let receiver = Receiver::start().await;
        receiver.set(|b| b.otherwise = Some(500));
        let (id, _) = register(&app, &admin, &receiver.url, None).await;
        user_lifecycle(&app, "bob@example.com").await;
        receiver.wait_for("three attempts", |r| r.received().len() == 3).await;
        // The receiver has answered; scimd records the failure just after.
        let state = wait_for_state(&app, &admin, &id, "failing").await;
        assert_eq!(state["attempts"], 3);
        assert_eq!(state["lastError"], "HTTP 500: answer 500");
        actix_web::rt::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(receiver.received().len(), 3, "a failing stream waits for the operator");

        receiver.set(|b| b.otherwise = None);
        let r = admin_call(&app, &admin, Method::POST, &format!("/webhooks/{id}/retry"), None).await;
        assert_eq!((r.status, r.body["reset"].as_i64()), (StatusCode::OK, Some(1)), "{}", r.body);
        receiver.wait_for("the three events", |r| r.delivered().len() == 3).await;
        let first = receiver.delivered()[0].clone();

        let replay = json!({"tenant": "acme", "fromSeq": first["data"]["seq"]});
        let r = admin_call(&app, &admin, Method::POST, &format!("/webhooks/{id}/replay"), Some(replay)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        receiver.wait_for("the replay", |r| r.received().iter().filter(|x| x.status == 204).count() == 6).await;
        let resent: Vec<_> = receiver.received().into_iter().filter(|x| x.status == 204).map(|x| x.id).collect();
        assert_eq!(resent[..3], resent[3..], "a replay resends with the original webhook-ids");

        for (body, status) in [
            (json!({"tenant": "acme", "fromSeq": 0}), 400),
            (json!({"tenant": "nope", "fromSeq": 1}), 404),
            (json!({"fromSeq": 1}), 400),
            (json!({"tenant": "acme", "fromSeq": "x"}), 400),
        ] {
            let r = admin_call(&app, &admin, Method::POST, &format!("/webhooks/{id}/replay"), Some(body.clone())).await;
            assert_eq!(r.status.as_u16(), status, "{body}: {}", r.body);
        }
        let r = admin_call(&app, &admin, Method::POST, "/webhooks/nope/retry", None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
);

scim_test!(
    filters_gone_and_the_outbound_client_limits,
    |settings| {
        settings.webhooks.timeout = Duration::from_millis(500);
        settings.webhooks.max_attempts = 2;
    },
    |app| {
        let admin = admin_token(&app);
        // Only deactivations.
        let only = Receiver::start().await;
        register(&app, &admin, &only.url, Some("user.deactivated")).await;
        // 410 Gone disables the endpoint.
        let gone = Receiver::start().await;
        gone.set(|b| b.otherwise = Some(410));
        let (gone_id, _) = register(&app, &admin, &gone.url, None).await;
        // A redirect is a failure and is not followed.
        let redirect = Receiver::start().await;
        redirect.set(|b| b.otherwise = Some(302));
        let (redirect_id, _) = register(&app, &admin, &redirect.url, Some("user.created")).await;
        // Too slow: a timeout.
        let slow = Receiver::start().await;
        slow.set(|b| b.delay = Some(Duration::from_secs(2)));
        let (slow_id, _) = register(&app, &admin, &slow.url, Some("user.created")).await;
        // An 8 MiB answer is cut off, and the delivery still counts.
        let big = Receiver::start().await;
        big.set(|b| {
            b.big_body = true;
            b.otherwise = Some(200);
        });
        register(&app, &admin, &big.url, Some("user.*")).await;

        user_lifecycle(&app, "carol@example.com").await;
        only.wait_for("the deactivation", |r| r.delivered().len() == 1).await;
        assert_eq!(only.delivered()[0]["type"], "user.deactivated");
        big.wait_for("the three user events", |r| r.delivered().len() == 3).await;
        gone.wait_for("one attempt", |r| r.received().len() == 1).await;
        redirect.wait_for("two attempts", |r| r.received().len() == 2).await;

        let start = Instant::now();
        loop {
            let g = admin_call(&app, &admin, Method::GET, &format!("/webhooks/{gone_id}"), None).await.body;
            let r = stream_state(&app, &admin, &redirect_id).await;
            let s = stream_state(&app, &admin, &slow_id).await;
            if g["disabled"].is_string() && r["state"] == "failing" && s["state"] == "failing" {
                assert!(r["lastError"].as_str().unwrap().starts_with("HTTP 302"), "{r}");
                assert!(s["lastError"].as_str().unwrap().contains("request failed"), "{s}");
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{g} {r} {s}");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(gone.received().len(), 1, "nothing more is sent after 410 Gone");
        assert_eq!(redirect.received().len(), 2, "each attempt made one request: the redirect was not followed");
    }
);

scim_test!(endpoint_management_and_bad_input, |app| {
    let admin = admin_token(&app);
    let (id, secret) = register(&app, &admin, "https://hooks.example.com/scimd", Some("user.*,group.deleted")).await;
    assert!(secret.starts_with("whsec_"));
    let all = admin_call(
        &app,
        &admin,
        Method::POST,
        "/webhooks",
        Some(json!({"allTenants": true, "url": "https://all.example.com/h"})),
    )
    .await;
    assert_eq!(all.status, StatusCode::CREATED, "{}", all.body);
    assert_eq!((all.body["allTenants"].as_bool(), &all.body["tenant"]), (Some(true), &Value::Null));
    // A tenant created later gets a stream on the all-tenants endpoint.
    app.tenant("later");
    let shown =
        admin_call(&app, &admin, Method::GET, &format!("/webhooks/{}", all.body["id"].as_str().unwrap()), None).await;
    let tenants: Vec<&str> =
        shown.body["deliveries"].as_array().unwrap().iter().map(|d| d["tenant"].as_str().unwrap()).collect();
    assert_eq!(tenants, ["acme", "later"]);
    let listed = admin_call(&app, &admin, Method::GET, "/webhooks?tenant=later", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "only the all-tenants endpoint serves `later`");
    assert!(!listed.raw.windows(6).any(|w| w == b"whsec_"), "listings never carry a secret");

    for body in [
        json!({"tenant": "acme", "url": "ftp://x.example.com/"}),
        json!({"tenant": "acme", "url": "not a url"}),
        json!({"tenant": "acme", "url": "https://x.example.com/", "events": ["user.exploded"]}),
        json!({"url": "https://x.example.com/"}),
        json!({"tenant": "acme", "allTenants": true, "url": "https://x.example.com/"}),
        json!({"tenant": "acme", "url": "https://x.example.com/", "colour": "red"}),
        json!({"tenant": "acme", "url": 7}),
    ] {
        let r = admin_call(&app, &admin, Method::POST, "/webhooks", Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
    }
    let r = admin_call(
        &app,
        &admin,
        Method::POST,
        "/webhooks",
        Some(json!({"tenant": "nope", "url": "https://x.example.com/"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .send_raw(Method::POST, &format!("{}/admin/api/webhooks", app.local), Some(&admin), &[], Some(b"{".to_vec()))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .send_raw(Method::GET, &format!("{}/admin/api/webhooks", app.local), Some("Bearer scimdadm_nope"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        admin_call(&app, &admin, Method::DELETE, &format!("/webhooks/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin_call(&app, &admin, Method::DELETE, &format!("/webhooks/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(admin_call(&app, &admin, Method::PUT, "/webhooks", None).await.status, StatusCode::METHOD_NOT_ALLOWED);
});

scim_test!(a_stream_is_never_delivered_by_two_instances_at_once, |app| {
    // A second scimd on the same database: both run a worker; leases keep each stream with one.
    let admin = admin_token(&app);
    let second = app.another_instance();
    let receiver = Receiver::start().await;
    receiver.set(|b| b.delay = Some(Duration::from_millis(20)));
    register(&app, &admin, &receiver.url, None).await;
    for i in 0..10 {
        app.create_user(&format!("u{i}@example.com")).await;
    }
    receiver.wait_for("ten events", |r| r.delivered().len() == 10).await;
    let ids: Vec<String> = receiver.received().into_iter().map(|r| r.id).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event was sent twice");
    let seqs: Vec<i64> = receiver.delivered().iter().map(|e| e["data"]["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    second.stop().await;
});

scim_test!(deleting_a_tenant_is_heard_by_all_tenants_endpoints_then_purged, |app| {
    let admin = admin_token(&app);
    let receiver = Receiver::start().await;
    let r = admin_call(&app, &admin, Method::POST, "/webhooks", Some(json!({"allTenants": true, "url": receiver.url})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hook = r.body["id"].as_str().unwrap().to_string();
    let (base, token) = app.tenant("doomed");
    let auth = format!("Bearer {token}");
    let body = serde_json::to_vec(&crate::helpers::okta_user("zed@example.com")).unwrap();
    let created = app
        .send_raw(
            Method::POST,
            &format!("{base}/Users"),
            Some(&auth),
            &[("Content-Type", "application/scim+json")],
            Some(body),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);

    // Hold delivery back, delete the tenant, then let it through: tenant.deleted comes last.
    receiver.fail_always(true);
    receiver.wait_for("an attempt", |r| !r.received().is_empty()).await;
    assert_eq!(admin_call(&app, &admin, Method::DELETE, "/tenants/doomed", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin_call(&app, &admin, Method::GET, "/tenants/doomed", None).await.status, StatusCode::NOT_FOUND);
    let r = app.send_raw(Method::GET, &format!("{base}/Users"), Some(&auth), &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "its credentials are gone at once");
    let listed = admin_call(&app, &admin, Method::GET, "/tenants", None).await;
    assert!(!listed.raw.windows(6).any(|w| w == b"doomed"), "{}", listed.body);
    receiver.fail_always(false);
    receiver
        .wait_for("the doomed tenant's events", |r| {
            r.delivered().iter().filter(|e| e["data"]["tenant"] == "doomed").count() == 4
        })
        .await;
    let doomed: Vec<Value> = receiver.delivered().into_iter().filter(|e| e["data"]["tenant"] == "doomed").collect();
    let types: Vec<&str> = doomed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["tenant.created", "credential.issued", "user.created", "tenant.deleted"]);

    // Once delivered, the retired row goes, and the name can be used again.
    let start = Instant::now();
    loop {
        let shown = admin_call(&app, &admin, Method::GET, &format!("/webhooks/{hook}"), None).await;
        if shown.body["deliveries"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{}", shown.body);
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    app.tenant("doomed");
});
