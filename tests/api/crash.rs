//! A scimd process killed (SIGKILL) in the middle of writes loses none it acknowledged: on the
//! same database afterwards every acknowledged user, deactivation, membership and deletion is
//! there, the count agrees with the list, and every user has its one `user.created` event.

use crate::helpers::{okta_user, patch_op, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Writers sending at once, and how many users they create in a round before the kill (while
/// each has a request in flight).
const WRITERS: usize = 12;
const CREATED_BEFORE_THE_KILL: usize = 40;
/// Kills, each on the database as the last left it.
const ROUNDS: usize = 5;

/// A `scimd serve` process on the test's database; its Base URL for `acme` once it listens.
fn serve(app: &TestApp) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("serve")
        .env("SCIMD_DATABASE_URL", app.db.url())
        .env("SCIMD_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("scimd runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listen = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.split_once("listen=").map(|(_, rest)| rest.split(' ').next().unwrap().to_string()))
        .expect("scimd says where it listens");
    // Keeps reading, so that scimd never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, format!("http://{listen}/scim/v2/acme"))
}

/// What the killed process answered with success: users created (userName → id), users
/// deactivated, users deleted, and users the group was answered to hold; and the users whose
/// deletion was sent, answered or not (one sent as the process died may have been committed).
#[derive(Default)]
struct Acknowledged {
    created: BTreeMap<String, String>,
    deactivated: BTreeSet<String>,
    deleted: BTreeSet<String>,
    members: BTreeSet<String>,
    deletion_sent: BTreeSet<String>,
}

/// Creates users until the process dies; every third one is added to `group`, every fourth
/// deactivated, every fifth deleted. Stops at the first request without an answer.
async fn write_until_killed(
    base: &str,
    token: &str,
    group: &str,
    writer: usize,
    round: usize,
    created: &Cell<usize>,
) -> Acknowledged {
    let client = awc::Client::builder().timeout(Duration::from_secs(20)).finish();
    let send = |method: awc::http::Method, url: String, body: Option<Value>| {
        let req = client.request(method, url).insert_header(("Authorization", format!("Bearer {token}")));
        async move {
            let mut res = match body {
                Some(b) => req.insert_header(("Content-Type", "application/scim+json")).send_body(b.to_string()).await,
                None => req.send().await,
            }
            .ok()?;
            let body = res.body().await.ok()?;
            Some((res.status(), serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)))
        }
    };
    let mut seen = Acknowledged::default();
    for n in 0.. {
        let name = format!("r{round}w{writer}n{n}@example.com");
        let Some((status, user)) = send(awc::http::Method::POST, format!("{base}/Users"), Some(okta_user(&name))).await
        else {
            break;
        };
        assert_eq!(status, StatusCode::CREATED, "{user}");
        let id = user["id"].as_str().unwrap().to_string();
        seen.created.insert(name, id.clone());
        created.set(created.get() + 1);
        if n % 3 == 0 {
            let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
            let Some((status, _)) = send(awc::http::Method::PATCH, format!("{base}/Groups/{group}"), Some(add)).await
            else {
                break;
            };
            assert!(status.is_success(), "{status}");
            seen.members.insert(id.clone());
        }
        if n % 4 == 1 {
            let deactivate = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
            let Some((status, user)) =
                send(awc::http::Method::PATCH, format!("{base}/Users/{id}"), Some(deactivate)).await
            else {
                break;
            };
            assert_eq!(status, StatusCode::OK, "{user}");
            seen.deactivated.insert(id.clone());
        }
        if n % 5 == 4 {
            seen.deletion_sent.insert(id.clone());
            let Some((status, _)) = send(awc::http::Method::DELETE, format!("{base}/Users/{id}"), None).await else {
                break;
            };
            assert_eq!(status, StatusCode::NO_CONTENT);
            seen.deleted.insert(id);
        }
    }
    seen
}

