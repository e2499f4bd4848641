//! The database out of reach under a running scimd: requests are answered 503 with
//! Retry-After (a SCIM error, not a 500, and not a 401 from the credential recheck) once the
//! database wait runs out, nothing is written, and scimd serves again as soon as the database
//! is back. On PostgreSQL the database is cut off through a proxy; on SQLite, a file inside the
//! process, another process holds its write lock.

use crate::helpers::{okta_user, patch_op, Backend, TestApp};
use crate::pg_proxy::{behind_a_proxy, firewall, proxy_to_postgres};
use awc::http::StatusCode;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

// "postgres" in the name: CI's PostgreSQL suite is `cargo test --test api postgres`.
#[actix_web::test]
async fn postgres_out_of_reach_is_a_503_with_retry_after_and_scimd_recovers() {
    let Some((proxy, app)) = behind_a_proxy(Duration::from_secs(1)).await else { return };
    let user = app.create_user("before@example.com").await;
    let id = user["id"].as_str().unwrap();
    let group = app.post("/Groups", json!({"schemas": [GROUP], "displayName": "Everyone"})).await;
    let group = group.body["id"].as_str().unwrap().to_string();

    // A write whose connection is cut inside its transaction: the member PATCH waits in its
    // group's lane for the row another transaction holds, and the proxy cuts it there.
    let held = app.db.hold(&format!("UPDATE groups SET version = version WHERE id = '{group}'"));
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
    let cut_while_waiting = async {
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        proxy.cut();
    };
    let (patched, ()) =
        futures_util::future::join(app.patch(&format!("/Groups/{group}"), add), cut_while_waiting).await;
    patched.assert_error(503, None);
    held.commit();

    // Past the credential's recheck (a second in tests): the recheck reads the database too.
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    // A burst with the one credential, as an IdP sends: each request waits about one database
    // wait (1 s here), not one after another's (the eighth, 8 s): they share the recheck's
    // failure.
    let path = format!("/Users/{id}");
    let started = Instant::now();
    let burst = futures_util::future::join_all((0..8).map(|_| app.get(&path))).await;
    for r in &burst {
        r.assert_error(503, None);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "the burst waited one wait: {:?}", started.elapsed());
    let started = Instant::now();
    let read = app.get(&format!("/Users/{id}")).await;
    read.assert_error(503, None);
    assert_eq!(read.header("retry-after"), Some("10"));
    assert!(!read.body["detail"].as_str().unwrap().contains("127.0.0.1"), "no cause sent: {}", read.body);
    let create = app.post("/Users", okta_user("during@example.com")).await;
    create.assert_error(503, None);
    let list = app.get("/Users?filter=userName%20sw%20%22b%22").await;
    list.assert_error(503, None);
    assert!(started.elapsed() < Duration::from_secs(20), "answered within the waits: {:?}", started.elapsed());

    proxy.restore();
    let mut back = app.get(&format!("/Users/{id}")).await;
    for _ in 0..20 {
        if back.status == StatusCode::OK {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        back = app.get(&format!("/Users/{id}")).await;
    }
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    app.create_user("after@example.com").await;
    let during = app.get("/Users?filter=userName%20eq%20%22during@example.com%22").await;
    assert_eq!(during.body["totalResults"], 0, "a 503 wrote nothing: {}", during.body);
    let members = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(members.body["members"], json!([]), "the cut PATCH wrote nothing: {}", members.body);
}

/// Requests queued for scimd's database threads (as many as the pool's connections: 4 in
/// tests) behind others waiting out an outage count their database wait from when they
/// queued: 16 at once are all answered after about one wait, not in four waves one wait apart.
#[actix_web::test]
async fn postgres_requests_queued_behind_an_outage_wait_one_database_wait() {
    let Some((proxy, app)) = behind_a_proxy(Duration::from_secs(2)).await else { return };
    let user = app.create_user("before@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    // Verified just now, so the burst's credential needs no database (its recheck is 1 s off).
    assert_eq!(app.get(&path).await.status, StatusCode::OK);
    proxy.cut();
    let started = Instant::now();
    let burst = futures_util::future::join_all((0..16).map(|_| app.get(&path))).await;
    let took = started.elapsed();
    for r in &burst {
        r.assert_error(503, None);
    }
    assert!(took < Duration::from_secs(5), "16 requests on 4 threads took {took:?}: a wait each wave");
    proxy.restore();
}

#[actix_web::test]
async fn a_sqlite_file_locked_past_the_wait_is_a_503_for_writes_and_reads_go_on() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |settings| settings.database_wait = Duration::from_secs(1)).await.unwrap();
    let user = app.create_user("before@example.com").await;
    let id = user["id"].as_str().unwrap();

    // Another process's write (an operator's `sqlite3`, say) holds the file's write lock.
    let held = app.db.hold("UPDATE users SET version = version WHERE 0");
    let started = Instant::now();
    let create = app.post("/Users", okta_user("during@example.com")).await;
    create.assert_error(503, None);
    assert_eq!(create.header("retry-after"), Some("10"));
    let deactivate = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/Users/{id}"), deactivate).await.assert_error(503, None);
    assert!(started.elapsed() < Duration::from_secs(20), "answered within the waits: {:?}", started.elapsed());
    // WAL: readers never wait for the writer's lock.
    let read = app.get(&format!("/Users/{id}")).await;
    assert_eq!((read.status, read.body["active"].clone()), (StatusCode::OK, json!(true)), "{}", read.body);
    held.commit();

    app.create_user("after@example.com").await;
    let during = app.get("/Users?filter=userName%20eq%20%22during@example.com%22").await;
    assert_eq!(during.body["totalResults"], 0, "a 503 wrote nothing: {}", during.body);
    let read = app.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body["active"], json!(true), "the 503 PATCH wrote nothing: {}", read.body);
}

