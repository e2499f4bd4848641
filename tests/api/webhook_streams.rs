//! Webhook streams side by side: one tenant's backlog to a slow receiver does not hold up another
//! tenant's events, with a free slot or by taking turns, and a stream goes on sending while the
//! worker pauses after a wake-up.

use crate::helpers::TestApp;
use crate::scim_test;
use crate::webhook_receiver::{admin_call, admin_token, Receiver};
use crate::webhooks::{all_events, register};
use awc::http::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

/// Acme's whole history replayed to a slow receiver (one long stream), then a user created in
/// another tenant: its event must arrive while acme's backlog is still being sent.
async fn another_tenants_event_during_a_backlog(app: &TestApp) {
    let admin = admin_token(app);
    for i in 0..40 {
        app.create_user(&format!("b{i}@example.com")).await;
    }
    let slow = Receiver::start().await;
    slow.set(|b| b.delay = Some(Duration::from_millis(100)));
    let (id, _) = register(app, &admin, &slow.url, None).await;
    let replay = json!({"tenant": "acme", "fromSeq": 1});
    let r = admin_call(app, &admin, Method::POST, &format!("/webhooks/{id}/replay"), Some(replay)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let backlog = all_events(app, &admin).await.len();
    slow.wait_for("the backlog's first event", |r| !r.received().is_empty()).await;

    let other = app.tenant("other");
    let fast = Receiver::start().await;
    let body = json!({"tenant": "other", "url": fast.url, "events": "user.*"});
    assert_eq!(admin_call(app, &admin, Method::POST, "/webhooks", Some(body)).await.status, StatusCode::CREATED);
    let created = app.post_to_tenant(&other, "/Users", crate::helpers::okta_user("x@example.com")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    fast.wait_for("the other tenant's user", |r| r.delivered().len() == 1).await;
    let behind = slow.delivered().len();
    assert!(behind < backlog, "the other tenant's event waited for {behind} of acme's {backlog}");

    slow.set(|b| b.delay = None);
    slow.wait_for("acme's backlog", |r| r.delivered().len() == backlog).await;
    let seqs: Vec<i64> = slow.delivered().iter().map(|e| e["data"]["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=backlog as i64).collect::<Vec<_>>(), "in order, across its turns");
}

scim_test!(a_free_slot_takes_another_tenants_stream_during_a_backlog, |app| {
    another_tenants_event_during_a_backlog(&app).await;
});

scim_test!(
    with_one_slot_a_backlog_takes_turns_with_other_streams,
    |settings| {
        settings.webhooks.concurrency = 1;
        settings.webhooks.slice = Duration::from_millis(300);
    },
    |app| {
        another_tenants_event_during_a_backlog(&app).await;
    }
);

scim_test!(
    a_stream_goes_on_sending_while_the_worker_pauses_after_a_wake_up,
    |settings| settings.webhooks.wake_pause = Duration::from_secs(3),
    |app| {
        let admin = admin_token(&app);
        for i in 0..40 {
            app.create_user(&format!("p{i}@example.com")).await;
        }
        let slow = Receiver::start().await;
        slow.set(|b| b.delay = Some(Duration::from_millis(100)));
        let (id, _) = register(&app, &admin, &slow.url, None).await;
        let replay = json!({"tenant": "acme", "fromSeq": 1});
        let r = admin_call(&app, &admin, Method::POST, &format!("/webhooks/{id}/replay"), Some(replay)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        slow.wait_for("the backlog's first event", |r| !r.received().is_empty()).await;
        // A commit wakes the worker, which then waits 3 s before it looks for due streams.
        app.create_user("wake@example.com").await;
        let before = slow.received().len();
        actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
        let during = slow.received().len() - before;
        assert!(during >= 5, "{during} events were sent in 1.5 s of the worker's pause");
        slow.set(|b| b.delay = None);
        let backlog = all_events(&app, &admin).await.len();
        slow.wait_for("the backlog", |r| r.delivered().len() == backlog).await;
    }
);
