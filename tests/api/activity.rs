//! The request log: what each client did to a tenant, with its client, filter, PATCH summary,
//! status, scimType, compat rules and resources; failed authentications logged for the tenant;
//! filters; never a password or token; pruning after the retention period.

use crate::helpers::{okta_user, patch_op, TestApp};
use crate::scim_test;
use crate::webhook_receiver::{admin_call, admin_token};
use awc::http::{Method, StatusCode};
use scimd::store::LogEntry;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const OKTA: (&str, &str) = ("User-Agent", "Okta SCIM Client 1.0.0");
const ENTRA: (&str, &str) = ("User-Agent", "Azure Active Directory SCIM Client");

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    ua: (&str, &str),
    auth: Option<&str>,
    body: Option<Value>,
) -> u16 {
    let url = format!("{}{path}", app.base);
    let bearer = format!("Bearer {}", app.token);
    let headers = [ua, ("Content-Type", "application/scim+json")];
    let r = app
        .send_raw(method, &url, Some(auth.unwrap_or(&bearer)), &headers, body.map(|b| b.to_string().into_bytes()))
        .await;
    r.status.as_u16()
}

/// The log once it holds `n` entries (they are written in the background).
async fn log(app: &TestApp, admin: &str, query: &str, n: usize) -> (Vec<Value>, Vec<u8>) {
    let start = Instant::now();
    loop {
        let r = admin_call(app, admin, Method::GET, &format!("/tenants/acme/requests{query}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let rows = r.body.as_array().unwrap().clone();
        if rows.len() >= n {
            return (rows, r.raw);
        }
        assert!(start.elapsed() < Duration::from_secs(20), "waited for {n} entries, have {rows:#?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

scim_test!(requests_are_logged_with_client_summary_and_outcome_but_no_secrets, |app| {
    let admin = admin_token(&app);
    let created = app.post("/Users", okta_user("dana@example.com")).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let filter = "/Users?filter=userName%20eq%20%22dana%40example.com%22";
    assert_eq!(send(&app, Method::GET, filter, OKTA, None, None).await, 200);
    let patch = patch_op(json!([{"op": "replace", "path": "active", "value": false},
        {"op": "replace", "value": {"password": "S3cret-Patch!"}}]));
    assert_eq!(send(&app, Method::PATCH, &format!("/Users/{id}"), OKTA, None, Some(patch)).await, 200);
    // Entra's casing fires a compat rule.
    let entra = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "title", "value": "CTO"}]});
    assert_eq!(send(&app, Method::PATCH, &format!("/Users/{id}"), ENTRA, None, Some(entra)).await, 200);
    let mut dup = okta_user("dana@example.com");
    dup["password"] = json!("S3cret-Post!");
    assert_eq!(send(&app, Method::POST, "/Users", OKTA, None, Some(dup)).await, 409);
    assert_eq!(
        send(&app, Method::GET, "/Users", OKTA, Some("Bearer scimd_wrongwrongwrong0123456789"), None).await,
        401
    );
    assert_eq!(send(&app, Method::GET, "/Users", OKTA, Some("Basic ZGFuYTpodW50ZXIy"), None).await, 401);
    // Requests to a tenant that does not exist are not logged anywhere.
    let nowhere = format!("{}/scim/v2/nowhere/Users", app.root);
    app.send_raw(Method::GET, &nowhere, None, &[], None).await;

    let (rows, raw) = log(&app, &admin, "", 7).await;
    assert_eq!(rows.len(), 7, "{rows:#?}");
    let raw = String::from_utf8(raw).unwrap();
    for secret in
        ["1mz050nq", "S3cret-Patch!", "S3cret-Post!", &app.token, "scimd_wrongwrong", "ZGFuYTpodW50ZXIy", "hunter2"]
    {
        assert!(!raw.contains(secret), "the log contains {secret}");
    }
    // Newest first.
    let basic = &rows[0];
    assert_eq!((basic["status"].as_i64(), basic["method"].as_str()), (Some(401), Some("GET")));
    let conflict = &rows[2];
    assert_eq!(
        (conflict["status"].as_i64(), conflict["scimType"].as_str()),
        (Some(409), Some("uniqueness")),
        "{rows:#?}"
    );
    assert_eq!(conflict["client"], "Okta");
    let entra_row = &rows[3];
    assert_eq!(entra_row["client"], "Entra ID");
    assert_eq!(entra_row["compat"], json!(["patch-name-case"]), "{entra_row}");
    let okta_patch = &rows[4];
    assert_eq!(okta_patch["patch"], "replace active; replace (password)");
    assert_eq!(okta_patch["resources"], json!([id]));
    assert_eq!(okta_patch["path"], format!("/scim/v2/acme/Users/{id}"));
    assert!(okta_patch["requestId"].is_string() && okta_patch["latencyMs"].is_number());
    let search = &rows[5];
    assert_eq!(search["filter"], "userName eq \"dana@example.com\"");
    let create = &rows[6];
    assert_eq!((create["status"].as_i64(), create["client"].as_str()), (Some(201), Some("other")));
    assert_eq!(create["resources"], json!([id]), "the created id comes from Location");

    let (errors, _) = log(&app, &admin, "?status=4xx", 3).await;
    assert!(errors.len() == 3 && errors.iter().all(|r| r["status"].as_i64().unwrap() >= 400), "{errors:#?}");
    let (unauthorized, _) = log(&app, &admin, "?status=401&client=okta", 2).await;
    assert_eq!(unauthorized.len(), 2);
    let (about, _) = log(&app, &admin, &format!("?resource={id}"), 3).await;
    assert_eq!(about.len(), 3, "the create and the two PATCHes: {about:#?}");
    let (page, _) = log(&app, &admin, "?limit=2", 2).await;
    let before = page[1]["cursor"].as_str().unwrap();
    let (rest, _) = log(&app, &admin, &format!("?before={before}"), 5).await;
    assert_eq!(rest, rows[2..], "the next page starts right after the cursor, same-millisecond entries too");

    for bad in [
        "?status=abc",
        "?status=7xx",
        "?client=netscape",
        "?resource=a%25b",
        "?before=yesterday",
        "?before=2026-01-01T00:00:00Z",
        "?before=2026-01-01T00:00:00Z_a%25",
        "?limit=x",
    ] {
        let r = admin_call(&app, &admin, Method::GET, &format!("/tenants/acme/requests{bad}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    let r = admin_call(&app, &admin, Method::GET, "/tenants/nope/requests", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
});

fn entry(at: chrono::DateTime<chrono::Utc>, path: &str) -> LogEntry {
    LogEntry {
        id: path.into(),
        tenant_name: "acme".into(),
        at,
        method: "GET".into(),
        path: path.into(),
        filter: None,
        patch_summary: None,
        client: "other",
        user_agent: None,
        compat: None,
        status: 200,
        scim_type: None,
        latency_us: 1,
        resource_ids: vec![],
        request_id: None,
    }
}

scim_test!(a_patch_of_twenty_thousand_operations_is_logged_with_a_bounded_summary, |app| {
    let admin = admin_token(&app);
    let created = app.post("/Users", okta_user("many@example.com")).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    // 880 KB, under the 1 MB body limit. Its summary was 300 KB, held in the queue and stored.
    let ops: Vec<Value> =
        (0..20_000).map(|i| json!({"op": "replace", "path": "title", "value": format!("t{i}")})).collect();
    assert_eq!(send(&app, Method::PATCH, &format!("/Users/{id}"), OKTA, None, Some(patch_op(json!(ops)))).await, 200);
    let (rows, _) = log(&app, &admin, "", 2).await;
    let summary = rows[0]["patch"].as_str().unwrap();
    assert!(summary.len() <= 1_100, "{} bytes", summary.len());
    assert!(summary.starts_with("replace title; replace title; "), "{summary}");
    assert!(summary.ends_with("; … (20000 operations in all)"), "{summary}");
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["title"], "t19999", "the PATCH applied whole");
});

// PostgreSQL's text cannot hold U+0000: one entry with it failed its whole batch, so that a
// client, with or without a credential, could keep every tenant's log empty.
scim_test!(a_filter_holding_u0000_is_logged_and_so_is_the_rest_of_its_batch, |app| {
    let admin = admin_token(&app);
    assert_eq!(send(&app, Method::GET, "/Users", OKTA, None, None).await, 200);
    assert_eq!(send(&app, Method::GET, "/Users?filter=title%20co%20%22%00%22", OKTA, None, None).await, 400);
    // With a credential that fails: logged, filter and all, as the 401 it is.
    let wrong = Some("Bearer scimd_wrongwrongwrong0123456789");
    assert_eq!(send(&app, Method::GET, "/Users?filter=%00", OKTA, wrong, None).await, 401);
    assert_eq!(send(&app, Method::GET, "/Users?count=2", OKTA, None, None).await, 200);
    let (rows, _) = log(&app, &admin, "", 4).await;
    let filters: Vec<&Value> = rows.iter().map(|r| &r["filter"]).collect();
    assert_eq!(filters, [&Value::Null, &json!("\u{FFFD}"), &json!("title co \"\u{FFFD}\""), &Value::Null], "{rows:#?}");
    assert_eq!(rows.iter().map(|r| r["status"].as_i64().unwrap()).collect::<Vec<_>>(), [200, 401, 400, 200]);
});

scim_test!(entries_past_the_retention_period_are_pruned, |app| {
    let mut app = app;
    let admin = admin_token(&app);
    let now = chrono::Utc::now();
    let entries = [entry(now - chrono::Duration::days(40), "/old"), entry(now - chrono::Duration::days(29), "/recent")];
    app.store.write(|tx| tx.append_request_log(&entries)).unwrap();
    // Pruning runs when scimd starts and hourly after.
    app.restart().await;
    let start = Instant::now();
    loop {
        let (rows, _) = log(&app, &admin, "", 1).await;
        let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
        if paths == ["/recent"] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{paths:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
});

scim_test!(a_retention_longer_than_the_calendar_prunes_nothing, |app| {
    let admin = admin_token(&app);
    let old = [entry(chrono::Utc::now() - chrono::Duration::days(10), "/old")];
    app.store.write(|tx| tx.append_request_log(&old)).unwrap();
    // A cutoff this far back cannot be written as a date: pruning ends (it used to panic).
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let clock = std::sync::Arc::new(scimd::clock::SystemClock);
    let hour = Duration::from_secs(3600);
    scimd::activity::prune(app.store.clone(), clock.clone(), Duration::MAX, hour, shutdown.clone()).await;
    let (rows, _) = log(&app, &admin, "", 1).await;
    assert_eq!(rows[0]["path"], "/old");
    // Any representable retention prunes as usual.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let pruning = actix_web::rt::spawn(scimd::activity::prune(app.store.clone(), clock, hour, hour, shutdown));
    let start = Instant::now();
    while admin_call(&app, &admin, Method::GET, "/tenants/acme/requests", None).await.body != json!([]) {
        assert!(start.elapsed() < Duration::from_secs(20), "the old entry was never pruned");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    pruning.await.unwrap();
});

scim_test!(the_request_log_can_be_switched_off, |settings| settings.request_log_retention = Duration::ZERO, |app| {
    let admin = admin_token(&app);
    app.create_user("erin@example.com").await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let r = admin_call(&app, &admin, Method::GET, "/tenants/acme/requests", None).await;
    assert_eq!(r.body, json!([]));
});

scim_test!(a_batch_larger_than_one_insert_is_written_whole, |app| {
    // The writer inserts up to 100 rows per statement: 250 entries take three, and an entry
    // for a tenant that does not exist is dropped, not an error.
    let admin = admin_token(&app);
    let now = chrono::Utc::now();
    let mut entries: Vec<LogEntry> = (0..250).map(|i| entry(now, &format!("/e{i:03}"))).collect();
    entries[7].filter = Some("userName eq \"a'b\"".into());
    entries[7].user_agent = Some("Okta SCIM Client 1.0.0".into());
    entries[7].resource_ids = vec!["u1".into(), "u2".into()];
    entries[7].status = 409;
    entries.push(LogEntry { tenant_name: "nosuch".into(), ..entry(now, "/gone") });
    assert_eq!(app.store.write(|tx| tx.append_request_log(&entries)).unwrap(), 250);
    let (rows, _) = log(&app, &admin, "?limit=500", 250).await;
    assert_eq!(rows.len(), 250);
    let seventh = rows.iter().find(|r| r["path"] == "/e007").unwrap();
    assert_eq!(seventh["filter"], "userName eq \"a'b\"");
    assert_eq!(seventh["status"], 409);
    assert_eq!(seventh["resources"], json!(["u1", "u2"]), "{seventh}");
    assert_eq!(seventh["userAgent"], "Okta SCIM Client 1.0.0");
    assert!(rows.iter().all(|r| r["path"] != "/gone"));
});
