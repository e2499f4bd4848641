//! The admin page's webhook, events and activity views: adding an endpoint shows its secret
//! once, the delivery state with retry now and replay, CSRF on every form, bad input as an
//! HTML error, and the tenant's events and request log.

use crate::admin_page::{hidden, html, readonly_value, Browser, EMAIL, PASSWORD};
use crate::helpers::patch_op;
use crate::scim_test;
use crate::webhook_receiver::Receiver;
use awc::http::StatusCode;
use scimd::clock::SystemClock;
use serde_json::json;

scim_test!(webhooks_events_and_activity_on_the_admin_page, |settings| settings.webhooks.max_attempts = 1, |app| {
    scimd::admin::accounts::create_admin_user(&app.store, &SystemClock, EMAIL, PASSWORD, false).unwrap();
    let mut b = Browser::new(&app);
    b.sign_in(PASSWORD).await;
    let list = b.get("/admin/webhooks").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(html(&list).contains("No webhook endpoints yet."));
    let csrf = hidden(&list, "csrf");

    let receiver = Receiver::start().await;
    receiver.fail_always(true);
    let forged = b.post("/admin/webhooks", &[("csrf", "forged"), ("url", &receiver.url), ("tenant", "acme")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bad = b.post("/admin/webhooks", &[("csrf", &csrf), ("url", "ftp://nope"), ("tenant", "acme")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.header("content-type").unwrap().starts_with("text/html"));
    let bad = b
        .post(
            "/admin/webhooks",
            &[("csrf", &csrf), ("url", &receiver.url), ("tenant", "acme"), ("events", "user.nope")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let added = b
        .post(
            "/admin/webhooks",
            &[("csrf", &csrf), ("url", &receiver.url), ("tenant", "acme"), ("label", "<b>app</b>")],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", html(&added));
    assert_eq!(added.header("cache-control"), Some("no-store"));
    let secret = readonly_value(&html(&added), "secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let listed = html(&b.get("/admin/webhooks").await);
    assert!(listed.contains("&lt;b&gt;app&lt;/b&gt;") && !listed.contains("<b>app</b>"));
    assert!(!listed.contains(&secret), "the secret is shown once");
    let at = listed.find("/admin/webhooks/").unwrap() + "/admin/webhooks/".len();
    let id = listed[at..at + 36].to_string();

    // One failed attempt marks the stream failing (max_attempts = 1).
    let user = app.create_user("fay@example.com").await;
    receiver.wait_for("an attempt", |r| !r.received().is_empty()).await;
    let mut page = String::new();
    for _ in 0..200 {
        page = html(&b.get(&format!("/admin/webhooks/{id}")).await);
        if page.contains("failing") {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(page.contains("failing") && page.contains("HTTP 500"), "{page}");
    assert!(!page.contains(&secret));
    let tenant_page = html(&b.get("/admin/tenants/acme").await);
    assert!(tenant_page.contains(&receiver.url) && tenant_page.contains("failing"), "{tenant_page}");

    receiver.fail_always(false);
    let retry = format!("/admin/webhooks/{id}/retry");
    assert_eq!(b.post(&retry, &[("csrf", "x"), ("tenant", "acme")]).await.status, StatusCode::FORBIDDEN);
    let retried = b.post(&retry, &[("csrf", &csrf), ("tenant", "acme")]).await;
    assert_eq!(
        (retried.status, retried.header("location")),
        (StatusCode::SEE_OTHER, Some(format!("/admin/webhooks/{id}").as_str()))
    );
    receiver.wait_for("the user event", |r| r.delivered().len() == 1).await;
    let replay = format!("/admin/webhooks/{id}/replay");
    let bad = b.post(&replay, &[("csrf", &csrf), ("tenant", "acme"), ("from_seq", "abc")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let seq = receiver.delivered()[0]["data"]["seq"].to_string();
    assert_eq!(
        b.post(&replay, &[("csrf", &csrf), ("tenant", "acme"), ("from_seq", &seq)]).await.status,
        StatusCode::SEE_OTHER
    );
    receiver.wait_for("the replay", |r| r.received().iter().filter(|x| x.status == 204).count() == 2).await;

    // The tenant's events and activity.
    let uid = user["id"].as_str().unwrap();
    app.patch(&format!("/Users/{uid}"), patch_op(json!([{"op": "replace", "path": "active", "value": false}]))).await;
    let events = html(&b.get("/admin/tenants/acme/events").await);
    assert!(events.contains("user.created") && events.contains("user.deactivated"), "{events}");
    assert_eq!(b.get("/admin/tenants/acme/events?after=x").await.status, StatusCode::BAD_REQUEST);
    let mut activity = String::new();
    for _ in 0..200 {
        activity = html(&b.get("/admin/tenants/acme/activity?status=2xx").await);
        if activity.contains("PATCH") {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(activity.contains("replace active") && activity.contains(uid), "{activity}");
    let bad = b.get("/admin/tenants/acme/activity?status=bogus").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.get("/admin/tenants/nope/activity").await.status, StatusCode::NOT_FOUND);

    let removed = b.post(&format!("/admin/webhooks/{id}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!(removed.header("location"), Some("/admin/webhooks"));
    assert_eq!(b.get(&format!("/admin/webhooks/{id}")).await.status, StatusCode::NOT_FOUND);
});