/// On PostgreSQL a user's row that another session holds locked (an operator's transaction
/// left open) past the database wait is a 503 for the write that needs it, as the SQLite
/// file's lock is, and the other users' writes go on meanwhile. Without scimd's `lock_timeout`
/// the write waited for as long as the lock was held, holding a database thread.
#[actix_web::test]
async fn postgres_a_row_locked_past_the_wait_is_a_503_and_other_rows_go_on() {
    let wait = Duration::from_secs(1);
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |settings| settings.database_wait = wait).await else {
        return;
    };
    let locked = app.create_user("locked@example.com").await;
    let other = app.create_user("other@example.com").await;
    let (locked, other) = (locked["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    let deactivate = || patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    let held = app.db.hold(&format!("SELECT 1 FROM users WHERE id = '{locked}' FOR UPDATE"));
    let started = Instant::now();
    let r = app.patch(&format!("/Users/{locked}"), deactivate()).await;
    r.assert_error(503, None);
    assert_eq!(r.header("retry-after"), Some("10"));
    assert!(started.elapsed() < Duration::from_secs(20), "answered within the waits: {:?}", started.elapsed());
    let r = app.patch(&format!("/Users/{other}"), deactivate()).await;
    assert_eq!((r.status, r.body["active"].clone()), (StatusCode::OK, json!(false)), "{}", r.body);
    held.commit();
    let read = app.get(&format!("/Users/{locked}")).await;
    assert_eq!(read.body["active"], json!(true), "the 503 PATCH wrote nothing: {}", read.body);
    let r = app.patch(&format!("/Users/{locked}"), deactivate()).await;
    assert_eq!((r.status, r.body["active"].clone()), (StatusCode::OK, json!(false)), "{}", r.body);
}

/// Writes queued behind one that waits out another process's lock on the SQLite file count
/// their wait from when they queued: eight at once are all answered after about one wait
/// (1 s here), not one wait after another (the eighth after 8 s).
#[actix_web::test]
async fn sqlite_writes_queued_behind_a_held_lock_wait_one_database_wait() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |settings| settings.database_wait = Duration::from_secs(1)).await.unwrap();
    // Verified just now: the burst's credential needs no recheck (1 s off), which writes too.
    app.get("/Users").await;
    let held = app.db.hold("UPDATE users SET version = version WHERE 0");
    let started = Instant::now();
    let burst =
        futures_util::future::join_all((0..8).map(|i| app.post("/Users", okta_user(&format!("q{i}@example.com")))))
            .await;
    let took = started.elapsed();
    held.commit();
    for r in &burst {
        r.assert_error(503, None);
    }
    assert!(took < Duration::from_secs(4), "eight queued writes took {took:?}: a wait each");
    let none = app.get("/Users?filter=userName%20sw%20%22q%22").await;
    assert_eq!(none.body["totalResults"], 0, "the 503s wrote nothing: {}", none.body);
}

/// A request whose credential is verified (here at its first use) while another process holds
/// the SQLite file's write lock waits out the lock once. Recording the credential's use is
/// queued beside the request's own write, not waited for before it: the 503 comes after one
/// wait (2 s here), not after one wait for the record and another for the write.
#[actix_web::test]
async fn sqlite_a_credential_verified_behind_a_held_lock_waits_one_database_wait() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |settings| settings.database_wait = Duration::from_secs(2)).await.unwrap();
    let held = app.db.hold("UPDATE users SET version = version WHERE 0");
    let started = Instant::now();
    let r = app.post("/Users", okta_user("first@example.com")).await;
    let took = started.elapsed();
    held.commit();
    r.assert_error(503, None);
    assert!(took < Duration::from_millis(3500), "took {took:?}: a wait to record the credential's use, then one more");
    let none = app.get("/Users?filter=userName%20eq%20%22first@example.com%22").await;
    assert_eq!(none.body["totalResults"], 0, "the 503 wrote nothing: {}", none.body);
}