/// Every user of the tenant, page by page: userName → (id, active).
async fn all_users(app: &TestApp) -> (BTreeMap<String, (String, bool)>, u64) {
    let mut users = BTreeMap::new();
    let mut start = 1;
    loop {
        let page = app.get(&format!("/Users?startIndex={start}&count=1000&attributes=userName,active")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let total = page.body["totalResults"].as_u64().unwrap();
        let resources = page.body["Resources"].as_array().unwrap();
        for u in resources {
            let listed = (u["id"].as_str().unwrap().to_string(), u["active"].as_bool().unwrap());
            let before = users.insert(u["userName"].as_str().unwrap().to_string(), listed);
            assert!(before.is_none(), "listed twice: {u}");
        }
        if resources.is_empty() {
            return (users, total);
        }
        start += resources.len();
    }
}

scim_test!(a_killed_scimd_loses_no_write_it_acknowledged, |app| {
    let mut app = app;
    let group = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"}))
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    let group = group.body["id"].as_str().unwrap().to_string();
    app.stop().await;

    let mut acknowledged = Acknowledged::default();
    for round in 0..ROUNDS {
        let (mut child, base) = serve(&app);
        let created = Cell::new(0);
        let writers = (0..WRITERS).map(|w| write_until_killed(&base, &app.token, &group, w, round, &created));
        let kill = async {
            let started = Instant::now();
            while created.get() < CREATED_BEFORE_THE_KILL {
                assert!(started.elapsed() < Duration::from_secs(60), "the writers are stuck");
                actix_web::rt::time::sleep(Duration::from_millis(2)).await;
            }
            child.kill().expect("SIGKILL");
        };
        let (seen, ()) = futures_util::future::join(futures_util::future::join_all(writers), kill).await;
        child.wait().unwrap();
        for s in seen {
            acknowledged.created.extend(s.created);
            acknowledged.deactivated.extend(s.deactivated);
            acknowledged.deleted.extend(s.deleted);
            acknowledged.members.extend(s.members);
            acknowledged.deletion_sent.extend(s.deletion_sent);
        }
    }

    app.start_again();
    let (users, total) = all_users(&app).await;
    assert_eq!(total as usize, users.len(), "the count agrees with the list");
    for (name, id) in &acknowledged.created {
        if acknowledged.deleted.contains(id) {
            assert!(!users.contains_key(name), "{name} was acknowledged deleted");
        } else if !acknowledged.deletion_sent.contains(id) {
            let (listed, active) = users.get(name).unwrap_or_else(|| panic!("{name} was acknowledged created"));
            assert_eq!(listed, id);
            if acknowledged.deactivated.contains(id) {
                assert!(!active, "{name} was acknowledged deactivated");
            }
        }
    }
    let members = app.get(&format!("/Groups/{group}")).await;
    let members: BTreeSet<String> =
        members.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap().to_string()).collect();
    for id in acknowledged.members.difference(&acknowledged.deletion_sent) {
        assert!(members.contains(id), "member {id} was acknowledged added");
    }
    assert!(members.iter().all(|id| users.values().any(|(u, _)| u == id)), "every member is a user");

    let mut created = BTreeMap::<String, usize>::new();
    let mut seq = 0;
    loop {
        let page: Vec<serde_json::Value> =
            serde_json::from_str(&scimd::tenancy::events_after(&app.store, "acme", seq, 1000).unwrap()).unwrap();
        let Some(last) = page.last() else { break };
        for e in &page {
            assert_eq!(e["seq"].as_i64().unwrap(), seq + 1, "gap-free");
            seq += 1;
            if e["type"] == "user.created" {
                *created.entry(e["resource_id"].as_str().unwrap().to_string()).or_default() += 1;
            }
        }
        assert_eq!(last["seq"].as_i64(), Some(seq));
    }
    for (id, _) in users.values() {
        assert_eq!(created.get(id), Some(&1), "user {id} has one user.created event");
    }
});