/// `GET /readyz`: `ready` while the database answers; while it is out of reach, a 503 with
/// Retry-After within its own two-second wait, whatever the database wait (30 s here), and
/// `/healthz` still `ok`; `ready` again once it is back.
#[actix_web::test]
async fn postgres_readyz_is_a_503_while_the_database_is_out_of_reach() {
    let Some((proxy, app)) = behind_a_proxy(Duration::from_secs(30)).await else { return };
    let probe = |path: &'static str| {
        let url = format!("{}{path}", app.local);
        let app = &app;
        async move { app.send_raw(awc::http::Method::GET, &url, None, &[], None).await }
    };
    let ready = probe("/readyz").await;
    assert_eq!((ready.status, ready.raw.as_slice()), (StatusCode::OK, &b"ready"[..]));
    proxy.cut();
    let started = Instant::now();
    let out = probe("/readyz").await;
    out.assert_error(503, None);
    assert_eq!(out.header("retry-after"), Some("10"));
    assert!(started.elapsed() < Duration::from_secs(5), "answered within its own wait: {:?}", started.elapsed());
    assert_eq!(probe("/healthz").await.status, StatusCode::OK);
    proxy.restore();
    let mut back = probe("/readyz").await;
    for _ in 0..20 {
        if back.status == StatusCode::OK {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        back = probe("/readyz").await;
    }
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
}

/// scimd started while PostgreSQL is out of reach (a container started before its database)
/// waits for it, then migrates and serves: only a refusal PostgreSQL gives (a wrong password)
/// ends the wait early (`cli_startup::a_postgresql_url_the_server_refuses_fails_at_once`).
#[actix_web::test]
async fn postgres_out_of_reach_at_start_up_is_waited_for() {
    let Some(proxy) = proxy_to_postgres() else { return };
    proxy.cut();
    let down = proxy.down.clone();
    let back_after = Duration::from_millis(1500);
    let restorer = std::thread::spawn(move || {
        std::thread::sleep(back_after);
        down.store(false, Ordering::SeqCst);
    });
    let started = Instant::now();
    let app = TestApp::spawn_with(Backend::Postgres, |settings| {
        settings.database_url = proxy.url_for(&settings.database_url);
        settings.database_wait = Duration::from_secs(60);
    })
    .await
    .expect("scimd starts once PostgreSQL is back");
    assert!(started.elapsed() >= back_after, "it waited: {:?}", started.elapsed());
    restorer.join().unwrap();
    let user = app.create_user("late@example.com").await;
    let read = app.get(&format!("/Users/{}", user["id"].as_str().unwrap())).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
}

/// A PostgreSQL that takes connections and never answers (stalled behind a proxy) is a 503
/// after the database wait, and scimd serves again once it answers. libpq alone waited for
/// ever on such a connection, so r2d2's connecting threads hung on the first ones for good and
/// scimd never connected again.
#[actix_web::test]
async fn postgres_stalled_is_a_503_and_scimd_recovers() {
    let Some((proxy, app)) = behind_a_proxy(Duration::from_secs(2)).await else { return };
    let user = app.create_user("stalled@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    proxy.stall();
    // More requests than r2d2 has threads to connect with: each connects anew.
    let stalled = futures_util::future::join_all((0..8).map(|_| app.get(&path))).await;
    for r in &stalled {
        r.assert_error(503, None);
    }
    assert!(proxy.stalled_connections() > 0, "scimd tried to connect while stalled");
    proxy.restore();
    let mut back = app.get(&path).await;
    for _ in 0..40 {
        if back.status == StatusCode::OK {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        back = app.get(&path).await;
    }
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
}

/// PostgreSQL's connections gone silent for good, as after a failover that moved its address
/// (no RST ever comes; the proxy's connections are silenced in the firewall, new ones pass):
/// scimd gives them up within the database wait and serves again through new ones. With the
/// kernel's defaults a statement on such a connection waited about 15 minutes, holding its
/// pool slot, and scimd answered 503s until then.
#[actix_web::test]
async fn postgres_connections_gone_silent_are_given_up_and_scimd_reconnects() {
    let Some(firewall) = firewall() else { return };
    let Some((proxy, app)) = behind_a_proxy(Duration::from_secs(2)).await else { return };
    let user = app.create_user("silent@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let all_read = |rs: &[crate::helpers::Response]| rs.iter().all(|r| r.status == StatusCode::OK);
    // More at once than the pool has connections: every connection is open.
    assert!(all_read(&futures_util::future::join_all((0..16).map(|_| app.get(&path))).await));
    let silenced = proxy.silence_open_connections(&firewall);
    let started = Instant::now();
    for r in futures_util::future::join_all((0..16).map(|_| app.get(&path))).await {
        assert!(r.status == StatusCode::OK || r.status == StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    }
    let mut back = false;
    while !back && started.elapsed() < Duration::from_secs(30) {
        back = all_read(&futures_util::future::join_all((0..8).map(|_| app.get(&path))).await);
    }
    assert!(back, "still not serving {:?} after the connections fell silent", started.elapsed());
    drop(silenced);
}
